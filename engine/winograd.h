/* Winograd F(2x2, 3x3) convolution (Lavin & Gray, "Fast Algorithms for Convolutional
 * Neural Networks", 2016) for 3x3 convs with stride 1: the same function as
 * conv2d_forward, computed with 16 multiplies per 2x2 output tile and channel pair where
 * the direct method needs 36.
 *
 *   x (N,C,H,W), w (O,C,3,3), b (O) or NULL -> y (N,O,OH,OW)
 *
 * For each output tile (2x2 outputs, whose 4x4 input tile d starts at (2*ty - pad,
 * 2*tx - pad), zero outside the image):
 *   U = G g G^T    (4x4, one per (o, c); g the 3x3 kernel)
 *   V = B^T d B    (4x4, one per (c, tile))
 *   M = U . V      summed over c: 16 GEMMs, M_k (O, tiles) = U_k (O, C) @ V_k (C, tiles)
 *   Y = A^T M A    (2x2 outputs per (o, tile))
 * with the constant matrices of F(2, 3):
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1]
 * The transforms only add, subtract and halve, so the result differs from the direct
 * sum by float rounding (tests/test_conv2d.c bounds it against a double-precision
 * direct convolution). Tiles of the whole batch are cut into panels; threads take
 * panels, each running its transforms and single-threaded GEMMs in its own workspace.
 * Wide layers take the whole batch as one panel, and on small maps F(4x4, 3x3) with the
 * tiles ordered by position, then image, so that the transforms run over the batch
 * (winograd4.h). */
#ifndef REUSENET_WINOGRAD_H
#define REUSENET_WINOGRAD_H

#include <stdbool.h>
#include <stddef.h>

#include "conv2d.h"

/* True for the shapes this method computes: 3x3 kernel, stride 1, pad <= 2 (so that the
 * input gradient, a conv with pad 2 - pad, is one too); or dilation d with pad = d*p,
 * p <= 2, and H, W multiples of d, computed as the undilated conv of the d*d polyphase
 * sub-images x[py + d*vy, px + d*vx], gathered into a batch of N*d*d (winograd.c). */
bool winograd_applies(const Conv2dShape *s);
/* True when winograd_conv, _conv_dx (at conv2d_dx_shape) and _conv_dw compute s by
 * F(4x4, 3x3) (winograd4.h: wide layers on maps of at most 8 x 8 or their sub-images,
 * with at least 128 tiles of 4 x 4 outputs over the batch), whose rounding error is about
 * 20x F(2x2, 3x3)'s. */
bool winograd_uses_f4x4(const Conv2dShape *s);
/* Floats from one matrix of a transform's stack (the 16 or 36 U_k, V_k, M_k) to the next,
 * for matrices of `floats`: a whole and odd number of 64-byte cache lines. The transforms
 * touch all of a stack's matrices at once; at a stride of a multiple of 4 KB (as O x tiles
 * floats nearly always is) they all fall into one set of the L1 cache, and at multiples
 * of 128 KB into one of the L2's, more than it has ways: an odd number of lines spreads
 * them over as many sets. */
size_t winograd_matrix_stride(size_t floats);
/* Floats of scratch for winograd_conv at s (the weight transform and, for each
 * processor, one panel's input and output transforms). */
size_t winograd_workspace_floats(const Conv2dShape *s);
/* y = conv(x, w) + b, or y += conv(x, w) + b when accumulate (b may be NULL).
 * work: winograd_workspace_floats(s). */
void winograd_conv(const Conv2dShape *s, const float *x, const float *w, const float *b,
                   float *y, bool accumulate, float *work);

/* The input gradient of the convolution s, dx (N,C,H,W) += dL/dx from dy (N,O,OH,OW): for
 * stride 1 the conv of dy with w flipped along both axes and its channels swapped, at pad
 * 2*d - pad (conv2d_dx_shape), computed from w as it is (winograd.c says how). Applies
 * when winograd_applies(conv2d_dx_shape(s)).
 * work: winograd_workspace_floats(conv2d_dx_shape(s)). */
void winograd_conv_dx(const Conv2dShape *s, const float *w, const float *dy, float *dx,
                      float *work);

/* The weight gradient of the same convolution, dw += dL/dw from dy (N,O,OH,OW), by
 * Winograd F(3x3, 2x2) (winograd.c gives its matrices): 16 multiplies per output tile and
 * channel pair where the direct sum has 36, as 16 GEMMs that sum over the tiles.
 * work: winograd_dw_workspace_floats(s). */
size_t winograd_dw_workspace_floats(const Conv2dShape *s);
void winograd_conv_dw(const Conv2dShape *s, const float *x, const float *dy, float *dw,
                      float *work);

#endif
