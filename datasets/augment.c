#include <math.h>
#include <stddef.h>

#include "datasets/augment.h"

void augment_defaults(AugmentOptions *o)
{
    o->flip_prob = 0.5f;
    o->rotate_deg = 15.0f;
    o->scale = 0.1f;
    o->gamma = 0.3f;
}

void augment_slice(const float *image, const uint8_t *label, int size, const AugmentOptions *o,
                   Rng *r, float *out_image, uint8_t *out_label)
{
    /* Draw every parameter first, always in the same order, so the stream does not depend
     * on the options' values being zero or not. */
    int flip_x = rng_uniform(r) < o->flip_prob;
    int flip_y = rng_uniform(r) < o->flip_prob;
    double angle = (2.0 * rng_uniform(r) - 1.0) * o->rotate_deg * M_PI / 180.0;
    double zoom = 1.0 + (2.0 * rng_uniform(r) - 1.0) * o->scale;
    double gamma = exp((2.0 * rng_uniform(r) - 1.0) * o->gamma);

    size_t n = (size_t)size * size;
    float lo = image[0], hi = image[0];
    for (size_t i = 1; i < n; i++) {
        if (image[i] < lo) lo = image[i];
        if (image[i] > hi) hi = image[i];
    }
    /* Output pixel p maps to source c + R(-angle) (p - c) / zoom, then flipped. */
    double c = (size - 1) / 2.0, ca = cos(angle) / zoom, sa = sin(angle) / zoom;
    for (int y = 0; y < size; y++) {
        for (int x = 0; x < size; x++) {
            double dx = x - c, dy = y - c;
            double sx = c + ca * dx + sa * dy, sy = c - sa * dx + ca * dy;
            if (flip_x) sx = (size - 1) - sx;
            if (flip_y) sy = (size - 1) - sy;
            size_t o_i = (size_t)y * size + x;
            /* bilinear, with pixels outside the slice taken as the background value lo */
            int x0 = (int)floor(sx), y0 = (int)floor(sy);
            double tx = sx - x0, ty = sy - y0, v = 0;
            for (int k = 0; k < 4; k++) {
                int xi = x0 + (k & 1), yi = y0 + (k >> 1);
                double w = ((k & 1) ? tx : 1 - tx) * ((k >> 1) ? ty : 1 - ty);
                float p = xi >= 0 && xi < size && yi >= 0 && yi < size ? image[(size_t)yi * size + xi] : lo;
                v += w * p;
            }
            if (hi > lo) {
                double u = (v - lo) / (hi - lo);          /* in [0, 1] up to rounding */
                v = lo + (hi - lo) * pow(u > 0 ? u : 0, gamma);
            }
            out_image[o_i] = (float)v;
            if (out_label) {
                int nx = (int)lround(sx), ny = (int)lround(sy);
                out_label[o_i] = nx >= 0 && nx < size && ny >= 0 && ny < size ? label[(size_t)ny * size + nx] : 0;
            }
        }
    }
}
