/* Adaptive average pooling (PyTorch AdaptiveAvgPool2d): the PSPNet pyramid's pooling to
 * 1x1, 2x2, 3x3 and 6x6 whatever the feature size.
 *
 *   x (N,C,H,W) -> y (N,C,OH,OW)
 *
 * Output row i averages input rows [floor(i*H/OH), ceil((i+1)*H/OH)) (columns alike), so
 * neighbouring bins overlap when OH does not divide H (docs/models.md, "Conventions").
 * adaptive_avgpool2d() is the taped op; the _forward/_backward functions are the kernels. */
#ifndef REUSENET_AVGPOOL2D_H
#define REUSENET_AVGPOOL2D_H

#include "tape.h"

/* planes = N*C; x (planes, h, w) -> y (planes, oh, ow). */
void adaptive_avgpool2d_forward(int planes, int h, int w, int oh, int ow, const float *x,
                                float *y);
/* dx (planes, h, w) += dy spread evenly over each output's bin. */
void adaptive_avgpool2d_backward(int planes, int h, int w, int oh, int ow, const float *dy,
                                 float *dx);

/* Taped op. Stops unless oh, ow >= 1. */
Tensor *adaptive_avgpool2d(Tape *t, Tensor *x, int oh, int ow);

#endif
