/* Concatenation along channels (dimension 1) of 4-D tensors, in the order given:
 * the PSPNet pyramid join [features, ppm.0, ..., ppm.3] and the UNet skip joins
 * [encoder output, upsampled decoder input].
 *
 *   xs[i] (N, C_i, H, W), i = 0..count-1  ->  y (N, C_0 + ... + C_{count-1}, H, W)
 *
 * concat() is the taped op. concat_resized() first brings every input to xs[0]'s H x W
 * by bilinear resize (resize.h) where its size differs: concat(xs[0], resize(xs[1]), ...),
 * the UNet skip join and the PSPNet pyramid join as docs/models.md writes them. The resized
 * input is written straight into its slice of y and its gradient read straight from dy's
 * slice, so no resized copy exists in forward or backward (UNet F=64 at 128 x 128: 125 MB
 * of decoder tensors, and their gradients). Bitwise the result of the two ops: the same
 * kernels, and concat's backward only copies a slice. Both taped ops run the kernels
 * concat_resized_forward/_backward, for which a plain concat is the case where every
 * input has y's size. */
#ifndef REUSENET_CONCAT_H
#define REUSENET_CONCAT_H

#include "tape.h"

/* Taped op: stops with the shapes of both inputs unless all are 4-D with the same
 * N, H and W. count >= 1. */
Tensor *concat(Tape *t, Tensor *const *xs, int count);

/* x_i (N, C_i, h_i, w_i) -> y (N, sum C_i, h, w): input i resized from (h_i, w_i) when
 * that differs from (h, w), else copied. */
void concat_resized_forward(int n, int h, int w, int count, const int *channels,
                            const int *heights, const int *widths, const float *const *xs,
                            float *y);
/* dxs[i] += the adjoint of input i's part of concat_resized_forward applied to dy;
 * dxs[i] == NULL: no gradient wanted. The same buffer may appear more than once (concat
 * of a tensor with itself). */
void concat_resized_backward(int n, int h, int w, int count, const int *channels,
                             const int *heights, const int *widths, const float *dy,
                             float *const *dxs);
/* Taped op: stops unless all inputs are 4-D with xs[0]'s N. */
Tensor *concat_resized(Tape *t, Tensor *const *xs, int count);

#endif
