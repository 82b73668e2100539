/* Tensors: float32, row-major, PyTorch dimension order (NCHW for images, OIHW for conv
 * weights). A tensor does not own its memory: activations live in the step's arena
 * (arena.h), parameters in a ParamStore block (params.h), anything else in buffers
 * the caller owns (tensor_alloc/tensor_free).
 *
 * `grad` has the same shape as `data`. For a parameter it points at the parameter's
 * slot in the gradient block; for an activation the tape allocates it the first time
 * backward writes to it. Gradients accumulate (+=). `requires_grad` says whether
 * backward must produce a gradient for this tensor: false for inputs, labels and
 * frozen parameters. */
#ifndef REUSENET_TENSOR_H
#define REUSENET_TENSOR_H

#include <stdbool.h>
#include <stddef.h>

#define TENSOR_MAX_DIMS 4

typedef struct Tensor {
    float *data;
    float *grad;
    int ndim;                       /* 0 (scalar) .. 4 */
    int shape[TENSOR_MAX_DIMS];
    size_t size;                    /* product of shape (1 for a scalar) */
    bool requires_grad;
} Tensor;

/* Fill shape fields; data and grad untouched. */
void tensor_set_shape(Tensor *t, int ndim, const int *shape);
/* Shape helpers for the common 4-D case. */
static inline int tensor_n(const Tensor *t) { return t->shape[0]; }
static inline int tensor_c(const Tensor *t) { return t->shape[1]; }
static inline int tensor_h(const Tensor *t) { return t->shape[2]; }
static inline int tensor_w(const Tensor *t) { return t->shape[3]; }

bool tensor_same_shape(const Tensor *a, const Tensor *b);
/* "[2, 64, 32, 32]" into buf; returns buf. */
char *tensor_shape_str(const Tensor *t, char *buf, size_t len);
size_t shape_numel(int ndim, const int *shape);

/* Heap tensors the caller owns (data zero-filled; grad NULL). */
Tensor tensor_alloc(int ndim, const int *shape);
Tensor tensor_alloc4(int n, int c, int h, int w);
void tensor_free(Tensor *t);

/* Stop with both shapes and the op's name unless a and b have the same shape. */
void tensor_check_same_shape(const char *op, const Tensor *a, const Tensor *b);
/* Stop unless t is 4-D (NCHW). */
void tensor_check_4d(const char *op, const Tensor *t);

#endif
