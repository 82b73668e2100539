#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "datasets/nifti.h"
#include "engine/atomic_file.h"
#include "engine/error.h"

/* Byte offsets of the header fields used here (nifti1.h, struct nifti_1_header). */
enum {
    OFF_SIZEOF_HDR = 0,
    OFF_DIM_INFO = 39,
    OFF_DIM = 40,          /* short dim[8] */
    OFF_INTENT_CODE = 68,
    OFF_DATATYPE = 70,
    OFF_BITPIX = 72,
    OFF_SLICE_START = 74,
    OFF_PIXDIM = 76,       /* float pixdim[8] */
    OFF_VOX_OFFSET = 108,
    OFF_SCL_SLOPE = 112,
    OFF_SCL_INTER = 116,
    OFF_SLICE_END = 120,
    OFF_SLICE_CODE = 122,
    OFF_XYZT_UNITS = 123,
    OFF_SLICE_DURATION = 132,
    OFF_TOFFSET = 136,
    OFF_DESCRIP = 148,
    OFF_QFORM_CODE = 252,
    OFF_SFORM_CODE = 254,
    OFF_QUATERN_B = 256,   /* quatern_b, c, d, qoffset_x, y, z, then srow_x, y, z [4] */
    OFF_SROW_END = 328,
    OFF_MAGIC = 344,
};

/* Largest uncompressed file the reader accepts (a 4-D cine of 30 frames is ~40 MB). */
#define NIFTI_MAX_BYTES ((size_t)2 << 30)
/* gzip level for written volumes: 6 is zlib's default balance of size and speed. */
#define NIFTI_GZIP_MODE "wb3"

/* ---- byte order: values are read and written byte by byte, so the host's order never matters */

static uint16_t get_u16(const unsigned char *p, int big)
{
    return big ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static uint32_t get_u32(const unsigned char *p, int big)
{
    return big ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
               : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint64_t get_u64(const unsigned char *p, int big)
{
    uint64_t a = get_u32(p, big), b = get_u32(p + 4, big);
    return big ? a << 32 | b : b << 32 | a;
}

static float get_f32(const unsigned char *p, int big)
{
    uint32_t u = get_u32(p, big);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void put_u16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_f32(unsigned char *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    put_u32(p, u);
}

/* ---- datatypes */

/* Bytes per voxel of a supported datatype, 0 otherwise. */
static int datatype_bytes(int datatype)
{
    switch (datatype) {
    case NIFTI_UINT8: case NIFTI_INT8: return 1;
    case NIFTI_INT16: case NIFTI_UINT16: return 2;
    case NIFTI_INT32: case NIFTI_UINT32: case NIFTI_FLOAT32: return 4;
    case NIFTI_FLOAT64: case NIFTI_INT64: case NIFTI_UINT64: return 8;
    default: return 0;
    }
}

const char *nifti_datatype_name(int datatype)
{
    switch (datatype) {
    case NIFTI_UINT8: return "uint8";
    case NIFTI_INT8: return "int8";
    case NIFTI_INT16: return "int16";
    case NIFTI_UINT16: return "uint16";
    case NIFTI_INT32: return "int32";
    case NIFTI_UINT32: return "uint32";
    case NIFTI_INT64: return "int64";
    case NIFTI_UINT64: return "uint64";
    case NIFTI_FLOAT32: return "float32";
    case NIFTI_FLOAT64: return "float64";
    default: return NULL;
    }
}

/* Names of the NIfTI-1 types the reader rejects, so the message says what the file holds. */
static const char *unsupported_datatype_name(int datatype)
{
    switch (datatype) {
    case 0: return "unknown (0)";
    case 1: return "binary (1 bit)";
    case 32: return "complex64";
    case 128: return "RGB24";
    case 1536: return "float128";
    case 1792: return "complex128";
    case 2048: return "complex256";
    case 2304: return "RGBA32";
    default: return NULL;
    }
}

/* One stored value as a double (int64 beyond 2^53 loses low bits, harmless for images). */
static double get_value(const unsigned char *p, int datatype, int big)
{
    switch (datatype) {
    case NIFTI_UINT8: return p[0];
    case NIFTI_INT8: return (int8_t)p[0];
    case NIFTI_INT16: return (int16_t)get_u16(p, big);
    case NIFTI_UINT16: return get_u16(p, big);
    case NIFTI_INT32: return (int32_t)get_u32(p, big);
    case NIFTI_UINT32: return get_u32(p, big);
    case NIFTI_INT64: return (double)(int64_t)get_u64(p, big);
    case NIFTI_UINT64: return (double)get_u64(p, big);
    case NIFTI_FLOAT32: return get_f32(p, big);
    case NIFTI_FLOAT64: {
        uint64_t u = get_u64(p, big);
        double d;
        memcpy(&d, &u, sizeof d);
        return d;
    }
    default: return 0;
    }
}

size_t nifti_voxel_count(const NiftiVolume *v)
{
    return (size_t)v->dim[0] * (size_t)v->dim[1] * (size_t)v->dim[2] * (size_t)v->dim[3];
}

void nifti_free(NiftiVolume *v)
{
    free(v->data);
    v->data = NULL;
}

/* ---- reading */

/* Which byte order makes sizeof_hdr read 348? Returns 0 little, 1 big, -1 error (set). */
static int detect_byte_order(const unsigned char *h, const char *name)
{
    uint32_t le = get_u32(h + OFF_SIZEOF_HDR, 0), be = get_u32(h + OFF_SIZEOF_HDR, 1);
    if (le == NIFTI_HEADER_SIZE) return 0;
    if (be == NIFTI_HEADER_SIZE) return 1;
    if (le == 540 || be == 540)
        return error_set("%s: NIfTI-2 file (sizeof_hdr 540) is not supported; convert it to "
                         "NIfTI-1 (e.g. nibabel: nib.Nifti1Image(img.dataobj, img.affine))", name);
    return error_set("%s: not a NIfTI-1 file (header size field is %u, expected 348)", name, le);
}

/* Spacing in mm from pixdim and the spatial unit code (xyzt_units & 7). */
static float spacing_mm(float pixdim, int units)
{
    double s = fabs((double)pixdim);
    if (!isfinite(s) || s == 0) return 1.0f;   /* unset: unit spacing, as other readers do */
    if (units == 1) s *= 1000.0;                /* NIFTI_UNITS_METER */
    else if (units == 3) s *= 0.001;            /* NIFTI_UNITS_MICRON */
    return (float)s;
}

/* A NIfTI-1 single-file header: size, byte order (*big: 1 big-endian) and magic "n+1". */
static int check_header_kind(const unsigned char *h, size_t size, const char *name, int *big)
{
    if (size < NIFTI_HEADER_SIZE)
        return error_set("%s: %zu bytes, shorter than the 348-byte NIfTI-1 header (truncated?)",
                         name, size);
    *big = detect_byte_order(h, name);
    if (*big < 0) return -1;
    const char *magic = (const char *)h + OFF_MAGIC;
    if (!memcmp(magic, "ni1", 4))
        return error_set("%s: NIfTI-1 header/image pair (.hdr/.img) is not supported; use a "
                         "single .nii or .nii.gz file", name);
    if (memcmp(magic, "n+1", 4))
        return error_set("%s: no NIfTI-1 magic 'n+1' at byte 344: an Analyze 7.5 file or a "
                         "damaged header (only NIfTI-1 is supported)", name);
    return 0;
}

/* dim[0..7], checked: 2-D to 4-D, every used dimension at least 1. */
static int read_dims(const unsigned char *h, int big, const char *name, int dim[8])
{
    for (int i = 0; i < 8; i++) dim[i] = (int16_t)get_u16(h + OFF_DIM + 2 * i, big);
    if (dim[0] < 1 || dim[0] > 7)
        return error_set("%s: bad header: dim[0] = %d (must be 1..7)", name, dim[0]);
    if (dim[0] < 2) return error_set("%s: 1-D data (dim[0] = 1) is not an image", name);
    for (int i = 1; i <= dim[0]; i++)
        if (dim[i] < 1) return error_set("%s: bad header: dim[%d] = %d", name, i, dim[i]);
    for (int i = 5; i <= dim[0]; i++)
        if (dim[i] != 1)
            return error_set("%s: %d-D data (dim[%d] = %d) is not supported (2-D to 4-D only)",
                             name, dim[0], i, dim[i]);
    return 0;
}

/* The datatype, a supported one whose bitpix agrees, and its bytes per value. */
static int read_datatype(const unsigned char *h, int big, const char *name, int *datatype,
                         int *bpv)
{
    *datatype = (int16_t)get_u16(h + OFF_DATATYPE, big);
    int bitpix = (int16_t)get_u16(h + OFF_BITPIX, big);
    *bpv = datatype_bytes(*datatype);
    if (!*bpv) {
        const char *what = unsupported_datatype_name(*datatype);
        if (what) return error_set("%s: datatype %s is not supported (supported: integer and "
                                   "float grayscale)", name, what);
        return error_set("%s: bad header: unknown datatype code %d", name, *datatype);
    }
    if (bitpix != 8 * *bpv)
        return error_set("%s: bad header: bitpix %d does not match datatype %s (%d bits)", name,
                         bitpix, nifti_datatype_name(*datatype), 8 * *bpv);
    return 0;
}

/* Where the voxels start: vox_offset, a whole number past the header (0: right after). */
static int read_vox_offset(const unsigned char *h, int big, const char *name, size_t *offset)
{
    float vox_offset = get_f32(h + OFF_VOX_OFFSET, big);
    if (!isfinite(vox_offset) || vox_offset < 0 || vox_offset != floorf(vox_offset) ||
        vox_offset > (float)NIFTI_MAX_BYTES)
        return error_set("%s: bad header: vox_offset %g", name, (double)vox_offset);
    *offset = (size_t)vox_offset;
    if (*offset == 0) *offset = NIFTI_DATA_OFFSET;    /* some writers leave it unset */
    if (*offset < NIFTI_DATA_OFFSET)
        return error_set("%s: bad header: vox_offset %zu is inside the header (must be >= 352)",
                         name, *offset);
    return 0;
}

/* v->spacing: mm for the n_spatial (<= 3) stored axes, 1 for the others; the time step. */
static int read_spacing(const unsigned char *h, int big, int n_spatial, const char *name,
                        NiftiVolume *v)
{
    int units = h[OFF_XYZT_UNITS] & 7;
    for (int i = 0; i < 3; i++) {
        float raw = get_f32(h + OFF_PIXDIM + 4 * (i + 1), big);
        v->spacing[i] = i < n_spatial ? spacing_mm(raw, units) : 1.0f;
        /* a kilometre per voxel, or less than a tenth of a micron: a damaged header (a
         * model's resampling would make the slice a single pixel or an enormous grid) */
        if (!(v->spacing[i] >= 1e-4f && v->spacing[i] < 1e6f))
            return error_set("%s: bad header: pixdim[%d] = %g is not a voxel size", name, i + 1,
                             (double)raw);
    }
    v->spacing[3] = fabsf(get_f32(h + OFF_PIXDIM + 16, big));   /* time step, unit as stored */
    if (!isfinite(v->spacing[3])) v->spacing[3] = 0;
    return 0;
}

/* v->data: the nvox stored values at p, scaled as value = scl_slope * stored + scl_inter.
 * Every value must be finite: a NaN or infinite intensity (stored, or made by the scaling)
 * has no place in an image, and any stand-in for it would change the answer silently. */
static int read_values(const unsigned char *h, const unsigned char *p, size_t nvox, int bpv,
                       const char *name, NiftiVolume *v)
{
    const int big = v->big_endian;
    /* scl_slope = 0 (or NaN, as nibabel writes) means the stored values are the values. */
    double slope = get_f32(h + OFF_SCL_SLOPE, big), inter = get_f32(h + OFF_SCL_INTER, big);
    if (isinf(slope)) return error_set("%s: bad header: scl_slope %g", name, slope);
    int scaled = isfinite(slope) && slope != 0;
    if (scaled && !isfinite(inter)) return error_set("%s: bad header: scl_inter %g", name, inter);
    if (!scaled) slope = 1, inter = 0;

    v->data = xmalloc(nvox * sizeof *v->data);
    for (size_t i = 0; i < nvox; i++, p += bpv) {
        v->data[i] = (float)(slope * get_value(p, v->datatype, big) + inter);
        if (!isfinite(v->data[i])) {
            const size_t nx = (size_t)v->dim[0], ny = (size_t)v->dim[1], nz = (size_t)v->dim[2];
            error_set("%s: the voxel at x=%zu y=%zu z=%zu t=%zu is %g, not an intensity", name,
                      i % nx, i / nx % ny, i / nx / ny % nz, i / nx / ny / nz, (double)v->data[i]);
            free(v->data);
            v->data = NULL;
            return -1;
        }
    }
    return 0;
}

/* What a header promises: its kind and byte order, dims, datatype and where the voxels
 * start; end = offset + the voxel bytes the dims need, the file's declared size. */
typedef struct Layout {
    int big, dim[8], datatype, bpv;
    size_t offset, nvox, end;
} Layout;

static int read_layout(const unsigned char *h, size_t size, const char *name, Layout *l)
{
    memset(l, 0, sizeof *l);
    if (check_header_kind(h, size, name, &l->big) || read_dims(h, l->big, name, l->dim) ||
        read_datatype(h, l->big, name, &l->datatype, &l->bpv) ||
        read_vox_offset(h, l->big, name, &l->offset))
        return -1;
    l->nvox = 1;                           /* < 2^60: four factors below 2^15 */
    for (int i = 1; i <= 4 && i <= l->dim[0]; i++) l->nvox *= (size_t)l->dim[i];
    l->end = l->offset + l->nvox * (size_t)l->bpv;
    if (l->end > NIFTI_MAX_BYTES)
        return error_set("%s: dims %dx%dx%dx%d of %s declare %zu MiB, more than the %zu MiB a "
                         "volume may have", name, l->dim[1], l->dim[0] >= 2 ? l->dim[2] : 1,
                         l->dim[0] >= 3 ? l->dim[3] : 1, l->dim[0] >= 4 ? l->dim[4] : 1,
                         nifti_datatype_name(l->datatype), l->end >> 20, NIFTI_MAX_BYTES >> 20);
    return 0;
}

int nifti_decode(const void *bytes, size_t size, const char *name, NiftiVolume *v)
{
    const unsigned char *h = bytes;
    memset(v, 0, sizeof *v);
    Layout l;
    if (read_layout(h, size, name, &l)) return -1;
    for (int i = 0; i < 4; i++) v->dim[i] = i + 1 <= l.dim[0] ? l.dim[i + 1] : 1;
    size_t need = l.nvox * (size_t)l.bpv;
    if (l.end > size)
        return error_set("%s: dims %dx%dx%dx%d of %s need %zu bytes of voxel data from offset "
                         "%zu, but the file has %zu (truncated, or dims do not match the file)",
                         name, v->dim[0], v->dim[1], v->dim[2], v->dim[3],
                         nifti_datatype_name(l.datatype), need, l.offset,
                         size > l.offset ? size - l.offset : 0);
    if (read_spacing(h, l.big, l.dim[0], name, v)) return -1;
    v->datatype = l.datatype;
    v->big_endian = l.big;
    return read_values(h, h + l.offset, l.nvox, l.bpv, name, v);
}

/* Up to want bytes from gz into buf; the count read (short at the end of the data or on an
 * error, which gzerror reports). */
static size_t gz_read_up_to(gzFile gz, unsigned char *buf, size_t want)
{
    size_t size = 0;
    while (size < want) {
        size_t chunk = want - size > (1u << 30) ? 1u << 30 : want - size;
        int got = gzread(gz, buf + size, (unsigned)chunk);
        if (got <= 0) break;   /* 0: end of data; -1: error, reported by the caller */
        size += (size_t)got;
    }
    return size;
}

/* The whole (decompressed) file into *out, *size bytes. The header is read and checked
 * first, and no more is inflated than it declares (a small .nii.gz may inflate to
 * gigabytes: those are never allocated). 0, or -1 with a message. */
static int read_all(const char *path, unsigned char **out, size_t *out_size)
{
    *out = NULL;
    *out_size = 0;
    gzFile gz = gzopen(path, "rb");    /* reads plain files too ("transparent" mode) */
    if (!gz) return error_set("%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
    gzbuffer(gz, 1 << 17);
    unsigned char *buf = xmalloc(NIFTI_DATA_OFFSET);
    size_t size = gz_read_up_to(gz, buf, NIFTI_DATA_OFFSET);
    Layout l;
    if (size >= NIFTI_HEADER_SIZE) {   /* shorter: nifti_decode says so */
        if (read_layout(buf, size, path, &l)) {
            gzclose(gz);
            free(buf);
            return -1;
        }
        buf = xrealloc(buf, l.end);
        size += gz_read_up_to(gz, buf + size, l.end - size);
        /* bytes past the declared end are not needed: read a little more, so that a stream
         * that ends there has its trailer checked, but inflate no further */
        unsigned char tail[1 << 12];
        gz_read_up_to(gz, tail, sizeof tail);
    }
    /* gzread returns what it could decode; a damaged or cut-off stream shows in gzerror. */
    int errnum = Z_OK;
    const char *zmsg = gzerror(gz, &errnum);
    char what[256];
    snprintf(what, sizeof what, "%s", zmsg ? zmsg : "");
    int close_status = gzclose(gz);
    if (errnum == Z_BUF_ERROR || close_status == Z_BUF_ERROR) {
        free(buf);
        return error_set("%s: truncated gzip data (unexpected end of file)", path);
    }
    if (errnum == Z_ERRNO) {
        free(buf);
        return error_set("%s: read error: %s", path, strerror(errno));
    }
    if (errnum != Z_OK || close_status != Z_OK) {
        free(buf);
        return error_set("%s: damaged gzip data (%s)", path, what[0] ? what : "gzclose failed");
    }
    *out = buf;
    *out_size = size;
    return 0;
}

int nifti_read_with_header(const char *path, NiftiVolume *v, NiftiHeader *hdr)
{
    memset(v, 0, sizeof *v);
    unsigned char *buf;
    size_t size;
    if (read_all(path, &buf, &size)) return -1;
    int status = nifti_decode(buf, size, path, v);
    if (!status && hdr) {      /* decode checked that the file holds a whole header */
        memcpy(hdr->raw, buf, NIFTI_HEADER_SIZE);
        hdr->big_endian = v->big_endian;
    }
    free(buf);
    return status;
}

int nifti_read(const char *path, NiftiVolume *v)
{
    return nifti_read_with_header(path, v, NULL);
}

/* ---- writing */

static void put_value(unsigned char *p, int datatype, float value)
{
    double x = isfinite(value) ? value : 0;
    double lo = 0, hi = 0;
    switch (datatype) {
    case NIFTI_FLOAT32: put_f32(p, (float)x); return;
    case NIFTI_FLOAT64: { uint64_t u; memcpy(&u, &x, sizeof u); put_u64(p, u); return; }
    case NIFTI_UINT8: lo = 0; hi = UINT8_MAX; break;
    case NIFTI_INT8: lo = INT8_MIN; hi = INT8_MAX; break;
    case NIFTI_INT16: lo = INT16_MIN; hi = INT16_MAX; break;
    case NIFTI_UINT16: lo = 0; hi = UINT16_MAX; break;
    case NIFTI_INT32: lo = INT32_MIN; hi = INT32_MAX; break;
    case NIFTI_UINT32: lo = 0; hi = UINT32_MAX; break;
    case NIFTI_INT64: lo = -9.2e18; hi = 9.2e18; break;
    case NIFTI_UINT64: lo = 0; hi = 1.8e19; break;
    }
    x = nearbyint(x < lo ? lo : x > hi ? hi : x);
    switch (datatype) {
    case NIFTI_UINT8: case NIFTI_INT8: p[0] = (unsigned char)(int64_t)x; break;
    case NIFTI_INT16: case NIFTI_UINT16: put_u16(p, (uint16_t)(int64_t)x); break;
    case NIFTI_INT32: case NIFTI_UINT32: put_u32(p, (uint32_t)(int64_t)x); break;
    case NIFTI_INT64: put_u64(p, (uint64_t)(int64_t)x); break;
    case NIFTI_UINT64: put_u64(p, (uint64_t)x); break;
    }
}

static void build_header(unsigned char *h, const NiftiVolume *v, int datatype)
{
    memset(h, 0, NIFTI_DATA_OFFSET);
    put_u32(h + OFF_SIZEOF_HDR, NIFTI_HEADER_SIZE);
    int ndim = v->dim[3] > 1 ? 4 : v->dim[2] > 1 ? 3 : 2;
    put_u16(h + OFF_DIM, (uint16_t)ndim);
    for (int i = 0; i < 7; i++) put_u16(h + OFF_DIM + 2 * (i + 1), (uint16_t)(i < 4 ? v->dim[i] : 1));
    put_u16(h + OFF_DATATYPE, (uint16_t)datatype);
    put_u16(h + OFF_BITPIX, (uint16_t)(8 * datatype_bytes(datatype)));
    put_f32(h + OFF_PIXDIM, 1.0f);           /* qfac */
    for (int i = 0; i < 4; i++) put_f32(h + OFF_PIXDIM + 4 * (i + 1), v->spacing[i]);
    for (int i = 5; i < 8; i++) put_f32(h + OFF_PIXDIM + 4 * i, 1.0f);
    put_f32(h + OFF_VOX_OFFSET, (float)NIFTI_DATA_OFFSET);
    put_f32(h + OFF_SCL_SLOPE, 1.0f);
    put_f32(h + OFF_SCL_INTER, 0.0f);
    h[OFF_XYZT_UNITS] = 2 | 8;               /* NIFTI_UNITS_MM | NIFTI_UNITS_SEC */
    memcpy(h + OFF_DESCRIP, "reusenet", 8);
    /* qform_code 1 with a zero quaternion: identity rotation, so other readers build the
     * affine diag(pixdim) and see the same geometry as this program. */
    put_u16(h + OFF_QFORM_CODE, 1);
    memcpy(h + OFF_MAGIC, "n+1", 4);
    /* bytes 348..351: extension flag 0 (no extensions) */
}

/* Overwrite the geometry fields of h (little-endian, built above) with those of `like`
 * (in its byte order): everything that places the voxels in space and time. */
static void copy_geometry(unsigned char *h, const NiftiHeader *like, int components)
{
    const unsigned char *g = like->raw;
    int big = like->big_endian;
    h[OFF_DIM_INFO] = g[OFF_DIM_INFO];
    h[OFF_XYZT_UNITS] = g[OFF_XYZT_UNITS];
    h[OFF_SLICE_CODE] = g[OFF_SLICE_CODE];
    put_u16(h + OFF_DIM, get_u16(g + OFF_DIM, big));
    put_u16(h + OFF_SLICE_START, get_u16(g + OFF_SLICE_START, big));
    put_u16(h + OFF_SLICE_END, get_u16(g + OFF_SLICE_END, big));
    put_u16(h + OFF_QFORM_CODE, get_u16(g + OFF_QFORM_CODE, big));
    put_u16(h + OFF_SFORM_CODE, get_u16(g + OFF_SFORM_CODE, big));
    for (int i = 0; i < 5; i++)             /* qfac and the spacings of dims 1..4 */
        put_f32(h + OFF_PIXDIM + 4 * i, get_f32(g + OFF_PIXDIM + 4 * i, big));
    put_f32(h + OFF_SLICE_DURATION, get_f32(g + OFF_SLICE_DURATION, big));
    put_f32(h + OFF_TOFFSET, get_f32(g + OFF_TOFFSET, big));
    for (int off = OFF_QUATERN_B; off < OFF_SROW_END; off += 4)
        put_f32(h + off, get_f32(g + off, big));
    if (components > 1) {                   /* nifti1.h: values per voxel go in dim[5] */
        put_u16(h + OFF_DIM, 5);
        put_u16(h + OFF_DIM + 2 * 5, (uint16_t)components);
        put_u16(h + OFF_INTENT_CODE, 1007);  /* NIFTI_INTENT_VECTOR */
    }
}

/* Header, then count values of v->data as datatype; with atomic through atomic_file.h. */
static int write_file(const char *path, const NiftiVolume *v, size_t count, int datatype,
                      int atomic, const unsigned char *header)
{
    int bpv = datatype_bytes(datatype);
    size_t n = strlen(path);
    const char *mode = n > 3 && !strcmp(path + n - 3, ".gz") ? NIFTI_GZIP_MODE : "wbT";

    /* Atomic: zlib writes to a duplicate of the temporary file's descriptor, and
     * atomic_commit then fsyncs and renames it. Otherwise straight to path. */
    AtomicFile *af = NULL;
    gzFile gz = NULL;
    if (atomic) {
        af = atomic_open(path);
        if (!af) return -1;
        int fd = dup(fileno(atomic_stream(af)));
        gz = fd >= 0 ? gzdopen(fd, mode) : NULL;
        if (!gz && fd >= 0) close(fd);
    } else {
        gz = gzopen(path, mode);
    }
    if (!gz) {
        atomic_abort(af);
        return error_set("cannot write %s: %s", path, errno ? strerror(errno) : "out of memory");
    }
    gzbuffer(gz, 1 << 17);
    int ok = gzwrite(gz, header, NIFTI_DATA_OFFSET) == NIFTI_DATA_OFFSET;

    /* Convert in chunks so a large volume needs no second full-size buffer. */
    enum { CHUNK = 16384 };
    unsigned char *chunk = xmalloc((size_t)CHUNK * (size_t)bpv);
    for (size_t start = 0; ok && start < count; start += CHUNK) {
        size_t m = count - start < CHUNK ? count - start : CHUNK;
        for (size_t i = 0; i < m; i++) put_value(chunk + i * (size_t)bpv, datatype, v->data[start + i]);
        unsigned len = (unsigned)(m * (size_t)bpv);
        ok = gzwrite(gz, chunk, len) == (int)len;
    }
    free(chunk);
    errno = 0;
    if (gzclose(gz) != Z_OK) ok = 0;
    if (!ok) {
        int e = errno;
        atomic_abort(af);
        if (!atomic) unlink(path);
        return error_set("cannot write %s: %s", path, e ? strerror(e) : "compression error");
    }
    return atomic ? atomic_commit(af) : 0;
}

static void check_writable(const NiftiVolume *v, int datatype)
{
    CHECK(datatype_bytes(datatype) > 0, "nifti_write: unsupported datatype %d", datatype);
    for (int i = 0; i < 4; i++)
        CHECK(v->dim[i] >= 1 && v->dim[i] <= 32767, "nifti_write: dim[%d] = %d", i, v->dim[i]);
}

int nifti_write(const char *path, const NiftiVolume *v, int datatype, int atomic)
{
    check_writable(v, datatype);
    unsigned char header[NIFTI_DATA_OFFSET];
    build_header(header, v, datatype);
    return write_file(path, v, nifti_voxel_count(v), datatype, atomic, header);
}

int nifti_write_like(const char *path, const NiftiVolume *v, int components, int datatype,
                     const NiftiHeader *like)
{
    check_writable(v, datatype);
    CHECK(components >= 1 && components <= 32767, "nifti_write_like: %d components", components);
    unsigned char header[NIFTI_DATA_OFFSET];
    build_header(header, v, datatype);
    copy_geometry(header, like, components);
    return write_file(path, v, nifti_voxel_count(v) * (size_t)components, datatype, 1, header);
}
