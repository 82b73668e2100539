/* NumPy .npy reading and writing (format and contract in npy.h). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "error.h"
#include "fsutil.h"
#include "npy.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c assumes a little-endian machine"
#endif

/* numpy pads the header so the data starts on this boundary (numpy/lib/format.py). */
#define NPY_ALIGN 64
/* numpy leaves room for the first dimension to grow to this many digits. */
#define NPY_GROWTH_DIGITS 21
/* Larger headers are refused (numpy itself refuses more than 10000 bytes by default). */
#define NPY_MAX_HEADER (1u << 20)

static const struct {
    const char *descr;
    size_t size;
} dtype_info[NPY_DTYPE_COUNT] = {
    [NPY_DTYPE_F32] = {"<f4", 4}, [NPY_DTYPE_F64] = {"<f8", 8}, [NPY_DTYPE_I64] = {"<i8", 8},
    [NPY_DTYPE_I32] = {"<i4", 4}, [NPY_DTYPE_U8] = {"|u1", 1},
};

const char *npy_dtype_descr(NpyDtype dtype)
{
    return (unsigned)dtype < NPY_DTYPE_COUNT ? dtype_info[dtype].descr : "?";
}

size_t npy_dtype_size(NpyDtype dtype)
{
    return (unsigned)dtype < NPY_DTYPE_COUNT ? dtype_info[dtype].size : 0;
}

/* ---- header parsing: a Python dict literal with three known keys ---- */

typedef struct Header {
    const char *s, *end;          /* cursor and end of the header text */
    const char *start;            /* the header text, at file offset `prefix` */
    size_t prefix;
    const char *path;
    char descr[16];
    bool fortran;
    int ndim;
    int shape[NPY_MAX_DIMS];
    bool seen_descr, seen_fortran, seen_shape;
} Header;

static void skip_space(Header *h)
{
    while (h->s < h->end && (*h->s == ' ' || *h->s == '\t' || *h->s == '\n' || *h->s == '\r'))
        h->s++;
}

static bool accept(Header *h, char c)
{
    skip_space(h);
    if (h->s < h->end && *h->s == c) {
        h->s++;
        return true;
    }
    return false;
}

static int syntax_error(Header *h, const char *what)
{
    return error_set("%s: malformed .npy header (%s, at byte %zu)", h->path, what,
                     h->prefix + (size_t)(h->s - h->start));
}

/* A quoted Python string without escapes into buf (len bytes at most, NUL-terminated). */
static int parse_string(Header *h, char *buf, size_t len)
{
    skip_space(h);
    if (h->s >= h->end || (*h->s != '\'' && *h->s != '"')) return syntax_error(h, "expected a string");
    char quote = *h->s++;
    size_t n = 0;
    while (h->s < h->end && *h->s != quote) {
        if (*h->s == '\\' || *h->s == '\n' || n + 1 >= len)
            return syntax_error(h, "unsupported string");
        buf[n++] = *h->s++;
    }
    if (h->s >= h->end) return syntax_error(h, "unterminated string");
    h->s++;
    buf[n] = '\0';
    return 0;
}

static bool accept_word(Header *h, const char *word)
{
    skip_space(h);
    size_t n = strlen(word);
    if ((size_t)(h->end - h->s) >= n && !memcmp(h->s, word, n)) {
        h->s += n;
        return true;
    }
    return false;
}

/* (d0, d1, ...) with an optional trailing comma; Python 2 files may write 3L. */
static int parse_shape(Header *h)
{
    if (!accept(h, '(')) return syntax_error(h, "shape is not a tuple");
    h->ndim = 0;
    while (!accept(h, ')')) {
        skip_space(h);
        if (h->s < h->end && *h->s == '-')
            return error_set("%s: negative dimension in the .npy shape", h->path);
        if (h->s >= h->end || *h->s < '0' || *h->s > '9')
            return syntax_error(h, "shape entry is not an integer");
        long long v = 0;
        while (h->s < h->end && *h->s >= '0' && *h->s <= '9') {
            v = v * 10 + (*h->s++ - '0');
            if (v > 2147483647LL)
                return error_set("%s: .npy dimension too large (at most 2^31 - 1)", h->path);
        }
        if (h->s < h->end && *h->s == 'L') h->s++;
        if (h->ndim == NPY_MAX_DIMS)
            return error_set("%s: .npy array has more than %d dimensions", h->path, NPY_MAX_DIMS);
        h->shape[h->ndim++] = (int)v;
        if (accept(h, ',')) continue;
        /* "(5)" is the integer 5 in Python, not a tuple: a 1-tuple needs its comma. */
        if (accept(h, ')')) return h->ndim == 1 ? syntax_error(h, "shape is not a tuple") : 0;
        return syntax_error(h, "expected ',' or ')' in the shape");
    }
    return 0;
}

static int parse_header(Header *h)
{
    if (!accept(h, '{')) return syntax_error(h, "header is not a dict");
    while (!accept(h, '}')) {
        char key[32];
        if (parse_string(h, key, sizeof key) != 0) return -1;
        if (!accept(h, ':')) return syntax_error(h, "expected ':'");
        bool *seen;
        int rc = 0;
        if (!strcmp(key, "descr")) {
            seen = &h->seen_descr;
            skip_space(h);
            if (h->s < h->end && *h->s == '[')
                return error_set("%s: structured (record) arrays are not supported", h->path);
            rc = parse_string(h, h->descr, sizeof h->descr);
        } else if (!strcmp(key, "fortran_order")) {
            seen = &h->seen_fortran;
            if (accept_word(h, "True")) h->fortran = true;
            else if (accept_word(h, "False")) h->fortran = false;
            else rc = syntax_error(h, "fortran_order is not True or False");
        } else if (!strcmp(key, "shape")) {
            seen = &h->seen_shape;
            rc = parse_shape(h);
        } else {
            return error_set("%s: unexpected key '%s' in the .npy header", h->path, key);
        }
        if (rc != 0) return -1;
        if (*seen) return error_set("%s: key '%s' appears twice in the .npy header", h->path, key);
        *seen = true;
        if (accept(h, ',')) continue;
        if (accept(h, '}')) break;
        return syntax_error(h, "expected ',' or '}'");
    }
    skip_space(h);
    if (h->s != h->end) return syntax_error(h, "text after the dict");
    if (!h->seen_descr || !h->seen_fortran || !h->seen_shape)
        return error_set("%s: .npy header lacks '%s'", h->path,
                         !h->seen_descr ? "descr" : !h->seen_fortran ? "fortran_order" : "shape");
    return 0;
}

static int dtype_from_descr(const char *path, const char *descr, NpyDtype *out)
{
    for (int d = 0; d < NPY_DTYPE_COUNT; d++)
        if (!strcmp(descr, dtype_info[d].descr)) {
            *out = (NpyDtype)d;
            return 0;
        }
    if (descr[0] == '>')
        return error_set("%s: big-endian data ('%s') is not supported (convert with "
                         "a.astype(a.dtype.newbyteorder('<')))", path, descr);
    return error_set("%s: unsupported .npy dtype '%s' (supported: <f4 <f8 <i8 <i4 |u1)", path,
                     descr);
}

/* ---- reading ---- */

/* Check the whole file (size bytes at b) and fill out's dtype, shape and count; the data
 * are the last *nbytes bytes. 0, or -1 with the error set. */
static int npy_parse(const unsigned char *b, size_t size, const char *path, NpyArray *out,
                     size_t *nbytes)
{
    if (size < 8) return error_set("%s: file ends inside the magic string", path);
    if (memcmp(b, "\x93NUMPY", 6) != 0)
        return error_set("%s: not a .npy file (no \\x93NUMPY magic string)", path);
    if (!(b[7] == 0 && b[6] >= 1 && b[6] <= 3))
        return error_set("%s: unsupported .npy version %d.%d (1.0, 2.0 and 3.0 are)", path,
                         b[6], b[7]);
    size_t prefix = b[6] == 1 ? 10 : 12;   /* magic + version + header length */
    if (size < prefix) return error_set("%s: file ends inside the header length", path);
    size_t hlen = b[8] | (size_t)b[9] << 8;
    if (prefix == 12) hlen |= (size_t)b[10] << 16 | (size_t)b[11] << 24;
    if (hlen > NPY_MAX_HEADER)
        return error_set("%s: .npy header length %zu is larger than %u bytes", path, hlen,
                         NPY_MAX_HEADER);
    if (prefix + hlen > size)
        return error_set("%s: .npy header length %zu goes beyond the end of the file (%zu bytes)",
                         path, hlen, size);
    Header h = {.path = path, .s = (const char *)b + prefix, .start = (const char *)b + prefix,
                .end = (const char *)b + prefix + hlen, .prefix = prefix};
    if (parse_header(&h) != 0 || dtype_from_descr(path, h.descr, &out->dtype) != 0) return -1;
    if (h.fortran)
        return error_set("%s: Fortran-order arrays are not supported (save "
                         "np.ascontiguousarray(a) instead)", path);
    size_t count = 1, need;
    for (int i = 0; i < h.ndim; i++)
        if (__builtin_mul_overflow(count, (size_t)h.shape[i], &count))
            return error_set("%s: .npy shape has too many elements", path);
    if (__builtin_mul_overflow(count, dtype_info[out->dtype].size, &need))
        return error_set("%s: .npy shape has too many elements", path);
    size_t have = size - prefix - hlen;
    if (have != need)
        return error_set("%s: .npy data is %zu bytes but shape and dtype '%s' need %zu (file %s)",
                         path, have, dtype_info[out->dtype].descr, need,
                         have < need ? "truncated?" : "has extra bytes");
    out->ndim = h.ndim;
    memcpy(out->shape, h.shape, sizeof out->shape);
    out->count = count;
    *nbytes = need;
    return 0;
}

int npy_decode(const void *bytes, size_t size, const char *path, NpyArray *out)
{
    memset(out, 0, sizeof *out);
    size_t nbytes;
    if (npy_parse(bytes, size, path, out, &nbytes) != 0) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    out->data = xmalloc(nbytes ? nbytes : 1);
    memcpy(out->data, (const unsigned char *)bytes + size - nbytes, nbytes);
    return 0;
}

int npy_read(const char *path, NpyArray *out)
{
    memset(out, 0, sizeof *out);
    char *file;
    size_t size, nbytes;
    if (read_whole_file(path, &file, &size) != 0) return -1;
    if (npy_parse((const unsigned char *)file, size, path, out, &nbytes) != 0) {
        free(file);
        memset(out, 0, sizeof *out);
        return -1;
    }
    /* The data are the file's tail: move them to the front of the buffer, which is then
     * the array's (one copy of the file in memory, not two). */
    memmove(file, file + size - nbytes, nbytes);
    out->data = xrealloc(file, nbytes ? nbytes : 1);
    return 0;
}

void npy_free(NpyArray *a)
{
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* Element i of a as a double (exact for every supported type but huge int64). */
static double element(const NpyArray *a, size_t i)
{
    switch (a->dtype) {
    case NPY_DTYPE_F32: return ((const float *)a->data)[i];
    case NPY_DTYPE_F64: return ((const double *)a->data)[i];
    case NPY_DTYPE_I64: return (double)((const int64_t *)a->data)[i];
    case NPY_DTYPE_I32: return ((const int32_t *)a->data)[i];
    case NPY_DTYPE_U8: return ((const uint8_t *)a->data)[i];
    default: CHECK(0, "bad npy dtype %d", a->dtype);
    }
}

/* a's values converted to `to` (float32 or int64, as a C cast converts the double that
 * element() reads), in place of its data. */
static void convert(NpyArray *a, NpyDtype to)
{
    void *data = xmalloc(a->count * (to == NPY_DTYPE_F32 ? sizeof(float) : sizeof(int64_t)));
    for (size_t i = 0; i < a->count; i++) {
        if (to == NPY_DTYPE_F32) ((float *)data)[i] = (float)element(a, i);
        else ((int64_t *)data)[i] = (int64_t)element(a, i);
    }
    free(a->data);
    a->data = data;
    a->dtype = to;
}

int npy_read_f32(const char *path, NpyArray *out)
{
    if (npy_read(path, out) != 0) return -1;
    if (out->dtype != NPY_DTYPE_F32) convert(out, NPY_DTYPE_F32);
    return 0;
}

int npy_read_i64(const char *path, NpyArray *out)
{
    if (npy_read(path, out) != 0) return -1;
    if (out->dtype == NPY_DTYPE_I64) return 0;
    if (out->dtype == NPY_DTYPE_F32 || out->dtype == NPY_DTYPE_F64) {
        error_set("%s: expected integer data, found floating-point '%s'", path,
                  dtype_info[out->dtype].descr);
        npy_free(out);
        return -1;
    }
    convert(out, NPY_DTYPE_I64);
    return 0;
}

/* ---- writing, byte for byte as numpy.lib.format.write_array ---- */

int npy_write(const char *path, NpyDtype dtype, int ndim, const int *shape, const void *data)
{
    CHECK((unsigned)dtype < NPY_DTYPE_COUNT, "bad npy dtype %d", dtype);
    CHECK(ndim >= 0 && ndim <= NPY_MAX_DIMS, "npy array with %d dimensions", ndim);
    /* The dict, keys sorted, each "'key': repr(value), "; repr of a 1-tuple is "(5,)". */
    char header[512];
    size_t n = (size_t)snprintf(header, sizeof header,
                                "{'descr': '%s', 'fortran_order': False, 'shape': (",
                                dtype_info[dtype].descr);
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        CHECK(shape[i] >= 0, "npy array with negative dimension %d", shape[i]);
        n += (size_t)snprintf(header + n, sizeof header - n, i ? ", %d" : "%d", shape[i]);
        count *= (size_t)shape[i];
    }
    n += (size_t)snprintf(header + n, sizeof header - n, "%s), }", ndim == 1 ? "," : "");
    if (ndim > 0) {
        /* Spare room so the first dimension can grow in place (numpy >= 1.24). */
        int digits = snprintf(NULL, 0, "%d", shape[0]);
        for (int i = digits; i < NPY_GROWTH_DIGITS; i++) header[n++] = ' ';
    }
    /* Pad with spaces and a final newline to a multiple of 64 bytes, counting the
     * magic, version and length prefix; numpy pads a full 64 when already aligned. */
    int major = 1;
    size_t prefix = 10;                          /* magic, version, u16 length */
    size_t pad = NPY_ALIGN - (prefix + n + 1) % NPY_ALIGN;
    if (n + pad + 1 > 65535) {
        /* Version 2.0 (u32 length) when the header outgrows a u16, as numpy does. With
         * at most 8 dimensions our headers stay far below that. */
        major = 2;
        prefix = 12;
        pad = NPY_ALIGN - (prefix + n + 1) % NPY_ALIGN;
    }
    size_t hlen = n + pad + 1;
    unsigned char start[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', (unsigned char)major, 0};
    for (size_t i = 0; i < prefix - 8; i++) start[8 + i] = (unsigned char)(hlen >> (8 * i));

    AtomicFile *af = atomic_open(path);
    if (!af) return -1;
    FILE *f = atomic_stream(af);
    fwrite(start, 1, prefix, f);
    fwrite(header, 1, n, f);
    for (size_t i = 0; i < pad; i++) fputc(' ', f);
    fputc('\n', f);
    if (count) fwrite(data, dtype_info[dtype].size, count, f);
    return atomic_commit(af);       /* detects any failed write above */
}

int npy_write_f32(const char *path, int ndim, const int *shape, const float *data)
{
    return npy_write(path, NPY_DTYPE_F32, ndim, shape, data);
}

int npy_write_i64(const char *path, int ndim, const int *shape, const int64_t *data)
{
    return npy_write(path, NPY_DTYPE_I64, ndim, shape, data);
}
