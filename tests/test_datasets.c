/* Datasets: the synthetic generator (determinism, each preset's layout and labels), the
 * ACDC and PNG loaders, and every mismatch between an image and its mask. The `data`
 * command itself is tested in test_data_command.c. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datasets/cfgfile.h"
#include "datasets/dataset.h"
#include "datasets/nifti.h"
#include "datasets/pngio.h"
#include "datasets/synth.h"
#include "engine/error.h"
#include "tests/testutil.h"

/* ---- comparing folder trees byte by byte */

/* Number of regular files under a that are missing from b or differ from it. */
static int count_differences(const char *a, const char *b, int *files)
{
    DIR *d = opendir(a);
    assert_non_null(d);
    struct dirent *e;
    int diff = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char pa[4096], pb[4096];
        snprintf(pa, sizeof pa, "%s/%s", a, e->d_name);
        snprintf(pb, sizeof pb, "%s/%s", b, e->d_name);
        struct stat st;
        assert_int_equal(stat(pa, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            diff += count_differences(pa, pb, files);
        } else {
            (*files)++;
            diff += !files_equal(pa, pb);
        }
    }
    closedir(d);
    return diff;
}

static void test_synth_same_seed_same_bytes(void **state)
{
    (void)state;
    test_synth("acdc", 2, 64, 3, 7, path_in(test_dir(), "det_a"));
    test_synth("acdc", 2, 64, 3, 7, path_in(test_dir(), "det_b"));
    test_synth("acdc", 2, 64, 3, 8, path_in(test_dir(), "det_c"));
    test_synth("acdc", 1, 64, 3, 7, path_in(test_dir(), "det_one"));
    int files = 0;
    assert_int_equal(count_differences(path_in(test_dir(), "det_a"), path_in(test_dir(), "det_b"), &files), 0);
    assert_int_equal(files, 2 * (1 + 4) + 1);   /* Info.cfg + 2 frames x (image, mask), dataset.cfg */
    files = 0;
    assert_true(count_differences(path_in(test_dir(), "det_a/patient001"), path_in(test_dir(), "det_c/patient001"), &files) >= 3);
    /* patient i depends on (seed, i) only: a smaller dataset is a prefix of a larger one */
    files = 0;
    assert_int_equal(count_differences(path_in(test_dir(), "det_one/patient001"), path_in(test_dir(), "det_a/patient001"), &files), 0);
    assert_int_equal(files, 5);
}

/* Per-class pixel counts over all slices; also checks every slice's size. */
static Dataset *open_and_count(const char *dir, long long counts[4], int *slices, int size)
{
    Dataset *d = dataset_open(dir);
    if (!d) {
        print_error("%s\n", error_get());
        fail();
    }
    memset(counts, 0, 4 * sizeof counts[0]);
    *slices = 0;
    for (int p = 0; p < d->patient_count; p++) {
        SliceSet set = {0};
        assert_int_equal(dataset_load_patient(d, p, &set), 0);
        for (int i = 0; i < set.count; i++) {
            const Slice *s = &set.slices[i];
            assert_int_equal(s->height, size);
            assert_int_equal(s->width, size);
            for (int k = 0; k < size * size; k++) counts[s->label[k]]++;
        }
        *slices += set.count;
        sliceset_free(&set);
    }
    return d;
}

/* What the mask files hold, read with the NIfTI reader alone (not the dataset's class
 * logic), against what the dataset loads: every class the test expects to be labelled
 * (bit c of labelled) keeps every pixel, another reads as background. Fails whenever a
 * labelled class reads as empty (or short) while the masks hold it. */
static void assert_loaded_labels_match_masks(const Dataset *d, unsigned labelled)
{
    long long raw[4] = {0}, loaded[4] = {0};
    for (int p = 0; p < d->patient_count; p++) {
        for (int i = 0; i < d->patients[p].item_count; i++) {
            NiftiVolume m;
            assert_int_equal(nifti_read(d->patients[p].items[i].mask, &m), 0);
            for (size_t k = 0, n = nifti_voxel_count(&m); k < n; k++) {
                long v = lrintf(m.data[k]);
                assert_true(v >= 0 && v < 4);
                raw[v]++;
            }
            nifti_free(&m);
        }
        SliceSet set = {0};
        assert_int_equal(dataset_load_patient(d, p, &set), 0);
        for (int i = 0; i < set.count; i++)
            for (int k = 0; k < set.slices[i].height * set.slices[i].width; k++)
                loaded[set.slices[i].label[k]]++;
        sliceset_free(&set);
    }
    long long background = raw[0];
    for (int c = 1; c < 4; c++) {
        long long want = labelled & 1u << c ? raw[c] : 0;
        if (!(labelled & 1u << c)) background += raw[c];
        if (loaded[c] != want)
            fail_msg("%s: class %d: the masks hold %lld pixels, %lld labelled, %lld loaded",
                     d->path, c, raw[c], want, loaded[c]);
    }
    assert_int_equal(loaded[0], background);
}

/* Mean image intensity over pixels of a label, for slices of one item (frame). */
static double mean_of_label(const SliceSet *set, int item, int label, double *image_mean)
{
    double sum = 0, all = 0;
    long long n = 0, m = 0;
    for (int i = 0; i < set->count; i++) {
        const Slice *s = &set->slices[i];
        if (s->item != item) continue;
        for (int k = 0; k < s->height * s->width; k++) {
            all += s->image[k];
            m++;
            if (s->label[k] == label) {
                sum += s->image[k];
                n++;
            }
        }
    }
    if (image_mean) *image_mean = all / (double)m;
    return n ? sum / (double)n : NAN;
}

static void test_acdc_preset(void **state)
{
    (void)state;
    const char *dir = path_in(test_dir(), "acdc");
    test_synth("acdc", 3, 96, 0, 1, dir);
    long long c[4];
    int slices;
    Dataset *d = open_and_count(dir, c, &slices, 96);
    assert_int_equal(d->layout, DATASET_LAYOUT_ACDC);
    assert_string_equal(d->preset, "acdc");
    assert_int_equal(d->classmap.labelled, 0xE);
    assert_int_equal(d->patient_count, 3);
    assert_true(slices >= 3 * 2 * 8 && slices <= 3 * 2 * 10);   /* ED + ES, 8-10 slices */
    for (int k = 0; k < 4; k++) assert_true(c[k] > 0);             /* all four classes */
    assert_true(c[3] > c[1] / 4 && c[2] > c[3] / 4);
    assert_loaded_labels_match_masks(d, 0xE);
    for (int p = 0; p < 3; p++) {
        assert_int_equal(d->patients[p].item_count, 2);
        assert_non_null(strstr(d->patients[p].items[0].image, "_frame01.nii.gz"));
        assert_non_null(strstr(d->patients[p].items[0].mask, "_frame01_gt.nii.gz"));
        assert_true(d->patients[p].group[0] != '\0');
        SliceSet set = {0};
        assert_int_equal(dataset_load_patient(d, p, &set), 0);
        /* end-systole: smaller LV blood pool; bSSFP: blood brighter than myocardium */
        long long lv[2] = {0, 0};
        for (int i = 0; i < set.count; i++)
            for (int k = 0; k < 96 * 96; k++) lv[set.slices[i].item] += set.slices[i].label[k] == 3;
        assert_true(lv[1] < lv[0]);
        assert_true(mean_of_label(&set, 0, 3, NULL) > 2 * mean_of_label(&set, 0, 2, NULL));
        assert_true(set.slices[0].spacing[0] > 1.3f && set.slices[0].spacing[0] < 1.7f);
        sliceset_free(&set);
    }
    dataset_close(d);
}

static void test_t1_preset(void **state)
{
    (void)state;
    const char *dir = path_in(test_dir(), "t1");
    test_synth("t1", 2, 64, 0, 1, dir);
    long long c[4];
    int slices;
    Dataset *d = open_and_count(dir, c, &slices, 64);
    assert_string_equal(d->preset, "t1");
    assert_int_equal(d->classmap.labelled, 1u << 2);
    assert_int_equal(slices, 2 * 55);                 /* 11 inversion times x 5 slices */
    assert_true(c[2] > 0);
    assert_true(c[1] == 0 && c[3] == 0);              /* only the myocardium */
    assert_loaded_labels_match_masks(d, 1u << 2);
    SliceSet set = {0};
    assert_int_equal(dataset_load_patient(d, 0, &set), 0);
    assert_int_equal(d->patients[0].item_count, 11);
    /* the same mask for every inversion time; the myocardium's signal follows
     * |1 - 2 exp(-TI/T1)| with T1 ~ 1000 ms: it nulls near TI = T1 ln 2 ~ 700 ms (between
     * frames 4 and 5: TI 500 and 800 ms) and recovers by TI = 3800 ms */
    double myo[11];
    int darkest = 0;
    for (int f = 0; f < 11; f++) {
        for (int z = 0; z < 5; z++)
            assert_memory_equal(set.slices[f * 5 + z].label, set.slices[z].label, 64 * 64);
        myo[f] = mean_of_label(&set, f, 2, NULL);
        if (myo[f] < myo[darkest]) darkest = f;
    }
    assert_true(darkest == 4 || darkest == 5);
    assert_true(myo[darkest] < 0.3 * myo[10]);
    assert_true(myo[0] > myo[3] && myo[10] > myo[7]);
    sliceset_free(&set);
    dataset_close(d);
}

static void test_rvsc_preset(void **state)
{
    (void)state;
    const char *dir = path_in(test_dir(), "rvsc");
    test_synth("rvsc", 2, 96, 0, 1, dir);
    long long c[4];
    int slices;
    Dataset *d = open_and_count(dir, c, &slices, 96);
    assert_string_equal(d->preset, "rvsc");
    assert_int_equal(d->classmap.labelled, 1u << 1);
    assert_true(slices >= 2 * 2 * 6 && slices <= 2 * 2 * 9);
    assert_true(c[1] > 0);
    assert_true(c[2] == 0 && c[3] == 0);              /* only the RV */
    assert_loaded_labels_match_masks(d, 1u << 1);
    SliceSet set = {0};
    assert_int_equal(dataset_load_patient(d, 0, &set), 0);
    assert_true(set.slices[0].spacing[1] < 1.0f);     /* finer pixels than acdc */
    double mean, rv = mean_of_label(&set, 0, 1, &mean);
    assert_true(rv > 1.5 * mean);
    sliceset_free(&set);
    dataset_close(d);
}

static void test_load_preprocessed(void **state)
{
    (void)state;
    Dataset *d = dataset_open(path_in(test_dir(), "acdc"));
    assert_non_null(d);
    int which[2] = {0, 2};
    PreprocessOptions pp;
    preprocess_defaults(&pp);
    pp.size = 64;
    SliceSet set = {0};
    assert_int_equal(dataset_load(d, which, 2, &pp, &set), 0);
    assert_true(set.count >= 32);
    for (int i = 0; i < set.count; i++) {
        assert_int_equal(set.slices[i].width, 64);
        assert_true(set.slices[i].patient == 0 || set.slices[i].patient == 2);
    }
    sliceset_free(&set);
    dataset_close(d);
}

/* ---- hand-made datasets: the PNG layout and every mismatch */

static void make_dir(const char *path) { assert_int_equal(mkdir(path, 0777), 0); }

static void write_text_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void write_png_slice(const char *path, int w, int h, int depth, int value)
{
    uint16_t *pix = malloc((size_t)w * h * sizeof *pix);
    for (int i = 0; i < w * h; i++) pix[i] = (uint16_t)(value >= 0 ? value : (i * 37) % 1000);
    assert_int_equal(pngio_write_gray(path, pix, w, h, depth, 1), 0);
    free(pix);
}

static void test_png_layout(void **state)
{
    (void)state;
    const char *dir = path_in(test_dir(), "png");
    make_dir(dir);
    make_dir(path_in(test_dir(), "png/images"));
    make_dir(path_in(test_dir(), "png/masks"));
    const char *patients[2] = {"P10", "P9"};
    for (int p = 0; p < 2; p++) {
        make_dir(path_in(test_dir(), "png/images/%s", patients[p]));
        make_dir(path_in(test_dir(), "png/masks/%s", patients[p]));
        const char *names[3] = {"10.png", "2.png", "1.png"};
        for (int s = 0; s < 3; s++) {
            char name[64];
            snprintf(name, sizeof name, "%s/%s", patients[p], names[s]);
            write_png_slice(path_in(test_dir(), "png/images/%s", name), 20, 12, 16, -1);
            write_png_slice(path_in(test_dir(), "png/masks/%s", name), 20, 12, 8, s);   /* labels 0, 1, 2 */
        }
    }
    write_text_file(path_in(test_dir(), "png/dataset.cfg"), "# my RV data\npreset: rvsc\nclasses: 1\nspacing: 0.75\n");
    Dataset *d = dataset_open(dir);
    if (!d) { print_error("%s\n", error_get()); fail(); }
    assert_int_equal(d->layout, DATASET_LAYOUT_PNG);
    assert_string_equal(d->preset, "rvsc");
    assert_int_equal(d->classmap.labelled, 1u << 1);
    assert_string_equal(d->patients[0].id, "P9");          /* natural order */
    assert_non_null(strstr(d->patients[0].items[0].image, "P9/1.png"));
    assert_non_null(strstr(d->patients[0].items[2].image, "P9/10.png"));
    SliceSet set = {0};
    assert_int_equal(dataset_load_patient(d, 1, &set), 0);
    assert_int_equal(set.count, 3);
    assert_int_equal(set.slices[0].height, 12);
    assert_true(set.slices[0].spacing[0] == 0.75f);
    assert_true(set.slices[0].image[5] == 5 * 37);         /* 16-bit values kept */
    assert_int_equal(set.slices[1].label[0], 1);           /* 2.png: label 1 */
    assert_int_equal(set.slices[2].label[0], 0);           /* 10.png: label 2, not labelled here */
    sliceset_free(&set);
    dataset_close(d);
}

static void expect_open_error(const char *dir, const char *text1, const char *text2)
{
    error_clear();
    Dataset *d = dataset_open(dir);
    assert_null(d);
    if (!strstr(error_get(), text1) || (text2 && !strstr(error_get(), text2))) {
        print_error("%s: got '%s', expected '%s' and '%s'\n", dir, error_get(), text1, text2 ? text2 : "");
        fail();
    }
}

static void expect_load_error(const char *dir, const char *text1, const char *text2, const char *text3)
{
    Dataset *d = dataset_open(dir);
    if (!d) { print_error("%s\n", error_get()); fail(); }
    SliceSet set = {0};
    int status = 0;
    for (int p = 0; p < d->patient_count && !status; p++) status = dataset_load_patient(d, p, &set);
    sliceset_free(&set);
    dataset_close(d);
    assert_int_equal(status, -1);
    if (!strstr(error_get(), text1) || !strstr(error_get(), text2) || (text3 && !strstr(error_get(), text3))) {
        print_error("%s: got '%s'\n", dir, error_get());
        fail();
    }
}

static void test_png_mismatches(void **state)
{
    (void)state;
    const char *dir = path_in(test_dir(), "pngbad");
    make_dir(dir);
    make_dir(path_in(test_dir(), "pngbad/images"));
    expect_open_error(dir, "has images/ but no masks/", NULL);
    make_dir(path_in(test_dir(), "pngbad/masks"));
    make_dir(path_in(test_dir(), "pngbad/images/A"));
    make_dir(path_in(test_dir(), "pngbad/masks/A"));
    expect_open_error(dir, "images/A: no .png slices", NULL);
    write_png_slice(path_in(test_dir(), "pngbad/images/A/s1.png"), 8, 8, 8, -1);
    expect_open_error(dir, "pngbad/images/A/s1.png: its mask", "pngbad/masks/A/s1.png is missing");
    write_png_slice(path_in(test_dir(), "pngbad/masks/A/s1.png"), 8, 9, 8, 0);
    expect_load_error(dir, "images/A/s1.png and its mask", "masks/A/s1.png", "image 8x8, mask 8x9");
    write_png_slice(path_in(test_dir(), "pngbad/masks/A/s1.png"), 8, 8, 8, 7);
    expect_load_error(dir, "masks/A/s1.png (mask of", "images/A/s1.png): value 7", NULL);
    write_text_file(path_in(test_dir(), "pngbad/masks/A/s1.png"), "not an image");
    expect_load_error(dir, "masks/A/s1.png: not a PNG file", "", NULL);
}

static void write_volume(const char *path, int nx, int ny, int nz, int nt, float value)
{
    NiftiVolume v = {{nx, ny, nz, nt}, {1.5f, 1.5f, 10, 1}, 0, 0, malloc(sizeof(float) * nx * ny * nz * nt)};
    for (int i = 0; i < nx * ny * nz * nt; i++) v.data[i] = value >= 0 ? value : (float)(i % 4);
    assert_int_equal(nifti_write(path, &v, NIFTI_INT16, 1), 0);
    nifti_free(&v);
}

static void test_acdc_mismatches(void **state)
{
    (void)state;
    const char *dir = path_in(test_dir(), "acdcbad");
    make_dir(dir);
    expect_open_error(dir, "no dataset here", NULL);
    expect_open_error(path_in(test_dir(), "nowhere"), "nowhere: no such folder", NULL);
    make_dir(path_in(test_dir(), "acdcbad/patient001"));
    write_volume(path_in(test_dir(), "acdcbad/patient001/patient001_frame01.nii.gz"), 6, 5, 2, 1, 100);
    expect_open_error(dir, "patient001_frame01.nii.gz: its mask", "patient001_frame01_gt.nii.gz is missing");
    write_volume(path_in(test_dir(), "acdcbad/patient001/patient001_frame01_gt.nii.gz"), 6, 5, 3, 1, -1);
    expect_load_error(dir, "patient001_frame01.nii.gz and its mask", "frame01_gt.nii.gz differ in size",
                      "image 6x5x2x1, mask 6x5x3x1");
    write_volume(path_in(test_dir(), "acdcbad/patient001/patient001_frame01_gt.nii.gz"), 6, 5, 2, 1, 4);
    expect_load_error(dir, "frame01_gt.nii.gz (mask of", "frame01.nii.gz): value 4 at x=0 y=0 z=0", NULL);
    /* a 4-D image with one 3-D mask: every frame uses it */
    write_volume(path_in(test_dir(), "acdcbad/patient001/patient001_frame01.nii.gz"), 6, 5, 2, 3, 100);
    write_volume(path_in(test_dir(), "acdcbad/patient001/patient001_frame01_gt.nii.gz"), 6, 5, 2, 1, -1);
    Dataset *d = dataset_open(dir);
    assert_non_null(d);
    SliceSet set = {0};
    assert_int_equal(dataset_load_patient(d, 0, &set), 0);
    assert_int_equal(set.count, 6);
    assert_int_equal(set.slices[5].t, 2);
    assert_int_equal(set.slices[5].z, 1);
    assert_memory_equal(set.slices[5].label, set.slices[1].label, 30);
    sliceset_free(&set);
    dataset_close(d);
    /* dataset.cfg problems */
    write_text_file(path_in(test_dir(), "acdcbad/dataset.cfg"), "preset: mri\n");
    expect_open_error(dir, "dataset.cfg: unknown preset 'mri'", NULL);
    write_text_file(path_in(test_dir(), "acdcbad/dataset.cfg"), "classes: 1 4\n");
    expect_open_error(dir, "dataset.cfg: bad class list '1 4'", NULL);
    write_text_file(path_in(test_dir(), "acdcbad/dataset.cfg"), "preset t1\n");
    expect_open_error(dir, "dataset.cfg:1: expected 'key: value'", NULL);
    write_text_file(path_in(test_dir(), "acdcbad/dataset.cfg"), "spacing: -1\n");
    expect_open_error(dir, "dataset.cfg: bad spacing '-1'", NULL);
    /* a typo is named with the nearest known key, a repeated key refused */
    write_text_file(path_in(test_dir(), "acdcbad/dataset.cfg"), "preset: acdc\nclases: 1\n");
    expect_open_error(dir, "dataset.cfg:2: unknown key 'clases' (the nearest known key is 'classes'", NULL);
    write_text_file(path_in(test_dir(), "acdcbad/dataset.cfg"), "classes: 1\n# fixed\nclasses: 2\n");
    expect_open_error(dir, "dataset.cfg:3: 'classes' is given twice (first on line 1)", NULL);
    /* a dataset.cfg that is a folder is not "no dataset.cfg" */
    remove(path_in(test_dir(), "acdcbad/dataset.cfg"));
    assert_int_equal(mkdir(path_in(test_dir(), "acdcbad/dataset.cfg"), 0755), 0);
    expect_open_error(dir, "dataset.cfg: cannot read: not a regular file", NULL);
    rmdir(path_in(test_dir(), "acdcbad/dataset.cfg"));
}

/* The ACDC release as it ships: patient folders with frame volumes, _gt masks, a 4-D
 * cine file and Info.cfg, and no dataset.cfg. It is the acdc preset, RV, myocardium
 * and LV labelled. */
static void test_acdc_release_without_cfg(void **state)
{
    (void)state;
    const char *dir = path_in(test_dir(), "release");
    make_dir(dir);
    const int nx = 12, ny = 10, nz = 3;
    for (int p = 1; p <= 2; p++) {
        make_dir(path_in(dir, "patient%03d", p));
        write_text_file(path_in(dir, "patient%03d/Info.cfg", p),
                        "ED: 1\nES: 12\nGroup: DCM\nHeight: 184.0\nNbFrame: 30\nWeight: 95.0\n");
        write_volume(path_in(dir, "patient%03d/patient%03d_4d.nii.gz", p, p), nx, ny, nz, 4, 50);
        const int frames[2] = {1, 12};
        for (int f = 0; f < 2; f++) {
            write_volume(path_in(dir, "patient%03d/patient%03d_frame%02d.nii.gz", p, p, frames[f]),
                         nx, ny, nz, 1, 100);
            NiftiVolume m = {{nx, ny, nz, 1}, {1.5f, 1.5f, 10, 1}, 0, 0,
                             malloc(sizeof(float) * nx * ny * nz)};
            for (int i = 0; i < nx * ny * nz; i++)     /* a different share of each class */
                m.data[i] = (float)((i * (p + f + 1)) % 7 < 4 ? (i * (p + f + 1)) % 7 : 0);
            assert_int_equal(nifti_write(path_in(dir, "patient%03d/patient%03d_frame%02d_gt.nii.gz",
                                                 p, p, frames[f]), &m, NIFTI_UINT8, 1), 0);
            nifti_free(&m);
        }
    }
    Dataset *d = dataset_open(dir);
    if (!d) fail_msg("%s", error_get());
    assert_int_equal(d->layout, DATASET_LAYOUT_ACDC);
    assert_string_equal(d->preset, "acdc");
    assert_int_equal(d->classmap.labelled, 0xE);
    assert_int_equal(d->patient_count, 2);
    assert_int_equal(d->patients[0].item_count, 2);            /* the 4-D file is not a frame */
    assert_string_equal(d->patients[1].group, "DCM");
    assert_loaded_labels_match_masks(d, 0xE);
    dataset_close(d);
}

/* "key: value" files (datasets/cfgfile.c) from memory, as cfgfile_read parses them:
 * comments and blank lines skipped, spaces trimmed, the last of a repeated key wins for a
 * file whose keys are not checked (Info.cfg); a line without a key, a too long line and a
 * NUL byte are errors naming file and line. cfgfile_check_keys: unknown keys named with
 * the nearest known one, a repeated key refused unless repeatable. */
static void test_cfgfile(void **state)
{
    (void)state;
    const char *text = "# comment\n\n  preset :  t1 \r\nclasses: 2\nclasses: 1 3\nempty:\n"
                       "url: http://x:80\nlast: no newline";
    CfgFile cfg;
    assert_int_equal(cfgfile_parse(text, strlen(text), "a.cfg", &cfg), 0);
    assert_int_equal(cfg.count, 6);
    assert_string_equal(cfgfile_get(&cfg, "preset"), "t1");
    assert_string_equal(cfgfile_get(&cfg, "classes"), "1 3");
    assert_string_equal(cfgfile_get(&cfg, "empty"), "");
    assert_string_equal(cfgfile_get(&cfg, "url"), "http://x:80");
    assert_string_equal(cfgfile_get(&cfg, "last"), "no newline");
    assert_null(cfgfile_get(&cfg, "Preset"));
    Dataset d = {.preset = "custom"};
    assert_int_equal(dataset_apply_cfg(&d, &cfg, "a.cfg"), -1);            /* classes twice */
    assert_string_equal(error_get(), "a.cfg:5: 'classes' is given twice (first on line 4)");
    const CfgKey dataset_keys[] = {{"preset", false}, {"classes", true}};
    assert_int_equal(cfgfile_check_keys(&cfg, "a.cfg", dataset_keys, 2), -1);
    assert_string_equal(error_get(), "a.cfg:6: unknown key 'empty' (the nearest known key is "
                        "'preset'; known: preset, classes)");
    const CfgKey known[] = {{"preset", false}, {"classes", true}, {"empty", false},
                            {"url", false}, {"last", false}};
    assert_int_equal(cfgfile_check_keys(&cfg, "a.cfg", known, 5), 0);
    const CfgKey once[] = {{"preset", false}, {"classes", false}, {"empty", false},
                           {"url", false}, {"last", false}};
    assert_int_equal(cfgfile_check_keys(&cfg, "a.cfg", once, 5), -1);
    assert_string_equal(error_get(), "a.cfg:5: 'classes' is given twice (first on line 4)");
    cfgfile_free(&cfg);
    text = "preset: t1\nclasses: 1 3\n";
    assert_int_equal(cfgfile_parse(text, strlen(text), "a.cfg", &cfg), 0);
    assert_int_equal(dataset_apply_cfg(&d, &cfg, "a.cfg"), 0);
    assert_string_equal(d.preset, "t1");
    assert_int_equal(d.classmap.labelled, (1u << 1) | (1u << 3));
    cfgfile_free(&cfg);

    char long_line[1100];
    memset(long_line, 'k', sizeof long_line);
    memcpy(long_line + 1030, ": v\n", 4);
    const struct { const char *text; size_t len; const char *expect; } bad[] = {   /* len 0: strlen */
        {"a: 1\n: 2\n", 0, "b.cfg:2: expected 'key: value'"},
        {"a: 1\nno colon\n", 0, "b.cfg:2: expected 'key: value', got 'no colon'"},
        {"a: 1\0\n", 6, "b.cfg: not a text file (holds a NUL byte)"},
        {long_line, 1034, "b.cfg:1: line longer than 1022 characters"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len = bad[i].len ? bad[i].len : strlen(bad[i].text);
        assert_int_equal(cfgfile_parse(bad[i].text, len, "b.cfg", &cfg), -1);
        if (strcmp(error_get(), bad[i].expect) && !strstr(error_get(), bad[i].expect))
            fail_msg("case %zu: '%s'", i, error_get());
        assert_int_equal(cfg.count, 0);
        assert_null(cfg.keys);
    }
    /* the longest line accepted */
    memcpy(long_line + 1018, ": v\n", 4);
    assert_int_equal(cfgfile_parse(long_line, 1022, "c.cfg", &cfg), 0);
    assert_int_equal(cfg.count, 1);
    cfgfile_free(&cfg);
}

static void test_class_helpers(void **state)
{
    (void)state;
    char buf[64];
    ClassMap m;
    classmap_preset(&m, 0xE);
    assert_string_equal(classmap_str(&m, buf, sizeof buf), "RV, myocardium, LV");
    classmap_preset(&m, 1u << 2);
    assert_string_equal(classmap_str(&m, buf, sizeof buf), "myocardium");
    unsigned c = 0;
    assert_int_equal(dataset_parse_classes("3,1", &c), 0);
    assert_int_equal(c, (1u << 1) | (1u << 3));
    assert_int_equal(dataset_parse_classes("", &c), -1);
    assert_int_equal(dataset_parse_classes("12", &c), -1);
    assert_int_equal(dataset_preset_classes("t1"), 1u << 2);
    assert_int_equal(dataset_preset_classes("ct"), 0);
}

TEST_MAIN("datasets", test_dir_setup, test_dir_teardown,
          test_synth_same_seed_same_bytes, test_acdc_preset, test_t1_preset, test_rvsc_preset,
          test_load_preprocessed, test_png_layout, test_png_mismatches, test_acdc_mismatches,
          test_acdc_release_without_cfg, test_cfgfile, test_class_helpers)
