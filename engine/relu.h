/* ReLU: y = max(x, 0), element-wise, any shape.
 *
 * The derivative is taken as 0 at x = 0 (PyTorch's choice), and NaN passes through
 * unchanged so that a diverging run shows up in the loss instead of being hidden.
 * relu() is the taped op; relu_forward/relu_backward are the kernels. */
#ifndef REUSENET_RELU_H
#define REUSENET_RELU_H

#include "tape.h"

/* x (count) -> y (count); y may be x (in place). */
void relu_forward(size_t count, const float *x, float *y);
/* dx += dy where y > 0. Uses the output: y > 0 exactly where x > 0. */
void relu_backward(size_t count, const float *y, const float *dy, float *dx);

/* Taped op: a new tensor of x's shape. */
Tensor *relu(Tape *t, Tensor *x);

#endif
