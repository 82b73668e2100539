/* 2-D convolution (PyTorch Conv2d: cross-correlation, zero padding, stride, dilation),
 * computed as im2col + one GEMM per image.
 *
 *   x (N,C,H,W), w (O,C,KH,KW), b (O) or NULL -> y (N,O,OH,OW)
 *   OH = floor((H + 2*pad - dilation*(KH-1) - 1) / stride) + 1   (OW alike)
 *
 * The kernels take raw buffers and a Conv2dShape; conv2d() is the taped op. */
#ifndef REUSENET_CONV2D_H
#define REUSENET_CONV2D_H

#include "tape.h"

typedef struct Conv2dShape {
    int n, c, h, w;          /* input */
    int o, kh, kw;           /* output channels, kernel */
    int stride, pad, dilation;
    int oh, ow;              /* output spatial size */
} Conv2dShape;

Conv2dShape conv2d_shape(int n, int c, int h, int w, int o, int kh, int kw, int stride,
                         int pad, int dilation);
/* Floats of scratch the kernels need (0 for 1x1 stride-1 unpadded convs). */
size_t conv2d_workspace_floats(const Conv2dShape *s);
/* Multiply-accumulates of the forward pass, for FLOP counts (x2 for FLOPs). */
double conv2d_macs(const Conv2dShape *s);

/* col (C*KH*KW, OH*OW) <- patches of one image x (C,H,W); zeros where padding. */
void im2col(const Conv2dShape *s, const float *x, float *col);
/* dx (C,H,W) += col (C*KH*KW, OH*OW) scattered back: the adjoint of im2col. */
void col2im(const Conv2dShape *s, const float *col, float *dx);

/* y = conv(x, w) + b.  col: conv2d_workspace_floats() of scratch. */
void conv2d_forward(const Conv2dShape *s, const float *x, const float *w, const float *b,
                    float *y, float *col);
/* Accumulate dx += dL/dx, dw += dL/dw, db += dL/db from dy (N,O,OH,OW).
 * Pass NULL for a gradient that is not wanted. col: workspace as for forward. */
void conv2d_backward(const Conv2dShape *s, const float *x, const float *w, const float *dy,
                     float *dx, float *dw, float *db, float *col);

/* Taped op: b may be NULL. */
Tensor *conv2d(Tape *t, Tensor *x, Tensor *w, Tensor *b, int stride, int pad, int dilation);

#endif
