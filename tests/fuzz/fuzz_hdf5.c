/* libFuzzer target for the HDF5 case reader (datasets/hdf5io.c and, in its reader process,
 * hdf5_lib.c through libhdf5): any byte string, read as a case file in the axis order its
 * last byte picks, must either give an image and a label of one shape whose every value can be read (and
 * mapped through a class map), or fail with a one-line message naming the file; never
 * crash, leak (memory, or an HDF5 identifier: hdf5_lib.c counts them after every read and
 * says "internal error: N libhdf5 identifiers left open" when one is), or read out of
 * bounds.
 *
 *   make fuzz
 *   build-fuzz/fuzz_hdf5 build-fuzz/corpus/fuzz_hdf5 tests/fuzz/seeds/fuzz_hdf5
 *
 * libhdf5 1.10.8 itself crashes on some damaged files; the reader process (hdf5_worker.h)
 * turns that into "damaged HDF5 file: libhdf5 stopped ..." and this target keeps each such
 * input in build-fuzz/fuzz_hdf5_stopped/ (their count printed at the end), to be run
 * through libhdf5 alone and seen to crash there, and keeps it out of the corpus. In the
 * reader process, as outside the sanitizer, malloc returns NULL for the terabytes a
 * damaged length asks for.
 *
 * Seeds: tiny case files of every storage kind, good and bad, written by h5py
 * (tests/data/hdf5_cases.py seeds). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "datasets/classmap.h"
#include "datasets/hdf5io.h"
#include "engine/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }

/* -malloc_limit_mb=1048576 before the command line's own flags (which win): libFuzzer's
 * limit on one allocation would end the reader process where malloc, outside the fuzzer,
 * returns NULL or memory never touched. -rss_limit_mb still bounds what is used. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static char flag[] = "-malloc_limit_mb=1048576";
    char **args = calloc((size_t)*argc + 2, sizeof *args);
    args[0] = (*argv)[0];
    args[1] = flag;
    for (int i = 1; i < *argc; i++) args[i + 1] = (*argv)[i];
    *argv = args;
    (*argc)++;
    return 0;
}

static long stopped;

static void print_stopped(void)
{
    fprintf(stderr, "fuzz_hdf5: %ld inputs stopped the libhdf5 reader process (kept in "
            "build-fuzz/fuzz_hdf5_stopped/)\n", stopped);
}

/* An input that stopped the reader process, kept by its FNV-1a hash. */
static void keep_stopped(const uint8_t *data, size_t size)
{
    if (!stopped++) atexit(print_stopped);
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < size; i++) h = (h ^ data[i]) * 1099511628211ull;
    char path[128];
    mkdir("build-fuzz/fuzz_hdf5_stopped", 0777);
    snprintf(path, sizeof path, "build-fuzz/fuzz_hdf5_stopped/%016llx.h5", (unsigned long long)h);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, size, f);
        fclose(f);
    }
}

/* 1 when the input stopped the reader process. */
static int check_message(const uint8_t *data, size_t size)
{
    const char *msg = error_get();
    /* hdf5_lib.c's leak check, not "internal error" alone: a message may quote the file's
     * own dataset names, which can say anything */
    if (msg[0] == '\0' || strchr(msg, '\n') || !strstr(msg, "fuzz.h5") ||
        strstr(msg, "libhdf5 identifiers left open"))
        abort();
    if (!strstr(msg, "libhdf5 stopped")) return 0;
    keep_stopped(data, size);
    return 1;
}

static void check_case(const NiftiVolume *img, const NiftiVolume *lab, const ClassMap *map)
{
    for (int k = 0; k < 4; k++)
        if (img->dim[k] < 1 || img->dim[k] != lab->dim[k] || !(img->spacing[k] > 0)) abort();
    size_t n = nifti_voxel_count(img);
    if (n > HDF5_MAX_VOXELS) abort();
    volatile float sink = 0;
    volatile int classes = 0;
    for (size_t i = 0; i < n; i++) {
        sink += img->data[i];
        classes += classmap_label(map, lab->data[i]);
    }
    (void)sink;
    (void)classes;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ClassMap map;
    if (!map.names[0][0]) classmap_preset(&map, 0xE);
    /* the axis order from the last byte (libhdf5 reads the same either way) */
    const Hdf5Axes axes = size && (data[size - 1] & 1) ? HDF5_AXES_XYZ : HDF5_AXES_ZYX;
    NiftiVolume img, lab;
    error_clear();
    if (hdf5_decode_case(data, size, "fuzz.h5", axes, &img, &lab) == 0) {
        check_case(&img, &lab, &map);
        nifti_free(&img);
        nifti_free(&lab);
    } else if (check_message(data, size)) {
        return -1;              /* not into the corpus: its neighbours would stop it too */
    }
    return 0;
}
