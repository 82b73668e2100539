/* libFuzzer target for the safetensors reader: any byte string must either parse into
 * entries that lie inside the file, or fail with a one-line message; never crash, leak
 * or read out of bounds (built with -fsanitize=fuzzer,address,undefined).
 *
 *   make fuzz
 *   build-fuzz/fuzz_safetensors build-fuzz/corpus/fuzz_safetensors tests/fuzz/seeds/fuzz_safetensors
 *
 * Seed: a small checkpoint written by safetensors_write (F32 and I64 tensors, a scalar,
 * metadata). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "engine/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    SafeTensors st;
    if (safetensors_parse(data, size, "fuzz.safetensors", &st) != 0) {
        const char *msg = error_get();
        if (msg[0] == '\0' || strchr(msg, '\n')) abort();     /* every failure says why, in one line */
        return 0;
    }
    /* Touch everything the reader hands out, the way a loader would. */
    for (int i = 0; i < st.count; i++) {
        const SafetensorsEntry *e = &st.entries[i];
        if (e->data < st.file || e->data + e->nbytes > st.file + st.file_size) abort();
        if (safetensors_find(&st, e->name) != e) abort();
        volatile unsigned char sink = 0;
        for (size_t k = 0; k < e->nbytes; k++) sink ^= e->data[k];
        (void)sink;
        if (e->dtype == SAFETENSORS_F32 && e->ndim <= SAFETENSORS_MAX_DIMS && e->count < (1u << 20)) {
            float *buf = malloc(e->nbytes + 1);
            if (safetensors_read_f32(&st, e->name, e->ndim, e->shape, buf) != 0) abort();
            free(buf);
        }
    }
    for (int i = 0; i < st.meta_count; i++)
        if (safetensors_meta(&st, st.meta_keys[i]) == NULL) abort();
    safetensors_check_all_used(&st);
    safetensors_free(&st);
    return 0;
}
