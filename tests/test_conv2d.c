/* conv2d: against a direct (seven-loop) convolution, forward and backward, and by finite
 * differences over strides, paddings, dilations, kernel sizes, bias, odd sizes, batches;
 * every path (per image, batched, Winograd through the dispatcher). The Winograd kernel
 * on its own: tests/test_winograd.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/blas.h"
#include "engine/conv2d.h"
#include "engine/conv2d_direct.h"
#include "engine/im2col.h"
#include "tests/testutil.h"

static double max_rel_diff_d(const float *a, const double *b, size_t n)
{
    double worst = 0, scale = 1e-6;
    for (size_t i = 0; i < n; i++) {
        if (fabs(b[i]) > scale) scale = fabs(b[i]);
        double d = fabs(a[i] - b[i]);
        if (d > worst || d != d) worst = d != d ? INFINITY : d;
    }
    return worst / scale;
}

typedef struct Case { int n, c, h, w, o, k, stride, pad, dilation; bool bias; } Case;

static const Case cases[] = {
    {1, 3, 9, 7, 4, 3, 1, 1, 1, true},   {2, 2, 11, 9, 3, 3, 2, 1, 1, false},
    {2, 3, 13, 10, 2, 7, 2, 3, 1, false}, {1, 4, 8, 8, 5, 1, 1, 0, 1, true},
    {3, 2, 7, 9, 3, 1, 2, 0, 1, false},  {2, 3, 15, 13, 4, 3, 1, 2, 2, false},
    {1, 2, 19, 17, 3, 3, 1, 4, 4, true},  {2, 3, 9, 9, 2, 3, 1, 0, 1, true},
    {1, 2, 12, 11, 2, 7, 1, 3, 2, true},  {2, 4, 6, 5, 3, 1, 1, 1, 1, true},
    /* large enough for the per-image path to work in several panels of rows (forward, dw
     * and dx as a convolution; then forward, dw and col2im at stride 2) */
    {2, 8, 40, 37, 8, 3, 1, 1, 1, true},  {2, 16, 64, 64, 4, 3, 2, 1, 1, false},
    /* Winograd through the dispatcher (conv2d_uses_winograd), forward and dx: pad 0 with
     * odd sizes (dx then has pad 2), and pad 2 (dx with pad 0) */
    {3, 9, 20, 17, 10, 3, 1, 0, 1, true}, {1, 8, 16, 16, 8, 3, 1, 2, 1, false},
    /* and dilated (PSPNet's layer3 and layer4: pad = dilation) */
    {2, 8, 16, 16, 10, 3, 1, 2, 2, true}, {2, 9, 16, 16, 8, 3, 1, 4, 4, false},
};
enum { CASE_COUNT = sizeof cases / sizeof cases[0] };

typedef void (*ForwardFn)(const Conv2dShape *, const float *, const float *, const float *,
                          float *, float *);
typedef void (*BackwardFn2)(const Conv2dShape *, const float *, const float *, const float *,
                            float *, float *, float *, float *);

typedef size_t (*WorkspaceFn)(const Conv2dShape *);

/* One path (per image, batched, or the dispatcher) against the direct convolution. */
static void check_path(ForwardFn forward, BackwardFn2 backward, WorkspaceFn workspace)
{
    for (int i = 0; i < CASE_COUNT; i++) {
        const Case *k = &cases[i];
        Conv2dShape s = conv2d_shape(k->n, k->c, k->h, k->w, k->o, k->k, k->k, k->stride,
                                     k->pad, k->dilation);
        size_t nx = (size_t)k->n * k->c * k->h * k->w, nw = (size_t)k->o * k->c * k->k * k->k;
        size_t ny = (size_t)k->n * k->o * s.oh * s.ow;
        size_t nwork = workspace(&s);
        float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc(k->o * 4);
        float *y = malloc(ny * 4), *dy = malloc(ny * 4);
        float *work = malloc(nwork * 4 + 1);
        float *dx = calloc(nx, 4), *dw = calloc(nw, 4), *db = calloc(k->o, 4);
        double *ry = calloc(ny, 8), *rdx = calloc(nx, 8), *rdw = calloc(nw, 8), *rdb = calloc(k->o, 8);
        fill_uniform(x, nx, -1, 1, 1 + i);
        fill_uniform(w, nw, -1, 1, 100 + i);
        fill_uniform(b, k->o, -1, 1, 200 + i);
        fill_uniform(dy, ny, -1, 1, 300 + i);
        const float *bias = k->bias ? b : NULL;
        forward(&s, x, w, bias, y, work);
        conv2d_direct_forward(&s, x, w, bias, ry);
        backward(&s, x, w, dy, dx, dw, k->bias ? db : NULL, work);
        conv2d_direct_backward(&s, x, w, dy, rdx, rdw, rdb);
        /* float32 GEMM vs double direct sums of at most 4*7*7 terms: 1e-5 relative. */
        assert_true(max_rel_diff_d(y, ry, ny) < 1e-5);
        assert_true(max_rel_diff_d(dx, rdx, nx) < 1e-5);
        assert_true(max_rel_diff_d(dw, rdw, nw) < 1e-5);
        if (k->bias) assert_true(max_rel_diff_d(db, rdb, k->o) < 1e-5);
        free(x); free(w); free(b); free(y); free(dy); free(work); free(dx); free(dw); free(db);
        free(ry); free(rdx); free(rdw); free(rdb);
    }
}

static void test_against_direct(void **state)
{
    (void)state;
    check_path(conv2d_forward, conv2d_backward, conv2d_workspace_floats);
}

/* Both paths on every case, whatever the dispatcher would choose (batch 1 included). */
static void test_paths_against_direct(void **state)
{
    (void)state;
    check_path(conv2d_forward_per_image, conv2d_backward_per_image,
               conv2d_workspace_floats_per_image);
    check_path(conv2d_forward_batched, conv2d_backward_batched, conv2d_workspace_floats_batched);
}

/* The per-image path at 1, 2, 3 and 8 threads (more than this machine may have), each
 * time with a workspace sized while 1 thread was set: the workspace must fit whatever the
 * thread count is when it is used (ASan in `make sanitize` sees any overrun), and the
 * result must not depend on it beyond the order of dw's sums. */
static void test_per_image_any_thread_count(void **state)
{
    (void)state;
    if (!test_may_use_threads()) skip();
    const int counts[] = {1, 2, 3, 8};
    Conv2dShape s = conv2d_shape(8, 8, 40, 37, 8, 3, 3, 1, 1, 1);
    size_t nx = (size_t)8 * 8 * 40 * 37, nw = (size_t)8 * 8 * 9, ny = (size_t)8 * 8 * s.oh * s.ow;
    float *x = malloc(nx * 4), *w = malloc(nw * 4), *dy = malloc(ny * 4);
    float *y[4], *dx[4], *dw[4];
    fill_uniform(x, nx, -1, 1, 41);
    fill_uniform(w, nw, -1, 1, 42);
    fill_uniform(dy, ny, -1, 1, 43);
    for (int i = 0; i < 4; i++) {
        engine_set_threads(1);
        float *work = malloc(conv2d_workspace_floats_per_image(&s) * sizeof(float));
        engine_set_threads(counts[i]);
        y[i] = malloc(ny * 4), dx[i] = calloc(nx, 4), dw[i] = calloc(nw, 4);
        conv2d_forward_per_image(&s, x, w, NULL, y[i], work);
        conv2d_backward_per_image(&s, x, w, dy, dx[i], dw[i], NULL, work);
        free(work);
    }
    engine_set_threads(0);
    for (int i = 1; i < 4; i++) {
        assert_memory_equal(y[i], y[0], ny * sizeof(float));      /* same GEMMs per image */
        assert_memory_equal(dx[i], dx[0], nx * sizeof(float));
        for (size_t k = 0; k < nw; k++) assert_float_equal(dw[i][k], dw[0][k], 1e-3f);
    }
    for (int i = 0; i < 4; i++) free(y[i]), free(dx[i]), free(dw[i]);
    free(x); free(w); free(dy);
}

static Tensor *build_conv(Tape *t, Tensor **in, void *arg)
{
    const Case *k = arg;
    return conv2d(t, in[0], in[1], k->bias ? in[2] : NULL, k->stride, k->pad, k->dilation);
}

/* Central differences, eps 1e-2 in float32: conv is linear in each input, so the only
 * error is rounding; tolerance 1e-2 of the largest gradient. */
static void test_gradcheck(void **state)
{
    (void)state;
    for (int i = 0; i < CASE_COUNT; i++) {
        const Case *k = &cases[i];
        Tensor x = test_tensor(4, (int[]){k->n, k->c, k->h, k->w}, 10 + i, true);
        Tensor w = test_tensor(4, (int[]){k->o, k->c, k->k, k->k}, 20 + i, true);
        Tensor b = test_tensor(1, (int[]){k->o}, 30 + i, true);
        gradcheck(build_conv, (Tensor *[]){&x, &w, &b}, 3, (void *)k, 1e-2f, 1e-2, 150);
        tensor_free(&x); tensor_free(&w); tensor_free(&b);
    }
}

/* im2col followed by col2im multiplies each pixel by the number of windows covering it;
 * checked against a count made directly. */
static void test_col2im_is_adjoint(void **state)
{
    (void)state;
    Conv2dShape s = conv2d_shape(1, 2, 9, 8, 1, 3, 3, 2, 1, 2);
    size_t nx = 2 * 9 * 8, ncol = (size_t)2 * 3 * 3 * s.oh * s.ow;
    float *x = malloc(nx * 4), *col = malloc(ncol * 4), *back = calloc(nx, 4), *cy = malloc(ncol * 4);
    fill_uniform(x, nx, -1, 1, 5);
    fill_uniform(cy, ncol, -1, 1, 6);
    /* <im2col(x), cy> == <x, col2im(cy)> */
    im2col(&s, x, col, (size_t)s.oh * s.ow);
    col2im(&s, cy, (size_t)s.oh * s.ow, back);
    double lhs = 0, rhs = 0;
    for (size_t i = 0; i < ncol; i++) lhs += (double)col[i] * cy[i];
    for (size_t i = 0; i < nx; i++) rhs += (double)x[i] * back[i];
    assert_true(fabs(lhs - rhs) < 1e-4 * (fabs(lhs) + 1));
    free(x); free(col); free(back); free(cy);
}

static void mismatched_conv(void *arg)
{
    (void)arg;
    Tape t;
    tape_init(&t, 0);
    Tensor *x = tape_tensor4(&t, 1, 3, 8, 8);
    Tensor *w = tape_tensor4(&t, 4, 2, 3, 3);
    conv2d(&t, x, w, NULL, 1, 1, 1);
}

/* Which path the dispatcher takes: the batch's columns stacked into one GEMM for small
 * maps, per image for large maps, single images, and 1x1 convs (whose stacking would be
 * nothing but copies). */
static void test_batching_choice(void **state)
{
    (void)state;
    Conv2dShape small3 = conv2d_shape(8, 512, 4, 4, 512, 3, 3, 1, 1, 1);
    Conv2dShape strided3 = conv2d_shape(8, 64, 32, 32, 128, 3, 3, 2, 1, 1);
    Conv2dShape large3 = conv2d_shape(8, 32, 128, 128, 32, 3, 3, 1, 1, 1);
    Conv2dShape single3 = conv2d_shape(1, 512, 4, 4, 512, 3, 3, 1, 1, 1);
    Conv2dShape pointwise = conv2d_shape(8, 256, 16, 16, 512, 1, 1, 1, 0, 1);
    Conv2dShape strided1 = conv2d_shape(8, 64, 32, 32, 128, 1, 1, 2, 0, 1);
    Conv2dShape pooled1 = conv2d_shape(8, 512, 1, 1, 128, 1, 1, 1, 0, 1);
    assert_true(conv2d_batches_images(&small3));
    assert_true(conv2d_batches_images(&strided3));
    assert_false(conv2d_batches_images(&large3));
    assert_false(conv2d_batches_images(&single3));
    assert_false(conv2d_batches_images(&pointwise));
    assert_false(conv2d_batches_images(&strided1));
    assert_false(conv2d_batches_images(&pooled1));
}

static void test_shape_mismatch_is_reported(void **state)
{
    (void)state;
    assert_exits_with_message(mismatched_conv, NULL,
                              "conv2d: input [1, 3, 8, 8] does not fit weight [4, 2, 3, 3]");
}

TEST_MAIN("conv2d", NULL, NULL,
          test_against_direct, test_paths_against_direct, test_per_image_any_thread_count,
          test_gradcheck, test_col2im_is_adjoint, test_batching_choice,
          test_shape_mismatch_is_reported)
