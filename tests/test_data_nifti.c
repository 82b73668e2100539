/* NIfTI-1 reader and writer: round trips for every datatype, hand-made headers for byte
 * order, scaling, extensions and 4-D data, every malformed-input message, and files
 * written by another program (nibabel, at test time; skipped with a message if missing). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

#include "datasets/nifti.h"
#include "engine/error.h"
#include "tests/testutil.h"

static void write_bytes(const char *path, const void *bytes, size_t n, int gzip)
{
    if (gzip) {
        gzFile gz = gzopen(path, "wb");
        assert_non_null(gz);
        assert_int_equal(gzwrite(gz, bytes, (unsigned)n), (int)n);
        assert_int_equal(gzclose(gz), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(bytes, 1, n, f), n);
        assert_int_equal(fclose(f), 0);
    }
}

/* ---- hand-made files: every header field written here, in either byte order */

typedef struct Hdr {
    int big, sizeof_hdr, datatype, bitpix, units;
    int dim[8];
    float pixdim[8], vox_offset, slope, inter;
    char magic[4];
} Hdr;

static void put(unsigned char *p, uint64_t v, int bytes, int big)
{
    for (int i = 0; i < bytes; i++) p[big ? bytes - 1 - i : i] = (unsigned char)(v >> (8 * i));
}

static void put_float(unsigned char *p, float f, int big)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    put(p, u, 4, big);
}

static Hdr default_hdr(int datatype, int bits, int nx, int ny, int nz, int nt)
{
    Hdr h = {0};
    h.sizeof_hdr = 348;
    h.datatype = datatype;
    h.bitpix = bits;
    h.units = 2;
    int nd = nt > 1 ? 4 : nz > 1 ? 3 : 2;
    int dims[8] = {nd, nx, ny, nz, nt, 1, 1, 1};
    memcpy(h.dim, dims, sizeof dims);
    float pix[8] = {1, 1.5f, 1.75f, 10, 0.5f, 1, 1, 1};
    memcpy(h.pixdim, pix, sizeof pix);
    h.vox_offset = 352;
    memcpy(h.magic, "n+1", 4);
    return h;
}

/* Header (vox_offset bytes, extension area filled with a pattern) followed by data. */
static size_t build_file(const Hdr *h, const unsigned char *data, size_t data_bytes, unsigned char **out)
{
    size_t off = h->vox_offset >= 352 ? (size_t)h->vox_offset : 352;
    unsigned char *b = calloc(1, off + data_bytes);
    put(b, (uint32_t)h->sizeof_hdr, 4, h->big);
    for (int i = 0; i < 8; i++) put(b + 40 + 2 * i, (uint16_t)h->dim[i], 2, h->big);
    put(b + 70, (uint16_t)h->datatype, 2, h->big);
    put(b + 72, (uint16_t)h->bitpix, 2, h->big);
    for (int i = 0; i < 8; i++) put_float(b + 76 + 4 * i, h->pixdim[i], h->big);
    put_float(b + 108, h->vox_offset, h->big);
    put_float(b + 112, h->slope, h->big);
    put_float(b + 116, h->inter, h->big);
    b[123] = (unsigned char)h->units;
    memcpy(b + 344, h->magic, 4);
    if (off > 352) {                   /* an extension: flag, esize, ecode, content */
        b[348] = 1;
        put(b + 352, (uint32_t)(off - 352), 4, h->big);
        put(b + 356, 6, 4, h->big);
        for (size_t i = 360; i < off; i++) b[i] = (unsigned char)('a' + i % 26);
    }
    memcpy(b + off, data, data_bytes);
    *out = b;
    return off + data_bytes;
}

static void encode_i16(const int *v, size_t n, int big, unsigned char *out)
{
    for (size_t i = 0; i < n; i++) put(out + 2 * i, (uint16_t)(int16_t)v[i], 2, big);
}

static void test_roundtrip_all_types(void **state)
{
    (void)state;
    static const int types[] = {NIFTI_UINT8, NIFTI_INT8, NIFTI_INT16, NIFTI_UINT16, NIFTI_INT32,
                                NIFTI_UINT32, NIFTI_INT64, NIFTI_UINT64, NIFTI_FLOAT32, NIFTI_FLOAT64};
    const int nx = 7, ny = 5, nz = 3, nt = 2, n = nx * ny * nz * nt;
    float *values = malloc(n * sizeof *values);
    fill_uniform(values, (size_t)n, 0, 120, 11);
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        for (int gz = 0; gz < 2; gz++) {
            int is_float = types[t] == NIFTI_FLOAT32 || types[t] == NIFTI_FLOAT64;
            NiftiVolume v = {{nx, ny, nz, nt}, {1.25f, 0.75f, 8.0f, 2.0f}, 0, 0, malloc(n * sizeof(float))};
            for (int i = 0; i < n; i++) v.data[i] = is_float ? values[i] - 60 : floorf(values[i]);
            char name[64];
            snprintf(name, sizeof name, "rt_%s.nii%s", nifti_datatype_name(types[t]), gz ? ".gz" : "");
            assert_int_equal(nifti_write(path_in(test_dir(), "%s", name), &v, types[t], 1), 0);
            NiftiVolume r;
            assert_int_equal(nifti_read(path_in(test_dir(), "%s", name), &r), 0);
            assert_int_equal(r.datatype, types[t]);
            for (int k = 0; k < 4; k++) {
                assert_int_equal(r.dim[k], v.dim[k]);
                assert_true(r.spacing[k] == v.spacing[k]);
            }
            assert_memory_equal(r.data, v.data, n * sizeof(float));
            nifti_free(&r);
            nifti_free(&v);
        }
    }
    free(values);
}

static void test_write_rounds_and_clamps(void **state)
{
    (void)state;
    float in[6] = {300.6f, -3.4f, 2.5f, NAN, 254.5f, -7};
    NiftiVolume v = {{3, 2, 1, 1}, {1, 1, 1, 0}, 0, 0, in};
    assert_int_equal(nifti_write(path_in(test_dir(), "clamp.nii"), &v, NIFTI_UINT8, 0), 0);
    NiftiVolume r;
    assert_int_equal(nifti_read(path_in(test_dir(), "clamp.nii"), &r), 0);
    float want[6] = {255, 0, 2, 0, 254, 0};   /* round half to even: 2.5 -> 2, 254.5 -> 254 */
    assert_memory_equal(r.data, want, sizeof want);
    nifti_free(&r);
}

static void test_big_endian_scaled_extension_4d(void **state)
{
    (void)state;
    int raw[2 * 3 * 2 * 2];
    for (int i = 0; i < 24; i++) raw[i] = (i * 37) % 200 - 100;
    unsigned char data[48], *file;
    for (int big = 0; big < 2; big++) {
        Hdr h = default_hdr(NIFTI_INT16, 16, 2, 3, 2, 2);
        h.big = big;
        h.slope = 0.5f;
        h.inter = 3;
        h.vox_offset = 432;      /* an 80-byte extension between header and data */
        h.units = 3;             /* microns: pixdim 1500 um = 1.5 mm */
        h.pixdim[1] = 1500;
        h.pixdim[2] = 800;
        h.pixdim[3] = 8000;
        encode_i16(raw, 24, big, data);
        size_t n = build_file(&h, data, sizeof data, &file);
        const char *path = path_in(test_dir(), "%s", big ? "be.nii.gz" : "le.nii.gz");
        write_bytes(path, file, n, 1);
        free(file);
        NiftiVolume v;
        assert_int_equal(nifti_read(path, &v), 0);
        assert_int_equal(v.big_endian, big);
        assert_int_equal(v.dim[0], 2);
        assert_int_equal(v.dim[1], 3);
        assert_int_equal(v.dim[2], 2);
        assert_int_equal(v.dim[3], 2);
        assert_true(fabsf(v.spacing[0] - 1.5f) < 1e-6f && fabsf(v.spacing[1] - 0.8f) < 1e-6f &&
                    fabsf(v.spacing[2] - 8.0f) < 1e-6f);
        for (int i = 0; i < 24; i++) assert_true(v.data[i] == 0.5f * raw[i] + 3);
        nifti_free(&v);
    }
}

static void test_slope_zero_or_nan_means_unscaled(void **state)
{
    (void)state;
    unsigned char data[4] = {0, 1, 2, 250}, *file;
    float slopes[2] = {0, NAN};
    for (int k = 0; k < 2; k++) {
        Hdr h = default_hdr(NIFTI_UINT8, 8, 2, 2, 1, 1);
        h.slope = slopes[k];
        h.inter = 50;            /* ignored without a slope */
        size_t n = build_file(&h, data, 4, &file);
        NiftiVolume v;
        assert_int_equal(nifti_decode(file, n, "mem", &v), 0);
        for (int i = 0; i < 4; i++) assert_true(v.data[i] == data[i]);
        nifti_free(&v);
        free(file);
    }
}

/* ---- malformed input: every path returns -1 with a message naming the file */

typedef struct BadCase {
    const char *name;
    const char *expect;
    void (*tweak)(Hdr *h, size_t *data_bytes);
} BadCase;

static void tw_hdr_size(Hdr *h, size_t *n) { (void)n; h->sizeof_hdr = 1234; }
static void tw_nifti2(Hdr *h, size_t *n) { (void)n; h->sizeof_hdr = 540; }
static void tw_analyze(Hdr *h, size_t *n) { (void)n; memset(h->magic, 0, 4); }
static void tw_pair(Hdr *h, size_t *n) { (void)n; memcpy(h->magic, "ni1", 4); }
static void tw_short_data(Hdr *h, size_t *n) { (void)h; *n -= 2; }
static void tw_big_dims(Hdr *h, size_t *n) { (void)n; h->dim[3] = 40; }
static void tw_complex(Hdr *h, size_t *n) { (void)n; h->datatype = 32; h->bitpix = 64; }
static void tw_rgb(Hdr *h, size_t *n) { (void)n; h->datatype = 128; h->bitpix = 24; }
static void tw_unknown_type(Hdr *h, size_t *n) { (void)n; h->datatype = 3; }
static void tw_bitpix(Hdr *h, size_t *n) { (void)n; h->bitpix = 8; }
static void tw_dim0(Hdr *h, size_t *n) { (void)n; h->dim[0] = 0; }
static void tw_dim0_big(Hdr *h, size_t *n) { (void)n; h->dim[0] = 9; }
static void tw_one_d(Hdr *h, size_t *n) { (void)n; h->dim[0] = 1; }
static void tw_negative_dim(Hdr *h, size_t *n) { (void)n; h->dim[2] = -4; }
static void tw_five_d(Hdr *h, size_t *n) { (void)n; h->dim[0] = 5; h->dim[5] = 2; }
static void tw_offset_inside(Hdr *h, size_t *n) { (void)n; h->vox_offset = 100; }
static void tw_offset_nan(Hdr *h, size_t *n) { (void)n; h->vox_offset = NAN; }
static void tw_offset_fraction(Hdr *h, size_t *n) { (void)n; h->vox_offset = 352.5f; }
static void tw_pixdim(Hdr *h, size_t *n) { (void)n; h->units = 1; h->pixdim[2] = 1e36f; }
static void tw_pixdim_tiny(Hdr *h, size_t *n) { (void)n; h->pixdim[1] = 1e-30f; }
static void tw_slope_inf(Hdr *h, size_t *n) { (void)n; h->slope = INFINITY; }
static void tw_inter_nan(Hdr *h, size_t *n) { (void)n; h->slope = 2; h->inter = NAN; }
static void tw_huge_dims(Hdr *h, size_t *n)
{
    (void)n;
    h->dim[1] = h->dim[2] = 30000;    /* 30000 x 30000 x 2 x 2 int16: 7 GB declared */
}

static const BadCase BAD[] = {
    {"hdrsize.nii", "not a NIfTI-1 file (header size field is 1234", tw_hdr_size},
    {"nifti2.nii", "NIfTI-2 file (sizeof_hdr 540) is not supported", tw_nifti2},
    {"analyze.nii", "Analyze 7.5", tw_analyze},
    {"pair.nii", "header/image pair", tw_pair},
    {"short.nii.gz", "need 48 bytes of voxel data from offset 352, but the file has 46", tw_short_data},
    {"bigdims.nii", "dims 2x3x40x2 of int16 need", tw_big_dims},
    {"complex.nii", "datatype complex64 is not supported", tw_complex},
    {"rgb.nii", "datatype RGB24 is not supported", tw_rgb},
    {"unknown.nii", "unknown datatype code 3", tw_unknown_type},
    {"bitpix.nii", "bitpix 8 does not match datatype int16", tw_bitpix},
    {"dim0.nii", "dim[0] = 0 (must be 1..7)", tw_dim0},
    {"dim0big.nii", "dim[0] = 9", tw_dim0_big},
    {"oned.nii", "1-D data", tw_one_d},
    {"negdim.nii", "dim[2] = -4", tw_negative_dim},
    {"fived.nii", "5-D data (dim[5] = 2) is not supported", tw_five_d},
    {"offset.nii", "vox_offset 100 is inside the header", tw_offset_inside},
    {"offnan.nii", "bad header: vox_offset nan", tw_offset_nan},
    {"offfrac.nii", "bad header: vox_offset 352.5", tw_offset_fraction},
    {"pixdim.nii", "bad header: pixdim[2] = 1e+36 is not a voxel size", tw_pixdim},
    {"pixtiny.nii", "bad header: pixdim[1] = 1e-30 is not a voxel size", tw_pixdim_tiny},
    {"slopeinf.nii", "bad header: scl_slope inf", tw_slope_inf},
    {"internan.nii", "bad header: scl_inter nan", tw_inter_nan},
    {"huge.nii.gz", "dims 30000x30000x2x2 of int16 declare 6866 MiB, more than the 2048 MiB",
     tw_huge_dims},
};

static void test_malformed_headers(void **state)
{
    (void)state;
    int raw[24] = {0};
    unsigned char data[48], *file;
    encode_i16(raw, 24, 0, data);
    for (size_t k = 0; k < sizeof BAD / sizeof BAD[0]; k++) {
        Hdr h = default_hdr(NIFTI_INT16, 16, 2, 3, 2, 2);
        size_t data_bytes = sizeof data;
        BAD[k].tweak(&h, &data_bytes);
        size_t n = build_file(&h, data, data_bytes, &file);
        const char *path = path_in(test_dir(), "%s", BAD[k].name);
        size_t len = strlen(path);
        write_bytes(path, file, n, len > 3 && !strcmp(path + len - 3, ".gz"));
        free(file);
        NiftiVolume v;
        error_clear();
        assert_int_equal(nifti_read(path, &v), -1);
        assert_null(v.data);
        if (!strstr(error_get(), BAD[k].expect) || !strstr(error_get(), path)) {
            print_error("case %s: got '%s', expected '%s'\n", BAD[k].name, error_get(), BAD[k].expect);
            fail();
        }
    }
}

static void test_truncated_and_damaged_gzip(void **state)
{
    (void)state;
    const int n = 24 * 20 * 6;
    NiftiVolume v = {{24, 20, 6, 1}, {1, 1, 1, 0}, 0, 0, malloc(n * sizeof(float))};
    fill_uniform(v.data, (size_t)n, 0, 1000, 3);
    const char *path = path_in(test_dir(), "trunc.nii.gz");
    assert_int_equal(nifti_write(path, &v, NIFTI_INT16, 0), 0);
    nifti_free(&v);
    FILE *f = fopen(path, "rb");
    unsigned char buf[65536];
    size_t size = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(size > 1000 && size < sizeof buf);

    NiftiVolume r;
    write_bytes(path, buf, size / 2, 0);                        /* cut in the middle */
    assert_int_equal(nifti_read(path, &r), -1);
    assert_non_null(strstr(error_get(), "truncated gzip data"));
    assert_non_null(strstr(error_get(), path));
    write_bytes(path, buf, size - 4, 0);                        /* only the trailer missing */
    assert_int_equal(nifti_read(path, &r), -1);
    assert_non_null(strstr(error_get(), "truncated gzip"));
    buf[size / 2] ^= 0x55;                                      /* damaged deflate data */
    buf[size / 2 + 1] ^= 0xff;
    write_bytes(path, buf, size, 0);
    assert_int_equal(nifti_read(path, &r), -1);
    assert_true(strstr(error_get(), "damaged gzip data") || strstr(error_get(), "truncated gzip"));
    write_bytes(path, buf, 100, 0);                             /* shorter than a header */
    assert_int_equal(nifti_read(path, &r), -1);
    assert_non_null(strstr(error_get(), "truncated gzip"));
    write_bytes(path, "short", 5, 0);                           /* plain, tiny */
    assert_int_equal(nifti_read(path, &r), -1);
    assert_non_null(strstr(error_get(), "shorter than the 348-byte NIfTI-1 header"));
    assert_int_equal(nifti_read(path_in(test_dir(), "missing.nii.gz"), &r), -1);
    assert_non_null(strstr(error_get(), "cannot open"));
}

/* ---- files written by nibabel */

static float *read_f32(const char *path, size_t n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    float *v = malloc(n * sizeof *v);
    assert_int_equal(fread(v, sizeof *v, n, f), n);
    fclose(f);
    return v;
}

static void compare_values(const char *what, const float *got, const float *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double tol = 1e-5 * fmax(1.0, fabs(want[i]));
        if (fabs((double)got[i] - want[i]) > tol) {
            print_error("%s: voxel %zu is %.9g, nibabel says %.9g\n", what, i, got[i], want[i]);
            fail();
        }
    }
}

static void test_files_written_by_nibabel(void **state)
{
    (void)state;
    if (!test_python_has("nibabel, numpy")) skip();
    char dir[4200], cmd[8600], out[4096];
    snprintf(dir, sizeof dir, "%s/nibabel", test_dir());
    snprintf(cmd, sizeof cmd, "%s tests/data/nifti_cases.py '%s'", test_python(), dir);
    if (run_command(cmd, out, sizeof out) != 0) {
        print_error("%s failed: %s\n", cmd, out);
        fail();
    }
    snprintf(cmd, sizeof cmd, "%s/cases.txt", dir);
    FILE *f = fopen(cmd, "r");
    assert_non_null(f);
    char line[8192];
    int reads = 0, rejects = 0;
    while (fgets(line, sizeof line, f)) {
        char kind[16], path[4096], dtype[32], f32[4096], text[256];
        int d[4];
        float sp[3];
        if (sscanf(line, "read %4095s %d %d %d %d %f %f %f %31s %4095s", path, &d[0], &d[1], &d[2],
                   &d[3], &sp[0], &sp[1], &sp[2], dtype, f32) == 10) {
            NiftiVolume v;
            if (nifti_read(path, &v) != 0) {
                print_error("%s: %s\n", path, error_get());
                fail();
            }
            for (int k = 0; k < 4; k++) assert_int_equal(v.dim[k], d[k]);
            for (int k = 0; k < 3; k++) assert_true(fabsf(v.spacing[k] - sp[k]) < 1e-4f * sp[k]);
            assert_string_equal(nifti_datatype_name(v.datatype), dtype);
            size_t n = nifti_voxel_count(&v);
            float *want = read_f32(f32, n);
            compare_values(path, v.data, want, n);
            free(want);
            nifti_free(&v);
            reads++;
        } else if (sscanf(line, "%15s %4095s %255s", kind, path, text) == 3 && !strcmp(kind, "reject")) {
            NiftiVolume v;
            assert_int_equal(nifti_read(path, &v), -1);
            if (!strstr(error_get(), text)) {
                print_error("%s: message '%s' does not say '%s'\n", path, error_get(), text);
                fail();
            }
            rejects++;
        }
    }
    fclose(f);
    assert_true(reads >= 11 && rejects >= 2);   /* the files written by the script itself */
}

static void test_nibabel_reads_our_files(void **state)
{
    (void)state;
    if (!test_python_has("nibabel, numpy")) skip();
    const int n = 9 * 7 * 3 * 2;
    NiftiVolume v = {{9, 7, 3, 2}, {1.37f, 1.37f, 10, 1}, 0, 0, malloc(n * sizeof(float))};
    fill_uniform(v.data, (size_t)n, -2000, 2000, 5);
    for (int i = 0; i < n; i++) v.data[i] = floorf(v.data[i]);
    const char *types[2] = {"ours_int16.nii.gz", "ours_float32.nii"};
    for (int k = 0; k < 2; k++) {
        char path[4200], f32[4300], cmd[9000], out[1024];
        snprintf(path, sizeof path, "%s", path_in(test_dir(), "%s", types[k]));
        snprintf(f32, sizeof f32, "%s.f32", path);
        assert_int_equal(nifti_write(path, &v, k ? NIFTI_FLOAT32 : NIFTI_INT16, 1), 0);
        snprintf(cmd, sizeof cmd, "%s tests/data/nifti_cases.py --dump '%s' '%s'", test_python(), path, f32);
        if (run_command(cmd, out, sizeof out) != 0) {
            print_error("%s failed: %s\n", cmd, out);
            fail();
        }
        int d[4];
        float z[3];
        assert_int_equal(sscanf(out, "dims %d %d %d %d zooms %f %f %f", &d[0], &d[1], &d[2], &d[3],
                                &z[0], &z[1], &z[2]), 7);
        for (int i = 0; i < 4; i++) assert_int_equal(d[i], v.dim[i]);
        for (int i = 0; i < 3; i++) assert_true(fabsf(z[i] - v.spacing[i]) < 1e-5f);
        float *seen = read_f32(f32, (size_t)n);
        compare_values(path, seen, v.data, (size_t)n);
        free(seen);
    }
    nifti_free(&v);
}

/* NaN and infinite voxels are refused, naming where they are. */
static void test_nonfinite_voxels(void **state)
{
    (void)state;
    const float bad[2] = {NAN, -INFINITY};
    for (int k = 0; k < 2; k++) {
        float data[3 * 2 * 2] = {0};
        data[7] = bad[k];                                   /* x=1 y=0 z=1 */
        Hdr h = default_hdr(NIFTI_FLOAT32, 32, 3, 2, 2, 1);
        unsigned char *file;
        size_t n = build_file(&h, (const unsigned char *)data, sizeof data, &file);
        const char *path = path_in(test_dir(), "nonfinite%d.nii", k);
        write_bytes(path, file, n, 0);
        free(file);
        NiftiVolume v;
        assert_int_equal(nifti_read(path, &v), -1);
        assert_null(v.data);
        const char *want = k ? "the voxel at x=1 y=0 z=1 t=0 is -inf, not an intensity"
                             : "the voxel at x=1 y=0 z=1 t=0 is nan, not an intensity";
        if (!strstr(error_get(), want) || !strstr(error_get(), path)) fail_msg("%s", error_get());
    }
    /* finite stored values that the scaling makes infinite */
    int raw[6] = {0, 0, 0, 0, 2, 0};
    unsigned char data[12], *file;
    encode_i16(raw, 6, 0, data);
    Hdr h = default_hdr(NIFTI_INT16, 16, 3, 2, 1, 1);
    h.slope = 3e38f;
    size_t n = build_file(&h, data, sizeof data, &file);
    const char *path = path_in(test_dir(), "overflow.nii");
    write_bytes(path, file, n, 0);
    free(file);
    NiftiVolume v;
    assert_int_equal(nifti_read(path, &v), -1);
    assert_non_null(strstr(error_get(), "the voxel at x=1 y=1 z=0 t=0 is inf, not an intensity"));
}

/* A gzip bomb: a valid 4x4 header whose stream goes on inflating (512 MiB of zeros). The
 * reader inflates what the header declares and a few KB more, never the whole stream: in
 * a child limited to 256 MiB of address space (not under ASan, which reserves terabytes)
 * it reads the volume. */
static const char *bomb_path;

static void read_bomb(void *arg)
{
    (void)arg;
#if !defined(__SANITIZE_ADDRESS__)
    struct rlimit lim = {256u << 20, 256u << 20};
    setrlimit(RLIMIT_AS, &lim);
#endif
    NiftiVolume v;
    if (nifti_read(bomb_path, &v) == 0 && v.dim[0] == 4 && v.dim[1] == 4 && v.data[5] == 5) {
        fprintf(stderr, "read the declared 4x4\n");
        _exit(1);                        /* assert_exits_with_message wants non-zero */
    }
    fprintf(stderr, "%s\n", error_get());
    _exit(2);
}

static void test_gzip_bomb(void **state)
{
    (void)state;
    unsigned char data[16], *file;
    for (int i = 0; i < 16; i++) data[i] = (unsigned char)i;
    Hdr h = default_hdr(NIFTI_UINT8, 8, 4, 4, 1, 1);
    size_t n = build_file(&h, data, sizeof data, &file);
    bomb_path = path_in(test_dir(), "bomb.nii.gz");
    gzFile gz = gzopen(bomb_path, "wb1");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, file, (unsigned)n), (int)n);
    free(file);
    static unsigned char zeros[1 << 20];
    for (int i = 0; i < 512; i++) assert_int_equal(gzwrite(gz, zeros, sizeof zeros), (int)sizeof zeros);
    assert_int_equal(gzclose(gz), Z_OK);
    assert_exits_with_message(read_bomb, NULL, "read the declared 4x4");
}

TEST_MAIN("data nifti", test_dir_setup, test_dir_teardown,
          test_roundtrip_all_types, test_write_rounds_and_clamps,
          test_big_endian_scaled_extension_4d, test_slope_zero_or_nan_means_unscaled,
          test_malformed_headers, test_truncated_and_damaged_gzip, test_nonfinite_voxels,
          test_gzip_bomb, test_files_written_by_nibabel, test_nibabel_reads_our_files)
