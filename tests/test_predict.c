/* reusenet predict, end to end through the program:
 *  - volumes written by nibabel (both byte orders, odd sizes, rotated qform/sform, 2-D to
 *    4-D, int16/uint16/float32/float64, metres): nibabel reads the masks back with the
 *    input's header, and PyTorch recomputes every probability (tests/data/predict_cases.py),
 *    with and without resampling to a checkpoint's spacing;
 *  - a dataset's slices: the masks predict writes score, by eval --pred/--gt, the same
 *    pooled Dice as eval --weights on that dataset;
 *  - PNG slices in, PNG masks (and .npy probabilities) out;
 *  - every error: one line, non-zero exit, no output file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "datasets/pngio.h"
#include "tests/testutil.h"

static char cmd[16384], out[65536];

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = run_command(cmd, out, sizeof out);
    if (rc) print_message("%s\n-> exit %d: %s\n", cmd, rc, out);
    return rc;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void test_nibabel_volumes(void **state)
{
    (void)state;
    if (!test_python_has("nibabel, numpy, torch")) skip();
    const char *d = test_dir(), *bin = reusenet_program();
    assert_int_equal(run("%s tests/data/predict_cases.py write %s/nib", test_python(), d), 0);
    static const char *const ckpts[] = {"native", "resample"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(run("%s predict --weights %s/nib/%s.safetensors --input %s/nib/cases "
                             "-o %s/nib/pred_%s --probabilities --threads 2 --quiet", bin, d,
                             ckpts[i], d, d, ckpts[i]), 0);
        assert_int_equal(run("%s tests/data/predict_cases.py check %s/nib %s/nib/pred_%s "
                             "%s/nib/%s.safetensors", test_python(), d, d, ckpts[i], d, ckpts[i]), 0);
        assert_non_null(strstr(out, "ok"));
    }
    /* one file in, one file out (the folder run above covers the rest) */
    assert_int_equal(run("%s predict --weights %s/nib/native.safetensors --input "
                         "%s/nib/cases/be_int16_3d.nii.gz -o %s/nib/single.nii --quiet", bin, d,
                         d, d), 0);
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s/nib/single.nii", d);
    snprintf(b, sizeof b, "%s/nib/pred_native/be_int16_3d.nii.gz", d);
    assert_int_equal(run("%s -c \"import nibabel as n, numpy as np; a=n.load('%s'); b=n.load('%s');"
                         " assert (np.asarray(a.dataobj)==np.asarray(b.dataobj)).all() and "
                         "np.allclose(a.affine,b.affine)\"", test_python(), a, b), 0);
}

/* The pooled Dice of class `name` in eval --weights' table and in eval --pred's summary. */
static double table_value(const char *text, const char *name, int column)
{
    const char *line = text;
    size_t n = strlen(name);
    while (line && *line) {
        if (!strncmp(line, name, n) && line[n] == ' ') {
            /* column: 1 = first number after the name; -1 = the last field of the line */
            const char *end = strchr(line, '\n');
            char buf[512];
            size_t len = end ? (size_t)(end - line) : strlen(line);
            snprintf(buf, sizeof buf, "%.*s", (int)(len < 511 ? len : 511), line);
            if (column == 1) return atof(buf + n);
            char *paren = strstr(buf, "   (");
            if (paren) *paren = '\0';
            char *last = strrchr(buf, ' ');
            return atof(last + 1);
        }
        line = strchr(line, '\n');
        if (line) line++;
    }
    fail_msg("no row '%s' in:\n%s", name, text);
    return 0;
}

static void test_dataset_matches_eval(void **state)
{
    (void)state;
    const char *d = test_dir(), *bin = reusenet_program();
    char data[4096];
    snprintf(data, sizeof data, "%s/acdc", d);
    test_synth("acdc", 4, 32, 3, 5, data);
    assert_int_equal(run("%s train --arch unet --width 4 --data %s --size 32 --epochs 2 --batch 4 "
                         "--lr 0.01 --threads 2 --quiet --train-count 3 --val-count 1 -o %s/run",
                         bin, data, d), 0);
    assert_int_equal(run("%s predict --weights %s/run/best.safetensors --input %s -o %s/pred "
                         "--threads 2 --quiet", bin, d, data, d), 0);
    assert_int_equal(run("%s eval --pred %s/pred --gt %s -o %s/metrics.csv", bin, d, data, d), 0);
    char masks[65536];
    snprintf(masks, sizeof masks, "%s", out);
    assert_int_equal(run("%s eval --weights %s/run/best.safetensors --data %s --split all "
                         "--threads 2", bin, d, data), 0);
    static const char *const names[] = {"RV", "myocardium", "LV"};
    int nonzero = 0;
    for (int c = 0; c < 3; c++) {
        double a = table_value(out, names[c], 1), b = table_value(masks, names[c], -1);
        print_message("%s: eval --weights %.4f, eval --pred/--gt pooled %.4f\n", names[c], a, b);
        assert_true(a - b < 1.5e-4 && b - a < 1.5e-4);
        nonzero += a > 0.05;
    }
    assert_true(nonzero >= 1);    /* the comparison is not of zeros only */
    size_t len;
    unsigned char *csv = read_file_bytes(strcat(strcpy(data, d), "/metrics.csv"), &len);
    assert_non_null(strstr((char *)csv, "case,class,dice,hd95,assd\n"));
    assert_non_null(strstr((char *)csv, "patient001/patient001_frame01,1,"));
    free(csv);
}

static void test_png_slices(void **state)
{
    (void)state;
    const char *d = test_dir(), *bin = reusenet_program();
    char path[4096];
    snprintf(path, sizeof path, "%s/png/images/P1", d);
    assert_int_equal(run("mkdir -p %s", path), 0);
    uint16_t px[37 * 23];
    for (int i = 0; i < 37 * 23; i++) px[i] = (uint16_t)((i % 37 - 18) * (i % 37 - 18) < 60 ? 900 : 100 + i % 7);
    snprintf(path, sizeof path, "%s/png/images/P1/s1.png", d);
    assert_int_equal(pngio_write_gray(path, px, 37, 23, 16, 1), 0);
    assert_int_equal(run("%s init --arch unet --width 4 --seed 3 -o %s/png/unet.safetensors", bin, d), 0);
    assert_int_equal(run("%s predict --weights %s/png/unet.safetensors --input %s/png --size 32 "
                         "-o %s/png/pred --probabilities --overlays %s/png/ov --quiet", bin, d,
                         d, d, d), 0);
    GrayImage g;
    snprintf(path, sizeof path, "%s/png/pred/P1/s1.png", d);
    assert_int_equal(pngio_read_gray(path, &g), 0);
    assert_int_equal(g.width, 37);
    assert_int_equal(g.height, 23);
    for (int i = 0; i < 37 * 23; i++) assert_true(g.pixels[i] < 4);
    pngio_free(&g);
    snprintf(path, sizeof path, "%s/png/pred/P1/s1_prob.npy", d);
    assert_true(exists(path));
    snprintf(path, sizeof path, "%s/png/ov/P1_s1.png", d);
    assert_true(exists(path));
}

/* Each error: exit 1, one line on stderr naming the problem, and no output file. */
static void expect_error(const char *args, const char *output, const char *message)
{
    const char *bin = reusenet_program();
    int rc = run("%s %s", bin, args);
    print_message("%s\n", out);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, message));
    char *nl = strchr(out, '\n');
    assert_true(nl && nl[1] == '\0');             /* one line */
    if (output) assert_false(exists(output));
}

static void test_errors(void **state)
{
    (void)state;
    const char *d = test_dir(), *bin = reusenet_program();
    char args[16384], o[2048], data[2048];
    snprintf(data, sizeof data, "%s/err", d);
    test_synth("acdc", 2, 32, 2, 9, data);
    assert_int_equal(run("%s init --arch unet --width 4 --seed 1 -o %s/unet.safetensors", bin, d), 0);
    assert_int_equal(run("%s init --arch unet --width 4 --seed 1 --task auto -o %s/auto.safetensors",
                         bin, d), 0);
    const char *img = "err/patient001/patient001_frame01.nii.gz";
    snprintf(o, sizeof o, "%s/out.nii.gz", d);
    snprintf(args, sizeof args, "predict --weights %s/unet.safetensors --input %s/missing.nii.gz -o %s", d, d, o);
    expect_error(args, o, "missing.nii.gz: no such file or folder");
    snprintf(args, sizeof args, "predict --weights %s/auto.safetensors --input %s/%s -o %s", d, d, img, o);
    expect_error(args, o, "auto-encoder");
    snprintf(args, sizeof args, "predict --weights %s/unet.safetensors --size 40 --input %s/%s -o %s", d, d, img, o);
    expect_error(args, o, "multiples of 16");
    snprintf(args, sizeof args, "predict --weights %s/unet.safetensors --size 32 --input %s/%s -o %s/out.png", d, d, img, d);
    expect_error(args, NULL, "must end in .nii or .nii.gz");
    snprintf(o, sizeof o, "%s/bad.nii", d);
    FILE *f = fopen(o, "wb");
    assert_non_null(f);
    char junk[400] = {0};
    junk[0] = 0x1c, junk[1] = 0x02;                    /* sizeof_hdr 540: NIfTI-2 */
    fwrite(junk, 1, sizeof junk, f);
    fclose(f);
    snprintf(args, sizeof args, "predict --weights %s/unet.safetensors --size 32 --input %s -o %s/o2.nii", d, o, d);
    snprintf(o, sizeof o, "%s/o2.nii", d);
    expect_error(args, o, "NIfTI-2");

    snprintf(args, sizeof args, "predict --weights %s/unet.safetensors --size 32 --input %s -o %s/", d, data, data);
    expect_error(args, NULL, "is the input");

    /* eval --pred/--gt: a missing partner and a mis-sized one are named with both files */
    assert_int_equal(run("%s predict --weights %s/unet.safetensors --size 32 --input %s -o %s/p "
                         "--quiet", bin, d, data, d), 0);
    assert_int_equal(run("rm %s/p/patient002/patient002_frame01.nii.gz", d), 0);
    snprintf(o, sizeof o, "%s/m.csv", d);
    snprintf(args, sizeof args, "eval --pred %s/p --gt %s -o %s", d, data, o);
    expect_error(args, o, "patient002_frame01_gt.nii.gz has no prediction");
    assert_int_equal(run("cp %s/patient001/patient001_frame01.nii.gz "
                         "%s/p/patient002/patient002_frame01.nii.gz", data, d), 0);
    test_synth("acdc", 2, 48, 2, 9, strcat(strcpy(args, d), "/err48"));
    assert_int_equal(run("cp %s/err48/patient002/patient002_frame01_gt.nii.gz "
                         "%s/p/patient002/patient002_frame01.nii.gz", d, d), 0);
    snprintf(args, sizeof args, "eval --pred %s/p --gt %s -o %s", d, data, o);
    expect_error(args, o, "differ in size");
}

TEST_MAIN("predict", test_dir_setup, test_dir_teardown,
          test_nibabel_volumes, test_dataset_matches_eval, test_png_slices, test_errors)
