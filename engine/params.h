/* ParamStore: all parameters of a model, in one block.
 *
 * Trainable tensors (conv weights and biases, BN weight and bias) share one contiguous
 * value block, and their gradients a second block at the same offsets, so an optimizer
 * or a reduction across processes works on one flat array. BN running statistics are
 * buffers in a block of their own: they are state, not trained. num_batches_tracked is a
 * counter (int64, as PyTorch stores it).
 *
 * Life cycle: params_add() each tensor (name, kind, shape), params_finalize() once to
 * allocate the blocks, then params_get()/params_find(). Pointers into the blocks are
 * stable after finalize. A frozen parameter gets no gradient and no optimizer update;
 * a frozen buffer is not updated by BN in train mode. */
#ifndef REUSENET_PARAMS_H
#define REUSENET_PARAMS_H

#include <stdint.h>

#include "tensor.h"

typedef enum ParamKind {
    PARAM_TRAINABLE,     /* value + gradient; optimizers update it */
    PARAM_BUFFER,        /* running statistics: value only */
    PARAM_COUNTER,       /* num_batches_tracked: one int64, shape [] */
} ParamKind;

#define PARAM_NAME_MAX 96

typedef struct Param {
    char name[PARAM_NAME_MAX];
    ParamKind kind;
    bool frozen;
    Tensor t;            /* data (and grad for trainable) point into the store's blocks */
    int64_t counter;     /* PARAM_COUNTER only */
    size_t offset;       /* into values/grads (trainable) or buffers (buffer) */
} Param;

typedef struct ParamStore {
    Param *items;
    int count, cap;
    bool finalized;
    float *values;       /* trainable values, n_values floats */
    float *grads;        /* gradients, same offsets */
    size_t n_values;
    float *buffers;      /* running statistics, n_buffers floats */
    size_t n_buffers;
} ParamStore;

void params_init(ParamStore *s);
void params_free(ParamStore *s);
/* Declare a tensor before finalize; returns its index. */
int params_add(ParamStore *s, const char *name, ParamKind kind, int ndim, const int *shape);
void params_finalize(ParamStore *s);
Param *params_get(ParamStore *s, int index);
/* NULL when no parameter has that name. */
Param *params_find(ParamStore *s, const char *name);
void params_set_frozen(Param *p, bool frozen);
void params_zero_grad(ParamStore *s);
/* Number of scalars: trainable only, or all floats (trainable + buffers). */
size_t params_trainable_count(const ParamStore *s);
/* Copy all values, buffers and counters from src to dst (same layout). */
void params_copy(ParamStore *dst, const ParamStore *src);

#endif
