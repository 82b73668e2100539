#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "tape.h"

void tape_init(Tape *t, size_t arena_bytes)
{
    memset(t, 0, sizeof *t);
    arena_init(&t->arena, arena_bytes);
    t->recording = true;
    t->training = true;
}

void tape_free(Tape *t)
{
    arena_free(&t->arena);
    free(t->entries);
    free(t->free_blocks);
    memset(t, 0, sizeof *t);
}

void tape_reset(Tape *t)
{
    t->count = 0;
    t->free_count = 0;
    arena_reset(&t->arena);
}

/* The smallest free block of count to most floats, taken off the list; NULL if none.
 * Shapes repeat through a network, so an exact fit is the usual case. */
static float *take_free(Tape *t, size_t count, size_t most)
{
    int best = -1;
    for (int i = 0; i < t->free_count; i++)
        if (t->free_blocks[i].floats >= count && t->free_blocks[i].floats <= most &&
            (best < 0 || t->free_blocks[i].floats < t->free_blocks[best].floats))
            best = i;
    if (best < 0) return NULL;
    float *data = t->free_blocks[best].data;
    t->free_blocks[best] = t->free_blocks[--t->free_count];
    return data;
}

static void give_back(Tape *t, float *data, size_t floats)
{
    if (t->free_count == t->free_cap) {
        t->free_cap = t->free_cap ? 2 * t->free_cap : 64;
        t->free_blocks = xrealloc(t->free_blocks, (size_t)t->free_cap * sizeof *t->free_blocks);
    }
    t->free_blocks[t->free_count++] = (FreeBlock){data, floats};
}

Tensor *tape_tensor(Tape *t, int ndim, const int *shape)
{
    Tensor *x = arena_alloc(&t->arena, sizeof *x);
    memset(x, 0, sizeof *x);
    tensor_set_shape(x, ndim, shape);
    /* at most twice its size: a pooled map taking a whole dead block would leave the
     * next layer's output, larger than it, to a new one */
    x->data = take_free(t, x->size, 2 * x->size);
    if (!x->data) x->data = arena_floats(&t->arena, x->size);
    return x;
}

Tensor *tape_tensor4(Tape *t, int n, int c, int h, int w)
{
    return tape_tensor(t, 4, (int[]){n, c, h, w});
}

Tensor *tape_wrap(Tape *t, float *data, int ndim, const int *shape)
{
    Tensor *x = arena_alloc(&t->arena, sizeof *x);
    memset(x, 0, sizeof *x);
    tensor_set_shape(x, ndim, shape);
    x->data = data;
    return x;
}

void tape_release(Tape *t, Tensor *x)
{
    CHECK(!t->recording, "tape_release: only in inference, where nothing recorded reads it");
    if (!x->data) return;
    give_back(t, x->data, x->size);
    x->data = NULL;
}

void *tape_alloc(Tape *t, size_t bytes)
{
    void *p = arena_alloc(&t->arena, bytes);
    memset(p, 0, bytes);
    return p;
}

bool tape_needs_grad(Tape *t, Tensor *out, Tensor *const *inputs, int count)
{
    bool needs = false;
    if (t->recording)
        for (int i = 0; i < count; i++)
            if (inputs[i] && inputs[i]->requires_grad) needs = true;
    out->requires_grad = needs;
    return needs;
}

void tape_record(Tape *t, const char *op, BackwardFn backward, void *ctx, Tensor *out)
{
    if (t->count == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 256;
        t->entries = xrealloc(t->entries, (size_t)t->cap * sizeof *t->entries);
    }
    t->entries[t->count++] = (TapeEntry){op, backward, ctx, out};
}

/* Zero-fill in parallel: activation gradients run to tens of MB, and one thread alone
 * writing them leaves the others waiting. */
static void zero_floats(float *p, size_t count)
{
    enum { BLOCK = 1 << 14 };
    const size_t blocks = (count + BLOCK - 1) / BLOCK;
#pragma omp parallel for schedule(static) if (blocks > 8)
    for (size_t b = 0; b < blocks; b++) {
        const size_t start = b * BLOCK, len = count - start < BLOCK ? count - start : BLOCK;
        memset(p + start, 0, len * sizeof(float));
    }
}

float *tape_grad(Tape *t, Tensor *x)
{
    if (!x->requires_grad) return NULL;
    if (!x->grad) {
        x->grad = take_free(t, x->size, SIZE_MAX);
        if (!x->grad) x->grad = arena_floats(&t->arena, x->size);
        zero_floats(x->grad, x->size);
    }
    return x->grad;
}

void tape_backward(Tape *t, Tensor *loss)
{
    CHECK(loss->size == 1, "backward: the loss must be a scalar, got %zu elements", loss->size);
    CHECK(loss->requires_grad, "backward: the loss does not depend on any trainable tensor");
    tape_backward_from(t, loss, (const float[]){1.0f});
}

void tape_backward_from(Tape *t, Tensor *out, const float *seed)
{
    CHECK(out->requires_grad, "backward: the output does not depend on any trainable tensor");
    float *g = tape_grad(t, out);
    for (size_t i = 0; i < out->size; i++) g[i] += seed[i];
    for (int i = t->count - 1; i >= 0; i--) {
        t->entries[i].backward(t, t->entries[i].ctx);
        Tensor *out = t->entries[i].out;
        if (out && out->grad) {
            give_back(t, out->grad, out->size);
            out->grad = NULL;
        }
    }
}
