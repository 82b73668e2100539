#include <stdlib.h>

#include "error.h"
#include "resize.h"

/* Below this many output pixels a parallel loop costs more than it saves. */
enum { RESIZE_PARALLEL_MIN = 1 << 14 };

/* The two source indices and the weight of the second along one axis (see resize.h). */
typedef struct Tap {
    int i0, i1;
    float t;
} Tap;

static Tap resize_tap(int d, int in, int out)
{
    float scale = (float)in / (float)out;
    float src = scale * ((float)d + 0.5f) - 0.5f;
    if (src < 0.0f) src = 0.0f;
    int i0 = (int)src;                      /* floor, src >= 0 */
    if (i0 > in - 1) i0 = in - 1;           /* cannot happen in exact arithmetic */
    Tap tap = {i0, i0 + 1 < in ? i0 + 1 : in - 1, src - (float)i0};
    return tap;
}

/* The taps of every output row and column, computed once per call rather than once per
 * pixel: taps[0..oh) for the rows, taps[oh..oh+ow) for the columns. */
static Tap *resize_taps(int h, int w, int oh, int ow)
{
    Tap *taps = xmalloc(((size_t)oh + ow) * sizeof *taps);
    for (int i = 0; i < oh; i++) taps[i] = resize_tap(i, h, oh);
    for (int j = 0; j < ow; j++) taps[oh + j] = resize_tap(j, w, ow);
    return taps;
}

/* Parallel over planes: a plane's outputs read (and in backward, write) only that plane. */
void resize_bilinear_forward(int planes, int h, int w, int oh, int ow, const float *x,
                             float *y)
{
    Tap *taps = resize_taps(h, w, oh, ow);
    const Tap *col_taps = taps + oh;
#pragma omp parallel for schedule(static) if ((size_t)planes * oh * ow >= RESIZE_PARALLEL_MIN)
    for (int p = 0; p < planes; p++) {
        const float *in = x + (size_t)p * h * w;
        float *out = y + (size_t)p * oh * ow;
        for (int i = 0; i < oh; i++) {
            const Tap ty = taps[i];
            const float *r0 = in + (size_t)ty.i0 * w, *r1 = in + (size_t)ty.i1 * w;
            for (int j = 0; j < ow; j++) {
                const Tap tx = col_taps[j];
                float top = (1.0f - tx.t) * r0[tx.i0] + tx.t * r0[tx.i1];
                float bottom = (1.0f - tx.t) * r1[tx.i0] + tx.t * r1[tx.i1];
                out[(size_t)i * ow + j] = (1.0f - ty.t) * top + ty.t * bottom;
            }
        }
    }
    free(taps);
}

void resize_bilinear_backward(int planes, int h, int w, int oh, int ow, const float *dy,
                              float *dx)
{
    Tap *taps = resize_taps(h, w, oh, ow);
    const Tap *col_taps = taps + oh;
#pragma omp parallel for schedule(static) if ((size_t)planes * oh * ow >= RESIZE_PARALLEL_MIN)
    for (int p = 0; p < planes; p++) {
        float *d = dx + (size_t)p * h * w;
        const float *g = dy + (size_t)p * oh * ow;
        for (int i = 0; i < oh; i++) {
            const Tap ty = taps[i];
            float *r0 = d + (size_t)ty.i0 * w, *r1 = d + (size_t)ty.i1 * w;
            for (int j = 0; j < ow; j++) {
                const Tap tx = col_taps[j];
                float gv = g[(size_t)i * ow + j];
                /* weight products first, then times the gradient (PyTorch's order) */
                r0[tx.i0] += (1.0f - ty.t) * (1.0f - tx.t) * gv;
                r0[tx.i1] += (1.0f - ty.t) * tx.t * gv;
                r1[tx.i0] += ty.t * (1.0f - tx.t) * gv;
                r1[tx.i1] += ty.t * tx.t * gv;
            }
        }
    }
    free(taps);
}

/* ---- taped op ------------------------------------------------------------------------ */

typedef struct ResizeCtx {
    Tensor *x, *y;
} ResizeCtx;

static void resize_bilinear_tape_backward(Tape *t, void *ctx_)
{
    ResizeCtx *ctx = ctx_;
    const Tensor *x = ctx->x, *y = ctx->y;
    if (!y->grad) return;                   /* nothing flowed back to this op */
    resize_bilinear_backward(x->shape[0] * x->shape[1], x->shape[2], x->shape[3], y->shape[2],
                             y->shape[3], y->grad, tape_grad(t, ctx->x));
}

Tensor *resize_bilinear(Tape *t, Tensor *x, int oh, int ow)
{
    char sx[64];
    tensor_check_4d("resize_bilinear", x);
    CHECK(oh >= 1 && ow >= 1 && x->shape[2] >= 1 && x->shape[3] >= 1,
          "resize_bilinear: input %s to output size %dx%d",
          tensor_shape_str(x, sx, sizeof sx), oh, ow);
    Tensor *y = tape_tensor4(t, x->shape[0], x->shape[1], oh, ow);
    resize_bilinear_forward(x->shape[0] * x->shape[1], x->shape[2], x->shape[3], oh, ow,
                            x->data, y->data);
    if (tape_needs_grad(t, y, (Tensor *[]){x}, 1)) {
        ResizeCtx *ctx = tape_alloc(t, sizeof *ctx);
        *ctx = (ResizeCtx){x, y};
        tape_record(t, "resize_bilinear", resize_bilinear_tape_backward, ctx, y);
    }
    return y;
}
