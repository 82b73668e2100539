/* safetensors: round trips, the reference implementation's own serialization examples,
 * byte equality with a file written by the Python writer (tests/torch/safetensors_io.py),
 * the typed readers' messages, and every malformed-file rule of the format with its
 * message. A final test mutates a valid file at random: under `make sanitize` it shows
 * the reader never reads out of bounds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/error.h"
#include "engine/rng.h"
#include "engine/safetensors.h"
#include "engine/fsutil.h"
#include "tests/testutil.h"

/* ---- helpers ---- */

/* A file image: u64 length of `header`, the header, `buffer` zero bytes. */
static unsigned char *make_image(const char *header, size_t buffer, size_t *len)
{
    size_t n = strlen(header);
    *len = 8 + n + buffer;
    unsigned char *b = calloc(1, *len);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(b + 8, header, n);
    return b;
}

/* Parse bytes, expect failure with a message containing `expect` and the file label. */
static void expect_rejected(const unsigned char *bytes, size_t len, const char *expect)
{
    SafeTensors st;
    error_clear();
    int rc = safetensors_parse(bytes, len, "bad.safetensors", &st);
    if (rc != -1 || !strstr(error_get(), expect) || !strstr(error_get(), "bad.safetensors")) {
        print_error("rc %d, message '%s', expected '%s'\n", rc, error_get(), expect);
        fail();
    }
    assert_null(strchr(error_get(), '\n'));     /* one line */
}

static void expect_header_rejected(const char *header, size_t buffer, const char *expect)
{
    size_t len;
    unsigned char *b = make_image(header, buffer, &len);
    expect_rejected(b, len, expect);
    free(b);
}

/* ---- round trips and canonical layout ---- */

static void test_round_trip(void **state)
{
    (void)state;
    char *dir = make_temp_dir("safetensors");
    char *path = fs_join(dir, "w.safetensors");
    float w[2 * 3 * 2 * 2], v[5], empty[1];
    fill_uniform(w, 24, -1, 1, 1);
    fill_uniform(v, 5, -1, 1, 2);
    int64_t steps = 123456789012345, idx[3] = {-1, 0, 7};

    SafetensorsWriter wr;
    safetensors_writer_init(&wr);
    safetensors_writer_add_f32(&wr, "z.weight", 4, (int[]){2, 3, 2, 2}, w);
    safetensors_writer_add_i64(&wr, "bn.num_batches_tracked", 0, NULL, &steps);
    safetensors_writer_add_f32(&wr, "a.bias", 1, (int[]){5}, v);
    safetensors_writer_add_f32(&wr, "empty", 2, (int[]){0, 4}, empty);
    safetensors_writer_add_i64(&wr, "idx", 1, (int[]){3}, idx);
    safetensors_writer_set_meta(&wr, "task", "seg");
    safetensors_writer_set_meta(&wr, "arch", "pspnet");
    safetensors_writer_set_meta(&wr, "task", "auto");          /* replaces */
    assert_int_equal(safetensors_write(&wr, path), 0);

    SafeTensors st;
    assert_int_equal(safetensors_read(path, &st), 0);
    assert_int_equal(st.count, 5);
    assert_int_equal(st.meta_count, 2);
    assert_string_equal(safetensors_meta(&st, "arch"), "pspnet");
    assert_string_equal(safetensors_meta(&st, "task"), "auto");
    assert_null(safetensors_meta(&st, "classes"));
    /* File order: I64 before F32, each by name. */
    const char *order[] = {"bn.num_batches_tracked", "idx", "a.bias", "empty", "z.weight"};
    for (int i = 0; i < 5; i++) assert_string_equal(st.entries[i].name, order[i]);
    /* The header is padded to 8 bytes, so every tensor is aligned in the loaded file. */
    assert_int_equal((st.file[0] | st.file[1] << 8) % 8, 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal((uintptr_t)st.entries[i].data % safetensors_dtype_size(st.entries[i].dtype), 0);

    float w2[24], v2[5];
    int64_t steps2, idx2[3];
    assert_int_equal(safetensors_read_f32(&st, "z.weight", 4, (int[]){2, 3, 2, 2}, w2), 0);
    assert_memory_equal(w, w2, sizeof w);
    assert_int_equal(safetensors_read_f32(&st, "a.bias", 1, (int[]){5}, v2), 0);
    assert_memory_equal(v, v2, sizeof v);
    assert_int_equal(safetensors_read_i64(&st, "bn.num_batches_tracked", 0, NULL, &steps2), 0);
    assert_true(steps2 == steps);
    assert_int_equal(safetensors_read_i64(&st, "idx", 1, (int[]){3}, idx2), 0);
    assert_memory_equal(idx, idx2, sizeof idx);
    const SafetensorsEntry *e = safetensors_find(&st, "empty");
    assert_non_null(e);
    assert_int_equal(e->count, 0);
    assert_int_equal(e->ndim, 2);
    assert_null(safetensors_find(&st, "nope"));
    /* "empty" was never read. */
    assert_int_equal(safetensors_check_all_used(&st), -1);
    assert_non_null(strstr(error_get(), "unexpected tensor 'empty'"));
    assert_int_equal(safetensors_read_f32(&st, "empty", 2, (int[]){0, 4}, empty), 0);
    assert_int_equal(safetensors_check_all_used(&st), 0);
    safetensors_free(&st);

    /* Rewriting the same content gives the same bytes (canonical), atomically replaced. */
    size_t len1, len2;
    unsigned char *first = read_file_bytes(path, &len1), *mem;
    assert_int_equal(safetensors_write(&wr, path), 0);
    unsigned char *second = read_file_bytes(path, &len2);
    safetensors_serialize(&wr, &mem, &len2);
    assert_int_equal(len1, len2);
    assert_memory_equal(first, second, len1);
    assert_memory_equal(first, mem, len1);
    free(first); free(second); free(mem);
    safetensors_writer_free(&wr);
    unlink(path);
    rmdir(dir);
    free(path);
    free(dir);
}

/* The serialization examples from the reference implementation's tests. */
static void test_reference_examples(void **state)
{
    (void)state;
    SafetensorsWriter w;
    unsigned char *b;
    size_t len;
    float data[6] = {0, 1, 2, 3, 4, 5};

    safetensors_writer_init(&w);
    safetensors_writer_add_f32(&w, "attn.0", 3, (int[]){1, 2, 3}, data);
    safetensors_serialize(&w, &b, &len);
    const char *h1 = "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
    assert_int_equal(len, 8 + 64 + 24);
    assert_int_equal(b[0], 64);
    assert_memory_equal(b + 8, h1, 64);
    assert_memory_equal(b + 72, data, 24);
    free(b);
    safetensors_writer_free(&w);

    /* "attn0" with shape [1,1,2,3]: 65 bytes of JSON, padded with 7 spaces to 72. */
    safetensors_writer_init(&w);
    safetensors_writer_add_f32(&w, "attn0", 4, (int[]){1, 1, 2, 3}, data);
    safetensors_serialize(&w, &b, &len);
    assert_int_equal(b[0], 72);
    assert_memory_equal(b + 8 + 65, "       ", 7);
    free(b);
    safetensors_writer_free(&w);

    safetensors_writer_init(&w);
    safetensors_serialize(&w, &b, &len);
    assert_int_equal(len, 16);
    assert_memory_equal(b, "\x08\0\0\0\0\0\0\0{}      ", 16);
    free(b);
    safetensors_writer_set_meta(&w, "framework", "pt");
    safetensors_serialize(&w, &b, &len);
    assert_int_equal(len, 48);
    assert_memory_equal(b, "\x28\0\0\0\0\0\0\0{\"__metadata__\":{\"framework\":\"pt\"}}     ", 48);
    free(b);
    safetensors_writer_free(&w);

    /* Escapes as serde_json writes them, and the reader undoes them. */
    safetensors_writer_init(&w);
    safetensors_writer_set_meta(&w, "note", "a\"b\\c\nd\x01 \xc3\xa9");
    safetensors_serialize(&w, &b, &len);
    const char *escaped = "\"a\\\"b\\\\c\\nd\\u0001 \xc3\xa9\"";
    assert_non_null(memmem(b, len, escaped, strlen(escaped)));
    SafeTensors st;
    assert_int_equal(safetensors_parse(b, len, "mem", &st), 0);
    assert_string_equal(safetensors_meta(&st, "note"), "a\"b\\c\nd\x01 \xc3\xa9");
    safetensors_free(&st);
    free(b);
    safetensors_writer_free(&w);
}

/* A file from the Python writer loads, and our writer reproduces it byte for byte. */
static void test_python_written_file(void **state)
{
    (void)state;
    char cmd[4096], out[4096];
    if (access("tests/torch/safetensors_io.py", R_OK) != 0) {
        print_message("skipped: run from the source root (needs tests/torch/safetensors_io.py)\n");
        skip();
    }
    if (!test_python_has("torch, numpy")) skip();
    char *dir = make_temp_dir("safetensors-py");
    char *path = fs_join(dir, "py.safetensors");
    snprintf(cmd, sizeof cmd,
             "%s -c 'import sys, torch; sys.path.insert(0, \"tests/torch\"); "
             "import safetensors_io as s; "
             "sd = {\"layer1.0.conv1.weight\": torch.arange(24, dtype=torch.float32).reshape(2, 3, 2, 2) * 0.5, "
             "\"bn1.num_batches_tracked\": torch.tensor(5), "
             "\"bn1.running_var\": torch.tensor([0.5, 1.25, 2.0]), "
             "\"classifier.bias\": torch.tensor([-1.5, 2.25])}; "
             "s.save_file(sd, sys.argv[1], {\"arch\": \"pspnet\", \"classes\": \"2\"})' %s",
             test_python(), path);
    int rc = run_command(cmd, out, sizeof out);
    if (rc) print_error("%s\n", out);
    assert_int_equal(rc, 0);

    SafeTensors st;
    assert_int_equal(safetensors_read(path, &st), 0);
    float w[24], rv[3], cb[2];
    int64_t steps;
    assert_int_equal(safetensors_read_f32(&st, "layer1.0.conv1.weight", 4, (int[]){2, 3, 2, 2}, w), 0);
    for (int i = 0; i < 24; i++) assert_true(w[i] == 0.5f * (float)i);
    assert_int_equal(safetensors_read_f32(&st, "bn1.running_var", 1, (int[]){3}, rv), 0);
    assert_true(rv[0] == 0.5f && rv[1] == 1.25f && rv[2] == 2.0f);
    assert_int_equal(safetensors_read_f32(&st, "classifier.bias", 1, (int[]){2}, cb), 0);
    assert_true(cb[0] == -1.5f && cb[1] == 2.25f);
    assert_int_equal(safetensors_read_i64(&st, "bn1.num_batches_tracked", 0, NULL, &steps), 0);
    assert_true(steps == 5);
    assert_int_equal(safetensors_check_all_used(&st), 0);
    assert_string_equal(safetensors_meta(&st, "arch"), "pspnet");
    assert_string_equal(safetensors_meta(&st, "classes"), "2");

    SafetensorsWriter wr;
    safetensors_writer_init(&wr);
    safetensors_writer_add_f32(&wr, "classifier.bias", 1, (int[]){2}, cb);
    safetensors_writer_add_f32(&wr, "layer1.0.conv1.weight", 4, (int[]){2, 3, 2, 2}, w);
    safetensors_writer_add_i64(&wr, "bn1.num_batches_tracked", 0, NULL, &steps);
    safetensors_writer_add_f32(&wr, "bn1.running_var", 1, (int[]){3}, rv);
    safetensors_writer_set_meta(&wr, "classes", "2");
    safetensors_writer_set_meta(&wr, "arch", "pspnet");
    unsigned char *mine;
    size_t mine_len;
    safetensors_serialize(&wr, &mine, &mine_len);
    assert_int_equal(mine_len, st.file_size);
    assert_memory_equal(mine, st.file, mine_len);
    free(mine);
    safetensors_writer_free(&wr);
    safetensors_free(&st);
    unlink(path);
    rmdir(dir);
    free(path);
    free(dir);
}

static void test_typed_read_messages(void **state)
{
    (void)state;
    float w[4] = {1, 2, 3, 4};
    SafetensorsWriter wr;
    safetensors_writer_init(&wr);
    safetensors_writer_add_f32(&wr, "layer1.0.conv1.weight", 4, (int[]){1, 1, 2, 2}, w);
    safetensors_writer_add(&wr, "half", SAFETENSORS_F16, 1, (int[]){2}, w);
    unsigned char *b;
    size_t len;
    safetensors_serialize(&wr, &b, &len);
    safetensors_writer_free(&wr);
    SafeTensors st;
    assert_int_equal(safetensors_parse(b, len, "W.safetensors", &st), 0);
    free(b);
    float dst[4];
    int64_t n;
    assert_int_equal(safetensors_read_f32(&st, "layer1.0.conv1.weight", 4, (int[]){1, 2, 2, 2}, dst), -1);
    assert_string_equal(error_get(), "W.safetensors: tensor 'layer1.0.conv1.weight' has shape "
                                     "[1, 1, 2, 2], expected [1, 2, 2, 2]");
    assert_int_equal(safetensors_read_f32(&st, "layer1.0.conv1.weight", 3, (int[]){1, 2, 2}, dst), -1);
    assert_non_null(strstr(error_get(), "has shape [1, 1, 2, 2], expected [1, 2, 2]"));
    assert_int_equal(safetensors_read_f32(&st, "bn1.weight", 1, (int[]){4}, dst), -1);
    assert_string_equal(error_get(), "W.safetensors: tensor 'bn1.weight' is missing");
    assert_int_equal(safetensors_read_f32(&st, "half", 1, (int[]){2}, dst), -1);
    assert_string_equal(error_get(), "W.safetensors: tensor 'half' has dtype F16, expected F32");
    assert_int_equal(safetensors_read_i64(&st, "layer1.0.conv1.weight", 4, (int[]){1, 1, 2, 2}, &n), -1);
    assert_non_null(strstr(error_get(), "has dtype F32, expected I64"));
    /* Nothing was read successfully: two unexpected tensors. */
    assert_int_equal(safetensors_check_all_used(&st), -1);
    assert_non_null(strstr(error_get(), "unexpected tensor 'layer1.0.conv1.weight' (and 1 more)"));
    safetensors_free(&st);
}

/* ---- malformed files ---- */

static void test_rejects_bad_framing(void **state)
{
    (void)state;
    expect_rejected((const unsigned char *)"\x02\0\0\0", 4, "shorter than the 8-byte header");
    expect_rejected((const unsigned char *)"", 0, "shorter than the 8-byte header");
    expect_rejected((const unsigned char *)"\x10\0\0\0\0\0\0\0{}", 10, "goes beyond the end");
    expect_rejected((const unsigned char *)"\xff\xff\xff\xff\xff\xff\xff\xff{}", 10,
                    "exceeds the 100 MB limit");
    expect_rejected((const unsigned char *)"\x00\xe1\xf5\x05\0\0\0\0{}", 10,   /* 1e8 + 1 .. */
                    "goes beyond the end");
    expect_rejected((const unsigned char *)"\x01\xe1\xf5\x05\0\0\0\0{}", 10,
                    "exceeds the 100 MB limit");
    expect_rejected((const unsigned char *)"\x04\0\0\0\0\0\0\0{}\0 ", 12, "NUL byte");
    expect_rejected((const unsigned char *)"\x04\0\0\0\0\0\0\0{}\xff ", 12, "not valid UTF-8");
    expect_rejected((const unsigned char *)"\x03\0\0\0\0\0\0\0{}\xc3", 11, "not valid UTF-8");
    expect_rejected((const unsigned char *)"\x05\0\0\0\0\0\0\0{}\xed\xa0\x80", 13,   /* surrogate */
                    "not valid UTF-8");
    expect_rejected((const unsigned char *)"\x06\0\0\0\0\0\0\0{}\xc0\xaf  ", 14,     /* overlong */
                    "not valid UTF-8");
}

static void test_rejects_bad_json(void **state)
{
    (void)state;
    expect_header_rejected("{\"a\": ", 0, "not valid JSON");
    expect_header_rejected("", 0, "not valid JSON");
    expect_header_rejected("[1, 2]", 0, "not a JSON object");
    expect_header_rejected("\"x\"", 0, "not a JSON object");
    expect_header_rejected("{} {}", 0, "text after the JSON object");
    expect_header_rejected("{\"a\\u0000b\": {}}", 0, "escaped NUL");
    expect_header_rejected("{\"a\": 3}", 0, "tensor 'a': entry is not a JSON object");
}

static void test_rejects_bad_entries(void **state)
{
    (void)state;
    static const struct {
        const char *header;
        size_t buffer;
        const char *expect;
    } cases[] = {
        {"{\"t\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 't': missing 'dtype'"},
        {"{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "tensor 't': missing 'shape'"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "tensor 't': missing 'data_offsets'"},
        {"{\"t\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "dtype is not a string"},
        {"{\"t\":{\"dtype\":\"F31\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unknown dtype 'F31'"},
        {"{\"t\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unknown dtype 'f32'"},
        {"{\"t\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
         "field 'dtype' appears twice"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,16]}}", 16, "shape is not a list"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "shape entry 0 is not"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2,1.5],\"data_offsets\":[0,12]}}", 12, "shape entry 1 is not"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4, "shape entry 0 is not"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
         "shape has 9 dimensions"},
        {"{\"t\":{\"dtype\":\"U8\",\"shape\":[2147483647,2147483647,2147483647,2147483647,8],"
         "\"data_offsets\":[0,4]}}", 4, "too many elements"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, "data_offsets is not a list of two"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8, "data_offsets is not a list of two"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4, "data_offsets is not a list of two"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":\"0-4\"}}", 4, "data_offsets is not a list of two"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,0]}}", 4, "end before they begin"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", 12,
         "tensor 't': data_offsets [0, 12] hold 12 bytes but F32 [2, 2] needs 16"},
        {"{\"t\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,4]}}", 4, "but I64 [] needs 8"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4,
         "tensor 't': data_offsets [0, 8] go beyond the end of the data (4 bytes"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12,
         "tensors 'a' and 'b' overlap"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", 8,
         "tensors 'a' and 'b' overlap"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12,
         "4 bytes before tensor 'b' belong to no tensor"},
        {"{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
         "4 bytes before tensor 'b' belong to no tensor"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 12,
         "the last 8 bytes of the file belong to no tensor"},
        {"{}", 1, "the last 1 bytes"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
         "tensor 'a' appears twice"},
        {"{\"__metadata__\":[\"a\"]}", 0, "__metadata__ is not a JSON object"},
        {"{\"__metadata__\":{\"epoch\":3}}", 0, "__metadata__ value for 'epoch' is not a string"},
        {"{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, "__metadata__ key 'k' appears twice"},
        {"{\"__metadata__\":{},\"__metadata__\":{}}", 0, "'__metadata__' appears twice"},
        {"{\"a\\nb\":3}", 0, "tensor 'a?b': entry is not"},      /* control characters made printable */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_header_rejected(cases[i].header, cases[i].buffer, cases[i].expect);
}

/* What the reference accepts we accept: extra fields, any key order, old layouts whose
 * tensors are not in canonical order, headers that are not padded, zero-size tensors. */
static void test_accepts_valid_variants(void **state)
{
    (void)state;
    const char *header = " {\"b\":{\"data_offsets\":[0,8],\"shape\":[2],\"dtype\":\"F32\",\"x\":[1]},"
                         "\"e\":{\"dtype\":\"BOOL\",\"shape\":[0,3],\"data_offsets\":[8,8]},"
                         "\"a\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[8,11]},"
                         "\"__metadata__\":{\"k\":\"v\"}}\n";
    size_t len;
    unsigned char *b = make_image(header, 11, &len);
    SafeTensors st;
    assert_int_equal(safetensors_parse(b, len, "ok.safetensors", &st), 0);
    assert_int_equal(st.count, 3);
    assert_string_equal(st.entries[0].name, "b");       /* file (offset) order */
    assert_int_equal(safetensors_find(&st, "a")->dtype, SAFETENSORS_U8);
    assert_int_equal(safetensors_find(&st, "a")->data - st.file, 8 + strlen(header) + 8);
    assert_string_equal(safetensors_meta(&st, "k"), "v");
    safetensors_free(&st);
    free(b);
}

static void test_file_errors(void **state)
{
    (void)state;
    SafeTensors st;
    char *dir = make_temp_dir("safetensors-files");
    char *missing = fs_join(dir, "missing.safetensors");
    assert_int_equal(safetensors_read(missing, &st), -1);
    assert_non_null(strstr(error_get(), "cannot open"));
    assert_non_null(strstr(error_get(), "missing.safetensors"));
    assert_int_equal(safetensors_read(dir, &st), -1);
    assert_non_null(strstr(error_get(), "not a regular file"));

    /* A truncated checkpoint names the tensor that runs past the end. */
    float w[16] = {0};
    SafetensorsWriter wr;
    safetensors_writer_init(&wr);
    safetensors_writer_add_f32(&wr, "head.weight", 2, (int[]){4, 4}, w);
    char *path = fs_join(dir, "cut.safetensors");
    assert_int_equal(safetensors_write(&wr, path), 0);
    safetensors_writer_free(&wr);
    assert_int_equal(truncate(path, 80), 0);
    assert_int_equal(safetensors_read(path, &st), -1);
    assert_non_null(strstr(error_get(), "cut.safetensors: tensor 'head.weight'"));
    assert_non_null(strstr(error_get(), "truncated?"));
    unlink(path);
    rmdir(dir);
    free(path);
    free(missing);
    free(dir);
}

/* ---- corrupted files ---- */

/* A small valid file image (*len bytes): a 1x3x2x2 F32 weight, an I64 scalar and one
 * metadata key. */
static unsigned char *small_file(size_t *len)
{
    float w[12];
    int64_t n = 3;
    fill_uniform(w, 12, -1, 1, 5);
    SafetensorsWriter wr;
    safetensors_writer_init(&wr);
    safetensors_writer_add_f32(&wr, "conv.weight", 4, (int[]){1, 3, 2, 2}, w);
    safetensors_writer_add_i64(&wr, "bn.num_batches_tracked", 0, NULL, &n);
    safetensors_writer_set_meta(&wr, "arch", "unet");
    unsigned char *good;
    safetensors_serialize(&wr, &good, len);
    safetensors_writer_free(&wr);
    return good;
}

/* A corrupted copy of the len bytes at good: cut short at random every third trial, then
 * up to 3 bytes replaced by a random byte or a JSON mark. Its size in *cut; the buffer is
 * exactly that size (at least 1 byte), so that ASan sees any read past it. */
static unsigned char *corrupt_copy(const unsigned char *good, size_t len, int trial, Rng *r,
                                   size_t *cut)
{
    *cut = trial % 3 == 0 ? rng_below(r, (uint32_t)len + 1) : len;
    unsigned char *b = malloc(*cut ? *cut : 1);
    memcpy(b, good, *cut);
    int flips = (int)rng_below(r, 4);
    for (int k = 0; k < flips && *cut; k++) {
        size_t at = rng_below(r, (uint32_t)*cut);
        b[at] = rng_below(r, 2) ? (unsigned char)rng_u32(r)
                                : (unsigned char)"{}[]\",:0123456789 -.e\\"[rng_below(r, 23)];
    }
    return b;
}

/* safetensors_read_header against its oracle, safetensors_read: on a valid file and on
 * 400 cut or corrupted copies of it, the same answer (accepted, or refused with the same
 * message), the same metadata, names, dtypes and shapes, and no tensor data. */
static void test_header_alone(void **state)
{
    (void)state;
    size_t len;
    unsigned char *good = small_file(&len);
    char *dir = make_temp_dir("safetensors-header"), *path = fs_join(dir, "r.safetensors");
    Rng r;
    rng_seed(&r, 4, 0);
    for (int trial = 0; trial < 400; trial++) {
        size_t cut = len;
        unsigned char *b = trial ? corrupt_copy(good, len, trial, &r, &cut) : NULL;
        FILE *f = fopen(path, "wb");
        assert_int_equal(fwrite(b ? b : good, 1, cut, f), cut);
        fclose(f);
        free(b);
        SafeTensors full, head;
        char full_msg[512];
        const int full_rc = safetensors_read(path, &full);
        snprintf(full_msg, sizeof full_msg, "%s", full_rc ? error_get() : "");
        error_clear();
        const int head_rc = safetensors_read_header(path, &head);
        assert_int_equal(head_rc, full_rc);
        if (full_rc) {
            assert_string_equal(error_get(), full_msg);
            continue;
        }
        assert_true(trial > 0 || (full.count == 2 && full.meta_count == 1));
        assert_int_equal(head.count, full.count);
        assert_int_equal(head.meta_count, full.meta_count);
        for (int i = 0; i < full.meta_count; i++) {
            assert_string_equal(head.meta_keys[i], full.meta_keys[i]);
            assert_string_equal(head.meta_values[i], full.meta_values[i]);
        }
        for (int i = 0; i < full.count; i++) {
            const SafetensorsEntry *a = &full.entries[i], *e = &head.entries[i];
            assert_string_equal(e->name, a->name);
            assert_true(e->dtype == a->dtype && e->ndim == a->ndim && e->nbytes == a->nbytes);
            assert_memory_equal(e->shape, a->shape, sizeof a->shape);
            assert_null(e->data);
        }
        safetensors_free(&full);
        safetensors_free(&head);
    }
    unlink(path);
    rmdir(dir);
    free(path);
    free(dir);
    free(good);
}

/* Random corruption of a valid file: the parser must fail cleanly or succeed, never
 * crash or read outside the buffer (ASan checks this under `make sanitize`). */
static void test_random_corruption(void **state)
{
    (void)state;
    size_t len;
    unsigned char *good = small_file(&len);
    Rng r;
    rng_seed(&r, 11, 0);
    int accepted = 0;
    for (int trial = 0; trial < 3000; trial++) {
        size_t cut;
        unsigned char *b = corrupt_copy(good, len, trial, &r, &cut);
        SafeTensors st;
        if (safetensors_parse(b, cut, "fuzz", &st) == 0) {
            accepted++;
            for (int i = 0; i < st.count; i++)   /* every accepted entry lies inside the file */
                assert_true(st.entries[i].data >= st.file &&
                            st.entries[i].data + st.entries[i].nbytes <= st.file + st.file_size);
            safetensors_free(&st);
        } else {
            assert_true(strlen(error_get()) > 0);
        }
        free(b);
    }
    assert_true(accepted > 0);      /* flips inside tensor data keep the file valid */
    free(good);
}

TEST_MAIN("safetensors", NULL, NULL,
          test_round_trip, test_reference_examples, test_python_written_file,
          test_typed_read_messages, test_rejects_bad_framing, test_rejects_bad_json,
          test_rejects_bad_entries, test_accepts_valid_variants, test_file_errors,
          test_header_alone, test_random_corruption)
