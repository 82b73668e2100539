/* The HDF5 layout through the reusenet program: every bad input as one line naming the
 * file (and libhdf5 printing nothing), nothing written; `data import` read back by our
 * NIfTI reader and by nibabel against h5py; a task with its own labels trained and
 * reported by its own class names. Files written here (tests/testutil.h's HDF5 fixtures). */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datasets/dataset.h"
#include "datasets/nifti.h"
#include "engine/error.h"
#include "engine/fsutil.h"
#include "tests/testutil.h"

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* `reusenet ARGS` (quoted paths): exit status, output (stdout and stderr) into out. */
static int reusenet(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int reusenet(char *out, size_t len, const char *fmt, ...)
{
    char args[8000], cmd[8400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 '%s' %s", reusenet_program(), args);
    return run_command(cmd, out, len);
}

/* Whether any entry of dir starts with prefix (a leftover temporary folder). */
static int has_entry(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix))) found = 1;
    closedir(d);
    return found;
}

/* ---- bad input */

typedef struct BadCase {
    const char *name;      /* folder under the test dir */
    const char *file;      /* the file the message names */
    const char *says;      /* what it says */
} BadCase;

/* A data/ folder with two good volumes, p0 and p1; returns the folder. */
static const char *good_data(const char *name)
{
    const char *dir = path_in(test_dir(), "%s", name);
    assert_int_equal(mkdir(dir, 0777), 0);
    assert_int_equal(mkdir(path_in(dir, "data"), 0777), 0);
    const unsigned long long dims[3] = {2, 6, 5};
    test_h5_case(path_in(dir, "data/p0_frame01.h5"), 3, dims, 0, NULL);
    test_h5_case(path_in(dir, "data/p1_frame01.h5"), 3, dims, 1, NULL);
    return dir;
}

/* A copy of data/p1_frame01.h5's bytes, cut to keep bytes or with byte at flipped. */
static void damaged_copy(const char *dir, const char *name, size_t keep, long flipped)
{
    size_t len;
    unsigned char *bytes = read_file_bytes(path_in(dir, "data/p1_frame01.h5"), &len);
    if (flipped >= 0) bytes[flipped] ^= 0x5a;
    FILE *f = fopen(path_in(dir, "data/%s", name), "wb");
    assert_non_null(f);
    fwrite(bytes, 1, keep < len ? keep : len, f);
    fclose(f);
    free(bytes);
}

static void make_bad_cases(BadCase *c, int *n)
{
    const unsigned long long dims[3] = {2, 6, 5}, other[3] = {2, 6, 4};
    float v[60] = {0}, five[60] = {0};
    five[37] = 5;
    const char *dir;
    dir = good_data("bad_noimage");
    test_h5_put(path_in(dir, "data/p2_frame01.h5"), "label", 3, dims, v, true);
    c[(*n)++] = (BadCase){"bad_noimage", "data/p2_frame01.h5", "no dataset 'image'"};
    dir = good_data("bad_nolabel");
    test_h5_put(path_in(dir, "data/p2_frame01.h5"), "image", 3, dims, v, false);
    test_h5_put(path_in(dir, "data/p2_frame01.h5"), "mask", 3, dims, v, true);
    c[(*n)++] = (BadCase){"bad_nolabel", "data/p2_frame01.h5", "no dataset 'label' (a case file holds 'image' and 'label'; this one holds 'image', 'mask')"};
    dir = good_data("bad_shapes");
    test_h5_put(path_in(dir, "data/p2_frame01.h5"), "image", 3, dims, v, false);
    test_h5_put(path_in(dir, "data/p2_frame01.h5"), "label", 3, other, v, true);
    c[(*n)++] = (BadCase){"bad_shapes", "data/p2_frame01.h5", "'image' (2x6x5) and 'label' (2x6x4) differ in shape"};
    dir = good_data("bad_value");
    test_h5_case(path_in(dir, "data/p2_frame01.h5"), 3, dims, 2, five);
    c[(*n)++] = (BadCase){"bad_value", "data/p2_frame01.h5", "value 5 at x=2 y=1 z=1"};
    dir = good_data("bad_map");                      /* outside a labels: list */
    write_text(path_in(dir, "dataset.cfg"), "labels: 1 left atrium, 2 wall, 3 scar\n");
    test_h5_case(path_in(dir, "data/p2_frame01.h5"), 3, dims, 2, five);
    c[(*n)++] = (BadCase){"bad_map", "data/p2_frame01.h5", "value 5 at x=2 y=1 z=1 is not a label 0, 1, 2, 3 (the labels: of dataset.cfg)"};
    dir = good_data("bad_truncated");
    damaged_copy(dir, "p2_frame01.h5", 900, -1);
    c[(*n)++] = (BadCase){"bad_truncated", "data/p2_frame01.h5", "damaged HDF5 file"};
    dir = good_data("bad_chunk");                    /* a byte of compressed data changed */
    size_t len;
    free(read_file_bytes(path_in(dir, "data/p1_frame01.h5"), &len));
    damaged_copy(dir, "p2_frame01.h5", len, (long)len - 40);
    c[(*n)++] = (BadCase){"bad_chunk", "data/p2_frame01.h5", "cannot read"};
    dir = good_data("bad_crash");                    /* crashes libhdf5 1.10.8 (fuzzer-found) */
    size_t crash_len;
    unsigned char *crash = read_file_bytes("tests/data/libhdf5_segv.h5", &crash_len);
    FILE *f = fopen(path_in(dir, "data/p2_frame01.h5"), "wb");
    assert_non_null(f);
    fwrite(crash, 1, crash_len, f);
    fclose(f);
    free(crash);
    c[(*n)++] = (BadCase){"bad_crash", "data/p2_frame01.h5", "damaged HDF5 file"};
    dir = good_data("bad_text");
    write_text(path_in(dir, "data/p2_frame01.h5"), "patient,frame\n2,1\n");
    c[(*n)++] = (BadCase){"bad_text", "data/p2_frame01.h5", "not an HDF5 file"};
    dir = path_in(test_dir(), "bad_empty");
    assert_int_equal(mkdir(dir, 0777), 0);
    assert_int_equal(mkdir(path_in(dir, "data"), 0777), 0);
    c[(*n)++] = (BadCase){"bad_empty", "data", "no .h5 files"};
    dir = good_data("bad_list");
    write_text(path_in(dir, "train.list"), "p1_frame01\npatient101_frame01\n");
    c[(*n)++] = (BadCase){"bad_list", "train.list:2", "'patient101_frame01' is neither a case nor a patient"};
}

static void test_bad_input_one_line(void **state)
{
    (void)state;
    BadCase c[16];
    int n = 0;
    make_bad_cases(c, &n);
    for (int i = 0; i < n; i++) {
        const char *dir = path_in(test_dir(), "%s", c[i].name), *out = path_in(test_dir(), "%s_out", c[i].name);
        char text[4096], file[4200];
        snprintf(file, sizeof file, "%s/%s", dir, c[i].file);
        const char *commands[3] = {"data info '%s'", "data import '%s' -o '%s'",
                                   "train --arch unet --width 4 --size 32 --epochs 1 --batch 2 "
                                   "--lr 0.01 --data '%s' -o '%s' --quiet"};
        for (int k = 0; k < 3; k++) {
            char fmt[512];
            snprintf(fmt, sizeof fmt, "%s", commands[k]);
            /* the bad list only matters where a split is made from it */
            if (!strcmp(c[i].name, "bad_list") && k == 2) continue;
            int rc = reusenet(text, sizeof text, fmt, dir, out);
            const char *nl = strchr(text, '\n');
            if (rc != 1 || !nl || nl[1] || !strstr(text, file) || !strstr(text, c[i].says))
                fail_msg("%s, command %d: exit %d, printed:\n%s\nexpected one line naming %s "
                         "and saying %s", c[i].name, k, rc, text, file, c[i].says);
            if (access(out, F_OK) == 0) fail_msg("%s: %s was written", c[i].name, out);
        }
        if (!strcmp(c[i].name, "bad_list")) {
            int rc = reusenet(text, sizeof text, "train --arch unet --width 4 --size 32 --epochs 1 "
                              "--batch 2 --lr 0.01 --data '%s' -o '%s' --list-split val --quiet", dir, out);
            if (rc != 1 || !strstr(text, file) || access(out, F_OK) == 0)
                fail_msg("bad_list with --list-split: exit %d: %s", rc, text);
        }
    }
    assert_false(has_entry(test_dir(), "bad_") && has_entry(test_dir(), "_out.tmp-"));
}

/* ---- import */

/* Every slice of a and b (same patients) equal: image, labels, spacing. */
static void assert_same_slices(const char *a_dir, const char *b_dir)
{
    Dataset *a = dataset_open(a_dir), *b = dataset_open(b_dir);
    if (!a || !b) fail_msg("%s", error_get());
    assert_int_equal(a->patient_count, b->patient_count);
    for (int p = 0; p < a->patient_count; p++) {
        assert_string_equal(a->patients[p].id, b->patients[p].id);
        SliceSet x = {0}, y = {0};
        assert_int_equal(dataset_load_patient(a, p, &x), 0);
        assert_int_equal(dataset_load_patient(b, p, &y), 0);
        assert_int_equal(x.count, y.count);
        for (int i = 0; i < x.count; i++) {
            const Slice *s = &x.slices[i], *t = &y.slices[i];
            assert_true(s->height == t->height && s->width == t->width);
            assert_true(s->spacing[0] == t->spacing[0] && s->spacing[1] == t->spacing[1]);
            assert_memory_equal(s->image, t->image, sizeof(float) * s->height * s->width);
            assert_memory_equal(s->label, t->label, (size_t)s->height * s->width);
        }
        sliceset_free(&x);
        sliceset_free(&y);
    }
    assert_int_equal(a->classmap.labelled, b->classmap.labelled);
    for (int c = 0; c < DATASET_CLASSES; c++)
        assert_string_equal(classmap_name(&a->classmap, c), classmap_name(&b->classmap, c));
    dataset_close(a);
    dataset_close(b);
}

/* nibabel's view of an imported frame against h5py's of the files it came from. */
static void nibabel_check(const char *axes, const char *spacing, const char *stem, const char *h5s)
{
    char cmd[8000], out[2048];
    snprintf(cmd, sizeof cmd, "%s tests/data/hdf5_cases.py nifti %s %s '%s.nii.gz' '%s_gt.nii.gz' %s",
             test_python(), axes, spacing, stem, stem, h5s);
    if (run_command(cmd, out, sizeof out) != 0 || strcmp(out, "ok\n")) fail_msg("%s:\n%s", cmd, out);
}

static void test_import(void **state)
{
    (void)state;
    char text[4096];
    const char *in = test_h5_data_form("imp_data"), *out = path_in(test_dir(), "imp_data_nii");
    write_text(path_in(in, "dataset.cfg"), "spacing: 1.5 1.25 10\n");
    if (reusenet(text, sizeof text, "data import '%s' -o '%s'", in, out) != 0) fail_msg("%s", text);
    assert_non_null(strstr(text, "3 patients, 5 frames"));
    assert_non_null(strstr(text, "1.5 x 1.25 x 10 mm (from dataset.cfg)"));
    assert_true(fs_is_file(path_in(out, "p2/p2_frame01_gt.nii.gz")));
    assert_files_equal(path_in(in, "val.list"), path_in(out, "val.list"));
    assert_same_slices(in, out);

    const char *la = test_h5_case_folders("imp_la", "labels: 1 left atrium\nspacing: 0.625\n");
    const char *la_out = path_in(test_dir(), "imp_la_nii");
    if (reusenet(text, sizeof text, "data import '%s' -o '%s'", la, la_out) != 0) fail_msg("%s", text);
    assert_true(fs_is_file(path_in(la_out, "A10/A10_frame01.nii.gz")));
    assert_same_slices(la, la_out);
    size_t len;
    char *cfg = (char *)read_file_bytes(path_in(la_out, "dataset.cfg"), &len);
    assert_non_null(strstr(cfg, "labels: 1 left atrium\n"));
    free(cfg);

    /* the output is never written over: an existing folder with a file in it stays */
    write_text(path_in(test_dir(), "imp_la_nii/note.txt"), "mine\n");
    assert_int_equal(reusenet(text, sizeof text, "data import '%s' -o '%s'", la, la_out), 1);
    assert_non_null(strstr(text, "already exists and is not empty"));
    assert_true(fs_is_file(path_in(la_out, "note.txt")));

    if (!test_python_has("h5py, nibabel, numpy")) skip();
    char h5s[4000];
    nibabel_check("zyx", "1.5 1.25 10", path_in(out, "p1/p1_frame02"), path_in(in, "data/p1_frame02.h5"));
    snprintf(h5s, sizeof h5s, "'%s' '%s' '%s' '%s'", path_in(in, "data/slices/p2_frame01_slice_1.h5"),
             path_in(in, "data/slices/p2_frame01_slice_2.h5"), path_in(in, "data/slices/p2_frame01_slice_3.h5"),
             path_in(in, "data/slices/p2_frame01_slice_10.h5"));
    nibabel_check("zyx", "1.5 1.25 10", path_in(out, "p2/p2_frame01"), h5s);
    snprintf(h5s, sizeof h5s, "'%s'", path_in(la, "Training Set/A10/mri_norm2.h5"));
    nibabel_check("xyz", "0.625 0.625 0.625", path_in(la_out, "A10/A10_frame01"), h5s);
}

/* ---- a task with its own labels, trained and reported by its names */

static void test_own_class_names(void **state)
{
    (void)state;
    const char *dir = path_in(test_dir(), "own");
    assert_int_equal(mkdir(dir, 0777), 0);
    assert_int_equal(mkdir(path_in(dir, "cases"), 0777), 0);
    const unsigned long long dims[3] = {32, 32, 2};        /* X, Y, Z */
    float lab[2048];
    for (int k = 0; k < 4; k++) {
        for (int i = 0; i < 2048; i++) {
            int x = i / 64, y = i / 2 % 32;
            lab[i] = (float)((x - 16 - k) * (x - 16 - k) + (y - 15) * (y - 15) < 30 ? 255 : 0);
        }
        assert_int_equal(mkdir(path_in(dir, "cases/c%d", k), 0777), 0);
        test_h5_case(path_in(dir, "cases/c%d/scan.h5", k), 3, dims, k, lab);
    }
    write_text(path_in(dir, "dataset.cfg"), "labels: 255 left atrium\nspacing: 0.625\n");
    write_text(path_in(dir, "train.list"), "c0\nc1\nc2\n");
    write_text(path_in(dir, "test.list"), "c3\n");
    char text[8192];
    const char *run = path_in(test_dir(), "own_run");
    int rc = reusenet(text, sizeof text, "train --arch unet --width 4 --size 32 --epochs 1 --batch 2 "
                      "--lr 0.01 --data '%s' --list-split test -o '%s'", dir, run);
    if (rc != 0 || !strstr(text, "validation Dice:  background ") || !strstr(text, "  left atrium "))
        fail_msg("train: exit %d:\n%s", rc, text);
    size_t len;
    char *config = (char *)read_file_bytes(path_in(run, "config.json"), &len);
    if (!strstr(config, "\"class_names\":\t[\"background\", \"left atrium\", \"class 2\", \"class 3\"]") ||
        !strstr(config, "\"labelled\":\t[\"left atrium\"]") || !strstr(config, "\"list_split\":\t\"test\""))
        fail_msg("config.json:\n%s", config);
    free(config);
    rc = reusenet(text, sizeof text, "eval --weights '%s/last.safetensors' --data '%s' --list-split test",
                  run, dir);
    if (rc != 0 || !strstr(text, "\nleft atrium ") || !strstr(text, "(1 patients; classes: background left atrium)"))
        fail_msg("eval: exit %d:\n%s", rc, text);

    /* masks scored against references that store 255: the references' values go through
     * the labels: of their dataset.cfg (carried over by data import) */
    const char *gt = path_in(test_dir(), "own_nii"), *pred = path_in(test_dir(), "own_pred");
    if (reusenet(text, sizeof text, "data import '%s' -o '%s'", dir, gt) != 0) fail_msg("%s", text);
    assert_int_equal(mkdir(pred, 0777), 0);
    for (int k = 0; k < 4; k++) {
        NiftiVolume m;
        assert_int_equal(nifti_read(path_in(gt, "c%d/c%d_frame01_gt.nii.gz", k, k), &m), 0);
        for (size_t i = 0; i < nifti_voxel_count(&m); i++) m.data[i] = m.data[i] == 255;
        assert_int_equal(mkdir(path_in(pred, "c%d", k), 0777), 0);
        assert_int_equal(nifti_write(path_in(pred, "c%d/c%d_frame01.nii.gz", k, k), &m, NIFTI_UINT8, 1), 0);
        nifti_free(&m);
    }
    rc = reusenet(text, sizeof text, "eval --pred '%s' --gt '%s' -o '%s/own.csv'", pred, gt, test_dir());
    if (rc != 0 || !strstr(text, "\nleft atrium     4  1.0000 ± 0.0000"))
        fail_msg("eval --pred --gt: exit %d:\n%s", rc, text);
}

TEST_MAIN("data import", test_dir_setup, test_dir_teardown,
          test_bad_input_one_line, test_import, test_own_class_names)
