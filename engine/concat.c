#include <string.h>

#include "concat.h"
#include "error.h"

/* Below this many floats per input a parallel loop costs more than it saves. */
enum { CONCAT_PARALLEL_MIN = 1 << 15 };

/* In memory, image n of y is the channel planes of image n of xs[0], then of xs[1], ...
 * So input i's image n is one contiguous run of C_i*H*W floats, copied to the offset
 * (C_0 + ... + C_{i-1})*H*W inside y's image n. */
void concat_forward(int n, int hw, int count, const int *channels, const float *const *xs,
                    float *y)
{
    size_t total = 0;
    for (int i = 0; i < count; i++) total += (size_t)channels[i];
    size_t before = 0;                      /* channels of the inputs before i */
    for (int i = 0; i < count; i++) {
        size_t run = (size_t)channels[i] * hw;
#pragma omp parallel for schedule(static) if (run * n >= CONCAT_PARALLEL_MIN)
        for (int b = 0; b < n; b++)
            memcpy(y + (b * total + before) * hw, xs[i] + b * run, run * sizeof(float));
        before += (size_t)channels[i];
    }
}

/* The adjoint: each input's slice of dy is added back. Inputs are handled one after the
 * other and only the work inside one input runs in parallel, so a tensor given twice
 * never has two threads adding into it at once. */
void concat_backward(int n, int hw, int count, const int *channels, const float *dy,
                     float *const *dxs)
{
    size_t total = 0;
    for (int i = 0; i < count; i++) total += (size_t)channels[i];
    size_t before = 0;
    for (int i = 0; i < count; i++) {
        size_t planes = (size_t)n * channels[i];
        float *dx = dxs[i];
        if (dx) {
#pragma omp parallel for schedule(static) if (planes * hw >= CONCAT_PARALLEL_MIN)
            for (size_t p = 0; p < planes; p++) {
                size_t b = p / channels[i], c = p % channels[i];
                const float *src = dy + (b * total + before + c) * hw;
                float *dst = dx + p * hw;
                for (int j = 0; j < hw; j++) dst[j] += src[j];
            }
        }
        before += (size_t)channels[i];
    }
}

/* ---- taped op ------------------------------------------------------------------------ */

typedef struct ConcatCtx {
    int count;
    Tensor **xs;             /* count inputs (a copy: the caller's array may be temporary) */
    int *channels;
    Tensor *y;
} ConcatCtx;

static void concat_tape_backward(Tape *t, void *ctx_)
{
    ConcatCtx *ctx = ctx_;
    if (!ctx->y->grad) return;              /* nothing flowed back to this op */
    float **dxs = tape_alloc(t, (size_t)ctx->count * sizeof *dxs);
    for (int i = 0; i < ctx->count; i++) dxs[i] = tape_grad(t, ctx->xs[i]);
    const Tensor *y = ctx->y;
    concat_backward(y->shape[0], y->shape[2] * y->shape[3], ctx->count, ctx->channels,
                    y->grad, dxs);
}

Tensor *concat(Tape *t, Tensor *const *xs, int count)
{
    char s0[64], si[64];
    CHECK(count >= 1, "concat: %d inputs", count);
    tensor_check_4d("concat", xs[0]);
    int total = 0;
    for (int i = 0; i < count; i++) {
        tensor_check_4d("concat", xs[i]);
        CHECK(xs[i]->shape[0] == xs[0]->shape[0] && xs[i]->shape[2] == xs[0]->shape[2] &&
                  xs[i]->shape[3] == xs[0]->shape[3],
              "concat: input 0 %s and input %d %s differ in N, H or W",
              tensor_shape_str(xs[0], s0, sizeof s0), i, tensor_shape_str(xs[i], si, sizeof si));
        total += xs[i]->shape[1];
    }
    const Tensor *x0 = xs[0];
    Tensor *y = tape_tensor4(t, x0->shape[0], total, x0->shape[2], x0->shape[3]);
    ConcatCtx *ctx = tape_alloc(t, sizeof *ctx);
    ctx->count = count;
    ctx->xs = tape_alloc(t, (size_t)count * sizeof *ctx->xs);
    ctx->channels = tape_alloc(t, (size_t)count * sizeof *ctx->channels);
    const float **data = tape_alloc(t, (size_t)count * sizeof *data);
    for (int i = 0; i < count; i++) {
        ctx->xs[i] = xs[i];
        ctx->channels[i] = xs[i]->shape[1];
        data[i] = xs[i]->data;
    }
    ctx->y = y;
    concat_forward(x0->shape[0], x0->shape[2] * x0->shape[3], count, ctx->channels, data,
                   y->data);
    if (tape_needs_grad(t, y, xs, count)) tape_record(t, "concat", concat_tape_backward, ctx, y);
    return y;
}
