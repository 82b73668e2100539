/* Winograd F(4x4, 3x3) for wide convs on small maps (winograd.c chooses it).
 *
 * The same method as winograd.h's F(2x2, 3x3), with 4x4 output tiles read from 6x6 input
 * tiles: 36 multiplies per tile and channel pair where F(2x2, 3x3) needs 64 for the same
 * 16 outputs and the direct sum 144. Its GEMMs do 0.5625x the work of F(2x2, 3x3)'s, at
 * a cost in precision: its transforms scale by up to 5 (input) and 8 (output), so the
 * result is about 1e-5 of the largest output off the exact one for 512 channels
 * (F(2x2, 3x3): 5e-7; float32 direct: 1e-7), which tests/test_winograd.c bounds.
 * Matrices (Lavin & Gray 2016, points 0, 1, -1, 2, -2, infinity):
 *   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0;
 *          0 4 0 -5 0 1]
 *   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
 *   Y = A^T [(G g G^T) . (B^T d B)] A
 * The weight gradient is its transpose (the derivative of sum(dy . Y) by g):
 *   dw = G^T [(A dy A^T) . (B^T d B)] G, summed over tiles before G^T (.) G,
 * reusing the forward input transform.
 *
 * On small maps a row of tiles is short (PSPNet's layer4, 16 x 16 maps at dilation 4, is
 * 4 x 4 sub-images of one tile each), so the tiles of the whole batch are ordered by
 * position first, then sub-image:
 *   tile t = (ty*TW + tx)*NS + m,   m = n*d*d + py*d + px   (polyphase.h's order),
 * and a channel of every sub-image is gathered with the NS = N*d*d sub-images innermost
 * (polyphase_gather_channel), so that every transform is contiguous SIMD arithmetic over
 * them (128 for layer4 at batch 8). The GEMMs do not care about the order of the tiles.
 * s is the full conv (winograd_applies; dilation 1 too). */
#ifndef REUSENET_WINOGRAD4_H
#define REUSENET_WINOGRAD4_H

#include <stdbool.h>
#include <stddef.h>

#include "conv2d.h"

size_t winograd4_workspace_floats(const Conv2dShape *s);
/* y = conv(x, w) + b, or += when accumulate (b may be NULL). Flipped: w is (C, O, 3, 3)
 * and the kernel of this conv is w transposed and flipped along both axes (the input
 * gradient of a conv with kernel w; winograd_conv_dx). */
void winograd4_conv(const Conv2dShape *s, const float *x, const float *w, const float *b,
                    float *y, bool accumulate, bool flipped, float *work);

size_t winograd4_dw_workspace_floats(const Conv2dShape *s);
/* dw += dL/dw from x and dy (N, O, OH, OW). */
void winograd4_conv_dw(const Conv2dShape *s, const float *x, const float *dy, float *dw,
                       float *work);

#endif
