#include "avgpool2d.h"
#include "error.h"

/* Below this many input reads a parallel loop costs more than it saves. */
enum { AVGPOOL_PARALLEL_MIN = 1 << 15 };

/* Bin i of `out` over `in` positions: [floor(i*in/out), ceil((i+1)*in/out)). */
static int bin_start(int i, int in, int out) { return (int)((long)i * in / out); }
static int bin_end(int i, int in, int out) { return (int)(((long)(i + 1) * in + out - 1) / out); }

/* Parallel over planes: a plane's bins read and write only that plane. Sums are taken in
 * double, then divided by the bin's pixel count. */
void adaptive_avgpool2d_forward(int planes, int h, int w, int oh, int ow, const float *x,
                                float *y)
{
#pragma omp parallel for schedule(static) if ((size_t)planes * h * w >= AVGPOOL_PARALLEL_MIN)
    for (int p = 0; p < planes; p++) {
        const float *in = x + (size_t)p * h * w;
        float *out = y + (size_t)p * oh * ow;
        for (int i = 0; i < oh; i++) {
            int y0 = bin_start(i, h, oh), y1 = bin_end(i, h, oh);
            for (int j = 0; j < ow; j++) {
                int x0 = bin_start(j, w, ow), x1 = bin_end(j, w, ow);
                double sum = 0;
                for (int iy = y0; iy < y1; iy++)
                    for (int ix = x0; ix < x1; ix++) sum += in[(size_t)iy * w + ix];
                out[i * ow + j] = (float)(sum / ((y1 - y0) * (x1 - x0)));
            }
        }
    }
}

/* y = mean of the bin, so every pixel of the bin gets dy / (bin size). */
void adaptive_avgpool2d_backward(int planes, int h, int w, int oh, int ow, const float *dy,
                                 float *dx)
{
#pragma omp parallel for schedule(static) if ((size_t)planes * h * w >= AVGPOOL_PARALLEL_MIN)
    for (int p = 0; p < planes; p++) {
        float *d = dx + (size_t)p * h * w;
        const float *g = dy + (size_t)p * oh * ow;
        for (int i = 0; i < oh; i++) {
            int y0 = bin_start(i, h, oh), y1 = bin_end(i, h, oh);
            for (int j = 0; j < ow; j++) {
                int x0 = bin_start(j, w, ow), x1 = bin_end(j, w, ow);
                float share = (float)((double)g[i * ow + j] / ((y1 - y0) * (x1 - x0)));
                for (int iy = y0; iy < y1; iy++)
                    for (int ix = x0; ix < x1; ix++) d[(size_t)iy * w + ix] += share;
            }
        }
    }
}

/* ---- taped op ------------------------------------------------------------------------ */

typedef struct AvgPoolCtx {
    Tensor *x, *y;
} AvgPoolCtx;

static void adaptive_avgpool2d_tape_backward(Tape *t, void *ctx_)
{
    AvgPoolCtx *ctx = ctx_;
    const Tensor *x = ctx->x, *y = ctx->y;
    if (!y->grad) return;                   /* nothing flowed back to this op */
    adaptive_avgpool2d_backward(x->shape[0] * x->shape[1], x->shape[2], x->shape[3],
                                y->shape[2], y->shape[3], y->grad, tape_grad(t, ctx->x));
}

Tensor *adaptive_avgpool2d(Tape *t, Tensor *x, int oh, int ow)
{
    char sx[64];
    tensor_check_4d("adaptive_avgpool2d", x);
    CHECK(oh >= 1 && ow >= 1 && x->shape[2] >= 1 && x->shape[3] >= 1,
          "adaptive_avgpool2d: input %s to output size %dx%d",
          tensor_shape_str(x, sx, sizeof sx), oh, ow);
    Tensor *y = tape_tensor4(t, x->shape[0], x->shape[1], oh, ow);
    adaptive_avgpool2d_forward(x->shape[0] * x->shape[1], x->shape[2], x->shape[3], oh, ow,
                               x->data, y->data);
    if (tape_needs_grad(t, y, (Tensor *[]){x}, 1)) {
        AvgPoolCtx *ctx = tape_alloc(t, sizeof *ctx);
        *ctx = (AvgPoolCtx){x, y};
        tape_record(t, "adaptive_avgpool2d", adaptive_avgpool2d_tape_backward, ctx, y);
    }
    return y;
}
