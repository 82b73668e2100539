/* .npy: files written by numpy load with the right values (versions 1.0, 2.0, 3.0, every
 * supported dtype), files we write are byte-identical to np.save's, conversions, and every
 * malformed header, dtype, order and size is rejected with its message. The numpy parts
 * are skipped (with a message) when /usr/bin/python3 with numpy is not available. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/error.h"
#include "engine/npy.h"
#include "engine/fsutil.h"
#include "tests/testutil.h"

static void run_python(const char *dir, const char *script)
{
    char cmd[8192], out[4096];
    snprintf(cmd, sizeof cmd, "cd '%s' && %s -c \"%s\"", dir, test_python(), script);
    int rc = run_command(cmd, out, sizeof out);
    if (rc) print_error("python failed: %s\n", out);
    assert_int_equal(rc, 0);
}

static void remove_dir(char *dir)
{
    assert_int_equal(remove_tree(dir), 0);
    free(dir);
}

/* ---- files from numpy ---- */

static void test_reads_numpy_files(void **state)
{
    (void)state;
    if (!test_python_has("numpy")) skip();
    char *dir = make_temp_dir("npy-read");
    /* Element i of every array is i * 0.5 (floats) or i - 3 (integers) or i % 256 (u1). */
    run_python(dir,
               "import numpy as np\n"
               "from numpy.lib import format as fm\n"
               "f = lambda s, t: (np.arange(int(np.prod(s))) * 0.5).astype(t).reshape(s)\n"
               "g = lambda s, t: (np.arange(int(np.prod(s))) - 3).astype(t).reshape(s)\n"
               "np.save('f4.npy', f((2, 3, 4), '<f4'))\n"
               "np.save('f8.npy', f((), '<f8') + 2.5)\n"
               "np.save('i8.npy', g((5,), '<i8'))\n"
               "np.save('i4.npy', g((2, 2), '<i4'))\n"
               "np.save('u1.npy', (np.arange(300) % 256).astype('|u1').reshape(3, 1, 100))\n"
               "np.save('empty.npy', np.zeros((0, 3), '<f4'))\n"
               "np.save('d8.npy', f((1, 2, 1, 2, 1, 2, 1, 2), '<f4'))\n"
               "fm.write_array(open('v2.npy', 'wb'), f((3, 2), '<f4'), version=(2, 0))\n"
               "fm.write_array(open('v3.npy', 'wb'), f((4,), '<f4'), version=(3, 0))\n"
               "np.save('fortran.npy', np.asfortranarray(f((2, 3), '<f4')))\n"
               "np.save('big.npy', f((2,), '>f4'))\n"
               "np.save('complex.npy', np.zeros(2, '<c8'))\n"
               "np.save('bool.npy', np.zeros(2, bool))\n"
               "np.save('record.npy', np.zeros(2, [('a', '<f4'), ('b', '<i4')]))\n");
    NpyArray a;
    char *p;

    p = fs_join(dir, "f4.npy");
    assert_int_equal(npy_read(p, &a), 0);
    assert_int_equal(a.dtype, NPY_DTYPE_F32);
    assert_int_equal(a.ndim, 3);
    assert_int_equal(a.shape[0], 2);
    assert_int_equal(a.shape[1], 3);
    assert_int_equal(a.shape[2], 4);
    assert_int_equal(a.count, 24);
    for (int i = 0; i < 24; i++) assert_true(((float *)a.data)[i] == 0.5f * (float)i);
    npy_free(&a);
    free(p);

    p = fs_join(dir, "f8.npy");
    assert_int_equal(npy_read(p, &a), 0);
    assert_int_equal(a.dtype, NPY_DTYPE_F64);
    assert_int_equal(a.ndim, 0);
    assert_int_equal(a.count, 1);
    assert_true(((double *)a.data)[0] == 2.5);
    npy_free(&a);
    assert_int_equal(npy_read_f32(p, &a), 0);          /* converted */
    assert_int_equal(a.dtype, NPY_DTYPE_F32);
    assert_true(((float *)a.data)[0] == 2.5f);
    npy_free(&a);
    assert_int_equal(npy_read_i64(p, &a), -1);
    assert_non_null(strstr(error_get(), "expected integer data, found floating-point '<f8'"));
    free(p);

    p = fs_join(dir, "i8.npy");
    assert_int_equal(npy_read_i64(p, &a), 0);
    assert_int_equal(a.ndim, 1);
    assert_int_equal(a.shape[0], 5);
    for (int i = 0; i < 5; i++) assert_true(((int64_t *)a.data)[i] == i - 3);
    npy_free(&a);
    free(p);

    p = fs_join(dir, "i4.npy");
    assert_int_equal(npy_read(p, &a), 0);
    assert_int_equal(a.dtype, NPY_DTYPE_I32);
    npy_free(&a);
    assert_int_equal(npy_read_i64(p, &a), 0);
    for (int i = 0; i < 4; i++) assert_true(((int64_t *)a.data)[i] == i - 3);
    npy_free(&a);
    assert_int_equal(npy_read_f32(p, &a), 0);
    for (int i = 0; i < 4; i++) assert_true(((float *)a.data)[i] == (float)(i - 3));
    npy_free(&a);
    free(p);

    p = fs_join(dir, "u1.npy");
    assert_int_equal(npy_read(p, &a), 0);
    assert_int_equal(a.dtype, NPY_DTYPE_U8);
    assert_int_equal(a.count, 300);
    for (int i = 0; i < 300; i++) assert_int_equal(((uint8_t *)a.data)[i], i % 256);
    npy_free(&a);
    assert_int_equal(npy_read_i64(p, &a), 0);
    assert_true(((int64_t *)a.data)[299] == 299 % 256);
    npy_free(&a);
    free(p);

    p = fs_join(dir, "empty.npy");
    assert_int_equal(npy_read(p, &a), 0);
    assert_int_equal(a.ndim, 2);
    assert_int_equal(a.count, 0);
    npy_free(&a);
    free(p);

    p = fs_join(dir, "d8.npy");
    assert_int_equal(npy_read(p, &a), 0);
    assert_int_equal(a.ndim, 8);
    assert_int_equal(a.count, 16);
    npy_free(&a);
    free(p);

    p = fs_join(dir, "v2.npy");
    assert_int_equal(npy_read(p, &a), 0);
    assert_int_equal(a.count, 6);
    assert_true(((float *)a.data)[5] == 2.5f);
    npy_free(&a);
    free(p);

    p = fs_join(dir, "v3.npy");
    assert_int_equal(npy_read(p, &a), 0);
    assert_int_equal(a.count, 4);
    assert_true(((float *)a.data)[3] == 1.5f);
    npy_free(&a);
    free(p);

    static const struct {
        const char *file, *expect;
    } rejected[] = {
        {"fortran.npy", "Fortran-order arrays are not supported"},
        {"big.npy", "big-endian data ('>f4') is not supported"},
        {"complex.npy", "unsupported .npy dtype '<c8'"},
        {"bool.npy", "unsupported .npy dtype '|b1'"},
        {"record.npy", "structured (record) arrays are not supported"},
    };
    for (size_t i = 0; i < sizeof rejected / sizeof rejected[0]; i++) {
        p = fs_join(dir, rejected[i].file);
        assert_int_equal(npy_read(p, &a), -1);
        if (!strstr(error_get(), rejected[i].expect) || !strstr(error_get(), rejected[i].file)) {
            print_error("%s: got '%s'\n", rejected[i].file, error_get());
            fail();
        }
        free(p);
    }
    remove_dir(dir);
}

/* ---- our files are np.save's files ---- */

static void test_writes_like_numpy(void **state)
{
    (void)state;
    if (!test_python_has("numpy")) skip();
    char *dir = make_temp_dir("npy-write");
    static const struct {
        int ndim;
        int shape[8];
    } cases[] = {
        {0, {0}}, {1, {5}}, {2, {3, 4}}, {4, {2, 1, 8, 8}}, {2, {0, 3}}, {1, {1234567}},
        {8, {1, 2, 1, 2, 1, 2, 1, 2}}, {3, {2147483647, 0, 1}}, {1, {42}},
        {8, {1, 0, 999999, 999999, 9999, 10, 1, 1}},      /* the longest header numpy allows */
    };
    enum { CASES = sizeof cases / sizeof cases[0] };
    char script[4096];
    size_t used = (size_t)snprintf(script, sizeof script, "import numpy as np\n"
                                   "def f(s): return (np.arange(int(np.prod(s))) * 0.25).astype('<f4').reshape(s)\n"
                                   "def g(s): return (np.arange(int(np.prod(s))) * 3 - 7).astype('<i8').reshape(s)\n");
    for (int k = 0; k < CASES; k++) {
        char shape[200] = "(";
        for (int d = 0; d < cases[k].ndim; d++)
            sprintf(shape + strlen(shape), "%d,", cases[k].shape[d]);
        strcat(shape, ")");
        used += (size_t)snprintf(script + used, sizeof script - used,
                                 "np.save('py_f%d.npy', f(%s))\nnp.save('py_i%d.npy', g(%s))\n",
                                 k, shape, k, shape);

        size_t count = 1;
        for (int d = 0; d < cases[k].ndim; d++) count *= (size_t)cases[k].shape[d];
        float *fv = malloc((count ? count : 1) * sizeof *fv);
        int64_t *iv = malloc((count ? count : 1) * sizeof *iv);
        for (size_t i = 0; i < count; i++) {
            fv[i] = (float)((double)i * 0.25);
            iv[i] = (int64_t)i * 3 - 7;
        }
        char name[64];
        sprintf(name, "c_f%d.npy", k);
        char *p = fs_join(dir, name);
        assert_int_equal(npy_write_f32(p, cases[k].ndim, cases[k].shape, fv), 0);
        free(p);
        sprintf(name, "c_i%d.npy", k);
        p = fs_join(dir, name);
        assert_int_equal(npy_write_i64(p, cases[k].ndim, cases[k].shape, iv), 0);
        free(p);
        free(fv);
        free(iv);
    }
    run_python(dir, script);
    for (int k = 0; k < CASES; k++)
        for (int t = 0; t < 2; t++) {
            char name[64];
            sprintf(name, "py_%c%d.npy", "fi"[t], k);
            char *pp = fs_join(dir, name);
            sprintf(name, "c_%c%d.npy", "fi"[t], k);
            char *pc = fs_join(dir, name);
            size_t lp, lc;
            unsigned char *bp = read_file_bytes(pp, &lp), *bc = read_file_bytes(pc, &lc);
            if (lp != lc || memcmp(bp, bc, lp)) {
                print_error("%s differs from numpy's file (%zu vs %zu bytes); header ours: %.*s\n",
                            name, lc, lp, 118, (const char *)bc + 10);
                fail();
            }
            /* And we read back what we wrote. */
            NpyArray a;
            assert_int_equal(npy_read(pc, &a), 0);
            assert_int_equal(a.ndim, cases[k].ndim);
            for (int d = 0; d < a.ndim; d++) assert_int_equal(a.shape[d], cases[k].shape[d]);
            npy_free(&a);
            free(bp); free(bc); free(pp); free(pc);
        }
    remove_dir(dir);
}

/* ---- malformed files, built by hand ---- */

/* A file: magic, version, header-length field, header text, then `data` zero bytes. */
static void write_npy_file(const char *path, int major, const char *header, size_t data)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    size_t n = strlen(header);
    fwrite("\x93NUMPY", 1, 6, f);
    fputc(major, f);
    fputc(0, f);
    for (int i = 0; i < (major == 1 ? 2 : 4); i++) fputc((int)(n >> (8 * i)) & 0xff, f);
    fwrite(header, 1, n, f);
    for (size_t i = 0; i < data; i++) fputc(0, f);
    fclose(f);
}

static void test_rejects_malformed(void **state)
{
    (void)state;
    static const struct {
        int major;
        const char *header;
        size_t data;
        const char *expect;
    } cases[] = {
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 8, NULL},   /* valid */
        {1, "{\"descr\":\"<f4\",\"shape\":(2,),\"fortran_order\":False}", 8, NULL},   /* valid */
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3L, 2L), }", 24, NULL},  /* py2 */
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 4,
         "data is 4 bytes but shape and dtype '<f4' need 8 (file truncated?)"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 12, "has extra bytes"},
        {1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", 8, "Fortran-order"},
        {1, "{'descr': '<f4', 'shape': (2,), }", 8, "lacks 'fortran_order'"},
        {1, "{'fortran_order': False, 'shape': (2,), }", 8, "lacks 'descr'"},
        {1, "{'descr': '<f4', 'fortran_order': False, }", 8, "lacks 'shape'"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", 8,
         "unexpected key 'x'"},
        {1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", 8,
         "key 'descr' appears twice"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", 8, "negative dimension"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", 8, "shape is not a tuple"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': [2], }", 8, "shape is not a tuple"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,), }", 8, "expected ',' or ')'"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (9999999999,), }", 8, "dimension too large"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 4,
         "more than 8 dimensions"},
        {1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", 8, "fortran_order is not True or False"},
        {1, "{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", 4, "unsupported .npy dtype '<f2'"},
        {1, "{'descr': '>i8', 'fortran_order': False, 'shape': (2,), }", 16, "big-endian"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x", 8, "text after the dict"},
        {1, "['descr', '<f4']", 8, "header is not a dict"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", 8, "malformed .npy header"},
        {1, "{'descr: '<f4'}", 8, "malformed .npy header"},
        {1, "", 8, "header is not a dict"},
        {4, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8,
         "unsupported .npy version 4.0"},
        {2, "{'descr': '<i8', 'fortran_order': False, 'shape': (), }", 8, NULL},       /* valid */
        {3, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }", 4, NULL},   /* valid */
    };
    char *dir = make_temp_dir("npy-bad");
    char *path = fs_join(dir, "bad.npy");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_npy_file(path, cases[i].major, cases[i].header, cases[i].data);
        NpyArray a;
        error_clear();
        int rc = npy_read(path, &a);
        if (cases[i].expect == NULL) {
            if (rc != 0) print_error("case %zu: %s\n", i, error_get());
            assert_int_equal(rc, 0);
            npy_free(&a);
        } else if (rc != -1 || !strstr(error_get(), cases[i].expect) ||
                   !strstr(error_get(), "bad.npy")) {
            print_error("case %zu: rc %d, '%s', expected '%s'\n", i, rc, error_get(),
                        cases[i].expect);
            fail();
        }
    }

    /* Framing: too short, wrong magic, header length beyond the file, missing file. */
    static const struct {
        const char *bytes;
        size_t len;
        const char *expect;
    } raw[] = {
        {"\x93NUM", 4, "file ends inside the magic string"},
        {"PK\x03\x04\0\0\0\0\0\0", 10, "not a .npy file"},
        {"\x93NUMPY\x01\x00\xff\x00{}", 12, "header length 255 goes beyond the end of the file"},
        {"\x93NUMPY\x02\x00\x00\x00\x00\x01", 12, "larger than"},
        {"\x93NUMPY\x01\x00\x02", 9, "file ends inside the header length"},
    };
    for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++) {
        FILE *f = fopen(path, "wb");
        fwrite(raw[i].bytes, 1, raw[i].len, f);
        fclose(f);
        NpyArray a;
        if (npy_read(path, &a) != -1 || !strstr(error_get(), raw[i].expect)) {
            print_error("raw case %zu: '%s', expected '%s'\n", i, error_get(), raw[i].expect);
            fail();
        }
    }
    unlink(path);
    NpyArray a;
    assert_int_equal(npy_read(path, &a), -1);
    assert_non_null(strstr(error_get(), "cannot open"));
    assert_int_equal(npy_read(dir, &a), -1);
    assert_non_null(strstr(error_get(), "not a regular file"));
    free(path);
    remove_dir(dir);
}

/* npy_decode (what fuzz_npy drives) gives what npy_read gives for the same bytes, and every
 * proper prefix of a valid file is rejected with one line and nothing left to free. */
static void test_decode_from_memory(void **state)
{
    (void)state;
    char *dir = make_temp_dir("npy-mem");
    char *path = path_in(dir, "x.npy");
    int32_t x[3 * 4];
    for (int i = 0; i < 12; i++) x[i] = i * i - 7;
    assert_int_equal(npy_write(path, NPY_DTYPE_I32, 2, (int[]){3, 4}, x), 0);
    size_t len;
    unsigned char *b = read_file_bytes(path, &len);
    NpyArray a, m;
    assert_int_equal(npy_read(path, &a), 0);
    assert_int_equal(npy_decode(b, len, "mem.npy", &m), 0);
    assert_int_equal(m.dtype, a.dtype);
    assert_int_equal(m.ndim, 2);
    assert_memory_equal(m.shape, a.shape, sizeof a.shape);
    assert_int_equal(m.count, 12);
    assert_memory_equal(m.data, x, sizeof x);
    assert_memory_equal(a.data, x, sizeof x);
    npy_free(&a);
    npy_free(&m);
    for (size_t n = 0; n < len; n++) {
        error_clear();
        if (npy_decode(b, n, "cut.npy", &m) != -1 || m.data || strncmp(error_get(), "cut.npy: ", 9) ||
            strchr(error_get(), '\n'))
            fail_msg("prefix of %zu bytes: '%s'", n, error_get());
    }
    free(b);
    remove_dir(dir);
}

static void test_round_trip(void **state)
{
    (void)state;
    char *dir = make_temp_dir("npy-rt");
    char *path = fs_join(dir, "x.npy");
    float x[2 * 3 * 5];
    fill_uniform(x, 30, -3, 3, 9);
    assert_int_equal(npy_write_f32(path, 3, (int[]){2, 3, 5}, x), 0);
    NpyArray a;
    assert_int_equal(npy_read_f32(path, &a), 0);
    assert_memory_equal(a.data, x, sizeof x);
    npy_free(&a);
    int64_t t[4] = {0, 3, -1, 9000000000LL};
    assert_int_equal(npy_write_i64(path, 2, (int[]){2, 2}, t), 0);
    assert_int_equal(npy_read_i64(path, &a), 0);
    assert_memory_equal(a.data, t, sizeof t);
    npy_free(&a);
    /* The data starts on a 64-byte boundary, as numpy pads it. */
    size_t len;
    unsigned char *b = read_file_bytes(path, &len);
    assert_int_equal((len - sizeof t) % 64, 0);
    assert_int_equal(b[len - sizeof t - 1], '\n');
    free(b);
    free(path);
    remove_dir(dir);
}

TEST_MAIN("npy", NULL, NULL,
          test_reads_numpy_files, test_writes_like_numpy, test_rejects_malformed,
          test_decode_from_memory, test_round_trip)
