/* maxpool2d and adaptive average pooling: forward against direct computations (and bins
 * written out by hand), PyTorch's tie rule, finite differences, thread independence and
 * bad arguments. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/avgpool2d.h"
#include "engine/blas.h"
#include "engine/maxpool2d.h"
#include "engine/rng.h"
#include "tests/testutil.h"

/* ---- maxpool2d ------------------------------------------------------------------------ */

typedef struct PoolCase { int n, c, h, w, k, stride, pad, oh, ow; } PoolCase;

/* Output sizes written out from PyTorch's formula floor((H + 2p - k)/s) + 1. */
static const PoolCase pool_cases[] = {
    {1, 2, 7, 9, 3, 2, 1, 4, 5},    /* PSPNet's stem pool: (7+2-3)/2+1 = 4, (9+2-3)/2+1 = 5 */
    {2, 3, 8, 6, 2, 2, 0, 4, 3},    /* UNet's pool */
    {2, 1, 9, 7, 2, 2, 0, 4, 3},    /* odd sizes drop the last row/column */
    {1, 2, 5, 5, 3, 1, 1, 5, 5},
    {2, 2, 11, 13, 5, 3, 2, 4, 5},  /* (11+4-5)/3+1 = 4, (13+4-5)/3+1 = 5 */
    {1, 1, 6, 7, 4, 1, 2, 7, 8},    /* (6+4-4)/1+1 = 7, (7+4-4)/1+1 = 8 */
    {2, 3, 20, 70, 3, 2, 1, 10, 35}, /* rows long enough for the vectorised inner columns */
    {1, 2, 16, 66, 2, 2, 0, 8, 33},
};
enum { POOL_CASES = sizeof pool_cases / sizeof pool_cases[0] };

/* Direct: pad the plane with -inf, scan each window in row-major order, keep the first
 * strict maximum. */
static void maxpool_direct(const PoolCase *k, const float *x, float *y, int *arg)
{
    for (int p = 0; p < k->n * k->c; p++)
        for (int oy = 0; oy < k->oh; oy++)
            for (int ox = 0; ox < k->ow; ox++) {
                float best = -INFINITY;
                int at = -1;
                for (int i = 0; i < k->k; i++)
                    for (int j = 0; j < k->k; j++) {
                        int iy = oy * k->stride - k->pad + i, ix = ox * k->stride - k->pad + j;
                        float v = (iy >= 0 && iy < k->h && ix >= 0 && ix < k->w)
                                      ? x[(p * k->h + iy) * k->w + ix] : -INFINITY;
                        if (v > best) { best = v; at = iy * k->w + ix; }
                    }
                y[(p * k->oh + oy) * k->ow + ox] = best;
                arg[(p * k->oh + oy) * k->ow + ox] = at;
            }
}

/* Distinct values spread evenly over [-1, 1) in random order: neighbours differ by
 * 2/size, more than twice the finite-difference step, so no probe moves a maximum. */
static Tensor separated(int n, int c, int h, int w, uint64_t seed)
{
    Tensor t = test_tensor(4, (int[]){n, c, h, w}, seed, true);
    int *order = malloc(t.size * sizeof *order);
    for (size_t i = 0; i < t.size; i++) order[i] = (int)i;
    Rng r;
    rng_seed(&r, seed, 1);
    rng_shuffle(&r, order, (int)t.size);
    for (size_t i = 0; i < t.size; i++) t.data[i] = -1.0f + 2.0f * order[i] / (float)t.size;
    free(order);
    return t;
}

static void test_maxpool_forward(void **state)
{
    (void)state;
    for (int i = 0; i < POOL_CASES; i++) {
        const PoolCase *k = &pool_cases[i];
        MaxPool2dShape s = maxpool2d_shape(k->n, k->c, k->h, k->w, k->k, k->stride, k->pad);
        assert_int_equal(s.oh, k->oh);
        assert_int_equal(s.ow, k->ow);
        Tensor x = test_tensor(4, (int[]){k->n, k->c, k->h, k->w}, 100 + i, false);
        size_t ny = (size_t)k->n * k->c * k->oh * k->ow;
        float *want = malloc(ny * sizeof *want);
        int *want_arg = malloc(ny * sizeof *want_arg);
        int32_t *arg = malloc(ny * sizeof *arg);
        float *y = malloc(ny * sizeof *y), *y_only = malloc(ny * sizeof *y_only);
        for (int ties = 0; ties < 2; ties++) {
            /* then values in steps of 1/2: windows full of ties, the first must win */
            if (ties)
                for (size_t j = 0; j < x.size; j++) x.data[j] = roundf(2.0f * x.data[j]) / 2.0f;
            maxpool_direct(k, x.data, want, want_arg);
            maxpool2d_forward(&s, x.data, y, arg);
            maxpool2d_forward(&s, x.data, y_only, NULL);     /* no argmax wanted: eval */
            for (size_t j = 0; j < ny; j++) {
                assert_true(y[j] == want[j]);
                assert_true(y_only[j] == want[j]);
                assert_int_equal(arg[j], want_arg[j]);
            }
        }
        free(want); free(want_arg); free(arg); free(y); free(y_only);
        tensor_free(&x);
    }
}

/* Ties: the gradient goes to the first maximum in row-major order (PyTorch's CPU rule).
 * All-equal plane 2x4, kernel 2 stride 2: windows start at columns 0 and 2. A NaN wins. */
static void test_maxpool_ties_and_nan(void **state)
{
    (void)state;
    Tape t;
    tape_init(&t, 0);
    Tensor *x = tape_tensor4(&t, 1, 1, 2, 4);
    for (int i = 0; i < 8; i++) x->data[i] = 1.0f;
    x->requires_grad = true;
    Tensor *y = maxpool2d(&t, x, 2, 2, 0);
    tape_backward_from(&t, y, (const float[]){1.0f, 10.0f});
    const float want[8] = {1, 0, 10, 0, 0, 0, 0, 0};
    for (int i = 0; i < 8; i++) assert_true(x->grad[i] == want[i]);

    tape_reset(&t);
    x = tape_tensor4(&t, 1, 1, 2, 2);
    x->data[0] = 5; x->data[1] = NAN; x->data[2] = 7; x->data[3] = 1;
    y = maxpool2d(&t, x, 2, 2, 0);
    assert_true(isnan(y->data[0]));
    /* A NaN inside a long row (the vectorised columns) and at its edge, kernel 3 stride 2
     * pad 1: output column ox covers input columns 2*ox - 1 .. 2*ox + 1. */
    tape_reset(&t);
    x = tape_tensor4(&t, 1, 1, 3, 40);
    for (int i = 0; i < 120; i++) x->data[i] = (float)(i % 7);
    x->data[40 + 21] = NAN;                     /* row 1, column 21: outputs 10 and 11 */
    x->data[0] = NAN;                           /* row 0, column 0: output 0 */
    y = maxpool2d(&t, x, 3, 2, 1);
    for (int ox = 0; ox < 20; ox++)
        for (int oy = 0; oy < 2; oy++) {
            const bool nan = ox == 10 || ox == 11 || (ox == 0 && oy == 0);
            assert_true(isnan(y->data[oy * 20 + ox]) == nan);
        }
    tape_free(&t);
}

typedef struct PoolArg { int k, stride, pad; } PoolArg;

static Tensor *build_maxpool(Tape *t, Tensor **in, void *arg)
{
    const PoolArg *p = arg;
    return maxpool2d(t, in[0], p->k, p->stride, p->pad);
}

/* Values 2/size apart and eps = 2e-4 below half of that: every probe keeps each window's
 * argmax, so the pool is linear around the point and only rounding remains (tolerance
 * 1e-2 of the largest gradient, for float32 differences over a 4e-4 step). */
static void test_maxpool_gradcheck(void **state)
{
    (void)state;
    for (int i = 0; i < POOL_CASES; i++) {
        const PoolCase *k = &pool_cases[i];
        Tensor x = separated(k->n, k->c, k->h, k->w, 200 + i);
        PoolArg arg = {k->k, k->stride, k->pad};
        gradcheck(build_maxpool, (Tensor *[]){&x}, 1, &arg, 2e-4f, 1e-2, 0);
        tensor_free(&x);
    }
}

/* ---- adaptive average pool -------------------------------------------------------------- */

/* in = 5, out = 3: [floor(i*5/3), ceil((i+1)*5/3)) = [0,2), [1,4), [3,5), worked out by
 * hand. Rows and columns alike, so y[i][j] is the mean of rows bin[i] x columns bin[j]. */
static void test_adaptive_bins_by_hand(void **state)
{
    (void)state;
    const int lo[3] = {0, 1, 3}, hi[3] = {2, 4, 5};
    float x[25], y[9];
    for (int i = 0; i < 25; i++) x[i] = (float)(i * i % 7) - 2.5f;
    adaptive_avgpool2d_forward(1, 5, 5, 3, 3, x, y);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double sum = 0;
            for (int r = lo[i]; r < hi[i]; r++)
                for (int c = lo[j]; c < hi[j]; c++) sum += x[r * 5 + c];
            double mean = sum / ((hi[i] - lo[i]) * (hi[j] - lo[j]));
            assert_true(fabs(y[i * 3 + j] - mean) < 1e-6);
        }
    /* Two outputs by hand. y[0][0]: rows 0-1, columns 0-1, i = 0, 1, 5, 6, i*i % 7 = 0, 1,
     * 4, 1 -> 6/4 - 2.5 = -1. y[2][2]: rows 3-4, columns 3-4, i = 18, 19, 23, 24,
     * i*i % 7 = 2, 4, 4, 2 -> 12/4 - 2.5 = 0.5. */
    assert_true(fabs(y[0] - (-1.0f)) < 1e-6);
    assert_true(fabs(y[8] - 0.5f) < 1e-6);
}

/* More bins than pixels: in = 2, out = 3 gives [0,1), [0,2), [1,2). Out = 1: the mean. */
static void test_adaptive_other_sizes(void **state)
{
    (void)state;
    float x[2] = {1.0f, 4.0f}, y[3];
    adaptive_avgpool2d_forward(1, 1, 2, 1, 3, x, y);
    assert_true(y[0] == 1.0f && y[1] == 2.5f && y[2] == 4.0f);
    float z[7 * 3], m;
    for (int i = 0; i < 21; i++) z[i] = (float)i;
    adaptive_avgpool2d_forward(1, 7, 3, 1, 1, z, &m);
    assert_true(m == 10.0f);
    /* in = 7, out = 2 (rows): [0,4) and [3,7); one column. */
    float col[7] = {1, 2, 3, 4, 5, 6, 7}, two[2];
    adaptive_avgpool2d_forward(1, 7, 1, 2, 1, col, two);
    assert_true(two[0] == 2.5f && two[1] == 5.5f);
}

typedef struct AdaptArg { int oh, ow; } AdaptArg;

static Tensor *build_adaptive(Tape *t, Tensor **in, void *arg)
{
    const AdaptArg *a = arg;
    return adaptive_avgpool2d(t, in[0], a->oh, a->ow);
}

/* Linear: rounding only, tolerance 1e-3. PSPNet's bins (1, 2, 3, 6) over odd sizes,
 * batch 1 and 2, and more bins than pixels. */
static void test_adaptive_gradcheck(void **state)
{
    (void)state;
    const int shapes[][4] = {{1, 2, 7, 9}, {2, 3, 11, 5}, {2, 1, 4, 3}};
    const AdaptArg outs[] = {{1, 1}, {2, 2}, {3, 3}, {6, 6}, {3, 2}};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 5; j++) {
            Tensor x = test_tensor(4, shapes[i], 300 + 10 * i + j, true);
            gradcheck(build_adaptive, (Tensor *[]){&x}, 1, (void *)&outs[j], 1e-2f, 1e-3, 0);
            tensor_free(&x);
        }
}

/* Parallel over planes: the same bits with 1 and 2 threads. */
static void test_pools_do_not_depend_on_threads(void **state)
{
    (void)state;
    if (!test_may_use_threads()) skip();
    const int n = 2, c = 16, h = 65, w = 63;    /* big enough to run the parallel loops */
    Tensor x = test_tensor(4, (int[]){n, c, h, w}, 400, false);
    MaxPool2dShape s = maxpool2d_shape(n, c, h, w, 3, 2, 1);
    size_t nm = (size_t)n * c * s.oh * s.ow, na = (size_t)n * c * 6 * 6;
    float *m1 = malloc(nm * 4), *m2 = malloc(nm * 4), *a1 = malloc(na * 4), *a2 = malloc(na * 4);
    float *d1 = calloc(x.size, 4), *d2 = calloc(x.size, 4);
    int32_t *arg = malloc(nm * sizeof *arg);
    int saved = engine_threads();
    for (int threads = 1; threads <= 2; threads++) {
        engine_set_threads(threads);
        maxpool2d_forward(&s, x.data, threads == 1 ? m1 : m2, arg);
        adaptive_avgpool2d_forward(n * c, h, w, 6, 6, x.data, threads == 1 ? a1 : a2);
        adaptive_avgpool2d_backward(n * c, h, w, 6, 6, a1, threads == 1 ? d1 : d2);
    }
    engine_set_threads(saved);
    assert_memory_equal(m1, m2, nm * 4);
    assert_memory_equal(a1, a2, na * 4);
    assert_memory_equal(d1, d2, x.size * 4);
    free(m1); free(m2); free(a1); free(a2); free(d1); free(d2); free(arg);
    tensor_free(&x);
}

/* ---- bad arguments ------------------------------------------------------------------------ */

static void pool_big_pad(void *arg)
{
    (void)arg;
    Tape t;
    tape_init(&t, 0);
    maxpool2d(&t, tape_tensor4(&t, 1, 1, 8, 8), 3, 2, 2);
}

static void pool_too_small(void *arg)
{
    (void)arg;
    Tape t;
    tape_init(&t, 0);
    maxpool2d(&t, tape_tensor4(&t, 1, 4, 2, 9), 5, 1, 1);
}

static void adaptive_zero(void *arg)
{
    (void)arg;
    Tape t;
    tape_init(&t, 0);
    adaptive_avgpool2d(&t, tape_tensor4(&t, 1, 4, 6, 6), 0, 2);
}

static void test_bad_arguments_are_reported(void **state)
{
    (void)state;
    assert_exits_with_message(pool_big_pad, NULL,
                              "maxpool2d: kernel 3, stride 2, pad 2 (need pad <= kernel/2)");
    assert_exits_with_message(pool_too_small, NULL,
                              "maxpool2d: input [1, 4, 2, 9] too small for kernel 5 with pad 1");
    assert_exits_with_message(adaptive_zero, NULL,
                              "adaptive_avgpool2d: input [1, 4, 6, 6] to output size 0x2");
}

TEST_MAIN("pool", NULL, NULL,
          test_maxpool_forward, test_maxpool_ties_and_nan, test_maxpool_gradcheck,
          test_adaptive_bins_by_hand, test_adaptive_other_sizes, test_adaptive_gradcheck,
          test_pools_do_not_depend_on_threads, test_bad_arguments_are_reported)
