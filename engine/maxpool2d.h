/* 2-D max pooling (PyTorch MaxPool2d: square kernel, stride, padding; no dilation, no
 * ceil mode). Padding counts as -inf, so it never wins.
 *
 *   x (N,C,H,W) -> y (N,C,OH,OW),  OH = floor((H + 2*pad - k) / stride) + 1  (OW alike)
 *
 * Each output remembers where its maximum came from (the argmax, an index into the
 * input plane) and backward routes the gradient there. Ties go to the FIRST maximum in
 * row-major order of the window, and a NaN wins over numbers: both as PyTorch's CPU
 * kernel does. As in PyTorch, pad <= k/2, so every window holds an input pixel.
 *
 * maxpool2d() is the taped op; maxpool2d_forward/maxpool2d_backward are the kernels. */
#ifndef REUSENET_MAXPOOL2D_H
#define REUSENET_MAXPOOL2D_H

#include <stdint.h>

#include "tape.h"

typedef struct MaxPool2dShape {
    int n, c, h, w;          /* input */
    int k, stride, pad;
    int oh, ow;              /* output spatial size */
} MaxPool2dShape;

MaxPool2dShape maxpool2d_shape(int n, int c, int h, int w, int k, int stride, int pad);

/* x (N,C,H,W) -> y (N,C,OH,OW); argmax (N,C,OH,OW) gets the index iy*W + ix of each
 * maximum in its input plane, or pass NULL when no backward will follow. */
void maxpool2d_forward(const MaxPool2dShape *s, const float *x, float *y, int32_t *argmax);
/* dx (N,C,H,W) += dy (N,C,OH,OW) routed to the argmax of each output. */
void maxpool2d_backward(const MaxPool2dShape *s, const int32_t *argmax, const float *dy,
                        float *dx);

/* Taped op. Stops unless 1 <= stride, 0 <= pad <= k/2 and the output is non-empty. */
Tensor *maxpool2d(Tape *t, Tensor *x, int k, int stride, int pad);

#endif
