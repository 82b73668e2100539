#include <stddef.h>

#include "polyphase.h"

Conv2dShape polyphase_conv_shape(const Conv2dShape *s)
{
    const int d = s->dilation;
    return conv2d_shape(s->n * d * d, s->c, s->h / d, s->w / d, s->o, 3, 3, 1, s->pad / d, 1);
}

/* Parallel over (image, channel) planes: each plane's phases are its own. */
void polyphase_gather(int n, int c, int h, int w, int d, const float *x, float *xp)
{
    const int hp = h / d, wp = w / d;
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)n * c * h * w > 65536)
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++) {
            const float *in = x + ((size_t)b * c + ch) * h * w;
            for (int ph = 0; ph < d * d; ph++) {
                const int py = ph / d, px = ph % d;
                float *out = xp + (((size_t)b * d * d + ph) * c + ch) * hp * wp;
                for (int vy = 0; vy < hp; vy++)
                    for (int vx = 0; vx < wp; vx++)
                        out[vy * wp + vx] = in[(size_t)(py + d * vy) * w + px + d * vx];
            }
        }
}

void polyphase_scatter(int n, int c, int h, int w, int d, const float *yp, float *y,
                       bool accumulate)
{
    const int hp = h / d, wp = w / d;
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)n * c * h * w > 65536)
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++) {
            float *out = y + ((size_t)b * c + ch) * h * w;
            for (int ph = 0; ph < d * d; ph++) {
                const int py = ph / d, px = ph % d;
                const float *in = yp + (((size_t)b * d * d + ph) * c + ch) * hp * wp;
                for (int vy = 0; vy < hp; vy++)
                    for (int vx = 0; vx < wp; vx++) {
                        float *dst = out + (size_t)(py + d * vy) * w + px + d * vx;
                        *dst = accumulate ? *dst + in[vy * wp + vx] : in[vy * wp + vx];
                    }
            }
        }
}

/* A row of x is W/d runs of d pixels (px = 0..d-1), each run contiguous in buf too.
 * Inlined for each dilation PSPNet has, so that a run is one small vector move. */
static inline __attribute__((always_inline)) void
polyphase_gather_channel_d(int n, int channels, int h, int w, const int d, const float *x,
                           int c, float *buf)
{
    const int hd = h / d, wd = w / d;
    const size_t ns = (size_t)n * d * d;
    for (int b = 0; b < n; b++) {
        const float *plane = x + ((size_t)b * channels + c) * h * w;
        for (int py = 0; py < d; py++)
            for (int vy = 0; vy < hd; vy++) {
                const float *row = plane + (size_t)(py + d * vy) * w;
                float *dst = buf + (size_t)vy * wd * ns + (size_t)b * d * d + py * d;
                for (int vx = 0; vx < wd; vx++)
                    for (int px = 0; px < d; px++) dst[vx * ns + px] = row[d * vx + px];
            }
    }
}

void polyphase_gather_channel(int n, int channels, int h, int w, int d, const float *x, int c,
                              float *buf)
{
    switch (d) {
    case 1: polyphase_gather_channel_d(n, channels, h, w, 1, x, c, buf); break;
    case 2: polyphase_gather_channel_d(n, channels, h, w, 2, x, c, buf); break;
    case 4: polyphase_gather_channel_d(n, channels, h, w, 4, x, c, buf); break;
    default: polyphase_gather_channel_d(n, channels, h, w, d, x, c, buf); break;
    }
}

/* Channel c of y (N, C, H, W) = (or += when accumulate) the sub-images in buf, the
 * inverse of polyphase_gather_channel. */
static inline __attribute__((always_inline)) void
polyphase_scatter_channel_d(int n, int channels, int h, int w, const int d, const float *buf,
                            int c, float *y, bool accumulate)
{
    const int hd = h / d, wd = w / d;
    const size_t ns = (size_t)n * d * d;
    for (int b = 0; b < n; b++) {
        float *plane = y + ((size_t)b * channels + c) * h * w;
        for (int py = 0; py < d; py++)
            for (int vy = 0; vy < hd; vy++) {
                float *row = plane + (size_t)(py + d * vy) * w;
                const float *src = buf + (size_t)vy * wd * ns + (size_t)b * d * d + py * d;
                if (accumulate)
                    for (int vx = 0; vx < wd; vx++)
                        for (int px = 0; px < d; px++) row[d * vx + px] += src[vx * ns + px];
                else
                    for (int vx = 0; vx < wd; vx++)
                        for (int px = 0; px < d; px++) row[d * vx + px] = src[vx * ns + px];
            }
    }
}

void polyphase_scatter_channel(int n, int channels, int h, int w, int d, const float *buf,
                               int c, float *y, bool accumulate)
{
    switch (d) {
    case 1: polyphase_scatter_channel_d(n, channels, h, w, 1, buf, c, y, accumulate); break;
    case 2: polyphase_scatter_channel_d(n, channels, h, w, 2, buf, c, y, accumulate); break;
    case 4: polyphase_scatter_channel_d(n, channels, h, w, 4, buf, c, y, accumulate); break;
    default: polyphase_scatter_channel_d(n, channels, h, w, d, buf, c, y, accumulate); break;
    }
}
