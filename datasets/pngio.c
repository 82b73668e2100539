#include <errno.h>
#include <png.h>
#include <zlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datasets/pngio.h"
#include "engine/atomic_file.h"
#include "engine/error.h"

enum { PNG_MAX_SIDE = 8192 };
#define PNG_MAX_FILE_BYTES ((size_t)512 << 20)

/* libpng reports errors through a callback that must not return; it longjmps back to the
 * setjmp in the caller, after the message has been recorded with error_set. */
typedef struct PngContext {
    const char *name;
    const unsigned char *bytes;   /* reading from memory */
    size_t size, pos;
} PngContext;

static void on_error(png_structp png, png_const_charp msg)
{
    PngContext *ctx = png_get_error_ptr(png);
    error_set("%s: damaged PNG (%s)", ctx->name, msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png; (void)msg;   /* warnings (e.g. an unknown chunk) do not stop reading */
}

static void read_from_memory(png_structp png, png_bytep out, png_size_t len)
{
    PngContext *ctx = png_get_io_ptr(png);
    if (len > ctx->size - ctx->pos) png_error(png, "file is truncated");
    memcpy(out, ctx->bytes + ctx->pos, len);
    ctx->pos += len;
}

void pngio_free(GrayImage *img)
{
    free(img->pixels);
    img->pixels = NULL;
}

int pngio_decode_gray(const void *bytes, size_t size, const char *name, GrayImage *img)
{
    memset(img, 0, sizeof *img);
    if (size < 8 || png_sig_cmp(bytes, 0, 8))
        return error_set("%s: not a PNG file (no PNG signature)", name);
    /* The IHDR chunk comes first (bytes 8..32): a size beyond the reader's bound is said as
     * such, not as the "damaged PNG" libpng's limit check would report; unless the chunk's
     * CRC is wrong, when its sizes mean nothing and libpng says what is wrong. */
    const unsigned char *b = bytes;
    const unsigned long crc = size >= 33 ? (unsigned long)b[29] << 24 | (unsigned long)b[30] << 16 |
                                           (unsigned long)b[31] << 8 | b[32] : 0;
    if (size >= 33 && !memcmp(b + 12, "IHDR", 4) && crc32(0L, b + 12, 17) == crc) {
        const unsigned long w = (unsigned long)b[16] << 24 | (unsigned long)b[17] << 16 |
                                (unsigned long)b[18] << 8 | b[19];
        const unsigned long h = (unsigned long)b[20] << 24 | (unsigned long)b[21] << 16 |
                                (unsigned long)b[22] << 8 | b[23];
        if (w > PNG_MAX_SIDE || h > PNG_MAX_SIDE)
            return error_set("%s: %lux%lu pixels, larger than the %d a side this reader takes",
                             name, w, h, PNG_MAX_SIDE);
    }
    PngContext ctx = {name, bytes, size, 0};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return error_set("%s: cannot start the PNG reader (out of memory)", name);
    }
    /* Locals changed after setjmp and used after a longjmp must be volatile. */
    unsigned char *volatile data = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(data);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    png_set_user_limits(png, PNG_MAX_SIDE, PNG_MAX_SIDE);
    png_set_read_fn(png, &ctx, read_from_memory);
    png_read_info(png, info);

    png_uint_32 width, height;
    int depth, color, interlace;
    png_get_IHDR(png, info, &width, &height, &depth, &color, &interlace, NULL, NULL);
    img->was_color = (color & PNG_COLOR_MASK_COLOR) != 0;
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (color & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS(png, info, NULL, 0, NULL);
    /* Weights 0.2126/0.7152/0.0722 (Rec. 709) in 1/100000 units; gray in = gray out. */
    if (img->was_color) png_set_rgb_to_gray_fixed(png, 1, 21268, 71514);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int out_depth = png_get_bit_depth(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (png_get_channels(png, info) != 1 || (out_depth != 8 && out_depth != 16) ||
        rowbytes != (size_t)width * (size_t)(out_depth / 8))
        png_error(png, "unexpected pixel layout after conversion to gray");

    data = xmalloc(rowbytes * height);
    rows = xmalloc(height * sizeof *rows);
    for (png_uint_32 y = 0; y < height; y++) rows[y] = data + y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);   /* checks the chunks after the image data (and IEND) */

    img->width = (int)width;
    img->height = (int)height;
    img->bit_depth = out_depth;
    img->pixels = xmalloc((size_t)width * height * sizeof *img->pixels);
    for (size_t i = 0, n = (size_t)width * height; i < n; i++)   /* PNG samples are big-endian */
        img->pixels[i] = out_depth == 16 ? (uint16_t)(data[2 * i] << 8 | data[2 * i + 1]) : data[i];
    free(data);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    return 0;
}

int pngio_read_gray(const char *path, GrayImage *img)
{
    memset(img, 0, sizeof *img);
    FILE *f = fopen(path, "rb");
    if (!f) return error_set("%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, size = 0;
    unsigned char *buf = xmalloc(cap);
    for (;;) {
        if (size == cap) {
            if (cap >= PNG_MAX_FILE_BYTES) {
                fclose(f);
                free(buf);
                return error_set("%s: larger than %zu MiB; not supported", path,
                                 PNG_MAX_FILE_BYTES >> 20);
            }
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        size_t got = fread(buf + size, 1, cap - size, f);
        size += got;
        if (got == 0) break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return error_set("%s: read error", path);
    }
    int status = pngio_decode_gray(buf, size, path, img);
    free(buf);
    return status;
}

/* Shared by the gray and RGB writers: `channels` samples of `bit_depth` per pixel. */
static int write_png(const char *path, const void *pixels, int width, int height, int bit_depth,
                     int channels, int atomic)
{
    CHECK(width > 0 && height > 0 && width <= PNG_MAX_SIDE && height <= PNG_MAX_SIDE,
          "png write: size %dx%d", width, height);
    CHECK(bit_depth == 8 || bit_depth == 16, "png write: bit depth %d", bit_depth);
    AtomicFile *af = NULL;
    FILE *f;
    if (atomic) {
        af = atomic_open(path);
        if (!af) return -1;
        f = atomic_stream(af);
    } else {
        f = fopen(path, "wb");
        if (!f) return error_set("cannot write %s: %s", path, strerror(errno));
    }
    PngContext ctx = {path, NULL, 0, 0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    size_t rowbytes = (size_t)width * (size_t)channels * (size_t)(bit_depth / 8);
    unsigned char *volatile row = xmalloc(rowbytes);
    if (!info || setjmp(png_jmpbuf(png))) {
        if (!info) error_set("cannot write %s: cannot start the PNG writer", path);
        png_destroy_write_struct(&png, &info);
        free(row);
        if (atomic) {
            atomic_abort(af);
        } else {
            fclose(f);
            unlink(path);
        }
        return -1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, bit_depth,
                 channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < height; y++) {
        size_t n = (size_t)width * (size_t)channels;
        if (bit_depth == 16) {                    /* PNG samples are big-endian */
            const uint16_t *src = (const uint16_t *)pixels + (size_t)y * n;
            for (size_t i = 0; i < n; i++) {
                row[2 * i] = (unsigned char)(src[i] >> 8);
                row[2 * i + 1] = (unsigned char)src[i];
            }
        } else if (channels == 1) {
            const uint16_t *src = (const uint16_t *)pixels + (size_t)y * n;
            for (size_t i = 0; i < n; i++) row[i] = (unsigned char)(src[i] > 255 ? 255 : src[i]);
        } else {
            memcpy(row, (const uint8_t *)pixels + (size_t)y * n, n);
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(row);
    if (atomic) return atomic_commit(af);   /* also reports a write error (a full disk) */
    int ok = fflush(f) == 0 && !ferror(f);
    int e = errno;
    if (fclose(f) != 0) ok = 0;
    if (!ok) {
        unlink(path);
        return error_set("cannot write %s: %s", path, strerror(e));
    }
    return 0;
}

int pngio_write_gray(const char *path, const uint16_t *pixels, int width, int height,
                     int bit_depth, int atomic)
{
    return write_png(path, pixels, width, height, bit_depth, 1, atomic);
}

int pngio_write_rgb(const char *path, const uint8_t *rgb, int width, int height, int atomic)
{
    return write_png(path, rgb, width, height, 8, 3, atomic);
}
