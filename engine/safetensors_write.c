/* Writing safetensors files in the reference implementation's canonical layout
 * (contract in safetensors.h):
 *
 *   - tensors sorted by dtype, larger enum value first (the reference's "descending
 *     alignment": I64 and F64 before F32 before F16 ... before BOOL), then by name
 *     (byte order, the same as the reference's string order);
 *   - data laid out in that order, each tensor right after the previous one;
 *   - header JSON without whitespace: {"__metadata__":{...},"name":{"dtype":"F32",
 *     "shape":[..],"data_offsets":[b,e]},...}, then spaces up to a multiple of 8 bytes,
 *     so the buffer starts 8-aligned and, thanks to the sort, every tensor is aligned;
 *   - metadata keys sorted by name (the reference keeps them in a hash map, whose
 *     order is arbitrary: with one key, the bytes are identical).
 * Strings are escaped as serde_json (and Python's json with ensure_ascii=False) do. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "error.h"
#include "safetensors.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors_write.c assumes a little-endian machine"
#endif

void safetensors_writer_init(SafetensorsWriter *w)
{
    memset(w, 0, sizeof *w);
}

void safetensors_writer_free(SafetensorsWriter *w)
{
    for (int i = 0; i < w->count; i++) free(w->entries[i].name);
    free_strings(w->meta_keys, w->meta_count);
    free_strings(w->meta_values, w->meta_count);
    free(w->entries);
    memset(w, 0, sizeof *w);
}

static char *copy_string(const char *s)
{
    return strcpy(xmalloc(strlen(s) + 1), s);
}

void safetensors_writer_add(SafetensorsWriter *w, const char *name, SafetensorsDtype dtype,
                            int ndim, const int *shape, const void *data)
{
    CHECK((unsigned)dtype < SAFETENSORS_DTYPE_COUNT, "bad dtype %d for tensor '%s'", dtype, name);
    CHECK(ndim >= 0 && ndim <= SAFETENSORS_MAX_DIMS, "tensor '%s' with %d dimensions", name, ndim);
    CHECK(strcmp(name, "__metadata__") != 0, "'__metadata__' is reserved");
    for (int i = 0; i < w->count; i++)
        CHECK(strcmp(w->entries[i].name, name) != 0, "tensor '%s' added twice", name);
    if (w->count == w->capacity) {
        w->capacity = w->capacity ? 2 * w->capacity : 64;
        w->entries = xrealloc(w->entries, (size_t)w->capacity * sizeof *w->entries);
    }
    SafetensorsWriterEntry *e = &w->entries[w->count++];
    memset(e, 0, sizeof *e);
    e->name = copy_string(name);
    e->dtype = dtype;
    e->ndim = ndim;
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        CHECK(shape[i] >= 0, "tensor '%s' with negative dimension %d", name, shape[i]);
        e->shape[i] = shape[i];
        count *= (size_t)shape[i];
    }
    e->nbytes = count * safetensors_dtype_size(dtype);
    CHECK(data || e->nbytes == 0, "tensor '%s' without data", name);
    e->data = data;
}

void safetensors_writer_add_f32(SafetensorsWriter *w, const char *name, int ndim,
                                const int *shape, const float *data)
{
    safetensors_writer_add(w, name, SAFETENSORS_F32, ndim, shape, data);
}

void safetensors_writer_add_i64(SafetensorsWriter *w, const char *name, int ndim,
                                const int *shape, const int64_t *data)
{
    safetensors_writer_add(w, name, SAFETENSORS_I64, ndim, shape, data);
}

void safetensors_writer_set_meta(SafetensorsWriter *w, const char *key, const char *value)
{
    for (int i = 0; i < w->meta_count; i++)
        if (!strcmp(w->meta_keys[i], key)) {
            free(w->meta_values[i]);
            w->meta_values[i] = copy_string(value);
            return;
        }
    if (w->meta_count == w->meta_capacity) {
        w->meta_capacity = w->meta_capacity ? 2 * w->meta_capacity : 8;
        w->meta_keys = xrealloc(w->meta_keys, (size_t)w->meta_capacity * sizeof(char *));
        w->meta_values = xrealloc(w->meta_values, (size_t)w->meta_capacity * sizeof(char *));
    }
    w->meta_keys[w->meta_count] = copy_string(key);
    w->meta_values[w->meta_count++] = copy_string(value);
}

/* A growing byte string for the header. */
typedef struct Text {
    char *s;
    size_t len, cap;
} Text;

static void text_add(Text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        while (t->len + n + 1 > t->cap) t->cap = t->cap ? 2 * t->cap : 1024;
        t->s = xrealloc(t->s, t->cap);
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static void text_printf(Text *t, const char *fmt, unsigned long long v)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, fmt, v);
    text_add(t, buf, (size_t)n);
}

/* "..." with serde_json's escapes: \" \\ \b \f \n \r \t, other bytes below 0x20 as
 * \u00XX (lowercase hex); everything else, UTF-8 included, as it is. */
static void text_json_string(Text *t, const char *s)
{
    text_add(t, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b"
                        : c == '\f' ? "\\f" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                        : c == '\t' ? "\\t" : NULL;
        if (esc) text_add(t, esc, 2);
        else if (c < 0x20) text_printf(t, "\\u%04llx", c);
        else text_add(t, (const char *)&c, 1);
    }
    text_add(t, "\"", 1);
}

/* Canonical order: larger dtype enum first, then name. */
static int canonical_compare(const void *a, const void *b)
{
    const SafetensorsWriterEntry *x = *(const SafetensorsWriterEntry *const *)a;
    const SafetensorsWriterEntry *y = *(const SafetensorsWriterEntry *const *)b;
    if (x->dtype != y->dtype) return x->dtype > y->dtype ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int string_compare(const void *a, const void *b)
{
    return strcmp(**(char *const *const *)a, **(char *const *const *)b);
}

/* The header (padded) and the order in which to write the tensors. */
static void build_header(const SafetensorsWriter *w, Text *header,
                         const SafetensorsWriterEntry **order)
{
    for (int i = 0; i < w->count; i++) order[i] = &w->entries[i];
    qsort(order, (size_t)w->count, sizeof *order, canonical_compare);

    text_add(header, "{", 1);
    if (w->meta_count > 0) {
        /* Sort pointers to the keys; the values follow by index. */
        char ***keys = xmalloc((size_t)w->meta_count * sizeof *keys);
        for (int i = 0; i < w->meta_count; i++) keys[i] = &w->meta_keys[i];
        qsort(keys, (size_t)w->meta_count, sizeof keys[0], string_compare);
        text_add(header, "\"__metadata__\":{", 16);
        for (int i = 0; i < w->meta_count; i++) {
            int k = (int)(keys[i] - w->meta_keys);
            if (i) text_add(header, ",", 1);
            text_json_string(header, w->meta_keys[k]);
            text_add(header, ":", 1);
            text_json_string(header, w->meta_values[k]);
        }
        text_add(header, "}", 1);
        free(keys);
    }
    unsigned long long offset = 0;
    for (int i = 0; i < w->count; i++) {
        const SafetensorsWriterEntry *e = order[i];
        if (i || w->meta_count) text_add(header, ",", 1);
        text_json_string(header, e->name);
        text_add(header, ":{\"dtype\":", 10);
        text_json_string(header, safetensors_dtype_name(e->dtype));
        text_add(header, ",\"shape\":[", 10);
        for (int d = 0; d < e->ndim; d++) text_printf(header, d ? ",%llu" : "%llu",
                                                     (unsigned long long)e->shape[d]);
        text_add(header, "],\"data_offsets\":[", 18);
        text_printf(header, "%llu", offset);
        offset += e->nbytes;
        text_printf(header, ",%llu", offset);
        text_add(header, "]}", 2);
    }
    text_add(header, "}", 1);
    while (header->len % 8) text_add(header, " ", 1);
}

static void put_u64_le(unsigned char out[8], uint64_t v)
{
    for (int i = 0; i < 8; i++) out[i] = (unsigned char)(v >> (8 * i));
}

void safetensors_serialize(const SafetensorsWriter *w, unsigned char **bytes, size_t *len)
{
    Text header = {0};
    const SafetensorsWriterEntry **order = xmalloc(((size_t)w->count + 1) * sizeof *order);
    build_header(w, &header, order);
    size_t total = 8 + header.len;
    for (int i = 0; i < w->count; i++) total += w->entries[i].nbytes;
    unsigned char *out = xmalloc(total);
    put_u64_le(out, header.len);
    memcpy(out + 8, header.s, header.len);
    size_t pos = 8 + header.len;
    for (int i = 0; i < w->count; i++) {
        const SafetensorsWriterEntry *e = order[i];
        if (e->nbytes) memcpy(out + pos, e->data, e->nbytes);
        pos += e->nbytes;
    }
    free(order);
    free(header.s);
    *bytes = out;
    *len = total;
}

int safetensors_write(const SafetensorsWriter *w, const char *path)
{
    Text header = {0};
    const SafetensorsWriterEntry **order = xmalloc(((size_t)w->count + 1) * sizeof *order);
    build_header(w, &header, order);
    AtomicFile *af = atomic_open(path);
    if (!af) {
        free(order);
        free(header.s);
        return -1;
    }
    FILE *f = atomic_stream(af);
    unsigned char n[8];
    put_u64_le(n, header.len);
    /* Short writes are detected by atomic_commit (the stream's error flag). */
    fwrite(n, 1, 8, f);
    fwrite(header.s, 1, header.len, f);
    for (int i = 0; i < w->count; i++) {
        const SafetensorsWriterEntry *e = order[i];
        if (e->nbytes) fwrite(e->data, 1, e->nbytes, f);
    }
    free(order);
    free(header.s);
    return atomic_commit(af);
}
