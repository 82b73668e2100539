/* Reading safetensors files (format and contract in safetensors.h; the writer is in
 * safetensors_write.c).
 *
 * The reader trusts nothing: the header length, the JSON, every dtype, shape and
 * offset are checked before any tensor byte is touched, with the same rules as the
 * reference implementation (header at most 100 MB, valid UTF-8 JSON object, tensors
 * that tile the byte buffer exactly). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "error.h"
#include "json_depth.h"
#include "safetensors.h"

/* Tensor bytes are little-endian in the file and used as they are in memory. */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian machine"
#endif

static const struct {
    const char *name;
    size_t size;
} dtype_info[SAFETENSORS_DTYPE_COUNT] = {
    [SAFETENSORS_BOOL] = {"BOOL", 1},       [SAFETENSORS_U8] = {"U8", 1},
    [SAFETENSORS_I8] = {"I8", 1},           [SAFETENSORS_F8_E5M2] = {"F8_E5M2", 1},
    [SAFETENSORS_F8_E4M3] = {"F8_E4M3", 1}, [SAFETENSORS_I16] = {"I16", 2},
    [SAFETENSORS_U16] = {"U16", 2},         [SAFETENSORS_F16] = {"F16", 2},
    [SAFETENSORS_BF16] = {"BF16", 2},       [SAFETENSORS_I32] = {"I32", 4},
    [SAFETENSORS_U32] = {"U32", 4},         [SAFETENSORS_F32] = {"F32", 4},
    [SAFETENSORS_F64] = {"F64", 8},         [SAFETENSORS_I64] = {"I64", 8},
    [SAFETENSORS_U64] = {"U64", 8},
};

const char *safetensors_dtype_name(SafetensorsDtype dtype)
{
    return (unsigned)dtype < SAFETENSORS_DTYPE_COUNT ? dtype_info[dtype].name : "?";
}

size_t safetensors_dtype_size(SafetensorsDtype dtype)
{
    return (unsigned)dtype < SAFETENSORS_DTYPE_COUNT ? dtype_info[dtype].size : 0;
}

static int dtype_from_name(const char *name)
{
    for (int d = 0; d < SAFETENSORS_DTYPE_COUNT; d++)
        if (!strcmp(name, dtype_info[d].name)) return d;
    return -1;
}

char *safetensors_shape_str(int ndim, const int *shape, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < ndim && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, i ? ", %d" : "%d", shape[i]);
    if (used < len) snprintf(buf + used, len - used, "]");
    return buf;
}

/* A name from an untrusted file, made printable for a one-line message: at most 80
 * bytes, control characters replaced by '?'. */
static const char *printable(const char *s, char buf[96])
{
    size_t i = 0;
    for (; s[i] && i < 80; i++) buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    if (s[i]) { memcpy(buf + i, "...", 3); i += 3; }
    buf[i] = '\0';
    return buf;
}

/* Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF), as the
 * reference requires of the header. Returns the offset of the first bad byte or len. */
static size_t utf8_valid_prefix(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned lo = 0x80, hi = 0xBF;          /* allowed range of the 2nd byte */
        if (c < 0x80) { i++; continue; }
        else if (c >= 0xC2 && c <= 0xDF) n = 1;
        else if (c >= 0xE0 && c <= 0xEF) { n = 2; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
        else if (c >= 0xF0 && c <= 0xF4) { n = 3; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
        else return i;
        if (i + n >= len) return i;             /* truncated sequence */
        if (s[i + 1] < lo || s[i + 1] > hi) return i;
        for (size_t k = 2; k <= n; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
        i += n + 1;
    }
    return len;
}

/* True when a JSON string in the header contains the escape \u0000: cJSON would
 * silently cut the name there, so two different names could look alike. Outside
 * strings a backslash is invalid JSON anyway, so scanning escape pairs suffices. */
static bool has_escaped_nul(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (s[i] != '\\') continue;
        if (s[i + 1] == 'u' && i + 5 < len && !memcmp(s + i + 2, "0000", 4)) return true;
        i++;                                     /* skip the escaped character */
    }
    return false;
}

/* A JSON number that is an exact non-negative integer no larger than max. cJSON keeps
 * numbers as doubles, exact up to 2^53, far beyond any real file. */
static bool json_uint(const cJSON *item, double max, uint64_t *out)
{
    if (!cJSON_IsNumber(item)) return false;
    double v = item->valuedouble;
    if (!(v >= 0 && v <= max) || v != floor(v)) return false;
    *out = (uint64_t)v;
    return true;
}

typedef struct Span {
    uint64_t begin, end;
    int index;
} Span;

static int span_compare(const void *a, const void *b)
{
    const Span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

typedef struct NameIndex {
    const char *name;
    int index;
} NameIndex;

static int name_compare(const void *a, const void *b)
{
    return strcmp(((const NameIndex *)a)->name, ((const NameIndex *)b)->name);
}

/* One tensor entry of the header into e and its byte span. */
static int parse_entry(const char *label, const cJSON *item, SafetensorsEntry *e, Span *span)
{
    char pn[96], shape_buf[160];
    const char *name = printable(item->string, pn);
    if (!cJSON_IsObject(item))
        return error_set("%s: tensor '%s': entry is not a JSON object", label, name);
    const cJSON *dtype = NULL, *shape = NULL, *offsets = NULL;
    for (const cJSON *f = item->child; f; f = f->next) {
        const cJSON **slot = !strcmp(f->string, "dtype") ? &dtype
                           : !strcmp(f->string, "shape") ? &shape
                           : !strcmp(f->string, "data_offsets") ? &offsets : NULL;
        if (!slot) continue;                     /* unknown fields are ignored, as by the reference */
        if (*slot)
            return error_set("%s: tensor '%s': field '%s' appears twice", label, name, f->string);
        *slot = f;
    }
    if (!dtype || !shape || !offsets)
        return error_set("%s: tensor '%s': missing '%s'", label, name,
                         !dtype ? "dtype" : !shape ? "shape" : "data_offsets");

    if (!cJSON_IsString(dtype))
        return error_set("%s: tensor '%s': dtype is not a string", label, name);
    int d = dtype_from_name(dtype->valuestring);
    if (d < 0) {
        char pd[96];
        return error_set("%s: tensor '%s': unknown dtype '%s'", label, name,
                         printable(dtype->valuestring, pd));
    }
    e->dtype = (SafetensorsDtype)d;

    if (!cJSON_IsArray(shape))
        return error_set("%s: tensor '%s': shape is not a list", label, name);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > SAFETENSORS_MAX_DIMS)
        return error_set("%s: tensor '%s': shape has %d dimensions (at most %d supported)",
                         label, name, ndim, SAFETENSORS_MAX_DIMS);
    e->ndim = 0;
    size_t count = 1;
    for (const cJSON *v = shape->child; v; v = v->next) {
        uint64_t dim;
        if (!json_uint(v, 2147483647.0, &dim))
            return error_set("%s: tensor '%s': shape entry %d is not an integer in [0, 2^31)",
                             label, name, e->ndim);
        e->shape[e->ndim++] = (int)dim;
        if (__builtin_mul_overflow(count, (size_t)dim, &count))
            return error_set("%s: tensor '%s': shape %s has too many elements", label, name,
                             safetensors_shape_str(e->ndim, e->shape, shape_buf, sizeof shape_buf));
    }
    e->count = count;
    if (__builtin_mul_overflow(count, dtype_info[d].size, &e->nbytes))
        return error_set("%s: tensor '%s': shape has too many elements", label, name);

    if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
        !json_uint(offsets->child, 9007199254740992.0, &span->begin) ||
        !json_uint(offsets->child->next, 9007199254740992.0, &span->end))
        return error_set("%s: tensor '%s': data_offsets is not a list of two non-negative integers",
                         label, name);
    if (span->end < span->begin)
        return error_set("%s: tensor '%s': data_offsets [%llu, %llu] end before they begin",
                         label, name, (unsigned long long)span->begin,
                         (unsigned long long)span->end);
    if (span->end - span->begin != e->nbytes)
        return error_set("%s: tensor '%s': data_offsets [%llu, %llu] hold %llu bytes but %s %s "
                         "needs %zu", label, name, (unsigned long long)span->begin,
                         (unsigned long long)span->end,
                         (unsigned long long)(span->end - span->begin), dtype_info[d].name,
                         safetensors_shape_str(e->ndim, e->shape, shape_buf, sizeof shape_buf),
                         e->nbytes);
    return 0;
}

static int parse_metadata(const char *label, const cJSON *meta, SafeTensors *st)
{
    if (!cJSON_IsObject(meta)) return error_set("%s: __metadata__ is not a JSON object", label);
    int n = cJSON_GetArraySize(meta);
    st->meta_keys = xcalloc((size_t)n, sizeof(char *));
    st->meta_values = xcalloc((size_t)n, sizeof(char *));
    for (const cJSON *kv = meta->child; kv; kv = kv->next) {
        char pk[96];
        if (!cJSON_IsString(kv))
            return error_set("%s: __metadata__ value for '%s' is not a string", label,
                             printable(kv->string, pk));
        st->meta_keys[st->meta_count] = strcpy(xmalloc(strlen(kv->string) + 1), kv->string);
        st->meta_values[st->meta_count++] =
            strcpy(xmalloc(strlen(kv->valuestring) + 1), kv->valuestring);
    }
    /* Duplicate keys (cJSON keeps them) found by sorting, not by an n^2 scan: a hostile
     * header may hold millions of keys. */
    NameIndex *keys = xcalloc((size_t)st->meta_count + 1, sizeof *keys);
    for (int i = 0; i < st->meta_count; i++) keys[i] = (NameIndex){st->meta_keys[i], i};
    qsort(keys, (size_t)st->meta_count, sizeof *keys, name_compare);
    int rc = 0;
    for (int i = 1; i < st->meta_count && rc == 0; i++)
        if (!strcmp(keys[i].name, keys[i - 1].name)) {
            char pk[96];
            rc = error_set("%s: __metadata__ key '%s' appears twice", label,
                           printable(keys[i].name, pk));
        }
    free(keys);
    return rc;
}

/* The header is parsed, entries filled; now check that the spans tile the buffer
 * [0, buffer_size) exactly, in offset order, as the format requires. */
static int check_layout(const char *label, SafeTensors *st, Span *spans, uint64_t buffer_size)
{
    char pa[96], pb[96];
    for (int i = 0; i < st->count; i++)
        if (spans[i].end > buffer_size)
            return error_set("%s: tensor '%s': data_offsets [%llu, %llu] go beyond the end of "
                             "the data (%llu bytes; file truncated?)", label,
                             printable(st->entries[spans[i].index].name, pa),
                             (unsigned long long)spans[i].begin, (unsigned long long)spans[i].end,
                             (unsigned long long)buffer_size);
    qsort(spans, (size_t)st->count, sizeof *spans, span_compare);
    uint64_t pos = 0;
    for (int i = 0; i < st->count; i++) {
        const char *name = printable(st->entries[spans[i].index].name, pb);
        if (spans[i].begin < pos)
            return error_set("%s: tensors '%s' and '%s' overlap", label,
                             printable(st->entries[spans[i - 1].index].name, pa), name);
        if (spans[i].begin > pos)
            return error_set("%s: %llu bytes before tensor '%s' belong to no tensor", label,
                             (unsigned long long)(spans[i].begin - pos), name);
        pos = spans[i].end;
    }
    if (pos != buffer_size)
        return error_set("%s: the last %llu bytes of the file belong to no tensor", label,
                         (unsigned long long)(buffer_size - pos));
    return 0;
}

/* The file's first 8 bytes: the header's length, a little-endian u64. */
static uint64_t header_length_field(const unsigned char *file)
{
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | file[i];
    return n;
}

/* The header of file (size bytes): its length n (returned in *header_len) after the
 * 8-byte length field, checked to be NUL-free UTF-8 holding one JSON object and nothing
 * but white space after it, parsed into *root. 0, or -1 with the message set. */
static int parse_header(const char *label, const unsigned char *file, size_t size,
                        uint64_t *header_len, cJSON **root)
{
    if (size < 8)
        return error_set("%s: not a safetensors file (%zu bytes, shorter than the 8-byte "
                         "header length)", label, size);
    const uint64_t n = header_length_field(file);
    if (n > SAFETENSORS_MAX_HEADER)
        return error_set("%s: not a safetensors file (header length %llu exceeds the "
                         "100 MB limit)", label, (unsigned long long)n);
    if (n > size - 8)
        return error_set("%s: header length %llu goes beyond the end of the file (%zu bytes)",
                         label, (unsigned long long)n, size);
    const char *header = (const char *)file + 8;
    if (memchr(header, 0, n)) return error_set("%s: header contains a NUL byte", label);
    size_t bad = utf8_valid_prefix((const unsigned char *)header, n);
    if (bad != n)
        return error_set("%s: header is not valid UTF-8 (at byte %zu)", label, bad + 8);
    if (has_escaped_nul((const unsigned char *)header, n))
        return error_set("%s: header contains the escaped NUL character \\u0000", label);

    const char *end = NULL;
    cJSON *json = cJSON_ParseWithLengthOpts(header, n, &end, 0);
    if (!json && json_depth(header, n) >= CJSON_NESTING_LIMIT)
        return error_set("%s: header nests arrays or objects more than %d deep", label,
                         CJSON_NESTING_LIMIT);
    if (!json)
        return error_set("%s: header is not valid JSON (at byte %zu)", label,
                         end ? (size_t)(end - header) + 8 : (size_t)8);
    for (const char *p = end; p < header + n; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            cJSON_Delete(json);
            return error_set("%s: header has text after the JSON object (at byte %zu)", label,
                             (size_t)(p - header) + 8);
        }
    if (!cJSON_IsObject(json)) {
        cJSON_Delete(json);
        return error_set("%s: header is not a JSON object", label);
    }
    *header_len = n;
    *root = json;
    return 0;
}

/* The header's items: __metadata__ (once) and the tensor entries, each with its span and
 * its name in names[]. 0, or -1 with the message set. */
static int parse_items(const char *label, const cJSON *root, SafeTensors *st, Span *spans,
                       NameIndex *names)
{
    int rc = 0, meta_seen = 0;
    for (const cJSON *item = root->child; item && rc == 0; item = item->next) {
        if (!strcmp(item->string, "__metadata__")) {
            rc = meta_seen++ ? error_set("%s: '__metadata__' appears twice", label)
                             : parse_metadata(label, item, st);
            continue;
        }
        SafetensorsEntry *e = &st->entries[st->count];
        e->name = strcpy(xmalloc(strlen(item->string) + 1), item->string);
        spans[st->count].index = st->count;
        names[st->count] = (NameIndex){e->name, st->count};
        st->count++;
        rc = parse_entry(label, item, e, &spans[st->count - 1]);
    }
    return rc;
}

/* st->by_name from the entries' names (sorted in place); a name twice is an error. */
static int index_names(const char *label, SafeTensors *st, NameIndex *names)
{
    /* cJSON keeps duplicate keys; sorted names put them side by side. */
    qsort(names, (size_t)st->count, sizeof *names, name_compare);
    for (int i = 0; i < st->count; i++) {
        char pn[96];
        if (i > 0 && !strcmp(names[i].name, names[i - 1].name))
            return error_set("%s: tensor '%s' appears twice", label,
                             printable(names[i].name, pn));
        st->by_name[i] = names[i].index;
    }
    return 0;
}

/* Entries in file order (spans sorted by offset), so that listings follow the file, each
 * pointing at its bytes in data (NULL: no data was read); by_name renumbered to match. */
static void order_entries(SafeTensors *st, const Span *spans, int items,
                          const unsigned char *data)
{
    SafetensorsEntry *ordered = xcalloc((size_t)items, sizeof *ordered);
    int *new_index = xcalloc((size_t)items, sizeof *new_index);
    for (int i = 0; i < st->count; i++) {
        ordered[i] = st->entries[spans[i].index];
        ordered[i].data = data ? data + spans[i].begin : NULL;
        new_index[spans[i].index] = i;
    }
    for (int i = 0; i < st->count; i++) st->by_name[i] = new_index[st->by_name[i]];
    free(st->entries);
    free(new_index);
    st->entries = ordered;
}

/* Parse st->file (already owned by st): the header, and the tensors' bytes when it holds
 * them (with_data); st->file_size is the whole file's size either way, so the header is
 * checked against the file's real length. On error the caller frees st. */
static int parse_owned(const char *label, SafeTensors *st, bool with_data)
{
    uint64_t n = 0;
    cJSON *root = NULL;
    if (parse_header(label, st->file, st->file_size, &n, &root)) return -1;
    int items = cJSON_GetArraySize(root);
    st->entries = xcalloc((size_t)items, sizeof *st->entries);
    st->by_name = xcalloc((size_t)items, sizeof *st->by_name);
    Span *spans = xcalloc((size_t)items, sizeof *spans);
    NameIndex *names = xcalloc((size_t)items + 1, sizeof *names);
    int rc = parse_items(label, root, st, spans, names);
    cJSON_Delete(root);
    if (rc == 0) rc = index_names(label, st, names);
    if (rc == 0) rc = check_layout(label, st, spans, st->file_size - 8 - n);
    if (rc == 0)
        order_entries(st, spans, items,
                      with_data ? (const unsigned char *)st->file + 8 + n : NULL);
    free(spans);
    free(names);
    return rc;
}

static void st_init(SafeTensors *st, const char *label)
{
    memset(st, 0, sizeof *st);
    st->path = strcpy(xmalloc(strlen(label) + 1), label);
}

int safetensors_parse(const void *bytes, size_t len, const char *label, SafeTensors *out)
{
    st_init(out, label);
    out->file = xmalloc(len);
    if (len) memcpy(out->file, bytes, len);
    out->file_size = len;
    if (parse_owned(label, out, true) != 0) {
        safetensors_free(out);
        return -1;
    }
    return 0;
}

/* How many bytes of a file of `size` bytes starting with `first` (its first 8 bytes, or
 * fewer) hold its header: the length field and the header it gives, or just what there is
 * when that length is not one parse_header accepts (it then says why). */
static size_t header_bytes(const unsigned char *first, size_t size)
{
    if (size < 8) return size;
    const uint64_t n = header_length_field(first);
    return n <= SAFETENSORS_MAX_HEADER && n <= size - 8 ? 8 + (size_t)n : 8;
}

/* safetensors_read (with_data) or safetensors_read_header. */
static int read_path(const char *path, SafeTensors *out, bool with_data)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return error_set("cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return error_set("cannot read %s: not a regular file", path);
    }
    st_init(out, path);
    out->file_size = (size_t)sb.st_size;
    unsigned char first[8];
    size_t got = fread(first, 1, out->file_size < 8 ? out->file_size : 8, f);
    const size_t want = with_data ? out->file_size : header_bytes(first, out->file_size);
    out->file = xmalloc(want > 8 ? want : 8);
    memcpy(out->file, first, got);
    if (want > got) got += fread(out->file + got, 1, want - got, f);
    int read_error = ferror(f);
    fclose(f);
    if (got != want) {
        error_set("cannot read %s: %s", path,
                  read_error ? strerror(errno) : "file shrank while reading");
        safetensors_free(out);
        return -1;
    }
    if (parse_owned(path, out, with_data) != 0) {
        safetensors_free(out);
        return -1;
    }
    return 0;
}

int safetensors_read(const char *path, SafeTensors *out) { return read_path(path, out, true); }

int safetensors_read_header(const char *path, SafeTensors *out)
{
    return read_path(path, out, false);
}

void safetensors_free(SafeTensors *st)
{
    if (!st) return;
    /* After a failed parse, names may be set beyond count only if allocated: count
     * covers every name we allocated. */
    for (int i = 0; i < st->count; i++) free(st->entries[i].name);
    free_strings(st->meta_keys, st->meta_count);
    free_strings(st->meta_values, st->meta_count);
    free(st->entries);
    free(st->by_name);
    free(st->file);
    free(st->path);
    memset(st, 0, sizeof *st);
}

const SafetensorsEntry *safetensors_find(const SafeTensors *st, const char *name)
{
    int lo = 0, hi = st->count - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const SafetensorsEntry *e = &st->entries[st->by_name[mid]];
        int c = strcmp(name, e->name);
        if (c == 0) return e;
        if (c < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return NULL;
}

const char *safetensors_meta(const SafeTensors *st, const char *key)
{
    for (int i = 0; i < st->meta_count; i++)
        if (!strcmp(st->meta_keys[i], key)) return st->meta_values[i];
    return NULL;
}

/* Shared checks of safetensors_read_f32/_i64. */
static SafetensorsEntry *expect_tensor(SafeTensors *st, const char *name, SafetensorsDtype dtype,
                                       int ndim, const int *shape)
{
    SafetensorsEntry *e = (SafetensorsEntry *)safetensors_find(st, name);
    if (!e) {
        error_set("%s: tensor '%s' is missing", st->path, name);
        return NULL;
    }
    if (e->dtype != dtype) {
        error_set("%s: tensor '%s' has dtype %s, expected %s", st->path, name,
                  dtype_info[e->dtype].name, dtype_info[dtype].name);
        return NULL;
    }
    bool same = e->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = e->shape[i] == shape[i];
    if (!same) {
        char got[160], want[160];
        error_set("%s: tensor '%s' has shape %s, expected %s", st->path, name,
                  safetensors_shape_str(e->ndim, e->shape, got, sizeof got),
                  safetensors_shape_str(ndim, shape, want, sizeof want));
        return NULL;
    }
    CHECK(e->data || !e->nbytes, "%s: tensor '%s' read from a header read alone", st->path, name);
    e->used = true;
    return e;
}

int safetensors_read_f32(SafeTensors *st, const char *name, int ndim, const int *shape,
                         float *dst)
{
    const SafetensorsEntry *e = expect_tensor(st, name, SAFETENSORS_F32, ndim, shape);
    if (!e) return -1;
    if (e->nbytes) memcpy(dst, e->data, e->nbytes);   /* memcpy: data may be unaligned */
    return 0;
}

int safetensors_read_i64(SafeTensors *st, const char *name, int ndim, const int *shape,
                         int64_t *dst)
{
    const SafetensorsEntry *e = expect_tensor(st, name, SAFETENSORS_I64, ndim, shape);
    if (!e) return -1;
    if (e->nbytes) memcpy(dst, e->data, e->nbytes);
    return 0;
}

int safetensors_check_all_used(const SafeTensors *st)
{
    int unused = 0;
    const char *first = NULL;
    for (int i = 0; i < st->count; i++)
        if (!st->entries[i].used) {
            if (!first) first = st->entries[i].name;
            unused++;
        }
    if (!unused) return 0;
    char pn[96];
    if (unused == 1)
        return error_set("%s: unexpected tensor '%s'", st->path, printable(first, pn));
    return error_set("%s: unexpected tensor '%s' (and %d more)", st->path, printable(first, pn),
                     unused - 1);
}
