/* PNG files through libpng: grayscale slices and masks in, grayscale and RGB previews out.
 *
 * libpng rather than stb_image because it reports precisely what is wrong with a file
 * (bad CRC, cut-off data), keeps 16-bit samples exact, and writes PNG as well. The reader
 * accepts 1/2/4/8/16-bit gray (expanded to 8 bits below 8), drops an alpha channel, and
 * converts palette or RGB images to gray (R = G = B stays exact, so colour-saved masks with
 * equal channels still read as their label). Images up to 8192 x 8192. */
#ifndef REUSENET_PNGIO_H
#define REUSENET_PNGIO_H

#include <stddef.h>
#include <stdint.h>

typedef struct GrayImage {
    int width, height;
    int bit_depth;        /* 8 or 16: sample range 0..255 or 0..65535 */
    int was_color;        /* the file was palette/RGB and was converted to gray */
    uint16_t *pixels;     /* width*height samples, row-major (row 0 at the top) */
} GrayImage;

int pngio_read_gray(const char *path, GrayImage *img);
/* Decode a PNG held in memory; name is used in messages. */
int pngio_decode_gray(const void *bytes, size_t size, const char *name, GrayImage *img);
void pngio_free(GrayImage *img);

/* Write gray samples (bit_depth 8 or 16; 8-bit samples above 255 are clamped) or 8-bit
 * RGB triples. With atomic, through engine/atomic_file.h (temporary file, fsync, rename);
 * without, straight to path (for many files a program can simply write again, such as
 * per-slice overlays). Return 0 or -1 with a message naming path. */
int pngio_write_gray(const char *path, const uint16_t *pixels, int width, int height,
                     int bit_depth, int atomic);
int pngio_write_rgb(const char *path, const uint8_t *rgb, int width, int height, int atomic);

#endif
