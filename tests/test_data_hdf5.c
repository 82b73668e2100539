/* The SSL4MIS HDF5 layout: the reader against h5py (files written by each, values compared),
 * both forms of the layout (data/ volumes and slices; case folders with (X, Y, Z) arrays),
 * grouping into patients and frames, the split lists, label maps with their own class
 * names, every bad input as one line from the command, and `data import` checked with
 * nibabel. Every file is written here (libhdf5 from C, or h5py); no real data is needed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datasets/dataset.h"
#include "datasets/dataset_lists.h"
#include "datasets/hdf5io.h"
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

static Dataset *open_ok(const char *dir)
{
    Dataset *d = dataset_open(dir);
    if (!d) fail_msg("%s", error_get());
    return d;
}

/* ---- the data/ form */

static void test_data_form(void **state)
{
    (void)state;
    const char *dir = test_h5_data_form("ssl4mis");
    Dataset *d = open_ok(dir);
    assert_int_equal(d->layout, DATASET_LAYOUT_HDF5);
    assert_int_equal(d->hdf5_form, DATASET_HDF5_DATA);
    assert_int_equal(d->axes, HDF5_AXES_ZYX);
    assert_string_equal(d->preset, "acdc");
    assert_int_equal(d->classmap.labelled, 0xE);
    assert_false(d->spacing_given);
    assert_int_equal(d->patient_count, 3);
    assert_string_equal(d->patients[0].id, "p1");          /* natural order */
    assert_string_equal(d->patients[1].id, "p2");
    assert_string_equal(d->patients[2].id, "p10");
    const DatasetPatient *p2 = &d->patients[1];
    assert_int_equal(p2->frame_count, 2);
    assert_string_equal(p2->frames[1], "p2_frame02");
    assert_int_equal(p2->item_count, 7);
    assert_int_equal(p2->items[3].slice, 10);              /* slice 10 after slice 3 */
    assert_int_equal(d->patients[2].item_count, 1);        /* the volume, not its slices */
    assert_int_equal(d->hdf5_skipped, 2);

    /* every slice holds what was written: plane z of a (Z, Y, X) array, rows y, columns x */
    SliceSet set = {0};
    assert_int_equal(dataset_load_patient(d, 0, &set), 0);
    assert_int_equal(set.count, 6);
    for (int s = 0; s < set.count; s++) {
        const Slice *sl = &set.slices[s];
        assert_int_equal(sl->height, 6);
        assert_int_equal(sl->width, 5);
        assert_true(sl->spacing[0] == 1.0f && sl->spacing[1] == 1.0f);   /* assumed */
        for (int i = 0; i < 30; i++) {
            size_t at = (size_t)sl->z * 30 + (size_t)i;
            assert_true(sl->image[i] == test_h5_image_value(at, 1 + sl->item));
            assert_int_equal(sl->label[i], (int)test_h5_label_value(at));
        }
    }
    sliceset_free(&set);
    assert_int_equal(dataset_load_patient(d, 1, &set), 0);
    assert_int_equal(set.count, 7);
    assert_int_equal(set.slices[3].z, 10);
    assert_true(set.slices[3].image[4] == test_h5_image_value(4, 30));
    assert_true(set.slices[5].image[0] == test_h5_image_value(0, 22));
    sliceset_free(&set);

    int patient, frame;
    assert_int_equal(dataset_find_case(d, "p2_frame02", &patient, &frame), 0);
    assert_true(patient == 1 && frame == 1);
    assert_int_equal(dataset_find_case(d, "p10", &patient, &frame), 0);
    assert_true(patient == 2 && frame == -1);
    assert_int_equal(dataset_find_case(d, "p2_frame03", &patient, &frame), -1);
    dataset_close(d);
}

/* ---- the case-folder form: (X, Y, Z) arrays, a label list, spacing */

static void test_case_folders(void **state)
{
    (void)state;
    const char *dir = test_h5_case_folders("la", "labels: 1 left atrium\nspacing: 0.625\n");
    Dataset *d = open_ok(dir);
    assert_int_equal(d->hdf5_form, DATASET_HDF5_CASES);
    assert_int_equal(d->axes, HDF5_AXES_XYZ);
    assert_string_equal(d->preset, "custom");
    assert_int_equal(d->classmap.labelled, 1u << 1);
    assert_string_equal(classmap_name(&d->classmap, 1), "left atrium");
    assert_true(d->spacing_given && d->spacing[2] == 0.625f);
    assert_int_equal(d->patient_count, 3);
    assert_string_equal(d->patients[0].id, "A2");
    assert_string_equal(d->patients[2].id, "B7");
    SliceSet set = {0};
    assert_int_equal(dataset_load_patient(d, 1, &set), 0);   /* A10: seed 2 */
    assert_int_equal(set.count, 3);                          /* Z = 3 slices of 4 x 5 */
    for (int z = 0; z < 3; z++) {
        const Slice *s = &set.slices[z];
        assert_true(s->height == 4 && s->width == 5 && s->spacing[0] == 0.625f);
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 5; x++) {
                size_t at = ((size_t)x * 4 + (size_t)y) * 3 + (size_t)z;   /* [x][y][z] */
                assert_true(s->image[y * 5 + x] == test_h5_image_value(at, 2));
                assert_int_equal(s->label[y * 5 + x], at % 5 == 0);
            }
    }
    sliceset_free(&set);
    dataset_close(d);

    /* without dataset.cfg: label 1 is "foreground", spacing assumed; axes: zyx reads the
     * same file the other way round */
    dir = test_h5_case_folders("la_plain", NULL);
    d = open_ok(dir);
    assert_string_equal(classmap_name(&d->classmap, 1), "foreground");
    assert_false(d->spacing_given);
    dataset_close(d);
    write_text(path_in(dir, "dataset.cfg"), "axes: zyx\n");
    d = open_ok(dir);
    assert_int_equal(dataset_load_patient(d, 0, &set), 0);
    assert_true(set.count == 5 && set.slices[0].height == 4 && set.slices[0].width == 3);
    sliceset_free(&set);
    dataset_close(d);
}

/* ---- against h5py */

static float *read_f32(const char *path, size_t n)
{
    size_t len;
    unsigned char *bytes = read_file_bytes(path, &len);
    assert_int_equal(len, n * sizeof(float));
    float *v = malloc(len);
    memcpy(v, bytes, len);
    free(bytes);
    return v;
}

static void test_files_written_by_h5py(void **state)
{
    (void)state;
    if (!test_python_has("h5py, numpy")) skip();
    const char *dir = path_in(test_dir(), "h5py");
    char cmd[8600], out[4096];
    snprintf(cmd, sizeof cmd, "%s tests/data/hdf5_cases.py write '%s'", test_python(), dir);
    if (run_command(cmd, out, sizeof out) != 0) fail_msg("%s failed: %s", cmd, out);
    FILE *f = fopen(path_in(dir, "cases.txt"), "r");
    assert_non_null(f);
    char line[8192];
    int reads = 0, rejects = 0;
    while (fgets(line, sizeof line, f)) {
        char path[4096], f32[4096];
        int ndim, dims[3], off;
        line[strcspn(line, "\n")] = '\0';
        if (sscanf(line, "read %4095s %d %d %d %d %4095s", path, &ndim, &dims[0], &dims[1],
                   &dims[2], f32) == 6) {
            NiftiVolume img, lab;
            if (hdf5_read_case(path, HDF5_AXES_ZYX, &img, &lab) < 0) fail_msg("%s", error_get());
            /* (Z, Y, X) or (Y, X): NIfTI order is C order reversed */
            int want[3] = {ndim == 3 ? dims[2] : dims[1], ndim == 3 ? dims[1] : dims[0], ndim == 3 ? dims[0] : 1};
            for (int k = 0; k < 3; k++) assert_int_equal(img.dim[k], want[k]);
            size_t n = nifti_voxel_count(&img);
            float *ref = read_f32(f32, 2 * n);
            for (size_t i = 0; i < n; i++)
                if (img.data[i] != ref[i] || lab.data[i] != ref[n + i])
                    fail_msg("%s: voxel %zu is %g / %g, h5py says %g / %g", path, i, img.data[i],
                             lab.data[i], ref[i], ref[n + i]);
            free(ref);
            nifti_free(&img);
            nifti_free(&lab);
            reads++;
        } else if (sscanf(line, "reject %4095s %n", path, &off) == 1) {
            NiftiVolume img, lab;
            assert_int_equal(hdf5_read_case(path, HDF5_AXES_ZYX, &img, &lab), -1);
            if (!strstr(error_get(), line + off) || !strstr(error_get(), path))
                fail_msg("%s: message '%s' does not say '%s'", path, error_get(), line + off);
            rejects++;
        }
    }
    fclose(f);
    assert_true(reads >= 6 && rejects >= 8);
}

static void test_h5py_reads_our_files(void **state)
{
    (void)state;
    if (!test_python_has("h5py, numpy")) skip();
    const char *path = path_in(test_dir(), "ours.h5"), *f32 = path_in(test_dir(), "ours.f32");
    const unsigned long long dims[3] = {2, 3, 4};
    test_h5_case(path, 3, dims, 9, NULL);
    char cmd[8600], out[1024];
    snprintf(cmd, sizeof cmd, "%s tests/data/hdf5_cases.py dump '%s' '%s'", test_python(), path, f32);
    if (run_command(cmd, out, sizeof out) != 0) fail_msg("%s failed: %s", cmd, out);
    assert_non_null(strstr(out, "shape 2 3 4"));
    float *ref = read_f32(f32, 48);
    for (size_t i = 0; i < 24; i++) {
        assert_true(ref[i] == test_h5_image_value(i, 9));
        assert_true(ref[24 + i] == test_h5_label_value(i));
    }
    free(ref);
}

/* ---- lists */

static void test_list_split(void **state)
{
    (void)state;
    const char *dir = path_in(test_dir(), "ssl4mis");          /* from test_data_form */
    Dataset *d = open_ok(dir);
    Split s;
    assert_int_equal(dataset_list_split(d, "val", &s), 0);
    assert_int_equal(s.train_count, 2);                        /* p1, p10 */
    assert_true(s.train[0] == 0 && s.train[1] == 2);
    assert_true(s.val_count == 1 && s.val[0] == 1);
    split_free(&s);
    int *patients, count, lines;
    assert_int_equal(dataset_read_list(d, "train", &patients, &count, &lines), 0);
    assert_true(count == 2 && lines == 3);
    free(patients);
    /* a patient on both sides, a name that is not there, an empty list */
    write_text(path_in(dir, "test.list"), "p1_frame02\n");
    assert_int_equal(dataset_list_split(d, "test", &s), -1);
    assert_non_null(strstr(error_get(), "both name patient p1"));
    write_text(path_in(dir, "test.list"), "p2_frame01\np3_frame01\n");
    assert_int_equal(dataset_list_split(d, "test", &s), -1);
    assert_non_null(strstr(error_get(), "test.list:2: 'p3_frame01' is neither a case nor a patient"));
    write_text(path_in(dir, "test.list"), "\n# nothing\n");
    assert_int_equal(dataset_list_split(d, "test", &s), -1);
    assert_non_null(strstr(error_get(), "test.list: names no case"));
    write_text(path_in(dir, "test.list"), "p2\n");
    dataset_close(d);
}

/* ---- label lists */

static void test_label_lists(void **state)
{
    (void)state;
    ClassMap m;
    /* ACDC's names keep their numbers in any order; other names take the lowest free */
    assert_int_equal(classmap_parse_labels(&m, "1 LV, 2 myocardium, 3 RV"), 0);
    assert_true(m.value_class[1] == 3 && m.value_class[2] == 2 && m.value_class[3] == 1);
    assert_int_equal(classmap_parse_labels(&m, "1 left atrium, 2 RV, 4 left atrium, 7 background"), 0);
    assert_true(m.value_class[1] == 2 && m.value_class[2] == 1 && m.value_class[4] == 2);
    assert_true(m.value_class[7] == 0 && m.value_class[0] == 0 && m.value_class[3] == -1);
    assert_int_equal(m.labelled, 0x6);
    assert_string_equal(classmap_name(&m, 2), "left atrium");
    assert_string_equal(classmap_name(&m, 3), "class 3");
    assert_int_equal(classmap_label(&m, 4.0), 2);
    assert_int_equal(classmap_label(&m, 3.0), -1);
    assert_int_equal(classmap_label(&m, 1.5), -1);
    char buf[200];
    assert_string_equal(classmap_values_str(&m, buf, sizeof buf), "0, 1, 2, 4, 7");
    assert_string_equal(classmap_labels_text(&m, buf, sizeof buf),
                        "1 left atrium, 2 RV, 4 left atrium, 7 background");
    const struct { const char *text, *expect; } bad[] = {
        {"left atrium", "expected a label value and a class name"},
        {"1", "expected a label value and a class name"},
        {"0 foo", "the value must be 1..255"},
        {"256 foo", "the value must be 1..255"},
        {"1 a, 1 b", "value 1 is given twice"},
        {"1 a, 2 b, 3 c, 4 d", "more than 3 classes"},
        {"1 <script>", "letters, digits, spaces"},
        {"1 a name that is much too long to be one", "longer than 31"},
        {"1 background", "no class other than background"},
        {"1 a,", "expected a label value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ClassMap before = m;
        assert_int_equal(classmap_parse_labels(&m, bad[i].text), -1);
        if (!strstr(error_get(), bad[i].expect)) fail_msg("'%s': '%s'", bad[i].text, error_get());
        assert_memory_equal(&before, &m, sizeof m);           /* untouched on error */
    }
}

TEST_MAIN("data hdf5", test_dir_setup, test_dir_teardown,
          test_data_form, test_case_folders, test_files_written_by_h5py, test_h5py_reads_our_files,
          test_list_split, test_label_lists)
