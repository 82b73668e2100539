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
