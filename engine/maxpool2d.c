#include <math.h>

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

/* Window of output (oy, ox): rows oy*stride - pad .. + k-1, clipped to the image (the
 * clipped part is padding, -inf, which can only win if every pixel is -inf too; then,
 * like PyTorch, the first pixel inside is reported). Parallel over planes: a plane's
 * outputs read and (in backward) write only that plane. */
void maxpool2d_forward(const MaxPool2dShape *s, const float *x, float *y, int32_t *argmax)
{
    const size_t planes = (size_t)s->n * s->c, opix = (size_t)s->oh * s->ow;
#pragma omp parallel for schedule(static) \
    if (planes * opix * s->k * s->k >= MAXPOOL_PARALLEL_MIN)
    for (size_t p = 0; p < planes; p++) {
        const float *in = x + p * s->h * s->w;
        float *out = y + p * opix;
        int32_t *arg = argmax ? argmax + p * opix : NULL;
        for (int oy = 0; oy < s->oh; oy++) {
            int y0 = oy * s->stride - s->pad, y1 = y0 + s->k;
            if (y0 < 0) y0 = 0;
            if (y1 > s->h) y1 = s->h;
            for (int ox = 0; ox < s->ow; ox++) {
                int x0 = ox * s->stride - s->pad, x1 = x0 + s->k;
                if (x0 < 0) x0 = 0;
                if (x1 > s->w) x1 = s->w;
                float best = -INFINITY;
                int32_t at = y0 * s->w + x0;
                for (int iy = y0; iy < y1; iy++)
                    for (int ix = x0; ix < x1; ix++) {
                        float v = in[iy * s->w + ix];
                        if (v > best || v != v) {   /* strict: ties keep the first */
                            best = v;
                            at = iy * s->w + ix;
                        }
                    }
                out[oy * s->ow + ox] = best;
                if (arg) arg[oy * s->ow + ox] = at;
            }
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
