/* Element-wise sum of two tensors of the same shape: the join of a residual connection
 * (ResNet's BasicBlock adds its identity or downsample branch to its conv branch, then
 * applies ReLU: add_relu, one pass instead of two, the same floats as relu(add(a, b))).
 * add() and add_relu() are the taped ops; the _forward/_backward functions the kernels. */
#ifndef REUSENET_ADD_H
#define REUSENET_ADD_H

#include "tape.h"

/* a (count), b (count) -> y (count): y = a + b. y may be a or b. */
void add_forward(size_t count, const float *a, const float *b, float *y);
/* da += dy, db += dy; either may be NULL (not wanted). da and db may be the same buffer
 * (y = x + x). */
void add_backward(size_t count, const float *dy, float *da, float *db);

/* a, b (count) -> y = relu(a + b) (NaN stays NaN, as relu.h). y may be a or b. */
void add_relu_forward(size_t count, const float *a, const float *b, float *y);
/* da += (y > 0 ? dy : 0), db likewise; either may be NULL, and they may be the same buffer. */
void add_relu_backward(size_t count, const float *y, const float *dy, float *da, float *db);

/* Taped ops: stop with both shapes unless a and b have the same shape. */
Tensor *add(Tape *t, Tensor *a, Tensor *b);
Tensor *add_relu(Tape *t, Tensor *a, Tensor *b);

#endif
