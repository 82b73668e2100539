/* Bilinear resize to an explicit output size with align_corners=False (PyTorch
 * F.interpolate(x, size=(OH, OW), mode="bilinear", align_corners=False)): the PSPNet
 * pyramid and classifier upsampling and UNet's "bilinear x2" to a skip's size.
 *
 *   x (N,C,H,W) -> y (N,C,OH,OW)
 *
 * Per axis (docs/models.md, "Conventions"), for output index d of `out` from `in`:
 *   src = (d + 0.5) * in/out - 0.5, clamped below at 0
 *   i0 = floor(src), i1 = min(i0 + 1, in - 1), t = src - i0
 *   y = (1-t) * x[i0] + t * x[i1]      (rows, then the same for columns)
 * computed in float like PyTorch's CPU kernel. Backward is the exact adjoint: each
 * output's gradient goes to its four source pixels with the same weights.
 * resize_bilinear() is the taped op; the _forward/_backward functions are the kernels. */
#ifndef REUSENET_RESIZE_H
#define REUSENET_RESIZE_H

#include "tape.h"

/* planes = N*C; x (planes, h, w) -> y (planes, oh, ow). */
void resize_bilinear_forward(int planes, int h, int w, int oh, int ow, const float *x,
                             float *y);
/* dx (planes, h, w) += the adjoint of the forward map applied to dy (planes, oh, ow). */
void resize_bilinear_backward(int planes, int h, int w, int oh, int ow, const float *dy,
                              float *dx);

/* Taped op. Stops unless oh, ow >= 1. */
Tensor *resize_bilinear(Tape *t, Tensor *x, int oh, int ow);

#endif
