/* libFuzzer target for the dataset readers: any byte string given to the NIfTI-1 reader
 * (plain, and gzip-compressed when it starts with the gzip magic) and to the PNG reader
 * must either decode into a volume/image whose every value can be read, or fail with a
 * one-line message; never crash, leak, or read out of bounds (built with
 * -fsanitize=fuzzer,address,undefined).
 *
 *   make fuzz
 *   build-fuzz/fuzz_readers build-fuzz/corpus/fuzz_readers tests/fuzz/seeds/fuzz_readers
 *
 * Seeds: small .nii/.nii.gz files written by tests/data/nifti_cases.py (nibabel: plain,
 * gzip, big-endian, scaled, with an extension, NIfTI-2) and 8- and 16-bit gray PNGs
 * written by pngio_write_gray. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datasets/nifti.h"
#include "datasets/pngio.h"
#include "engine/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(void)
{
    const char *msg = error_get();
    if (msg[0] == '\0' || strchr(msg, '\n')) abort();   /* every failure says why, in one line */
}

static void check_volume(const NiftiVolume *v)
{
    for (int k = 0; k < 4; k++)
        if (v->dim[k] < 1 || !(v->spacing[k] >= 0) || !isfinite(v->spacing[k])) abort();
    volatile float sink = 0;
    for (size_t i = 0, n = nifti_voxel_count(v); i < n; i++) sink += v->data[i];
    (void)sink;
}

/* gzip input goes through the file reader (zlib's gz* functions read files only). */
static void read_as_gzip_file(const uint8_t *data, size_t size)
{
    static char path[4096];
    if (!path[0]) {
        const char *dir = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/fuzz-readers-%d.nii.gz", dir ? dir : "/tmp", (int)getpid());
    }
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(data, 1, size, f);
    fclose(f);
    NiftiVolume v;
    if (nifti_read(path, &v) == 0) {
        check_volume(&v);
        nifti_free(&v);
    } else {
        check_message();
    }
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    NiftiVolume v;
    error_clear();
    if (nifti_decode(data, size, "fuzz.nii", &v) == 0) {
        check_volume(&v);
        nifti_free(&v);
    } else {
        check_message();
    }
    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) read_as_gzip_file(data, size);

    GrayImage img;
    error_clear();
    if (pngio_decode_gray(data, size, "fuzz.png", &img) == 0) {
        if (img.width < 1 || img.height < 1 || (img.bit_depth != 8 && img.bit_depth != 16)) abort();
        volatile unsigned sink = 0;
        for (size_t i = 0, n = (size_t)img.width * img.height; i < n; i++) sink += img.pixels[i];
        (void)sink;
        pngio_free(&img);
    } else {
        check_message();
    }
    return 0;
}
