#include "error.h"
#include "relu.h"

/* Below this many elements a parallel loop costs more than it saves. */
enum { RELU_PARALLEL_MIN = 1 << 15 };

void relu_forward(size_t count, const float *x, float *y)
{
#pragma omp parallel for schedule(static) if (count >= RELU_PARALLEL_MIN)
    for (size_t i = 0; i < count; i++) {
        float v = x[i];
        y[i] = (v > 0.0f || v != v) ? v : 0.0f;     /* v != v: NaN stays NaN */
    }
}

void relu_backward(size_t count, const float *y, const float *dy, float *dx)
{
#pragma omp parallel for schedule(static) if (count >= RELU_PARALLEL_MIN)
    for (size_t i = 0; i < count; i++)
        if (y[i] > 0.0f) dx[i] += dy[i];
}

/* ---- taped op ------------------------------------------------------------------------ */

typedef struct ReluCtx {
    Tensor *x, *y;
} ReluCtx;

static void relu_tape_backward(Tape *t, void *ctx_)
{
    ReluCtx *ctx = ctx_;
    if (!ctx->y->grad) return;              /* nothing flowed back to this op */
    relu_backward(ctx->y->size, ctx->y->data, ctx->y->grad, tape_grad(t, ctx->x));
}

Tensor *relu(Tape *t, Tensor *x)
{
    Tensor *y = tape_tensor(t, x->ndim, x->shape);
    relu_forward(x->size, x->data, y->data);
    if (tape_needs_grad(t, y, (Tensor *[]){x}, 1)) {
        ReluCtx *ctx = tape_alloc(t, sizeof *ctx);
        *ctx = (ReluCtx){x, y};
        tape_record(t, "relu", relu_tape_backward, ctx, y);
    }
    return y;
}
