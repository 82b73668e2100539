/* safetensors files: named tensors plus string metadata, the checkpoint format that
 * PyTorch, JAX and this program share (docs/models.md, "Checkpoints").
 *
 * Layout:  u64 N (little-endian) | N bytes of JSON header | byte buffer
 *   header = {"__metadata__": {"key": "value", ...},
 *             "name": {"dtype": "F32", "shape": [64, 1, 7, 7], "data_offsets": [b, e]}, ...}
 *   Tensor bytes are buffer[b, e), little-endian, C order. The tensors cover the buffer
 *   exactly, without gaps or overlaps.
 *
 * Reading validates every promise of the format and fails with one line naming the file
 * (and the tensor): "W.safetensors: tensor 'x' has data_offsets [0, 12] but F32 [4]
 * needs 16 bytes". It never crashes on malformed input (tests/fuzz/fuzz_safetensors.c).
 *
 * Writing produces the canonical layout of the reference implementation: header JSON
 * without spaces, `__metadata__` first, tensors ordered by dtype (larger types first,
 * the reference's enum order) then by name, header padded with spaces to a multiple of
 * 8 bytes, so that every tensor's data is aligned. Written atomically (atomic_file.h). */
#ifndef REUSENET_SAFETENSORS_H
#define REUSENET_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SAFETENSORS_MAX_DIMS 8
/* The reference implementation refuses headers above 100 MB; so do we. */
#define SAFETENSORS_MAX_HEADER 100000000u

/* The format's dtypes, in the reference's order (which defines the canonical layout). */
typedef enum SafetensorsDtype {
    SAFETENSORS_BOOL, SAFETENSORS_U8, SAFETENSORS_I8, SAFETENSORS_F8_E5M2,
    SAFETENSORS_F8_E4M3, SAFETENSORS_I16, SAFETENSORS_U16, SAFETENSORS_F16,
    SAFETENSORS_BF16, SAFETENSORS_I32, SAFETENSORS_U32, SAFETENSORS_F32,
    SAFETENSORS_F64, SAFETENSORS_I64, SAFETENSORS_U64,
    SAFETENSORS_DTYPE_COUNT
} SafetensorsDtype;

/* "F32" etc., and the element size in bytes. */
const char *safetensors_dtype_name(SafetensorsDtype dtype);
size_t safetensors_dtype_size(SafetensorsDtype dtype);

typedef struct SafetensorsEntry {
    char *name;
    SafetensorsDtype dtype;
    int ndim;                            /* 0 (scalar) .. SAFETENSORS_MAX_DIMS */
    int shape[SAFETENSORS_MAX_DIMS];
    size_t count;                        /* elements: product of shape (1 for a scalar) */
    size_t nbytes;                       /* count * element size */
    /* Into the loaded buffer. Aligned to the element size in canonically written files
     * (every known writer), but the format does not promise it: copy with memcpy, or
     * use safetensors_read_f32/_i64, which do. */
    const unsigned char *data;
    bool used;                           /* set by safetensors_read_f32/_i64 */
} SafetensorsEntry;

typedef struct SafeTensors {
    char *path;                          /* as given, for messages */
    int count;
    SafetensorsEntry *entries;           /* in file order (ascending data offsets) */
    int *by_name;                        /* entry indices sorted by name (for lookups) */
    int meta_count;
    char **meta_keys, **meta_values;     /* in header order */
    unsigned char *file;                 /* the whole file; entries point into it */
    size_t file_size;
} SafeTensors;

/* Load and validate a whole file. 0, or -1 with the error set (out is then empty and
 * needs no free). */
int safetensors_read(const char *path, SafeTensors *out);
/* The header alone, validated as safetensors_read validates it (against the file's real
 * size): metadata, names, dtypes and shapes, with every entry's data NULL. For what a
 * header says (a run's epoch) without reading a checkpoint of hundreds of MB. */
int safetensors_read_header(const char *path, SafeTensors *out);
/* The same from bytes in memory (copied); `label` stands for the file name in messages. */
int safetensors_parse(const void *bytes, size_t len, const char *label, SafeTensors *out);
void safetensors_free(SafeTensors *st);

/* The entry called name, or NULL. */
const SafetensorsEntry *safetensors_find(const SafeTensors *st, const char *name);
/* The metadata value for key, or NULL. */
const char *safetensors_meta(const SafeTensors *st, const char *key);

/* Copy tensor `name` into dst (count floats), checking that it exists, is F32 and has
 * exactly the expected shape; -1 with e.g. "W.safetensors: tensor 'layer1.0.conv1.weight'
 * has shape [64, 64, 3, 3], expected [64, 32, 3, 3]". Marks the entry used. */
int safetensors_read_f32(SafeTensors *st, const char *name, int ndim, const int *shape,
                         float *dst);
/* The same for an I64 tensor (e.g. num_batches_tracked, shape []). */
int safetensors_read_i64(SafeTensors *st, const char *name, int ndim, const int *shape,
                         int64_t *dst);
/* After a model has read its tensors: -1 with "W.safetensors: unexpected tensor 'x'
 * (and n more)" if some entry was never read, else 0. */
int safetensors_check_all_used(const SafeTensors *st);

/* "[64, 1, 7, 7]" into buf; returns buf. */
char *safetensors_shape_str(int ndim, const int *shape, char *buf, size_t len);

/* Writer: collect tensors and metadata, then write one file.
 *     SafetensorsWriter w;
 *     safetensors_writer_init(&w);
 *     safetensors_writer_add_f32(&w, "conv1.weight", 4, (int[]){64, 1, 7, 7}, weights);
 *     safetensors_writer_set_meta(&w, "arch", "pspnet");
 *     int rc = safetensors_write(&w, "model.safetensors");
 *     safetensors_writer_free(&w);
 * Tensor data is NOT copied: it must stay valid until safetensors_write returns. Names
 * and metadata are copied. A duplicate tensor name is a programming error (CHECK). */
typedef struct SafetensorsWriterEntry {
    char *name;
    SafetensorsDtype dtype;
    int ndim;
    int shape[SAFETENSORS_MAX_DIMS];
    const void *data;
    size_t nbytes;
} SafetensorsWriterEntry;

typedef struct SafetensorsWriter {
    int count, capacity;
    SafetensorsWriterEntry *entries;
    int meta_count, meta_capacity;
    char **meta_keys, **meta_values;
} SafetensorsWriter;

void safetensors_writer_init(SafetensorsWriter *w);
void safetensors_writer_add(SafetensorsWriter *w, const char *name, SafetensorsDtype dtype,
                            int ndim, const int *shape, const void *data);
void safetensors_writer_add_f32(SafetensorsWriter *w, const char *name, int ndim,
                                const int *shape, const float *data);
void safetensors_writer_add_i64(SafetensorsWriter *w, const char *name, int ndim,
                                const int *shape, const int64_t *data);
/* Set (or replace) a metadata entry. Written sorted by key. */
void safetensors_writer_set_meta(SafetensorsWriter *w, const char *key, const char *value);
/* Write the file atomically. 0, or -1 with the error set. */
int safetensors_write(const SafetensorsWriter *w, const char *path);
/* The exact bytes safetensors_write would write (caller frees *bytes). */
void safetensors_serialize(const SafetensorsWriter *w, unsigned char **bytes, size_t *len);
void safetensors_writer_free(SafetensorsWriter *w);

#endif
