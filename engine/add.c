#include <stdbool.h>

#include "add.h"
#include "error.h"

/* Below this many elements a parallel loop costs more than it saves. */
enum { ADD_PARALLEL_MIN = 1 << 15 };

void add_forward(size_t count, const float *a, const float *b, float *y)
{
#pragma omp parallel for schedule(static) if (count >= ADD_PARALLEL_MIN)
    for (size_t i = 0; i < count; i++) y[i] = a[i] + b[i];
}

void add_backward(size_t count, const float *dy, float *da, float *db)
{
    /* Two passes rather than one loop with two stores, so that da == db is simply
     * "add dy twice". */
    if (da) {
#pragma omp parallel for schedule(static) if (count >= ADD_PARALLEL_MIN)
        for (size_t i = 0; i < count; i++) da[i] += dy[i];
    }
    if (db) {
#pragma omp parallel for schedule(static) if (count >= ADD_PARALLEL_MIN)
        for (size_t i = 0; i < count; i++) db[i] += dy[i];
    }
}

/* relu(a + b) in one pass, with relu's NaN rule (relu.c): the same floats as add_forward
 * then relu_forward, without writing and re-reading the sum. */
void add_relu_forward(size_t count, const float *a, const float *b, float *y)
{
#pragma omp parallel for schedule(static) if (count >= ADD_PARALLEL_MIN)
    for (size_t i = 0; i < count; i++) {
        const float v = a[i] + b[i];
        y[i] = (v > 0.0f || v != v) ? v : 0.0f;
    }
}

/* g = dy where y > 0, else 0 (relu_backward into a zeroed buffer), added to da and to db
 * (add_backward) element by element in that order, so the floats are the same as the two
 * ops' even when da == db. */
void add_relu_backward(size_t count, const float *y, const float *dy, float *da, float *db)
{
#pragma omp parallel for schedule(static) if (count >= ADD_PARALLEL_MIN)
    for (size_t i = 0; i < count; i++) {
        const float g = y[i] > 0.0f ? dy[i] : 0.0f;
        if (da) da[i] += g;
        if (db) db[i] += g;
    }
}

/* ---- taped ops ----------------------------------------------------------------------- */

typedef struct AddCtx {
    Tensor *a, *b, *y;
    bool relu;               /* fused: y = relu(a + b) */
} AddCtx;

static void add_tape_backward(Tape *t, void *ctx_)
{
    AddCtx *ctx = ctx_;
    if (!ctx->y->grad) return;              /* nothing flowed back to this op */
    float *da = tape_grad(t, ctx->a), *db = tape_grad(t, ctx->b);
    if (ctx->relu) add_relu_backward(ctx->y->size, ctx->y->data, ctx->y->grad, da, db);
    else add_backward(ctx->y->size, ctx->y->grad, da, db);
}

static Tensor *add_op(Tape *t, Tensor *a, Tensor *b, bool relu)
{
    const char *name = relu ? "add_relu" : "add";
    tensor_check_same_shape(name, a, b);
    Tensor *y = tape_tensor(t, a->ndim, a->shape);
    if (relu) add_relu_forward(a->size, a->data, b->data, y->data);
    else add_forward(a->size, a->data, b->data, y->data);
    if (tape_needs_grad(t, y, (Tensor *[]){a, b}, 2)) {
        AddCtx *ctx = tape_alloc(t, sizeof *ctx);
        *ctx = (AddCtx){a, b, y, relu};
        tape_record(t, name, add_tape_backward, ctx, y);
    }
    return y;
}

Tensor *add(Tape *t, Tensor *a, Tensor *b) { return add_op(t, a, b, false); }

Tensor *add_relu(Tape *t, Tensor *a, Tensor *b) { return add_op(t, a, b, true); }
