/* The model commands (init, info, forward, grad) and checkpoint loading: outputs have the
 * right shapes, same seed gives the same file, and every bad input gives one line naming
 * the file and the problem with a non-zero exit. The data options (cli/data_args.h) pick
 * the same patients in eval and swap as the library does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/npy.h"
#include "engine/safetensors.h"
#include "models/checkpoint.h"
#include "train/data.h"
#include "tests/testutil.h"


static void test_init_info_forward_grad(void **state)
{
    (void)state;
    char out[16384], path[4200];
    assert_int_equal(run_line(out, sizeof out, "@ init --arch unet --width 4 --seed 3 -o %/a.safetensors"), 0);
    assert_int_equal(run_line(out, sizeof out, "@ init --arch unet --width 4 --seed 3 -o %/b.safetensors"), 0);
    assert_int_equal(run_line(out, sizeof out, "cmp %/a.safetensors %/b.safetensors"), 0);
    assert_int_equal(run_line(out, sizeof out, "@ info %/a.safetensors"), 0);
    assert_non_null(strstr(out, "unet (width 4)"));
    assert_non_null(strstr(out, "dec1.conv2"));
    assert_non_null(strstr(out, "init = seed 3"));

    /* forward: [2, 1, 32, 48] -> [2, 4, 32, 48] */
    float x[2 * 32 * 48];
    fill_uniform(x, 2 * 32 * 48, -1, 1, 4);
    snprintf(path, sizeof path, "%s/x.npy", test_dir());
    assert_int_equal(npy_write_f32(path, 4, (int[]){2, 1, 32, 48}, x), 0);
    assert_int_equal(run_line(out, sizeof out, "@ forward --weights %/a.safetensors --input %/x.npy --output %/y.npy"), 0);
    NpyArray y;
    snprintf(path, sizeof path, "%s/y.npy", test_dir());
    assert_int_equal(npy_read(path, &y), 0);
    assert_int_equal(y.ndim, 4);
    assert_int_equal(y.shape[1], 4);
    assert_int_equal(y.shape[3], 48);
    npy_free(&y);

    /* grad: every trainable tensor, under its own name */
    int64_t t[2 * 32 * 48];
    for (int i = 0; i < 2 * 32 * 48; i++) t[i] = i % 4;
    snprintf(path, sizeof path, "%s/t.npy", test_dir());
    assert_int_equal(npy_write_i64(path, 3, (int[]){2, 32, 48}, t), 0);
    assert_int_equal(run_line(out, sizeof out, "@ grad --weights %/a.safetensors --input %/x.npy --target %/t.npy --loss ce --output %/g.safetensors"), 0);
    SafeTensors g;
    snprintf(path, sizeof path, "%s/g.safetensors", test_dir());
    assert_int_equal(safetensors_read(path, &g), 0);
    assert_non_null(safetensors_find(&g, "enc1.conv1.weight"));
    assert_non_null(safetensors_find(&g, "dec1.bn2.bias"));
    assert_null(safetensors_find(&g, "enc1.bn1.running_mean"));    /* buffers have no gradient */
    safetensors_free(&g);
}

static void test_bad_inputs_are_reported(void **state)
{
    (void)state;
    char out[16384], path[4200];
    assert_int_equal(run_line(out, sizeof out, "@ init --arch unet --width 4 --seed 3 -o %/c.safetensors"), 0);
    /* truncated checkpoint */
    assert_int_equal(run_line(out, sizeof out, "head -c 200 %/c.safetensors > %/trunc.safetensors"), 0);
    assert_int_equal(run_line(out, sizeof out, "@ info %/trunc.safetensors"), 1);
    assert_non_null(strstr(out, "trunc.safetensors: "));
    /* a checkpoint missing one tensor, and one with an extra tensor */
    SafeTensors st;
    snprintf(path, sizeof path, "%s/c.safetensors", test_dir());
    assert_int_equal(safetensors_read(path, &st), 0);
    SafetensorsWriter missing, extra;
    safetensors_writer_init(&missing);
    safetensors_writer_init(&extra);
    for (int i = 0; i < st.count; i++) {
        const SafetensorsEntry *e = &st.entries[i];
        if (strcmp(e->name, "dec2.bn1.weight"))
            safetensors_writer_add(&missing, e->name, e->dtype, e->ndim, e->shape, e->data);
        safetensors_writer_add(&extra, e->name, e->dtype, e->ndim, e->shape, e->data);
    }
    float junk[3] = {1, 2, 3};
    safetensors_writer_add_f32(&extra, "fc.weight", 1, (int[]){3}, junk);
    for (int i = 0; i < st.meta_count; i++) {
        safetensors_writer_set_meta(&missing, st.meta_keys[i], st.meta_values[i]);
        safetensors_writer_set_meta(&extra, st.meta_keys[i], st.meta_values[i]);
    }
    snprintf(path, sizeof path, "%s/missing.safetensors", test_dir());
    assert_int_equal(safetensors_write(&missing, path), 0);
    snprintf(path, sizeof path, "%s/extra.safetensors", test_dir());
    assert_int_equal(safetensors_write(&extra, path), 0);
    safetensors_writer_free(&missing);
    safetensors_writer_free(&extra);
    safetensors_free(&st);
    assert_int_equal(run_line(out, sizeof out, "@ info %/missing.safetensors"), 1);
    assert_non_null(strstr(out, "missing tensor 'dec2.bn1.weight'"));
    assert_int_equal(run_line(out, sizeof out, "@ info %/extra.safetensors"), 1);
    assert_non_null(strstr(out, "unexpected tensor 'fc.weight'"));

    /* an input whose size the UNet cannot take, and a label out of range */
    float x[1 * 1 * 24 * 32] = {0};
    snprintf(path, sizeof path, "%s/x24.npy", test_dir());
    assert_int_equal(npy_write_f32(path, 4, (int[]){1, 1, 24, 32}, x), 0);
    assert_int_equal(run_line(out, sizeof out, "@ forward --weights %/c.safetensors --input %/x24.npy --output %/y.npy"), 1);
    assert_non_null(strstr(out, "x24.npy: input size 24x32: unet needs height and width that are multiples of 16"));
    float x2[2 * 32 * 32] = {0};
    int64_t t[2 * 32 * 32] = {0};
    t[77] = 9;
    snprintf(path, sizeof path, "%s/x32.npy", test_dir());
    assert_int_equal(npy_write_f32(path, 4, (int[]){2, 1, 32, 32}, x2), 0);
    snprintf(path, sizeof path, "%s/t32.npy", test_dir());
    assert_int_equal(npy_write_i64(path, 3, (int[]){2, 32, 32}, t), 0);
    assert_int_equal(run_line(out, sizeof out, "@ grad --weights %/c.safetensors --input %/x32.npy --target %/t32.npy --loss ce --output %/g.safetensors"), 1);
    assert_non_null(strstr(out, "t32.npy: class 9 at element 77 is outside 0..3"));
    /* bad options */
    assert_int_equal(run_line(out, sizeof out, "@ init --arch resnet --seed 1 -o %/z.safetensors"), 1);
    assert_non_null(strstr(out, "unknown architecture 'resnet'"));
    assert_int_equal(run_line(out, sizeof out, "@ init --arch unet --seed x1 -o %/z.safetensors"), 2);
    assert_non_null(strstr(out, "--seed needs a non-negative integer"));
}

/* The slice count a command printed after `key` ("(val split, " or "swap scan: ..."). */
static int count_after(const char *out, const char *key)
{
    const char *p = strstr(out, key);
    if (!p) print_error("no '%s' in: %s\n", key, out);
    assert_non_null(p);
    return atoi(p + strlen(key));
}

/* eval and swap take the data options alike: for each set of options, the validation
 * slices they evaluate are those run_data_load gives for the same DataOptions. */
static void test_data_options_alike(void **state)
{
    (void)state;
    char out[16384], data[4200], line[8192];
    snprintf(data, sizeof data, "%s/data", test_dir());
    test_synth("acdc", 6, 32, 2, 5, data);
    assert_int_equal(run_line(out, sizeof out, "@ init --arch unet --width 4 --seed 1 -o %/d.safetensors"), 0);
    const struct { uint64_t seed; int train, val; } cases[] = {{0, -1, -1}, {3, 2, 3}, {9, 4, 1}};
    for (int k = 0; k < 3; k++) {
        DataOptions d;
        data_options_defaults(&d);
        d.dir = data;
        d.size = 32;
        d.split_seed = cases[k].seed;
        d.train_count = cases[k].train;
        d.val_count = cases[k].val;
        RunData rd;
        assert_int_equal(run_data_load(&d, RUN_DATA_VAL, &rd), 0);
        const int want = rd.val.count;
        run_data_free(&rd);
        char opts[4400];
        snprintf(opts, sizeof opts, "--data %s --size 32 --split-seed %llu --train-count %d "
                 "--val-count %d", data, (unsigned long long)cases[k].seed, cases[k].train,
                 cases[k].val);
        if (cases[k].train < 0) snprintf(opts, sizeof opts, "--data %s --size 32", data);
        snprintf(line, sizeof line, "@ eval --weights %%/d.safetensors %s --threads 1", opts);
        assert_int_equal(run_line(out, sizeof out, line), 0);
        assert_int_equal(count_after(out, "(val split, "), want);
        snprintf(line, sizeof line, "@ swap --target %%/d.safetensors --source %%/d.safetensors "
                 "%s --no-controls --resamples 0 --quiet --threads 1 -o %%/scan.csv", opts);
        assert_int_equal(run_line(out, sizeof out, line), 0);
        const char *p = strstr(out, "source ");
        assert_non_null(p);
        assert_int_equal(count_after(p, ", "), want);
    }
}

TEST_MAIN("model commands", test_dir_setup, test_dir_teardown,
          test_init_info_forward_grad, test_bad_inputs_are_reported, test_data_options_alike)
