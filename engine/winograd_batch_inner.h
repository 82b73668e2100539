/* Winograd's transforms (winograd.h) for small maps, SIMD over the batch.
 *
 * winograd.c's transforms run along a row of tiles, which on a small map is short:
 * PSPNet's layer4 (16 x 16 maps, dilation 4) is 4 x 4 sub-images of 2 x 2 tiles, so its
 * rows are 2 tiles wide and the input transform took a third as long as the GEMMs. Here
 * the tiles of the whole batch are ordered by position first, then sub-image:
 *   tile t = (ty*TW + tx)*NS + m,   m = n*d*d + py*d + px   (polyphase.h's order),
 * and a channel of every sub-image is gathered into a buffer (H/d, W/d, NS) with the NS
 * sub-images innermost, so every transform is contiguous SIMD arithmetic over the NS
 * sub-images (128 for layer4 at batch 8). The dilation's gather and scatter are part of
 * the same per-channel pass, and the GEMMs do not care about the order of the tiles.
 *
 * s is the full conv (winograd_applies; dilation 1 too), with sub = polyphase_conv_shape(s)
 * the undilated conv on the NS sub-images, whose tiles these are. V, M and U'' are
 * winograd.c's (16, channels, tiles), one channel per call; buf is the calling thread's
 * winograd_batch_inner_buffer_floats(&sub) floats. */
#ifndef REUSENET_WINOGRAD_BATCH_INNER_H
#define REUSENET_WINOGRAD_BATCH_INNER_H

#include <stdbool.h>
#include <stddef.h>

#include "conv2d.h"

size_t winograd_batch_inner_buffer_floats(const Conv2dShape *sub);
/* V[:, c, :] from channel c of x (N, C, H, W). */
void winograd_batch_inner_input(const Conv2dShape *s, const float *x, int c, float *v,
                                float *buf);
/* Channel o of y (N, O, OH, OW) = (or += when accumulate) A^T M A + b[o] (b may be NULL). */
void winograd_batch_inner_output(const Conv2dShape *s, const float *m, int o, const float *b,
                                 float *y, bool accumulate, float *buf);
/* U''[:, o, :] of the weight gradient (winograd.c) from channel o of dy (N, O, OH, OW). */
void winograd_batch_inner_dy(const Conv2dShape *s, const float *dy, int o, float *u,
                             float *buf);

#endif
