/* Bilinear resize (align_corners=False): forward against a direct per-pixel evaluation of
 * docs/models.md's formula in double, a case worked by hand, the adjoint identity, finite
 * differences, thread independence and bad sizes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/blas.h"
#include "engine/resize.h"
#include "tests/testutil.h"

/* docs/models.md: src = (dst + 0.5) * in/out - 0.5, clamped below at 0; i0 = floor(src),
 * i1 = min(i0 + 1, in - 1), t = src - i0. In double. */
static void source(int dst, int in, int out, int *i0, int *i1, double *t)
{
    double src = (dst + 0.5) * in / out - 0.5;
    if (src < 0) src = 0;
    *i0 = (int)floor(src);
    *i1 = *i0 + 1 < in ? *i0 + 1 : in - 1;
    *t = src - *i0;
}

static void resize_direct(int planes, int h, int w, int oh, int ow, const float *x, double *y)
{
    for (int p = 0; p < planes; p++)
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                int y0, y1, x0, x1;
                double ty, tx;
                source(i, h, oh, &y0, &y1, &ty);
                source(j, w, ow, &x0, &x1, &tx);
                const float *in = x + (size_t)p * h * w;
                y[((size_t)p * oh + i) * ow + j] =
                    (1 - ty) * ((1 - tx) * in[y0 * w + x0] + tx * in[y0 * w + x1]) +
                    ty * ((1 - tx) * in[y1 * w + x0] + tx * in[y1 * w + x1]);
            }
}

typedef struct ResizeCase { int n, c, h, w, oh, ow; } ResizeCase;

static const ResizeCase cases[] = {
    {1, 2, 4, 4, 8, 8},      /* UNet's x2 */
    {2, 3, 5, 7, 7, 3},      /* up in one axis, down in the other, odd */
    {1, 4, 6, 6, 33, 31},    /* a PSPNet pyramid bin to an odd feature size */
    {2, 2, 9, 9, 9, 9},      /* same size: identity */
    {1, 1, 1, 1, 5, 3},      /* from one pixel: a constant */
    {2, 1, 7, 5, 1, 1},      /* to one pixel */
    {1, 2, 13, 11, 4, 6},    /* down by non-integer factors */
};
enum { CASES = sizeof cases / sizeof cases[0] };

static void test_against_direct(void **state)
{
    (void)state;
    for (int i = 0; i < CASES; i++) {
        const ResizeCase *k = &cases[i];
        int planes = k->n * k->c;
        Tensor x = test_tensor(4, (int[]){k->n, k->c, k->h, k->w}, 500 + i, false);
        size_t ny = (size_t)planes * k->oh * k->ow;
        float *y = malloc(ny * sizeof *y);
        double *want = malloc(ny * sizeof *want);
        resize_bilinear_forward(planes, k->h, k->w, k->oh, k->ow, x.data, y);
        resize_direct(planes, k->h, k->w, k->oh, k->ow, x.data, want);
        /* float weights and sums of 4 terms of |x| < 1 against double: 1e-6 absolute. */
        for (size_t j = 0; j < ny; j++) assert_true(fabs(y[j] - want[j]) < 1e-6);
        if (k->h == k->oh && k->w == k->ow) assert_memory_equal(y, x.data, ny * sizeof *y);
        free(y);
        free(want);
        tensor_free(&x);
    }
}

/* in = 2 -> out = 4 along a row, worked by hand: src = -0.25 (-> 0), 0.25, 0.75, 1.25
 * (i0 = 1, i1 = min(2, 1) = 1). x = [1, 3] -> [1, 1.5, 2.5, 3]. */
static void test_by_hand(void **state)
{
    (void)state;
    float x[2] = {1.0f, 3.0f}, y[4];
    resize_bilinear_forward(1, 1, 2, 1, 4, x, y);
    assert_true(y[0] == 1.0f && y[1] == 1.5f && y[2] == 2.5f && y[3] == 3.0f);
    /* 3 -> 2: src = 0.25, 1.75 (scale 1.5). x = [0, 4, 8] -> [1, 7]. */
    float z[3] = {0.0f, 4.0f, 8.0f}, u[2];
    resize_bilinear_forward(1, 3, 1, 2, 1, z, u);
    assert_true(u[0] == 1.0f && u[1] == 7.0f);
}

/* The backward is the transpose of the forward map: <R x, g> = <x, R^T g>. */
static void test_backward_is_adjoint(void **state)
{
    (void)state;
    for (int i = 0; i < CASES; i++) {
        const ResizeCase *k = &cases[i];
        int planes = k->n * k->c;
        size_t nx = (size_t)planes * k->h * k->w, ny = (size_t)planes * k->oh * k->ow;
        float *x = malloc(nx * 4), *y = malloc(ny * 4), *g = malloc(ny * 4), *dx = calloc(nx, 4);
        fill_uniform(x, nx, -1, 1, 600 + i);
        fill_uniform(g, ny, -1, 1, 700 + i);
        resize_bilinear_forward(planes, k->h, k->w, k->oh, k->ow, x, y);
        resize_bilinear_backward(planes, k->h, k->w, k->oh, k->ow, g, dx);
        double lhs = 0, rhs = 0, mag = 0;
        for (size_t j = 0; j < ny; j++) { lhs += (double)y[j] * g[j]; mag += fabs(y[j] * g[j]); }
        for (size_t j = 0; j < nx; j++) rhs += (double)x[j] * dx[j];
        assert_true(fabs(lhs - rhs) < 1e-5 * (mag + 1));
        free(x); free(y); free(g); free(dx);
    }
}

static Tensor *build_resize(Tape *t, Tensor **in, void *arg)
{
    const ResizeCase *k = arg;
    return resize_bilinear(t, in[0], k->oh, k->ow);
}

/* Linear in x: rounding only, tolerance 1e-3 of the largest gradient. */
static void test_gradcheck(void **state)
{
    (void)state;
    for (int i = 0; i < CASES; i++) {
        const ResizeCase *k = &cases[i];
        Tensor x = test_tensor(4, (int[]){k->n, k->c, k->h, k->w}, 800 + i, true);
        gradcheck(build_resize, (Tensor *[]){&x}, 1, (void *)k, 1e-2f, 1e-3, 200);
        tensor_free(&x);
    }
}

/* Parallel over planes: the same bits with 1 and 2 threads, forward and backward. */
static void test_does_not_depend_on_threads(void **state)
{
    (void)state;
    if (!test_may_use_threads()) skip();
    const int planes = 8, h = 17, w = 15, oh = 64, ow = 61;
    size_t nx = (size_t)planes * h * w, ny = (size_t)planes * oh * ow;
    float *x = malloc(nx * 4), *g = malloc(ny * 4);
    float *y[2] = {malloc(ny * 4), malloc(ny * 4)}, *dx[2] = {calloc(nx, 4), calloc(nx, 4)};
    fill_uniform(x, nx, -1, 1, 900);
    fill_uniform(g, ny, -1, 1, 901);
    int saved = engine_threads();
    for (int k = 0; k < 2; k++) {
        engine_set_threads(k + 1);
        resize_bilinear_forward(planes, h, w, oh, ow, x, y[k]);
        resize_bilinear_backward(planes, h, w, oh, ow, g, dx[k]);
    }
    engine_set_threads(saved);
    assert_memory_equal(y[0], y[1], ny * 4);
    assert_memory_equal(dx[0], dx[1], nx * 4);
    free(x); free(g); free(y[0]); free(y[1]); free(dx[0]); free(dx[1]);
}

static void resize_to_nothing(void *arg)
{
    (void)arg;
    Tape t;
    tape_init(&t, 0);
    resize_bilinear(&t, tape_tensor4(&t, 1, 4, 8, 8), 16, 0);
}

static void resize_not_4d(void *arg)
{
    (void)arg;
    Tape t;
    tape_init(&t, 0);
    resize_bilinear(&t, tape_tensor(&t, 3, (int[]){4, 8, 8}), 16, 16);
}

static void test_bad_sizes_are_reported(void **state)
{
    (void)state;
    assert_exits_with_message(resize_to_nothing, NULL,
                              "resize_bilinear: input [1, 4, 8, 8] to output size 16x0");
    assert_exits_with_message(resize_not_4d, NULL,
                              "resize_bilinear: expected an NCHW tensor, got shape [4, 8, 8]");
}

TEST_MAIN("resize", NULL, NULL,
          test_against_direct, test_by_hand, test_backward_is_adjoint, test_gradcheck,
          test_does_not_depend_on_threads, test_bad_sizes_are_reported)
