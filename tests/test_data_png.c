/* PNG slices: 8- and 16-bit round trips, conversions of other colour types to gray, and
 * the messages for damaged files. */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/pngio.h"
#include "engine/error.h"
#include "tests/testutil.h"

static void write_all(const char *path, const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

static void test_roundtrip_8_and_16_bit(void **state)
{
    (void)state;
    const int w = 37, h = 23;
    uint16_t *pix = malloc(w * h * sizeof *pix);
    for (int depth = 8; depth <= 16; depth += 8) {
        for (int atomic = 0; atomic < 2; atomic++) {
            for (int i = 0; i < w * h; i++)
                pix[i] = (uint16_t)((i * 2654435761u >> 7) % (depth == 8 ? 256u : 65536u));
            const char *path = path_in(test_dir(), "%s", depth == 8 ? "g8.png" : "g16.png");
            assert_int_equal(pngio_write_gray(path, pix, w, h, depth, atomic), 0);
            GrayImage img;
            assert_int_equal(pngio_read_gray(path, &img), 0);
            assert_int_equal(img.width, w);
            assert_int_equal(img.height, h);
            assert_int_equal(img.bit_depth, depth);
            assert_int_equal(img.was_color, 0);
            assert_memory_equal(img.pixels, pix, w * h * sizeof *pix);
            pngio_free(&img);
        }
    }
    free(pix);
}

static void test_rgb_with_equal_channels_reads_as_gray(void **state)
{
    (void)state;
    const int w = 5, h = 4;
    uint8_t rgb[5 * 4 * 3];
    for (int i = 0; i < w * h; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = (uint8_t)(i % 4 * 60 + i);
    assert_int_equal(pngio_write_rgb(path_in(test_dir(), "rgb.png"), rgb, w, h, 1), 0);
    GrayImage img;
    assert_int_equal(pngio_read_gray(path_in(test_dir(), "rgb.png"), &img), 0);
    assert_int_equal(img.was_color, 1);
    for (int i = 0; i < w * h; i++) assert_int_equal(img.pixels[i], rgb[3 * i]);
    pngio_free(&img);
}

/* Files in colour types our writer does not produce, written with libpng directly. */
static void write_with_libpng(const char *path, int color, int depth, int w, int h,
                              const unsigned char *rows_data, int rowbytes, const png_color *palette,
                              int palette_n)
{
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_int_equal(setjmp(png_jmpbuf(png)), 0);
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color, PNG_INTERLACE_ADAM7,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (palette) png_set_PLTE(png, info, palette, palette_n);
    png_write_info(png, info);
    png_bytep *rows = malloc(h * sizeof *rows);
    for (int y = 0; y < h; y++) rows[y] = (png_bytep)rows_data + y * rowbytes;
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    fclose(f);
}

static void test_other_colour_types(void **state)
{
    (void)state;
    /* 2-bit gray (expanded to 8 bits: value v reads as v * 85), interlaced */
    unsigned char g2[2 * 4] = {0x1B, 0xE4, 0x1B, 0xE4, 0x1B, 0xE4, 0x1B, 0xE4};  /* 0123 3210 */
    write_with_libpng(path_in(test_dir(), "g2.png"), PNG_COLOR_TYPE_GRAY, 2, 8, 4, g2, 2, NULL, 0);
    GrayImage img;
    assert_int_equal(pngio_read_gray(path_in(test_dir(), "g2.png"), &img), 0);
    static const int want2[8] = {0, 1, 2, 3, 3, 2, 1, 0};
    for (int x = 0; x < 8; x++) assert_int_equal(img.pixels[3 * 8 + x], want2[x] * 85);
    pngio_free(&img);
    /* gray + alpha: alpha dropped */
    unsigned char ga[3 * 2 * 2];
    for (int i = 0; i < 6; i++) { ga[2 * i] = (unsigned char)(i * 40); ga[2 * i + 1] = (unsigned char)(255 - i); }
    write_with_libpng(path_in(test_dir(), "ga.png"), PNG_COLOR_TYPE_GRAY_ALPHA, 8, 3, 2, ga, 6, NULL, 0);
    assert_int_equal(pngio_read_gray(path_in(test_dir(), "ga.png"), &img), 0);
    for (int i = 0; i < 6; i++) assert_int_equal(img.pixels[i], i * 40);
    pngio_free(&img);
    /* palette mask whose entries are gray levels 0..3 */
    png_color pal[4] = {{0, 0, 0}, {1, 1, 1}, {2, 2, 2}, {3, 3, 3}};
    unsigned char idx[4 * 3] = {0, 1, 2, 3, 3, 2, 1, 0, 1, 1, 3, 3};
    write_with_libpng(path_in(test_dir(), "pal.png"), PNG_COLOR_TYPE_PALETTE, 8, 4, 3, idx, 4, pal, 4);
    assert_int_equal(pngio_read_gray(path_in(test_dir(), "pal.png"), &img), 0);
    assert_int_equal(img.was_color, 1);
    for (int i = 0; i < 12; i++) assert_int_equal(img.pixels[i], idx[i]);
    pngio_free(&img);
}

static void expect_error(const char *path, const char *text)
{
    GrayImage img;
    error_clear();
    assert_int_equal(pngio_read_gray(path, &img), -1);
    assert_null(img.pixels);
    if (!strstr(error_get(), text) || !strstr(error_get(), path)) {
        print_error("%s: got '%s', expected '%s'\n", path, error_get(), text);
        fail();
    }
}

static void test_damaged_files(void **state)
{
    (void)state;
    const int w = 64, h = 48;
    uint16_t *pix = malloc(w * h * sizeof *pix);
    for (int i = 0; i < w * h; i++) pix[i] = (uint16_t)(i * 7919 % 65536);
    const char *path = path_in(test_dir(), "ok16.png");
    assert_int_equal(pngio_write_gray(path, pix, w, h, 16, 1), 0);
    free(pix);
    size_t n;
    unsigned char *b = read_file_bytes(path, &n);
    const char *bad = path_in(test_dir(), "bad.png");
    /* cut at several places: inside IHDR, inside IDAT, just before IEND */
    size_t cuts[4] = {20, 40, n / 2, n - 6};
    for (int k = 0; k < 4; k++) {
        write_all(bad, b, cuts[k]);
        expect_error(bad, "damaged PNG");
    }
    write_all(bad, b, 5);
    expect_error(bad, "not a PNG file");
    unsigned char *c = malloc(n);
    memcpy(c, b, n);
    c[18] ^= 0x40;                 /* IHDR width byte: the CRC no longer matches */
    write_all(bad, c, n);
    expect_error(bad, "CRC");
    memcpy(c, b, n);
    c[0] = 'X';
    write_all(bad, c, n);
    expect_error(bad, "not a PNG file");
    memcpy(c, b, n);
    c[n / 2] ^= 0xff;              /* compressed data damaged (CRC of IDAT) */
    write_all(bad, c, n);
    expect_error(bad, "damaged PNG");
    expect_error(path_in(test_dir(), "missing.png"), "cannot open");
    free(c);
    free(b);
}

static void test_decode_from_memory(void **state)
{
    (void)state;
    uint16_t pix[6] = {0, 1, 2, 3, 2, 1};
    assert_int_equal(pngio_write_gray(path_in(test_dir(), "m.png"), pix, 3, 2, 8, 1), 0);
    size_t n;
    unsigned char *b = read_file_bytes(path_in(test_dir(), "m.png"), &n);
    GrayImage img;
    assert_int_equal(pngio_decode_gray(b, n, "mem", &img), 0);
    assert_memory_equal(img.pixels, pix, sizeof pix);
    pngio_free(&img);
    assert_int_equal(pngio_decode_gray(b, n - 20, "mem", &img), -1);
    assert_non_null(strstr(error_get(), "mem: damaged PNG"));
    free(b);
}

TEST_MAIN("data png", test_dir_setup, test_dir_teardown,
          test_roundtrip_8_and_16_bit, test_rgb_with_equal_channels_reads_as_gray,
          test_other_colour_types, test_damaged_files, test_decode_from_memory)
