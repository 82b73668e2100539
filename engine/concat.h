/* Concatenation along channels (dimension 1) of 4-D tensors, in the order given:
 * the PSPNet pyramid join [features, ppm.0, ..., ppm.3] and the UNet skip joins
 * [encoder output, upsampled decoder input].
 *
 *   xs[i] (N, C_i, H, W), i = 0..count-1  ->  y (N, C_0 + ... + C_{count-1}, H, W)
 *
 * concat() is the taped op; concat_forward/concat_backward are the kernels. */
#ifndef REUSENET_CONCAT_H
#define REUSENET_CONCAT_H

#include "tape.h"

/* hw = H*W; channels[i] = C_i. */
void concat_forward(int n, int hw, int count, const int *channels, const float *const *xs,
                    float *y);
/* dxs[i] += the slice of dy that came from xs[i]; dxs[i] == NULL: no gradient wanted.
 * The same buffer may appear more than once (concat of a tensor with itself). */
void concat_backward(int n, int hw, int count, const int *channels, const float *dy,
                     float *const *dxs);

/* Taped op: stops with the shapes of both inputs unless all are 4-D with the same
 * N, H and W. count >= 1. */
Tensor *concat(Tape *t, Tensor *const *xs, int count);

#endif
