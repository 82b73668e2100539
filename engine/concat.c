#include <string.h>

#include "concat.h"
#include "error.h"
#include "resize.h"

/* Below this many floats per input a parallel loop costs more than it saves. */
enum { CONCAT_PARALLEL_MIN = 1 << 15 };

/* In memory, image n of y is the channel planes of image n of xs[0], then of xs[1], ...
 * So input i's image b is one contiguous run of C_i*H*W floats, copied to the offset
 * (C_0 + ... + C_{i-1})*H*W inside y's image b: `before` channels, of `total` in y. */
static void concat_forward_slice(int n, size_t hw, size_t total, size_t before, int channels,
                                 const float *x, float *y)
{
    const size_t run = (size_t)channels * hw;
#pragma omp parallel for schedule(static) if (run * n >= CONCAT_PARALLEL_MIN)
    for (int b = 0; b < n; b++)
        memcpy(y + (b * total + before) * hw, x + b * run, run * sizeof(float));
}

/* dx (N, channels, H, W) += the slice of dy that concat_forward_slice filled. */
static void concat_backward_slice(int n, size_t hw, size_t total, size_t before, int channels,
                                  const float *dy, float *dx)
{
    const size_t planes = (size_t)n * channels;
#pragma omp parallel for schedule(static) if (planes * hw >= CONCAT_PARALLEL_MIN)
    for (size_t p = 0; p < planes; p++) {
        const size_t b = p / channels, c = p % channels;
        const float *src = dy + (b * total + before + c) * hw;
        float *dst = dx + p * hw;
        for (size_t j = 0; j < hw; j++) dst[j] += src[j];
    }
}

/* Input i's image b is either copied (the same H x W as y) or resized bilinearly from
 * (h_i, w_i) into its slice of y's image b, which is C_i contiguous planes of H*W at
 * channel offset C_0 + ... + C_{i-1}. */
void concat_resized_forward(int n, int h, int w, int count, const int *channels,
                            const int *heights, const int *widths, const float *const *xs,
                            float *y)
{
    size_t total = 0;
    for (int i = 0; i < count; i++) total += (size_t)channels[i];
    const size_t hw = (size_t)h * w;
    size_t before = 0;
    for (int i = 0; i < count; i++) {
        const int hi = heights[i], wi = widths[i];
        if (hi == h && wi == w) {
            concat_forward_slice(n, hw, total, before, channels[i], xs[i], y);
        } else {
            const size_t image = (size_t)channels[i] * hi * wi;
            for (int b = 0; b < n; b++)
                resize_bilinear_forward(channels[i], hi, wi, h, w, xs[i] + b * image,
                                        y + (b * total + before) * hw);
        }
        before += (size_t)channels[i];
    }
}

/* The adjoint: a copied input gets its slice of dy added, a resized one the resize's
 * adjoint of its slice. Inputs are handled one after the other and only the work inside
 * one input runs in parallel, so a tensor given twice never has two threads adding into
 * it at once. */
void concat_resized_backward(int n, int h, int w, int count, const int *channels,
                             const int *heights, const int *widths, const float *dy,
                             float *const *dxs)
{
    size_t total = 0;
    for (int i = 0; i < count; i++) total += (size_t)channels[i];
    const size_t hw = (size_t)h * w;
    size_t before = 0;
    for (int i = 0; i < count; i++) {
        const size_t at = before;               /* input i's first channel in y */
        before += (size_t)channels[i];
        if (!dxs[i]) continue;                  /* no gradient wanted */
        const int hi = heights[i], wi = widths[i];
        if (hi == h && wi == w) {
            concat_backward_slice(n, hw, total, at, channels[i], dy, dxs[i]);
        } else {
            const size_t image = (size_t)channels[i] * hi * wi;
            for (int b = 0; b < n; b++)
                resize_bilinear_backward(channels[i], hi, wi, h, w, dy + (b * total + at) * hw,
                                         dxs[i] + b * image);
        }
    }
}

/* ---- taped ops ----------------------------------------------------------------------- */

typedef struct ConcatCtx {
    int count;
    Tensor **xs;             /* count inputs (a copy: the caller's array may be temporary) */
    int *channels, *heights, *widths;
    Tensor *y;
} ConcatCtx;

static void concat_tape_backward(Tape *t, void *ctx_)
{
    ConcatCtx *ctx = ctx_;
    if (!ctx->y->grad) return;              /* nothing flowed back to this op */
    float **dxs = tape_alloc(t, (size_t)ctx->count * sizeof *dxs);
    for (int i = 0; i < ctx->count; i++) dxs[i] = tape_grad(t, ctx->xs[i]);
    const Tensor *y = ctx->y;
    concat_resized_backward(y->shape[0], y->shape[2], y->shape[3], ctx->count, ctx->channels,
                            ctx->heights, ctx->widths, y->grad, dxs);
}

/* Both taped ops: concat() asks every input to have xs[0]'s N, H and W, concat_resized()
 * only its N. */
static Tensor *concat_op(Tape *t, Tensor *const *xs, int count, bool resize)
{
    char s0[64], si[64];
    const char *name = resize ? "concat_resized" : "concat";
    CHECK(count >= 1, "%s: %d inputs", name, count);
    tensor_check_4d(name, xs[0]);
    int total = 0;
    for (int i = 0; i < count; i++) {
        tensor_check_4d(name, xs[i]);
        CHECK(xs[i]->shape[0] == xs[0]->shape[0] &&
                  (resize || (xs[i]->shape[2] == xs[0]->shape[2] &&
                              xs[i]->shape[3] == xs[0]->shape[3])),
              "%s: input 0 %s and input %d %s differ in N%s", name,
              tensor_shape_str(xs[0], s0, sizeof s0), i, tensor_shape_str(xs[i], si, sizeof si),
              resize ? "" : ", H or W");
        total += xs[i]->shape[1];
    }
    const Tensor *x0 = xs[0];
    Tensor *y = tape_tensor4(t, x0->shape[0], total, x0->shape[2], x0->shape[3]);
    ConcatCtx *ctx = tape_alloc(t, sizeof *ctx);
    ctx->count = count;
    ctx->xs = tape_alloc(t, (size_t)count * sizeof *ctx->xs);
    ctx->channels = tape_alloc(t, (size_t)count * sizeof *ctx->channels);
    ctx->heights = tape_alloc(t, (size_t)count * sizeof *ctx->heights);
    ctx->widths = tape_alloc(t, (size_t)count * sizeof *ctx->widths);
    const float **data = tape_alloc(t, (size_t)count * sizeof *data);
    for (int i = 0; i < count; i++) {
        ctx->xs[i] = xs[i];
        ctx->channels[i] = xs[i]->shape[1];
        ctx->heights[i] = xs[i]->shape[2];
        ctx->widths[i] = xs[i]->shape[3];
        data[i] = xs[i]->data;
    }
    ctx->y = y;
    concat_resized_forward(x0->shape[0], x0->shape[2], x0->shape[3], count, ctx->channels,
                           ctx->heights, ctx->widths, data, y->data);
    if (tape_needs_grad(t, y, xs, count)) tape_record(t, name, concat_tape_backward, ctx, y);
    return y;
}

Tensor *concat(Tape *t, Tensor *const *xs, int count)
{
    return concat_op(t, xs, count, false);
}

Tensor *concat_resized(Tape *t, Tensor *const *xs, int count)
{
    return concat_op(t, xs, count, true);
}
