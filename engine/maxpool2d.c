#include <math.h>
#include <stdbool.h>

#include "error.h"
#include "maxpool2d.h"

/* Below this much work (window reads) a parallel loop costs more than it saves. */
enum { MAXPOOL_PARALLEL_MIN = 1 << 15 };

MaxPool2dShape maxpool2d_shape(int n, int c, int h, int w, int k, int stride, int pad)
{
    MaxPool2dShape s = {n, c, h, w, k, stride, pad, 0, 0};
    s.oh = (h + 2 * pad - k) / stride + 1;
    s.ow = (w + 2 * pad - k) / stride + 1;
    return s;
}

/* The window of output (oy, ox): rows oy*stride - pad .. + k-1, columns alike, clipped
 * to the image (the clipped part is padding, -inf, which can only win if every pixel is
 * -inf too; then, like PyTorch, the first pixel inside is reported). Pixels are visited
 * row by row, a strictly larger one taking over (ties keep the first), a NaN always (the
 * last NaN wins and stays). */
static inline void window_step(float v, int32_t idx, float *best, int32_t *at)
{
    const bool take = v > *best || v != v;
    *best = take ? v : *best;
    *at = take ? idx : *at;
}

/* Output row oy of a plane, and its argmax row when `arg` (inlined with and without).
 * Columns whose window lies inside the image horizontally ([inner0, inner1)) are visited
 * window offset by window offset, each a pass over those columns that the compiler
 * vectorises; the columns at the edges, window by window. Both visit a window's pixels in
 * the same order. */
static inline __attribute__((always_inline)) void
maxpool_row(const MaxPool2dShape *s, const float *in, int oy, float *out, int32_t *arg,
            const bool with_arg)
{
    int y0 = oy * s->stride - s->pad, y1 = y0 + s->k;
    if (y0 < 0) y0 = 0;
    if (y1 > s->h) y1 = s->h;
    int inner0 = (s->pad + s->stride - 1) / s->stride;           /* ox*stride - pad >= 0 */
    int inner1 = s->w + s->pad - s->k >= 0 ? (s->w + s->pad - s->k) / s->stride + 1 : 0;
    if (inner1 > s->ow) inner1 = s->ow;
    if (inner0 > inner1) inner0 = inner1;
    for (int ox = 0; ox < s->ow; ox++) {
        if (ox == inner0) ox = inner1;                            /* the inner ones below */
        if (ox >= s->ow) break;
        int x0 = ox * s->stride - s->pad, x1 = x0 + s->k;
        if (x0 < 0) x0 = 0;
        if (x1 > s->w) x1 = s->w;
        float best = -INFINITY;
        int32_t at = y0 * s->w + x0;
        for (int iy = y0; iy < y1; iy++)
            for (int ix = x0; ix < x1; ix++)
                window_step(in[iy * s->w + ix], iy * s->w + ix, &best, &at);
        out[ox] = best;
        if (with_arg) arg[ox] = at;
    }
    for (int ox = inner0; ox < inner1; ox++) {
        out[ox] = -INFINITY;
        if (with_arg) arg[ox] = y0 * s->w + ox * s->stride - s->pad;
    }
    for (int iy = y0; iy < y1; iy++)
        for (int kx = 0; kx < s->k; kx++) {
            const int32_t base = iy * s->w + kx - s->pad;
            if (with_arg) {
#pragma omp simd
                for (int ox = inner0; ox < inner1; ox++) {
                    const int32_t idx = base + ox * s->stride;
                    window_step(in[idx], idx, &out[ox], &arg[ox]);
                }
            } else {
#pragma omp simd
                for (int ox = inner0; ox < inner1; ox++) {
                    const float v = in[base + ox * s->stride];
                    out[ox] = v > out[ox] || v != v ? v : out[ox];
                }
            }
        }
}

/* Parallel over planes: a plane's outputs read and (in backward) write only that plane. */
void maxpool2d_forward(const MaxPool2dShape *s, const float *x, float *y, int32_t *argmax)
{
    const size_t planes = (size_t)s->n * s->c, opix = (size_t)s->oh * s->ow;
#pragma omp parallel for schedule(static) \
    if (planes * opix * s->k * s->k >= MAXPOOL_PARALLEL_MIN)
    for (size_t p = 0; p < planes; p++) {
        const float *in = x + p * s->h * s->w;
        for (int oy = 0; oy < s->oh; oy++) {
            float *out = y + p * opix + (size_t)oy * s->ow;
            if (argmax) maxpool_row(s, in, oy, out, argmax + p * opix + (size_t)oy * s->ow, true);
            else maxpool_row(s, in, oy, out, NULL, false);
        }
    }
}

void maxpool2d_backward(const MaxPool2dShape *s, const int32_t *argmax, const float *dy,
                        float *dx)
{
    const size_t planes = (size_t)s->n * s->c, opix = (size_t)s->oh * s->ow;
#pragma omp parallel for schedule(static) if (planes * opix >= MAXPOOL_PARALLEL_MIN)
    for (size_t p = 0; p < planes; p++) {
        float *d = dx + p * s->h * s->w;
        for (size_t o = 0; o < opix; o++) d[argmax[p * opix + o]] += dy[p * opix + o];
    }
}

/* ---- taped op ------------------------------------------------------------------------ */

typedef struct MaxPool2dCtx {
    MaxPool2dShape s;
    int32_t *argmax;
    Tensor *x, *y;
} MaxPool2dCtx;

static void maxpool2d_tape_backward(Tape *t, void *ctx_)
{
    MaxPool2dCtx *ctx = ctx_;
    if (!ctx->y->grad) return;              /* nothing flowed back to this op */
    maxpool2d_backward(&ctx->s, ctx->argmax, ctx->y->grad, tape_grad(t, ctx->x));
}

Tensor *maxpool2d(Tape *t, Tensor *x, int k, int stride, int pad)
{
    char sx[64];
    tensor_check_4d("maxpool2d", x);
    CHECK(k >= 1 && stride >= 1 && pad >= 0 && pad <= k / 2,
          "maxpool2d: kernel %d, stride %d, pad %d (need pad <= kernel/2)", k, stride, pad);
    MaxPool2dShape s = maxpool2d_shape(x->shape[0], x->shape[1], x->shape[2], x->shape[3], k,
                                       stride, pad);
    CHECK(x->shape[2] + 2 * pad >= k && x->shape[3] + 2 * pad >= k,
          "maxpool2d: input %s too small for kernel %d with pad %d",
          tensor_shape_str(x, sx, sizeof sx), k, pad);
    CHECK((int64_t)x->shape[2] * x->shape[3] <= INT32_MAX, "maxpool2d: input %s: plane too large",
          tensor_shape_str(x, sx, sizeof sx));
    Tensor *y = tape_tensor4(t, s.n, s.c, s.oh, s.ow);
    bool grad = tape_needs_grad(t, y, (Tensor *[]){x}, 1);
    int32_t *argmax = grad ? arena_alloc(&t->arena, y->size * sizeof *argmax) : NULL;
    maxpool2d_forward(&s, x->data, y->data, argmax);
    if (grad) {
        MaxPool2dCtx *ctx = tape_alloc(t, sizeof *ctx);
        *ctx = (MaxPool2dCtx){s, argmax, x, y};
        tape_record(t, "maxpool2d", maxpool2d_tape_backward, ctx, y);
    }
    return y;
}
