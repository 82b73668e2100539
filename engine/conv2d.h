/* 2-D convolution (PyTorch Conv2d: cross-correlation, zero padding, stride, dilation),
 * computed as im2col + GEMM: one GEMM per image, or, for small feature maps, one GEMM
 * for the whole batch (conv2d_batches_images); 3x3 stride-1 convs on maps of 8 x 8 or
 * more by Winograd instead (conv2d_uses_winograd: F(2x2, 3x3) forward, F(3x3, 2x2) for
 * dw). Every path is tested against the others and against a direct convolution. The
 * input gradient of a stride-1 conv is computed as a convolution of dy with the flipped
 * kernel (by either method), other convs scatter it back with col2im.
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
/* True when conv2d_forward/backward take the batched path for this shape. */
bool conv2d_batches_images(const Conv2dShape *s);
/* True when conv2d_forward computes this shape by Winograd F(2x2, 3x3) (winograd.h), and
 * conv2d_backward its dw by F(3x3, 2x2); conv2d_dx_uses_winograd: dx too (a stride-1 conv
 * of dy, whose own shape qualifies). */
bool conv2d_uses_winograd(const Conv2dShape *s);
bool conv2d_dx_uses_winograd(const Conv2dShape *s);
/* For stride 1, dx is the conv of dy with the kernel flipped and its channels swapped
 * (conv2d.c): its shape, dy (N, O, OH, OW) -> dx (N, C, H, W), pad d*(KH-1) - pad. */
Conv2dShape conv2d_dx_shape(const Conv2dShape *s);
/* Floats of scratch the kernels need, forward and backward (0 for unbatched 1x1
 * stride-1 unpadded convs): that of the path conv2d_batches_images() picks. */
size_t conv2d_workspace_floats(const Conv2dShape *s);
size_t conv2d_workspace_floats_per_image(const Conv2dShape *s);
size_t conv2d_workspace_floats_batched(const Conv2dShape *s);
/* Multiply-accumulates of the forward pass, for FLOP counts (x2 for FLOPs). */
double conv2d_macs(const Conv2dShape *s);

/* y = conv(x, w) + b.  col: conv2d_workspace_floats() of scratch. */
void conv2d_forward(const Conv2dShape *s, const float *x, const float *w, const float *b,
                    float *y, float *col);
/* Accumulate dx += dL/dx, dw += dL/dw, db += dL/db from dy (N,O,OH,OW).
 * Pass NULL for a gradient that is not wanted. col: workspace as for forward. */
void conv2d_backward(const Conv2dShape *s, const float *x, const float *w, const float *dy,
                     float *dx, float *dw, float *db, float *col);

/* The im2col + GEMM path of the shape, batched or per image (conv2d_batches_images), even
 * where conv2d_forward/backward would take Winograd; workspace: conv2d_workspace_floats. */
void conv2d_forward_gemm(const Conv2dShape *s, const float *x, const float *w, const float *b,
                         float *y, float *work);
void conv2d_backward_gemm(const Conv2dShape *s, const float *x, const float *w,
                          const float *dy, float *dx, float *dw, float *db, float *work);

/* The two paths, chosen by conv2d_batches_images() in conv2d_forward/backward, each with
 * the workspace its own conv2d_workspace_floats_* gives; the batched ones need n > 1. */
void conv2d_forward_per_image(const Conv2dShape *s, const float *x, const float *w,
                              const float *b, float *y, float *col);
void conv2d_forward_batched(const Conv2dShape *s, const float *x, const float *w,
                            const float *b, float *y, float *work);
void conv2d_backward_per_image(const Conv2dShape *s, const float *x, const float *w,
                               const float *dy, float *dx, float *dw, float *db, float *col);
void conv2d_backward_batched(const Conv2dShape *s, const float *x, const float *w,
                             const float *dy, float *dx, float *dw, float *db, float *work);

/* Taped op: b may be NULL. */
Tensor *conv2d(Tape *t, Tensor *x, Tensor *w, Tensor *b, int stride, int pad, int dilation);

#endif
