/* Element-wise sum of two tensors of the same shape: the join of a residual connection
 * (ResNet's BasicBlock adds its identity or downsample branch to its conv branch).
 * add() is the taped op; add_forward/add_backward are the kernels. */
#ifndef REUSENET_ADD_H
#define REUSENET_ADD_H

#include "tape.h"

/* a (count), b (count) -> y (count): y = a + b. y may be a or b. */
void add_forward(size_t count, const float *a, const float *b, float *y);
/* da += dy, db += dy; either may be NULL (not wanted). da and db may be the same buffer
 * (y = x + x). */
void add_backward(size_t count, const float *dy, float *da, float *db);

/* Taped op: stops with both shapes unless a and b have the same shape. */
Tensor *add(Tape *t, Tensor *a, Tensor *b);

#endif
