/* The libhdf5 side of the HDF5 case reader (hdf5io.h), run in its reader process
 * (hdf5_worker.h): a whole case file held in memory, opened with libhdf5's core driver,
 * its "image" and "label" checked (a dataset of numbers, 2-D or 3-D, at most
 * HDF5_MAX_VOXELS; a whole-byte integer or IEEE float type; compact or contiguous storage
 * of exactly its bytes inside the file, or gzip/shuffle/fletcher32 chunks; no external
 * files) and read as float32 in C order. The type and storage checks are what libhdf5
 * 1.10.8 does not check itself: a damaged file could otherwise make it read out of
 * bounds. Not thread-safe (libhdf5's serial build). */
#ifndef REUSENET_HDF5_LIB_H
#define REUSENET_HDF5_LIB_H

#include <stddef.h>

/* 2^26 voxels (256 MiB as float32) per array: a 640 x 640 x 88 LGE-MRI volume is 36 M. */
#define HDF5_MAX_VOXELS ((size_t)1 << 26)

typedef struct Hdf5Array {
    int ndim;                       /* 2 or 3 */
    unsigned long long dims[3];     /* slowest first (h5py's shape) */
    float *data;                    /* C order: the last axis fastest */
} Hdf5Array;

/* out[0] the image, out[1] the label (their shapes not compared here). 0, or -1 with a
 * one-line message naming the file; libhdf5's error printing is switched off. */
int hdf5_lib_read(const void *bytes, size_t size, const char *name, Hdf5Array out[2]);

#endif
