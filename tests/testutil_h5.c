/* The HDF5 files of the tests (testutil.h, "SSL4MIS-style case files"): written with
 * libhdf5, as SSL4MIS's h5py scripts write them. */
#include <hdf5.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/testutil.h"

void test_h5_put(const char *path, const char *key, int ndim, const unsigned long long *dims,
                 const float *data, bool as_uint8)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = access(path, F_OK) == 0 ? H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT)
                                      : H5Fcreate(path, H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t d[8], chunk[8];
    assert_true(f >= 0 && ndim >= 0 && ndim <= 8);
    for (int k = 0; k < ndim; k++) {
        d[k] = dims[k];
        chunk[k] = dims[k] > 4 ? 4 : dims[k] ? dims[k] : 1;
    }
    hid_t space = ndim ? H5Screate_simple(ndim, d, NULL) : H5Screate(H5S_SCALAR);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    assert_true(space >= 0 && dcpl >= 0);
    if (ndim) assert_true(H5Pset_chunk(dcpl, ndim, chunk) >= 0 && H5Pset_deflate(dcpl, 4) >= 0);
    hid_t ds = H5Dcreate2(f, key, as_uint8 ? H5T_STD_U8LE : H5T_IEEE_F32LE, space, H5P_DEFAULT,
                          dcpl, H5P_DEFAULT);
    assert_true(ds >= 0);
    assert_true(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Fclose(f);
}

float test_h5_image_value(size_t i, int seed) { return (float)((i * 37 + (size_t)seed * 11) % 1000) / 999.0f; }
float test_h5_label_value(size_t i) { return (float)((i * 7 / 3) % 4); }

void test_h5_case(const char *path, int ndim, const unsigned long long *dims, int seed,
                  const float *labels)
{
    size_t n = 1;
    for (int k = 0; k < ndim; k++) n *= (size_t)dims[k];
    float *img = malloc(n * sizeof *img), *lab = malloc(n * sizeof *lab);
    for (size_t i = 0; i < n; i++) {
        img[i] = test_h5_image_value(i, seed);
        lab[i] = labels ? labels[i] : test_h5_label_value(i);
    }
    unlink(path);
    test_h5_put(path, "image", ndim, dims, img, false);
    test_h5_put(path, "label", ndim, dims, lab, true);
    free(img);
    free(lab);
}

static void fixture_dir(const char *path) { assert_int_equal(mkdir(path, 0777), 0); }

const char *test_h5_data_form(const char *name)
{
    const char *dir = path_in(test_dir(), "%s", name);
    fixture_dir(dir);
    fixture_dir(path_in(dir, "data"));
    fixture_dir(path_in(dir, "data/slices"));
    const unsigned long long vol[3] = {3, 6, 5}, sl[2] = {6, 5};
    test_h5_case(path_in(dir, "data/p1_frame01.h5"), 3, vol, 1, NULL);
    test_h5_case(path_in(dir, "data/p1_frame02.h5"), 3, vol, 2, NULL);
    for (int k = 1; k <= 3; k++) {
        test_h5_case(path_in(dir, "data/slices/p2_frame01_slice_%d.h5", k), 2, sl, 10 + k, NULL);
        test_h5_case(path_in(dir, "data/p2_frame02_slice_%d.h5", k), 2, sl, 20 + k, NULL);
    }
    test_h5_case(path_in(dir, "data/slices/p2_frame01_slice_10.h5"), 2, sl, 30, NULL);
    test_h5_case(path_in(dir, "data/p10_frame01.h5"), 3, vol, 3, NULL);
    test_h5_case(path_in(dir, "data/slices/p10_frame01_slice_0.h5"), 2, sl, 4, NULL);
    test_h5_case(path_in(dir, "data/slices/p10_frame01_slice_1.h5"), 2, sl, 5, NULL);
    test_file_write(path_in(dir, "train.list"), "p1_frame01\np1_frame02\r\n\n# a comment\np10_frame01\n");
    test_file_write(path_in(dir, "val.list"), "p2_frame01\np2_frame02\n");
    test_file_write(path_in(dir, "test.list"), "p2\n");
    return dir;
}

const char *test_h5_case_folders(const char *name, const char *cfg)
{
    const char *dir = path_in(test_dir(), "%s", name);
    fixture_dir(dir);
    const char *root = path_in(dir, "Training Set");
    fixture_dir(root);
    const char *ids[3] = {"B7", "A2", "A10"};
    const unsigned long long dims[3] = {5, 4, 3};       /* X, Y, Z */
    float lab[60];
    for (int i = 0; i < 60; i++) lab[i] = (float)(i % 5 == 0);
    for (int k = 0; k < 3; k++) {
        fixture_dir(path_in(root, "%s", ids[k]));
        test_h5_case(path_in(root, "%s/mri_norm2.h5", ids[k]), 3, dims, k, lab);
    }
    test_file_write(path_in(root, "A2/desktop.ini"), "[.ShellClassInfo]\n");
    test_file_write(path_in(dir, "train.list"), "A2\nB7\n");
    test_file_write(path_in(dir, "test.list"), "A10\n");
    if (cfg) test_file_write(path_in(dir, "dataset.cfg"), cfg);
    return dir;
}
