/* relu, add, add_relu and channel concat: forward values computed directly, gradients by finite
 * differences, aliasing (x + x, concat [x, x]), concat_resized bitwise equal to resize then
 * concat, and shape mismatches. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/add.h"
#include "engine/concat.h"
#include "engine/resize.h"
#include "engine/relu.h"
#include "tests/testutil.h"

/* ---- relu ---------------------------------------------------------------------------- */

static void test_relu_forward(void **state)
{
    (void)state;
    float x[] = {-2.0f, -0.0f, 0.0f, 1e-30f, 3.5f, -1e-30f, NAN, INFINITY, -INFINITY};
    float y[9];
    relu_forward(9, x, y);
    float want[] = {0, 0, 0, 1e-30f, 3.5f, 0, 0 /* NaN, below */, INFINITY, 0};
    for (int i = 0; i < 9; i++) {
        if (i == 6) assert_true(isnan(y[i]));
        else assert_true(y[i] == want[i]);
    }
    /* In place. */
    relu_forward(9, x, x);
    assert_true(x[0] == 0.0f && x[4] == 3.5f);
}

/* Values at least 0.1 away from the kink at 0, so x +- eps never crosses it. */
static Tensor away_from_zero(int ndim, const int *shape, uint64_t seed)
{
    Tensor t = test_tensor(ndim, shape, seed, true);
    for (size_t i = 0; i < t.size; i++)
        t.data[i] = t.data[i] < 0 ? t.data[i] - 0.1f : t.data[i] + 0.1f;
    return t;
}

static Tensor *build_relu(Tape *t, Tensor **in, void *arg)
{
    (void)arg;
    return relu(t, in[0]);
}

/* relu is piecewise linear and no probe crosses the kink (|x| >= 0.1 > eps = 1e-2): the
 * only error is float rounding, tolerance 1e-3 of the largest gradient. Batch 1 and 2,
 * odd sizes. */
static void test_relu_gradcheck(void **state)
{
    (void)state;
    int shapes[][4] = {{1, 3, 7, 5}, {2, 2, 9, 11}};
    for (int i = 0; i < 2; i++) {
        Tensor x = away_from_zero(4, shapes[i], 40 + i);
        gradcheck(build_relu, (Tensor *[]){&x}, 1, NULL, 1e-2f, 1e-3, 0);
        /* The gradient of sum(relu(x) * r) is r where x > 0 and exactly 0 elsewhere. */
        for (size_t j = 0; j < x.size; j++)
            if (x.data[j] < 0) assert_true(x.grad[j] == 0.0f);
        tensor_free(&x);
    }
}

/* No gradient wanted: nothing is recorded. */
static void test_relu_records_only_when_needed(void **state)
{
    (void)state;
    Tape t;
    tape_init(&t, 0);
    Tensor *x = tape_tensor4(&t, 1, 1, 3, 3);
    for (int i = 0; i < 9; i++) x->data[i] = (float)i - 4;
    Tensor *y = relu(&t, x);
    assert_int_equal(t.count, 0);
    assert_false(y->requires_grad);
    x->requires_grad = true;
    y = relu(&t, x);
    assert_int_equal(t.count, 1);
    assert_true(y->requires_grad);
    tape_free(&t);
}

/* Backward recycles the gradient of each op's output once that op has run: along a chain
 * of ReLUs only two activation-sized gradients are ever live, so the arena grows by two,
 * not by one per op; the leaf's gradient is kept and is the right one. */
static void test_backward_recycles_gradients(void **state)
{
    (void)state;
    enum { OPS = 8, SIZE = 4096 };
    Tape t;
    tape_init(&t, 0);
    Tensor x = test_tensor(4, (int[]){1, 1, 64, 64}, 7, true);
    for (int i = 0; i < SIZE; i++) x.data[i] = (float)(i % 5) - 1.0f;   /* -1 .. 3 */
    Tensor *y = &x;
    for (int k = 0; k < OPS; k++) y = relu(&t, y);
    const size_t forward_bytes = t.arena.in_use;
    tape_backward_from(&t, y, x.data);         /* seed dy = x: only its positive part is read */
    const size_t grad_bytes = t.arena.in_use - forward_bytes;
    assert_true(grad_bytes >= 2 * SIZE * sizeof(float));
    assert_true(grad_bytes < 3 * SIZE * sizeof(float));
    assert_null(y->grad);                      /* the output's gradient went back */
    for (int i = 0; i < SIZE; i++)
        assert_float_equal(x.grad[i], x.data[i] > 0 ? x.data[i] : 0.0f, 0.0f);
    tensor_free(&x);
    tape_free(&t);
}

/* In inference a released tensor's memory goes to the next tensor that fits it (at most
 * twice that tensor's size); the released tensor's data is NULL. */
static void test_inference_release_reuses(void **state)
{
    (void)state;
    enum { SIZE = 4096 };
    Tape t;
    tape_init(&t, 0);
    t.recording = t.training = false;
    Tensor x = test_tensor(4, (int[]){1, 1, 64, 64}, 7, false);
    Tensor *y = relu(&t, &x);
    float *block = y->data;
    tape_release(&t, y);
    assert_null(y->data);
    Tensor *quarter = tape_tensor4(&t, 1, 1, 32, 32);   /* 4x smaller: not given the block */
    assert_ptr_not_equal(quarter->data, block);
    Tensor *z = relu(&t, &x);                             /* same size: the block */
    assert_ptr_equal(z->data, block);
    for (int i = 0; i < SIZE; i++) assert_float_equal(z->data[i], x.data[i] > 0 ? x.data[i] : 0, 0);
    const size_t in_use = t.arena.in_use;
    tape_release(&t, z);
    Tensor *half = tape_tensor4(&t, 1, 1, 32, 64);        /* 2x smaller: takes it */
    assert_ptr_equal(half->data, block);
    assert_true(t.arena.in_use - in_use < 1024);          /* only the tensor struct */
    tensor_free(&x);
    tape_free(&t);
}

/* ---- add ----------------------------------------------------------------------------- */

static Tensor *build_add(Tape *t, Tensor **in, void *arg)
{
    (void)arg;
    return add(t, in[0], in[1]);
}

static Tensor *build_add_self(Tape *t, Tensor **in, void *arg)
{
    (void)arg;
    return add(t, in[0], in[0]);
}

static void test_add(void **state)
{
    (void)state;
    int shapes[][4] = {{1, 3, 5, 7}, {3, 2, 9, 7}};
    for (int i = 0; i < 2; i++) {
        Tensor a = test_tensor(4, shapes[i], 50 + i, true);
        Tensor b = test_tensor(4, shapes[i], 60 + i, true);
        Tape t;
        tape_init(&t, 0);
        Tensor *y = add(&t, &a, &b);
        for (size_t j = 0; j < a.size; j++) assert_true(y->data[j] == a.data[j] + b.data[j]);
        tape_free(&t);
        /* Linear: rounding only, tolerance 1e-3. */
        gradcheck(build_add, (Tensor *[]){&a, &b}, 2, NULL, 1e-2f, 1e-3, 0);
        tensor_free(&a);
        tensor_free(&b);
    }
    /* y = x + x: both paths accumulate into the same gradient, d/dx = 2. */
    Tensor x = test_tensor(4, (int[]){2, 1, 3, 5}, 70, true);
    gradcheck(build_add_self, (Tensor *[]){&x}, 1, NULL, 1e-2f, 1e-3, 0);
    Tape t;
    tape_init(&t, 0);
    memset(x.grad, 0, x.size * sizeof(float));
    Tensor *y = add(&t, &x, &x);
    tape_backward_from(&t, y, y->data);     /* seed dy = 2x */
    for (size_t j = 0; j < x.size; j++) assert_true(x.grad[j] == 2 * (2 * x.data[j]));
    tape_free(&t);
    tensor_free(&x);
}

/* ---- add_relu: relu(add(a, b)) in one pass ------------------------------------------ */

static Tensor *build_add_relu(Tape *t, Tensor **in, void *arg)
{
    (void)arg;
    return add_relu(t, in[0], in[1]);
}

/* Forward and backward of add_relu against relu(add()), bitwise: on random values with
 * sums that are exactly 0 and a NaN, seeded with a random dy; and for a + a, whose two
 * gradients land in one buffer. */
static void check_add_relu_is_relu_of_add(Tensor *a, Tensor *b, uint64_t seed)
{
    const size_t n = a->size, bytes = n * sizeof(float);
    float *dy = malloc(bytes), *ys[2], *grads[2][2];
    fill_uniform(dy, n, -1, 1, seed);
    for (int fused = 0; fused < 2; fused++) {
        memset(a->grad, 0, bytes);
        memset(b->grad, 0, bytes);
        Tape t;
        tape_init(&t, 0);
        Tensor *y = fused ? add_relu(&t, a, b) : relu(&t, add(&t, a, b));
        ys[fused] = malloc(bytes);
        memcpy(ys[fused], y->data, bytes);
        tape_backward_from(&t, y, dy);
        grads[fused][0] = malloc(bytes);
        grads[fused][1] = malloc(bytes);
        memcpy(grads[fused][0], a->grad, bytes);
        memcpy(grads[fused][1], b->grad, bytes);
        tape_free(&t);
    }
    assert_memory_equal(ys[1], ys[0], bytes);
    assert_memory_equal(grads[1][0], grads[0][0], bytes);
    assert_memory_equal(grads[1][1], grads[0][1], bytes);
    for (int i = 0; i < 2; i++) {
        free(ys[i]);
        free(grads[i][0]);
        free(grads[i][1]);
    }
    free(dy);
}

static void test_add_relu(void **state)
{
    (void)state;
    const int shape[4] = {2, 3, 9, 7};
    Tensor a = test_tensor(4, shape, 300, true), b = test_tensor(4, shape, 301, true);
    for (size_t i = 0; i < a.size; i += 5) b.data[i] = -a.data[i];    /* sums of exactly 0 */
    a.data[3] = NAN;
    check_add_relu_is_relu_of_add(&a, &b, 302);
    check_add_relu_is_relu_of_add(&a, &a, 303);
    /* Gradients by finite differences, sums at least 0.05 from the kink (eps 1e-2). */
    Tensor x = away_from_zero(4, shape, 304), r = test_tensor(4, shape, 305, true);
    for (size_t i = 0; i < r.size; i++) r.data[i] *= 0.05f;
    gradcheck(build_add_relu, (Tensor *[]){&x, &r}, 2, NULL, 1e-2f, 1e-3, 0);
    tensor_free(&a); tensor_free(&b); tensor_free(&x); tensor_free(&r);
}

/* ---- concat -------------------------------------------------------------------------- */

typedef struct ConcatArg { int count; } ConcatArg;

static Tensor *build_concat(Tape *t, Tensor **in, void *arg)
{
    const ConcatArg *c = arg;
    return concat(t, in, c->count);
}

static void test_concat_forward(void **state)
{
    (void)state;
    const int n = 2, h = 3, w = 5, ch[3] = {1, 3, 2};
    Tensor x[3];
    for (int i = 0; i < 3; i++) x[i] = test_tensor(4, (int[]){n, ch[i], h, w}, 80 + i, false);
    Tape t;
    tape_init(&t, 0);
    Tensor *y = concat(&t, (Tensor *[]){&x[0], &x[1], &x[2]}, 3);
    assert_int_equal(y->shape[0], n);
    assert_int_equal(y->shape[1], 6);
    assert_int_equal(y->shape[2], h);
    assert_int_equal(y->shape[3], w);
    /* y[b, c] is channel c - (C_0 + ... + C_{i-1}) of input i, for the i that holds c. */
    for (int b = 0; b < n; b++)
        for (int c = 0; c < 6; c++) {
            int i = c < 1 ? 0 : c < 4 ? 1 : 2, ci = c - (i == 0 ? 0 : i == 1 ? 1 : 4);
            for (int p = 0; p < h * w; p++)
                assert_true(y->data[(b * 6 + c) * h * w + p] ==
                            x[i].data[(b * ch[i] + ci) * h * w + p]);
        }
    tape_free(&t);
    for (int i = 0; i < 3; i++) tensor_free(&x[i]);
}

/* Linear: rounding only, tolerance 1e-3. Three inputs, batch 1 and 3, odd sizes; and a
 * tensor concatenated with itself (its gradient is the sum of both slices). */
static void test_concat_gradcheck(void **state)
{
    (void)state;
    for (int n = 1; n <= 3; n += 2) {
        Tensor a = test_tensor(4, (int[]){n, 2, 5, 3}, 90, true);
        Tensor b = test_tensor(4, (int[]){n, 1, 5, 3}, 91, true);
        Tensor c = test_tensor(4, (int[]){n, 3, 5, 3}, 92, false);  /* no gradient wanted */
        Tensor d = test_tensor(4, (int[]){n, 4, 5, 3}, 93, true);
        ConcatArg arg = {4};
        gradcheck(build_concat, (Tensor *[]){&a, &b, &c, &d}, 4, &arg, 1e-2f, 1e-3, 0);
        ConcatArg twice = {2};
        memset(a.grad, 0, a.size * sizeof(float));
        gradcheck(build_concat, (Tensor *[]){&a, &a}, 2, &twice, 1e-2f, 1e-3, 0);
        tensor_free(&a); tensor_free(&b); tensor_free(&c); tensor_free(&d);
    }
}

/* ---- concat_resized --------------------------------------------------------------------- */

/* The pyramid join's shape: a map and smaller branches, upsampled (6x5 from 1x1, 2x3 and
 * 4x4) and one at the map's own size; and the UNet join, [skip, x2 of the stage below].
 * Forward and every input gradient are bitwise those of resize_bilinear then concat. */
static void check_concat_resized_equals_two_ops(int n, int count, const int (*shapes)[3])
{
    Tensor x[5];
    for (int i = 0; i < count; i++)
        x[i] = test_tensor(4, (int[]){n, shapes[i][0], shapes[i][1], shapes[i][2]}, 120 + i,
                           true);
    Tensor *ins[5];
    float *grads[2][5], *outs[2];
    size_t out_size = 0;
    for (int way = 0; way < 2; way++) {
        Tape t;
        tape_init(&t, 0);
        for (int i = 0; i < count; i++) memset(x[i].grad, 0, x[i].size * sizeof(float));
        for (int i = 0; i < count; i++)
            ins[i] = way == 0 ? &x[i] : resize_bilinear(&t, &x[i], shapes[0][1], shapes[0][2]);
        Tensor *y = way == 0 ? concat_resized(&t, ins, count) : concat(&t, ins, count);
        float *dy = malloc(y->size * sizeof(float));
        fill_uniform(dy, y->size, -1, 1, 130);
        tape_backward_from(&t, y, dy);
        out_size = y->size;
        outs[way] = malloc(y->size * sizeof(float));
        memcpy(outs[way], y->data, y->size * sizeof(float));
        for (int i = 0; i < count; i++) {
            grads[way][i] = malloc(x[i].size * sizeof(float));
            memcpy(grads[way][i], x[i].grad, x[i].size * sizeof(float));
        }
        free(dy);
        tape_free(&t);
    }
    assert_memory_equal(outs[0], outs[1], out_size * sizeof(float));
    for (int i = 0; i < count; i++) {
        assert_memory_equal(grads[0][i], grads[1][i], x[i].size * sizeof(float));
        free(grads[0][i]);
        free(grads[1][i]);
        tensor_free(&x[i]);
    }
    free(outs[0]);
    free(outs[1]);
}

static void test_concat_resized_is_resize_then_concat(void **state)
{
    (void)state;
    const int pyramid[5][3] = {{4, 6, 5}, {3, 1, 1}, {2, 2, 3}, {3, 6, 5}, {1, 4, 4}};
    const int unet[2][3] = {{3, 8, 6}, {5, 4, 3}};
    for (int n = 1; n <= 3; n += 2) {
        check_concat_resized_equals_two_ops(n, 5, pyramid);
        check_concat_resized_equals_two_ops(n, 2, unet);
    }
}

static Tensor *build_concat_resized(Tape *t, Tensor **in, void *arg)
{
    const ConcatArg *c = arg;
    return concat_resized(t, in, c->count);
}

/* Linear in its inputs: rounding only. A downsampled input too (7x5 -> 5x3). */
static void test_concat_resized_gradcheck(void **state)
{
    (void)state;
    Tensor a = test_tensor(4, (int[]){2, 2, 5, 3}, 140, true);
    Tensor b = test_tensor(4, (int[]){2, 3, 2, 2}, 141, true);
    Tensor c = test_tensor(4, (int[]){2, 1, 7, 5}, 142, true);
    ConcatArg arg = {3};
    gradcheck(build_concat_resized, (Tensor *[]){&a, &b, &c}, 3, &arg, 1e-2f, 1e-3, 0);
    tensor_free(&a); tensor_free(&b); tensor_free(&c);
}

/* ---- bad shapes ----------------------------------------------------------------------- */

static void mismatched_add(void *arg)
{
    (void)arg;
    Tape t;
    tape_init(&t, 0);
    add(&t, tape_tensor4(&t, 2, 3, 5, 5), tape_tensor4(&t, 2, 3, 5, 4));
}

static void mismatched_concat(void *arg)
{
    (void)arg;
    Tape t;
    tape_init(&t, 0);
    Tensor *a = tape_tensor4(&t, 1, 512, 8, 8), *b = tape_tensor4(&t, 1, 128, 8, 8);
    Tensor *c = tape_tensor4(&t, 1, 128, 6, 8);
    concat(&t, (Tensor *[]){a, b, c}, 3);
}

static void concat_not_4d(void *arg)
{
    (void)arg;
    Tape t;
    tape_init(&t, 0);
    Tensor *a = tape_tensor4(&t, 1, 2, 8, 8), *b = tape_tensor(&t, 2, (int[]){8, 8});
    concat(&t, (Tensor *[]){a, b}, 2);
}

static void mismatched_concat_resized(void *arg)
{
    (void)arg;
    Tape t;
    tape_init(&t, 0);
    Tensor *a = tape_tensor4(&t, 2, 64, 8, 8), *b = tape_tensor4(&t, 3, 128, 4, 4);
    concat_resized(&t, (Tensor *[]){a, b}, 2);
}

static void test_shape_mismatch_is_reported(void **state)
{
    (void)state;
    assert_exits_with_message(mismatched_add, NULL,
                              "add: shapes [2, 3, 5, 5] and [2, 3, 5, 4] differ");
    assert_exits_with_message(mismatched_concat, NULL,
                              "concat: input 0 [1, 512, 8, 8] and input 2 [1, 128, 6, 8] "
                              "differ in N, H or W");
    assert_exits_with_message(concat_not_4d, NULL,
                              "concat: expected an NCHW tensor, got shape [8, 8]");
    assert_exits_with_message(mismatched_concat_resized, NULL,
                              "concat_resized: input 0 [2, 64, 8, 8] and input 1 [3, 128, 4, 4] "
                              "differ in N");
}

TEST_MAIN("elementwise", NULL, NULL,
          test_relu_forward, test_relu_gradcheck, test_relu_records_only_when_needed,
          test_backward_recycles_gradients, test_inference_release_reuses, test_add, test_add_relu,
          test_concat_forward, test_concat_gradcheck, test_concat_resized_is_resize_then_concat,
          test_concat_resized_gradcheck, test_shape_mismatch_is_reported)
