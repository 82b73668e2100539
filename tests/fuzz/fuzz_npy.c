/* libFuzzer target for the .npy reader: any byte string must either decode into an array
 * whose shape matches its element count and whose every element can be read (and
 * converted, as npy_read_f32/npy_read_i64 do), or fail with a one-line message; never
 * crash, leak, or read out of bounds (built with -fsanitize=fuzzer,address,undefined).
 * npy_read parses with the same code after reading the file whole.
 *
 *   make fuzz
 *   build-fuzz/fuzz_npy -max_len=4096 build-fuzz/corpus/fuzz_npy tests/fuzz/seeds/fuzz_npy */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "engine/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    NpyArray a;
    error_clear();
    if (npy_decode(data, size, "fuzz.npy", &a) != 0) {
        const char *msg = error_get();
        if (msg[0] == '\0' || strchr(msg, '\n')) abort();   /* every failure says why, in one line */
        if (a.data || a.count) abort();                     /* and leaves nothing to free */
        return 0;
    }
    if (a.ndim < 0 || a.ndim > NPY_MAX_DIMS || !a.data) abort();
    size_t count = 1;
    for (int i = 0; i < a.ndim; i++) {
        if (a.shape[i] < 0) abort();
        count *= (size_t)a.shape[i];
    }
    if (count != a.count) abort();
    /* Touch every byte, then every element as a number (what the converters do). */
    const size_t esize = npy_dtype_size(a.dtype);
    volatile unsigned char sink = 0;
    for (size_t k = 0; k < a.count * esize; k++) sink ^= ((const unsigned char *)a.data)[k];
    volatile double total = 0;
    for (size_t k = 0; k < a.count; k++) {
        switch (a.dtype) {
        case NPY_DTYPE_F32: total += ((const float *)a.data)[k]; break;
        case NPY_DTYPE_F64: total += ((const double *)a.data)[k]; break;
        case NPY_DTYPE_I64: total += (double)((const int64_t *)a.data)[k]; break;
        case NPY_DTYPE_I32: total += ((const int32_t *)a.data)[k]; break;
        case NPY_DTYPE_U8: total += ((const uint8_t *)a.data)[k]; break;
        default: abort();
        }
    }
    (void)sink;
    (void)total;
    npy_free(&a);
    return 0;
}
