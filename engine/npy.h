/* NumPy .npy files: how inputs, targets and outputs travel between this program and
 * Python (np.load / np.save).
 *
 * Layout: "\x93NUMPY", major, minor version bytes, header length (u16 little-endian
 * for version 1.0, u32 for 2.0 and 3.0), the header: a Python dict literal such as
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and a final '\n' so the data starts on a 64-byte boundary; then
 * the elements, C order.
 *
 * Reading accepts versions 1.0, 2.0 and 3.0, little-endian '<f4' '<f8' '<i8' '<i4'
 * and '|u1', C order, 0 to 8 dimensions, and checks that the data size matches the
 * file exactly. Anything else fails with one line naming the file and the problem
 * (e.g. "x.npy: Fortran-order arrays are not supported (save with np.ascontiguousarray)").
 * Writing produces what np.save writes for the same array, byte for byte (version
 * 1.0 unless the header is too long for it), atomically (atomic_file.h). */
#ifndef REUSENET_NPY_H
#define REUSENET_NPY_H

#include <stddef.h>
#include <stdint.h>

#define NPY_MAX_DIMS 8

typedef enum NpyDtype {
    NPY_DTYPE_F32,     /* '<f4' */
    NPY_DTYPE_F64,     /* '<f8' */
    NPY_DTYPE_I64,     /* '<i8' */
    NPY_DTYPE_I32,     /* '<i4' */
    NPY_DTYPE_U8,      /* '|u1' */
    NPY_DTYPE_COUNT
} NpyDtype;

typedef struct NpyArray {
    NpyDtype dtype;
    int ndim;                      /* 0 (scalar) .. NPY_MAX_DIMS */
    int shape[NPY_MAX_DIMS];
    size_t count;                  /* elements: product of shape (1 for a scalar) */
    void *data;                    /* count elements of dtype, owned, malloc-aligned */
} NpyArray;

/* The descr string ("<f4") and the element size in bytes. */
const char *npy_dtype_descr(NpyDtype dtype);
size_t npy_dtype_size(NpyDtype dtype);

/* Read an array as stored. 0, or -1 with the error set (out then needs no free). */
int npy_read(const char *path, NpyArray *out);
/* The same from a whole file held in memory (path names it in messages); the array
 * owns a copy of the data. npy_read reads the file whole and parses it the same way. */
int npy_decode(const void *bytes, size_t size, const char *path, NpyArray *out);
/* Read and convert to float32 (from any supported dtype). */
int npy_read_f32(const char *path, NpyArray *out);
/* Read and convert to int64 (from the integer dtypes; float data is an error). */
int npy_read_i64(const char *path, NpyArray *out);
void npy_free(NpyArray *a);

/* Write an array atomically, as np.save would. 0, or -1 with the error set. */
int npy_write(const char *path, NpyDtype dtype, int ndim, const int *shape, const void *data);
int npy_write_f32(const char *path, int ndim, const int *shape, const float *data);
int npy_write_i64(const char *path, int ndim, const int *shape, const int64_t *data);

#endif
