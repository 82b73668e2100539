/* Tape: reverse-mode automatic differentiation by recording op calls.
 *
 * A forward pass calls graph-level ops (conv2d(), batchnorm2d(), relu(), ...). Each op
 * computes its output with its plain kernel (conv2d_forward, ...), and when a gradient
 * will be needed it records a backward closure: a function plus a context (the inputs,
 * outputs and saved buffers it needs) allocated in the tape's arena. tape_backward()
 * seeds d(loss)/d(loss) = 1 and calls the closures in reverse order; each one calls the
 * op's backward kernel, which accumulates (+=) into its inputs' gradients.
 *
 * A tape also holds the step's arena: every activation, gradient and saved buffer of a
 * step is bumped off it, and tape_reset() returns it all at once. Gradients are recycled
 * during backward: once the op that produced a tensor has run its backward, nothing reads
 * that tensor's gradient again (its consumers were recorded later, so ran earlier), and
 * the buffer goes to a free list that later tape_grad calls draw on, as PyTorch frees
 * activation gradients as it goes. Leaves (parameters, inputs) keep their gradients.
 * In inference (nothing recorded) the caller may give back an activation that nothing
 * will read again (tape_release); tape_tensor draws on the same list, so an inference
 * pass holds only its live activations, as PyTorch's does under no_grad.
 *
 *   tape.recording = false  -> inference: nothing is recorded, no gradients exist.
 *   tape.training  = true   -> BN uses batch statistics and updates running statistics.
 *   tape.global_batch = G   -> data-parallel training (dist.h): this rank holds a share of
 *                              a batch of G images spread over the ranks. Batch norm then
 *                              normalises with the statistics of the whole batch (summed
 *                              over the ranks, as PyTorch's SyncBatchNorm), and each loss
 *                              returns this rank's share of the whole batch's loss (the
 *                              shares sum to it) and the gradient of the whole batch's loss
 *                              with respect to this rank's outputs, so that the sum of the
 *                              ranks' parameter gradients is the single-process gradient.
 *                              0 (the default): the batch is all here. */
#ifndef REUSENET_TAPE_H
#define REUSENET_TAPE_H

#include "arena.h"
#include "tensor.h"

typedef struct Tape Tape;
typedef void (*BackwardFn)(Tape *tape, void *ctx);

typedef struct TapeEntry {
    const char *op;          /* name, for error messages and profiles */
    BackwardFn backward;
    void *ctx;
    Tensor *out;             /* the op's output: its gradient is dead once this has run */
} TapeEntry;

/* A buffer given back (a dead gradient during backward, a dead activation in
 * inference), for a later tape_grad or tape_tensor to reuse. */
typedef struct FreeBlock {
    float *data;
    size_t floats;
} FreeBlock;

struct Tape {
    Arena arena;
    TapeEntry *entries;
    int count, cap;
    FreeBlock *free_blocks;  /* dead buffers (arena memory), this step */
    int free_count, free_cap;
    bool recording;
    bool training;
    int global_batch;        /* 0, or the images of the batch over all ranks (above) */
};

void tape_init(Tape *t, size_t arena_bytes);
void tape_free(Tape *t);
/* Start a new step: forget the record, give back the arena. Keeps recording/training. */
void tape_reset(Tape *t);

/* An uninitialised tensor from the arena, or from a buffer given back (grad NULL,
 * requires_grad false). */
Tensor *tape_tensor(Tape *t, int ndim, const int *shape);
Tensor *tape_tensor4(Tape *t, int n, int c, int h, int w);
/* A tensor struct (in the arena) viewing memory the caller owns. */
Tensor *tape_wrap(Tape *t, float *data, int ndim, const int *shape);
/* Give back the memory of x, a tape_tensor that nothing will read again, for later
 * tensors to reuse; x->data becomes NULL. Inference only (t->recording false): a
 * recorded op may read its inputs and outputs again in backward. */
void tape_release(Tape *t, Tensor *x);
/* Zeroed scratch memory in the arena, for an op's context or saved buffers. */
void *tape_alloc(Tape *t, size_t bytes);

/* True when an op with these inputs must record: recording, and some input needs a
 * gradient. Sets out->requires_grad accordingly. */
bool tape_needs_grad(Tape *t, Tensor *out, Tensor *const *inputs, int count);
/* Record an op whose output is out (which must come from the tape: its gradient is
 * recycled after backward has run this entry). */
void tape_record(Tape *t, const char *op, BackwardFn backward, void *ctx, Tensor *out);
/* The gradient buffer of x, allocated zero-filled on first use (from recycled gradients
 * when one is big enough). NULL when x needs none. */
float *tape_grad(Tape *t, Tensor *x);

/* Back-propagate from a scalar (size 1) loss through everything recorded. */
void tape_backward(Tape *t, Tensor *loss);
/* Back-propagate from any output with a given seed gradient dL/d(out) (out->size floats):
 * the vector-Jacobian product, used by gradient checks. */
void tape_backward_from(Tape *t, Tensor *out, const float *seed);

#endif
