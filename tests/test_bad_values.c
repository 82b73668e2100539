/* Values that used to pass and change an answer silently, or get a misleading message, now
 * get one line naming the file and the problem, through the commands that read them:
 * scan CSVs (a number "1.2.3", "abc", "1e999", "nan"; a tensor twice; two baselines; layers
 * "zzz" and "-5") in plan and report, and BN/RMSE tables' numbers in report; study.cfg
 * keys (a typo named with the nearest known key, a key given twice, lr not a number or
 * missing its value, batch 0); plan JSON with an empty or a repeated tensor name, or nested
 * too deep; a safetensors header nested too deep; a 16x0 npy; a 60000x60000 PNG; a NaN
 * weight in the checkpoint predict is given. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "engine/npy.h"
#include "engine/safetensors.h"
#include "tests/testutil.h"


/* `reusenet ARGS` (every "%" the test's folder) exits with 1 and one line holding expect. */
static void expect_error(const char *args, const char *expect) { expect_reusenet_line(args, 1, expect); }

#define SCAN_HEADER "layer,kind,tensor,mean,delta\n"
#define BASELINE "baseline,,,0.9,0\n"

/* Each bad scan, as `plan` and as `report` read it: the same line. */
static void test_bad_scans(void **state)
{
    (void)state;
    static const struct { const char *text, *expect; } cases[] = {
        {SCAN_HEADER BASELINE "1,W,a.weight,1.2.3,-0.01\n", "row 3, column 'mean': '1.2.3' is not a number"},
        {SCAN_HEADER BASELINE "1,W,a.weight,0.8,abc\n", "row 3, column 'delta': 'abc' is not a number"},
        {SCAN_HEADER BASELINE "1,W,a.weight,0.8,1e999\n", "row 3, column 'delta': '1e999' is not a number"},
        {SCAN_HEADER BASELINE "1,W,a.weight,0.8,nan\n", "row 3, column 'delta': 'nan' is not a number"},
        {SCAN_HEADER BASELINE "1,W,a.weight,0.8,-0.1\n2,B,a.weight,0.8,-0.1\n",
         "rows 3 and 4 both swap 'a.weight'"},
        {SCAN_HEADER BASELINE "1,W,a.weight,0.8,-0.1\n" BASELINE, "rows 2 and 4 are both the baseline"},
        {SCAN_HEADER BASELINE "zzz,W,a.weight,0.8,-0.1\n", "row 3: layer 'zzz' is not a layer number or 'head'"},
        {SCAN_HEADER BASELINE "-5,W,a.weight,0.8,-0.1\n", "row 3: layer '-5' is not a layer number or 'head'"},
        {SCAN_HEADER BASELINE "1,Q,a.weight,0.8,-0.1\n", "row 3 (layer '1') has an unknown kind 'Q'"},
    };
    assert_int_equal(mkdir(path_in(test_dir(), "study"), 0755), 0);
    assert_int_equal(mkdir(path_in(test_dir(), "study/scans"), 0755), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        test_file_write(path_in(test_dir(), "study/scans/s.csv"), cases[i].text);
        expect_error("plan --scan %/study/scans/s.csv -o %/p.json", cases[i].expect);
        expect_error("report %/study -o %/r.html", cases[i].expect);
    }
    /* the same scan with good numbers: both read it */
    test_file_write(path_in(test_dir(), "study/scans/s.csv"), SCAN_HEADER BASELINE "1,W,a.weight,0.8,-0.1\n"
               "head,B,head.bias,0.85,-0.05\n");
    char cmd[8192], out[8192];
    snprintf(cmd, sizeof cmd, "%s plan --scan %s/study/scans/s.csv -o %s/p.json && %s report %s/study "
             "-o %s/r.html", reusenet_program(), test_dir(), test_dir(), reusenet_program(), test_dir(), test_dir());
    assert_int_equal(run_command(cmd, out, sizeof out), 0);
    /* BN and RMSE tables: numbers where numbers belong, layers as layer tables name them */
    assert_int_equal(mkdir(path_in(test_dir(), "study/bn"), 0755), 0);
    test_file_write(path_in(test_dir(), "study/bn/b.csv"), "layer,bn,channels,MRM,MRV,MRW,MRB,skipped\n"
               "1,bn1,64,0.1.2,0.2,0.3,0.4,0\n");
    expect_error("report %/study -o %/r.html", "b.csv: row 2, column 'MRM': '0.1.2' is not a number");
    test_file_write(path_in(test_dir(), "study/bn/b.csv"), "layer,bn,channels,MRM,MRV,MRW,MRB,skipped\n"
               "x1,bn1,64,0.1,0.2,0.3,0.4,0\n");
    expect_error("report %/study -o %/r.html", "b.csv: row 2: layer 'x1' is not a layer number");
    remove(path_in(test_dir(), "study/bn/b.csv"));
    assert_int_equal(mkdir(path_in(test_dir(), "study/rmse"), 0755), 0);
    test_file_write(path_in(test_dir(), "study/rmse/r.csv"), "pair,model_a,model_b,layer,conv,rmse_w,rmse_b\n"
               "a-b,a,b,1,conv1,inf,0.1\n");
    expect_error("report %/study -o %/r.html", "r.csv: row 2, column 'rmse_w': 'inf' is not a number");
    expect_error("plan --scan %/study/scans/s.csv --rmse %/study/rmse/r.csv -o %/p.json",
                 "r.csv: row 2, column 'rmse_w': 'inf' is not a number");
}

/* study.cfg: every key known, none twice, numbers that are numbers. */
static void test_bad_study_cfg(void **state)
{
    (void)state;
    static const struct { const char *text, *expect; } cases[] = {
        {"target: %s\nepoch: 1\n", "s.cfg:2: unknown key 'epoch' (the nearest known key is 'epochs'"},
        {"target: %s\nseed: 3\n", "s.cfg:2: unknown key 'seed' (the nearest known key is 'seeds'"},
        {"target: %s\nlr: 0.01\nn: 2\nlr: 0.1\n", "s.cfg:4: 'lr' is given twice (first on line 2)"},
        {"target: %s\nlr:\n", "s.cfg: lr: '' is not a learning rate"},
        {"target: %s\nlr: 1e-3x\n", "s.cfg: lr: '1e-3x' is not a learning rate"},
        {"target: %s\nbatch: 0\n", "s.cfg: batch: 0 is not within 1..1048576"},
        {"target: %s\nsplit_seed: -1\n", "s.cfg: split_seed: '-1' is not a non-negative integer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[8192];
        snprintf(text, sizeof text, cases[i].text, test_dir());
        test_file_write(path_in(test_dir(), "s.cfg"), text);
        expect_error("transfer --config %/s.cfg -o %/study-out", cases[i].expect);
    }
}

/* Plans and safetensors headers: what is wrong, not where cJSON stopped. */
static void test_bad_json(void **state)
{
    (void)state;
    char out[16384], cmd[8192];
    snprintf(cmd, sizeof cmd, "%s init --arch unet --width 4 --seed 1 -o %s/w.safetensors", reusenet_program(), test_dir());
    assert_int_equal(run_command(cmd, out, sizeof out), 0);
    const char *train = "train --arch unet --width 4 --data % --batch 4 --lr 0.01 --epochs 1 "
                        "-o %/run --init-from %/w.safetensors --plan %/plan.json";
    test_file_write(path_in(test_dir(), "plan.json"), "{\"tensors\": [\"enc1.conv1.weight\", \"\"]}");
    expect_error(train, "plan.json: not a reuse plan (\"tensors\" holds an empty name)");
    test_file_write(path_in(test_dir(), "plan.json"), "{\"tensors\": [\"enc1.conv1.weight\", \"enc1.bn1.weight\", "
               "\"enc1.conv1.weight\"]}");
    expect_error(train, "plan.json: not a reuse plan (\"tensors\" names 'enc1.conv1.weight' twice)");
    static char deep[4200];
    for (int i = 0; i < 2000; i++) deep[i] = '[', deep[4000 - i - 1] = ']';
    snprintf(out, sizeof out, "{\"tensors\": %s}", deep);
    test_file_write(path_in(test_dir(), "plan.json"), out);
    expect_error(train, "plan.json: not a reuse plan (arrays or objects nested more than 1000 deep)");

    /* a safetensors header of 2000 nested arrays */
    char header[4200];
    size_t n = (size_t)snprintf(header, sizeof header, "{\"x\":%s}", deep);
    while (n % 8) header[n++] = ' ';
    FILE *f = fopen(path_in(test_dir(), "deep.safetensors"), "wb");
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)((uint64_t)n >> (8 * i));
    fwrite(len, 1, 8, f);
    fwrite(header, 1, n, f);
    fclose(f);
    expect_error("info %/deep.safetensors", "deep.safetensors: header nests arrays or objects more "
                 "than 1000 deep");
}

/* Empty arrays, enormous images, NaN weights. */
static void test_bad_arrays_and_images(void **state)
{
    (void)state;
    char out[16384], cmd[8192];
    snprintf(cmd, sizeof cmd, "%s init --arch unet --width 4 --seed 1 -o %s/w.safetensors", reusenet_program(), test_dir());
    assert_int_equal(run_command(cmd, out, sizeof out), 0);
    float none[1];
    assert_int_equal(npy_write_f32(path_in(test_dir(), "empty.npy"), 4, (int[]){1, 1, 16, 0}, none), 0);
    expect_error("forward --weights %/w.safetensors --input %/empty.npy --output %/y.npy",
                 "empty.npy: input size 16x0: no pixels");

    /* a PNG whose IHDR (with its right CRC) says 60000 x 60000; the rest need not be there */
    unsigned char png[33] = {
        0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
        0, 0, 0xea, 0x60, 0, 0, 0xea, 0x60, 8, 0, 0, 0, 0};
    const unsigned long crc = crc32(0L, png + 12, 17);
    for (int i = 0; i < 4; i++) png[29 + i] = (unsigned char)(crc >> (24 - 8 * i));
    FILE *f = fopen(path_in(test_dir(), "huge.png"), "wb");
    fwrite(png, 1, sizeof png, f);
    fclose(f);
    expect_error("predict --weights %/w.safetensors --input %/huge.png -o %/m.png",
                 "huge.png: 60000x60000 pixels, larger than the 8192 a side this reader takes");

    /* a NaN weight: predict would have written a mask of one class */
    SafeTensors st;
    assert_int_equal(safetensors_read(path_in(test_dir(), "w.safetensors"), &st), 0);
    SafetensorsWriter w;
    safetensors_writer_init(&w);
    static float poisoned[1 << 16];
    for (int i = 0; i < st.count; i++) {
        const SafetensorsEntry *e = &st.entries[i];
        const void *bytes = e->data;
        if (!strcmp(e->name, "enc2.conv1.weight")) {
            assert_true(e->nbytes <= sizeof poisoned);
            memcpy(poisoned, e->data, e->nbytes);
            poisoned[7] = NAN;
            bytes = poisoned;
        }
        safetensors_writer_add(&w, e->name, e->dtype, e->ndim, e->shape, bytes);
    }
    for (int i = 0; i < st.meta_count; i++) safetensors_writer_set_meta(&w, st.meta_keys[i], st.meta_values[i]);
    assert_int_equal(safetensors_write(&w, path_in(test_dir(), "nan.safetensors")), 0);
    safetensors_writer_free(&w);
    safetensors_free(&st);
    static float img[32 * 32];
    assert_int_equal(npy_write_f32(path_in(test_dir(), "x.npy"), 4, (int[]){1, 1, 32, 32}, img), 0);
    expect_error("predict --weights %/nan.safetensors --input %/huge.png -o %/m.png",
                 "nan.safetensors: tensor 'enc2.conv1.weight' holds a non-finite value (nan) at element 7");
    expect_error("forward --weights %/nan.safetensors --input %/x.npy --output %/y.npy",
                 "tensor 'enc2.conv1.weight' holds a non-finite value");
}

TEST_MAIN("bad values", test_dir_setup, test_dir_teardown,
          test_bad_scans, test_bad_study_cfg, test_bad_json, test_bad_arrays_and_images)
