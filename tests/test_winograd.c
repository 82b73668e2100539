/* Winograd (engine/winograd.c) against a direct convolution in double, forward F(2x2, 3x3),
 * input gradient (the same conv of dy, the kernel read flipped) and weight gradient
 * F(3x3, 2x2): paddings 0, 1 and 2, even, odd and tiny maps, batches,
 * bias, accumulation, several panels with a partial last one, the whole-batch mode with
 * its row transforms (odd edges, pad 0, maps of 5 x 7 and less), dilations 2 and 4
 * through the polyphase sub-images; F(4x4, 3x3) (winograd4.h) on its own on small shapes
 * and through the dispatcher on a PSPNet-like layer; and results independent of the
 * thread count, bitwise (each panel's GEMMs run on one thread whatever the count), with a
 * workspace sized at one thread used at eight (ASan in `make sanitize` sees an overrun). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/blas.h"
#include "engine/conv2d_direct.h"
#include "engine/winograd.h"
#include "engine/winograd4.h"
#include "tests/testutil.h"

/* When set, the error functions call F(4x4, 3x3) (winograd4.h) directly, whatever the
 * dispatcher would choose: its own tests run on small shapes. */
static bool force_f4x4;

/* What the tests allow, relative to the largest |output|: the transforms only add,
 * subtract and halve (F(2x2, 3x3)), so against float rounding of sums of up to 9*C terms
 * 1e-5 is far above rounding and far below any wrong index or coefficient (which moves
 * outputs by O(1)); F(4x4, 3x3) scales by up to 5 and 8 (winograd4.h), about 1e-5 at 512
 * channels, so 1e-4. The error functions return their error over this bound. */
static double error_bound(const Conv2dShape *s)
{
    return force_f4x4 || winograd_uses_f4x4(s) ? 1e-4 : 1e-5;
}

static size_t workspace_floats(const Conv2dShape *s)
{
    return force_f4x4 ? winograd4_workspace_floats(s) : winograd_workspace_floats(s);
}

/* winograd_conv on random data, plain or accumulating onto a random y, against the direct
 * sum; returns the largest error relative to the largest |output|. */
static double winograd_error_dilated(int n, int c, int h, int w, int o, int pad, int dilation,
                                     bool bias, bool accumulate, uint64_t seed)
{
    Conv2dShape s = conv2d_shape(n, c, h, w, o, 3, 3, 1, pad, dilation);
    assert_true(winograd_applies(&s));
    size_t nx = (size_t)n * c * h * w, nw = (size_t)o * c * 9, ny = (size_t)n * o * s.oh * s.ow;
    float *x = malloc(nx * 4), *wt = malloc(nw * 4), *b = malloc(o * 4), *y = malloc(ny * 4);
    float *y0 = malloc(ny * 4), *work = malloc(workspace_floats(&s) * 4);
    double *ref = malloc(ny * 8);
    fill_uniform(x, nx, -1, 1, seed);
    fill_uniform(wt, nw, -1, 1, seed + 1);
    fill_uniform(b, o, -1, 1, seed + 2);
    fill_uniform(y0, ny, -1, 1, seed + 3);
    memcpy(y, y0, ny * 4);
    if (force_f4x4) winograd4_conv(&s, x, wt, bias ? b : NULL, y, accumulate, false, work);
    else winograd_conv(&s, x, wt, bias ? b : NULL, y, accumulate, work);
    conv2d_direct_forward(&s, x, wt, bias ? b : NULL, ref);
    double worst = 0, scale = 1e-6;
    for (size_t i = 0; i < ny; i++) {
        double want = ref[i] + (accumulate ? y0[i] : 0.0);
        if (fabs(want) > scale) scale = fabs(want);
        double d = fabs(y[i] - want);
        if (d > worst || d != d) worst = d != d ? INFINITY : d;
    }
    free(x); free(wt); free(b); free(y); free(y0); free(work); free(ref);
    return worst / scale / error_bound(&s);
}

static double winograd_error(int n, int c, int h, int w, int o, int pad, bool bias,
                             bool accumulate, uint64_t seed)
{
    return winograd_error_dilated(n, c, h, w, o, pad, 1, bias, accumulate, seed);
}

/* Every padding and small map, batch 1 and 3, within error_bound. */
static void test_against_direct(void **state)
{
    (void)state;
    const int sizes[][2] = {{1, 1}, {2, 3}, {3, 3}, {4, 4}, {5, 4}, {7, 9}, {16, 16}, {17, 15}};
    uint64_t seed = 1;
    for (int pad = 0; pad <= 2; pad++)
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            const int h = sizes[k][0], w = sizes[k][1];
            if (h + 2 * pad < 3 || w + 2 * pad < 3) continue;     /* no output */
            for (int n = 1; n <= 3; n += 2) {
                double e = winograd_error(n, 3, h, w, 4, pad, n == 1, false, seed += 4);
                if (e > 1.0)
                    print_message("pad %d, %dx%d, n %d: error %.2f of its bound\n", pad, h, w, n, e);
                assert_true(e <= 1.0);
            }
        }
}

/* Many channels (64 and 40 -> 24: longer sums) and several panels of tile rows with a
 * partial last one; accumulating onto y, as the input gradient does; wide layers, whose
 * tiles form one panel with the transforms shared out by channel. */
static void test_panels_and_accumulation(void **state)
{
    (void)state;
    assert_true(winograd_error(2, 64, 33, 30, 16, 1, true, false, 50) <= 1.0);
    assert_true(winograd_error(3, 40, 45, 37, 24, 1, false, true, 60) <= 1.0);
    assert_true(winograd_error(1, 8, 128, 128, 8, 1, true, true, 70) <= 1.0);
    /* wide: the whole batch in one panel (16*O*C >= 2^18), odd sizes, both modes of output */
    assert_true(winograd_error(3, 160, 11, 9, 128, 1, true, false, 90) <= 1.0);
    assert_true(winograd_error(2, 128, 10, 7, 130, 0, false, true, 95) <= 1.0);
    /* the whole batch on small maps, pad 2 and 1 (6 x 8 and 5 x 7 outputs) */
    assert_true(winograd_error(1, 128, 4, 6, 128, 2, true, false, 96) <= 1.0);
    assert_true(winograd_error(2, 136, 5, 7, 128, 1, true, true, 97) <= 1.0);
}

/* Dilation d through the d*d polyphase sub-images: d = 2 and 4, pad d and 2d (pad 0 too),
 * maps whose sub-images are 1 x 1 to 5 x 4, panels and whole-batch GEMMs, accumulation. */
static void test_dilated_against_direct(void **state)
{
    (void)state;
    const int cases[][8] = {   /* n, c, h, w, o, pad, dilation, accumulate */
        {2, 3, 8, 8, 4, 2, 2, 0},    {1, 3, 10, 8, 5, 4, 2, 1},  {3, 2, 16, 12, 3, 4, 4, 0},
        {2, 4, 4, 8, 3, 8, 4, 1},    {1, 3, 12, 12, 2, 0, 2, 0}, {2, 160, 16, 16, 128, 4, 4, 1},
        {2, 40, 16, 16, 24, 2, 2, 0},     {1, 160, 24, 24, 128, 2, 2, 1},
        {2, 144, 14, 10, 136, 2, 2, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const int *d = cases[k];
        double e = winograd_error_dilated(d[0], d[1], d[2], d[3], d[4], d[5], d[6], k % 2,
                                          d[7], 700 + 10 * k);
        if (e > 1.0) print_message("dilated case %zu: error %.2f of its bound\n", k, e);
        assert_true(e <= 1.0);
    }
}

static void test_any_thread_count(void **state)
{
    (void)state;
    if (!test_may_use_threads()) skip();
    const int counts[] = {1, 2, 3, 8};
    /* panels; whole batch, a larger and a small map */
    const int shapes[3][5] = {{3, 40, 45, 37, 24}, {2, 160, 13, 11, 128}, {3, 160, 7, 5, 128}};
    for (int k = 0; k < 3; k++) {
        const int *d = shapes[k];
        Conv2dShape s = conv2d_shape(d[0], d[1], d[2], d[3], d[4], 3, 3, 1, 1, 1);
        size_t nx = (size_t)d[0] * d[1] * d[2] * d[3], nw = (size_t)d[4] * d[1] * 9;
        size_t ny = (size_t)d[0] * d[4] * s.oh * s.ow;
        float *x = malloc(nx * 4), *w = malloc(nw * 4), *y[4];
        fill_uniform(x, nx, -1, 1, 80);
        fill_uniform(w, nw, -1, 1, 81);
        engine_set_threads(1);
        float *work = malloc(winograd_workspace_floats(&s) * sizeof(float));
        for (int i = 0; i < 4; i++) {
            engine_set_threads(counts[i]);
            y[i] = malloc(ny * 4);
            winograd_conv(&s, x, w, NULL, y[i], false, work);
        }
        engine_set_threads(0);
        /* each GEMM runs on one thread whatever the count (panels, and the whole batch's
         * GEMMs shared out among the threads), so each element is summed in the same
         * order: bitwise too */
        for (int i = 1; i < 4; i++) assert_memory_equal(y[i], y[0], ny * sizeof(float));
        for (int i = 0; i < 4; i++) free(y[i]);
        free(x); free(w); free(work);
    }
}

/* winograd_conv_dx (the conv of dy with the kernel read flipped and transposed, not
 * copied), accumulating onto a random dx, against the direct input gradient; returns the
 * largest error relative to the largest |dx|. */
static double winograd_dx_error(int n, int c, int h, int w, int o, int pad, int dilation,
                                uint64_t seed)
{
    Conv2dShape s = conv2d_shape(n, c, h, w, o, 3, 3, 1, pad, dilation);
    const Conv2dShape ts = conv2d_dx_shape(&s);
    assert_true(winograd_applies(&ts));
    assert_int_equal(ts.oh, h);
    assert_int_equal(ts.ow, w);
    size_t nx = (size_t)n * c * h * w, nw = (size_t)o * c * 9, ny = (size_t)n * o * s.oh * s.ow;
    float *dy = malloc(ny * 4), *wt = malloc(nw * 4), *dx = malloc(nx * 4), *dx0 = malloc(nx * 4);
    float *work = malloc(workspace_floats(&ts) * 4);
    double *ref = calloc(nx, 8);
    fill_uniform(dy, ny, -1, 1, seed);
    fill_uniform(wt, nw, -1, 1, seed + 1);
    fill_uniform(dx0, nx, -1, 1, seed + 2);
    memcpy(dx, dx0, nx * 4);
    if (force_f4x4) winograd4_conv(&ts, dy, wt, NULL, dx, true, true, work);
    else winograd_conv_dx(&s, wt, dy, dx, work);
    conv2d_direct_backward(&s, NULL, wt, dy, ref, NULL, NULL);
    double worst = 0, scale = 1e-6;
    for (size_t i = 0; i < nx; i++) {
        if (fabs(ref[i]) > scale) scale = fabs(ref[i]);
        double d = fabs((double)dx[i] - dx0[i] - ref[i]);
        if (d > worst || d != d) worst = d != d ? INFINITY : d;
    }
    free(dy); free(wt); free(dx); free(dx0); free(work); free(ref);
    return worst / scale / error_bound(&ts);
}

/* dx through the forward conv's own kernel: paddings 0-2, odd and tiny maps, panels, the
 * whole batch on larger and small maps, dilations 2 and 4 through the polyphase gather,
 * within error_bound. */
static void test_dx_against_direct(void **state)
{
    (void)state;
    const int cases[][7] = {   /* n, c, h, w, o, pad, dilation */
        {1, 3, 4, 5, 4, 1, 1},       {2, 3, 7, 6, 5, 0, 1},       {3, 4, 5, 9, 3, 2, 1},
        {1, 5, 16, 16, 4, 1, 1},     {3, 24, 45, 37, 40, 1, 1},   {2, 128, 13, 11, 160, 1, 1},
        {3, 128, 7, 5, 160, 1, 1},   {2, 130, 6, 9, 128, 0, 1},   {2, 3, 8, 8, 4, 2, 2},
        {2, 128, 16, 16, 160, 4, 4}, {1, 136, 24, 24, 144, 2, 2}, {2, 4, 16, 12, 3, 8, 4},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const int *d = cases[k];
        double e = winograd_dx_error(d[0], d[1], d[2], d[3], d[4], d[5], d[6], 900 + 10 * k);
        if (e > 1.0) print_message("dx case %zu: error %.2f of its bound\n", k, e);
        assert_true(e <= 1.0);
    }
}

/* winograd_conv_dw, accumulating onto a random dw, against the direct sum; returns the
 * largest error relative to the largest |dw|. */
static double winograd_dw_error_dilated(int n, int c, int h, int w, int o, int pad, int dilation,
                                        uint64_t seed);
static double winograd_dw_error(int n, int c, int h, int w, int o, int pad, uint64_t seed)
{
    return winograd_dw_error_dilated(n, c, h, w, o, pad, 1, seed);
}

static double winograd_dw_error_dilated(int n, int c, int h, int w, int o, int pad, int dilation,
                                        uint64_t seed)
{
    Conv2dShape s = conv2d_shape(n, c, h, w, o, 3, 3, 1, pad, dilation);
    size_t nx = (size_t)n * c * h * w, nw = (size_t)o * c * 9, ny = (size_t)n * o * s.oh * s.ow;
    float *x = malloc(nx * 4), *dy = malloc(ny * 4), *dw = malloc(nw * 4), *dw0 = malloc(nw * 4);
    float *work = malloc((force_f4x4 ? winograd4_dw_workspace_floats(&s)
                                     : winograd_dw_workspace_floats(&s)) * 4);
    double *ref = calloc(nw, 8);
    fill_uniform(x, nx, -1, 1, seed);
    fill_uniform(dy, ny, -1, 1, seed + 1);
    fill_uniform(dw0, nw, -1, 1, seed + 2);
    memcpy(dw, dw0, nw * 4);
    if (force_f4x4) winograd4_conv_dw(&s, x, dy, dw, work);
    else winograd_conv_dw(&s, x, dy, dw, work);
    conv2d_direct_backward(&s, x, NULL, dy, NULL, ref, NULL);
    double worst = 0, scale = 1e-6;
    for (size_t i = 0; i < nw; i++) {
        double want = ref[i] + dw0[i];
        if (fabs(want) > scale) scale = fabs(want);
        double d = fabs(dw[i] - want);
        if (d > worst || d != d) worst = d != d ? INFINITY : d;
    }
    free(x); free(dy); free(dw); free(dw0); free(work); free(ref);
    return worst / scale / error_bound(&s);
}

/* The weight gradient by F(3x3, 2x2): every padding, tiny and odd maps (a tile's missing
 * second row or column of dy is zero), batches, panels and the whole-batch mode. Its
 * sums run over all of a batch's tiles; within error_bound of the largest |dw|. */
static void test_dw_against_direct(void **state)
{
    (void)state;
    const int sizes[][2] = {{1, 1}, {2, 3}, {3, 3}, {5, 4}, {7, 9}, {16, 16}, {17, 15}};
    uint64_t seed = 500;
    for (int pad = 0; pad <= 2; pad++)
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            const int h = sizes[k][0], w = sizes[k][1];
            if (h + 2 * pad < 3 || w + 2 * pad < 3) continue;
            for (int n = 1; n <= 3; n += 2) {
                double e = winograd_dw_error(n, 3, h, w, 4, pad, seed += 4);
                if (e > 1.0)
                    print_message("dw pad %d, %dx%d, n %d: error %.2f of its bound\n", pad, h, w,
                                  n, e);
                assert_true(e <= 1.0);
            }
        }
    /* dilated: phases gathered from x and dy */
    assert_true(winograd_dw_error_dilated(2, 3, 12, 8, 4, 2, 2, 620) <= 1.0);
    assert_true(winograd_dw_error_dilated(3, 4, 16, 16, 5, 4, 4, 630) <= 1.0);
    assert_true(winograd_dw_error_dilated(2, 160, 16, 16, 128, 8, 4, 640) <= 1.0);
    assert_true(winograd_dw_error_dilated(1, 160, 24, 24, 128, 2, 2, 650) <= 1.0);
    const double panels = winograd_dw_error(3, 40, 45, 37, 24, 1, 600);
    const double whole = winograd_dw_error(2, 160, 13, 11, 128, 1, 610);
    const double small = fmax(winograd_dw_error(3, 160, 7, 5, 128, 1, 660),
                              winograd_dw_error(2, 128, 6, 9, 130, 0, 670));
    print_message("dw error over its bound: panels %.2f, whole batch %.2f, small maps %.2f\n",
                  panels, whole, small);
    assert_true(panels <= 1.0);
    assert_true(whole <= 1.0);
    assert_true(small <= 1.0);
}

/* F(4x4, 3x3) on its own (winograd4_conv, _conv_dw; dx with the kernel read flipped):
 * paddings 0-2, maps smaller than a tile, partial tiles, batches, bias, accumulation,
 * dilations 2 and 4, within error_bound; bitwise the same at 1, 2 and 3 threads; and one
 * PSPNet-like layer (512 tiles of 4 x 4 sub-images) that the dispatcher gives it. */
static void test_f4x4_against_direct(void **state)
{
    (void)state;
    const int cases[][7] = {   /* n, c, h, w, o, pad, dilation */
        {1, 3, 4, 4, 2, 1, 1},   {2, 4, 2, 3, 3, 1, 1},   {1, 5, 9, 7, 4, 0, 1},
        {3, 6, 8, 8, 5, 2, 1},   {2, 3, 5, 6, 7, 1, 1},   {2, 4, 16, 16, 3, 4, 4},
        {1, 6, 12, 10, 4, 2, 2}, {2, 3, 8, 12, 5, 4, 2},
    };
    force_f4x4 = true;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const int *d = cases[k];
        const double f = winograd_error_dilated(d[0], d[1], d[2], d[3], d[4], d[5], d[6],
                                                k % 2, k % 3 == 1, 1100 + 10 * k);
        const double dx = winograd_dx_error(d[0], d[1], d[2], d[3], d[4], d[5], d[6],
                                            1200 + 10 * k);
        const double dw = winograd_dw_error_dilated(d[0], d[1], d[2], d[3], d[4], d[5], d[6],
                                                    1300 + 10 * k);
        if (f > 1.0 || dx > 1.0 || dw > 1.0)
            print_message("f4x4 case %zu: forward %.2f, dx %.2f, dw %.2f of the bound\n", k, f,
                          dx, dw);
        assert_true(f <= 1.0 && dx <= 1.0 && dw <= 1.0);
    }
    force_f4x4 = false;
    if (test_may_use_threads()) {
        Conv2dShape s = conv2d_shape(3, 40, 9, 11, 24, 3, 3, 1, 1, 1);
        size_t nx = (size_t)3 * 40 * 9 * 11, nw = (size_t)24 * 40 * 9;
        size_t ny = (size_t)3 * 24 * 9 * 11;
        float *x = malloc(nx * 4), *w = malloc(nw * 4), *y[3];
        float *work = malloc(winograd4_workspace_floats(&s) * sizeof(float));
        fill_uniform(x, nx, -1, 1, 1400);
        fill_uniform(w, nw, -1, 1, 1401);
        for (int i = 0; i < 3; i++) {
            engine_set_threads(i + 1);
            y[i] = malloc(ny * 4);
            winograd4_conv(&s, x, w, NULL, y[i], false, false, work);
        }
        engine_set_threads(0);
        for (int i = 1; i < 3; i++) assert_memory_equal(y[i], y[0], ny * sizeof(float));
        for (int i = 0; i < 3; i++) free(y[i]);
        free(x); free(w); free(work);
    }
    /* through the dispatcher: n 2, dilation 4, 32 x 32 maps: 32 sub-images of 8 x 8 */
    Conv2dShape pspnet_like = conv2d_shape(2, 128, 32, 32, 128, 3, 3, 1, 4, 4);
    assert_true(winograd_uses_f4x4(&pspnet_like));
    assert_true(winograd_error_dilated(2, 128, 32, 32, 128, 4, 4, true, true, 1500) <= 1.0);
}

static void test_applies(void **state)
{
    (void)state;
    Conv2dShape ok = conv2d_shape(1, 4, 8, 8, 4, 3, 3, 1, 2, 1);
    Conv2dShape strided = conv2d_shape(1, 4, 8, 8, 4, 3, 3, 2, 1, 1);
    Conv2dShape dilated = conv2d_shape(1, 4, 8, 8, 4, 3, 3, 1, 2, 2);
    Conv2dShape dilated_odd_pad = conv2d_shape(1, 4, 8, 8, 4, 3, 3, 1, 3, 2);
    Conv2dShape dilated_odd_map = conv2d_shape(1, 4, 9, 8, 4, 3, 3, 1, 2, 2);
    Conv2dShape five = conv2d_shape(1, 4, 8, 8, 4, 5, 5, 1, 2, 1);
    Conv2dShape wide_pad = conv2d_shape(1, 4, 8, 8, 4, 3, 3, 1, 3, 1);
    assert_true(winograd_applies(&ok));
    assert_true(winograd_applies(&dilated));
    assert_false(winograd_applies(&strided));
    assert_false(winograd_applies(&dilated_odd_pad));   /* pad not a multiple of d */
    assert_false(winograd_applies(&dilated_odd_map));   /* H not a multiple of d */
    assert_false(winograd_applies(&five));
    assert_false(winograd_applies(&wide_pad));
}

/* The stride between a stack's matrices holds the matrix, is whole cache lines, and an
 * odd number of them, so that consecutive matrices map to different cache sets. */
static void test_matrix_stride(void **state)
{
    (void)state;
    const size_t sizes[] = {1, 15, 16, 17, 32, 48, 1024, 65536, 512 * 128, 131071};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const size_t stride = winograd_matrix_stride(sizes[i]);
        assert_true(stride >= sizes[i]);
        assert_int_equal(stride % 16, 0);
        assert_int_equal((stride / 16) % 2, 1);
        assert_true(stride < sizes[i] + 32);         /* at most one line of padding more */
    }
}

TEST_MAIN("winograd", NULL, NULL,
          test_against_direct, test_panels_and_accumulation, test_dilated_against_direct,
          test_any_thread_count, test_dx_against_direct, test_dw_against_direct,
          test_f4x4_against_direct, test_applies, test_matrix_stride)
