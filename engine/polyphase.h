/* A dilated convolution as an undilated one on polyphase sub-images.
 *
 * With dilation d, stride 1, pad = d*p and H, W multiples of d, output pixel
 * (py + d*vy, px + d*vx) reads only input pixels (py + d*iy, px + d*ix): the conv is, for
 * each of the d*d phases (py, px), the undilated conv with pad p of the sub-image
 * x[py + d*vy, px + d*vx] (H/d x W/d) into the same phase of y. Gathering the sub-images
 * into a batch of N*d*d images (image n*d*d + py*d + px) turns the dilated conv into one
 * undilated conv on that batch (polyphase_conv_shape), whose outputs are scattered back.
 * Winograd (winograd.c) computes PSPNet's dilated layers this way. */
#ifndef REUSENET_POLYPHASE_H
#define REUSENET_POLYPHASE_H

#include <stdbool.h>

#include "conv2d.h"

/* The undilated conv on the sub-images of s (dilation d, pad a multiple of d, H and W
 * multiples of d): (N*d*d, C, H/d, W/d) -> (N*d*d, O, OH/d, OW/d). */
Conv2dShape polyphase_conv_shape(const Conv2dShape *s);
/* xp (N*d*d, C, H/d, W/d) = the phases of x (N, C, H, W). */
void polyphase_gather(int n, int c, int h, int w, int d, const float *x, float *xp);
/* y (N, C, H, W) = (or += when accumulate) the image whose phases are yp. */
void polyphase_scatter(int n, int c, int h, int w, int d, const float *yp, float *y,
                       bool accumulate);

/* One channel c of every sub-image, batch-innermost (winograd4.h): buf
 * (H/d, W/d, N*d*d) with buf[(vy*W/d + vx)*N*d*d + n*d*d + py*d + px] =
 * x[n, c, py + d*vy, px + d*vx], for x (N, channels, H, W). */
void polyphase_gather_channel(int n, int channels, int h, int w, int d, const float *x, int c,
                              float *buf);
/* Channel c of y (N, channels, H, W) = (or += when accumulate) the sub-images in buf, the
 * inverse of polyphase_gather_channel. */
void polyphase_scatter_channel(int n, int channels, int h, int w, int d, const float *buf,
                               int c, float *y, bool accumulate);

#endif
