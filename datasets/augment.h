/* Seeded augmentation of a training slice (image and mask transformed together).
 *
 * One random draw per slice: a horizontal and a vertical flip (each with flip_prob), a
 * rotation by an angle uniform in [-rotate_deg, rotate_deg] and a zoom uniform in
 * [1 - scale, 1 + scale] about the image centre, and an intensity gamma
 * exp(uniform(-gamma, gamma)) applied to the image rescaled to [0, 1] and mapped back to
 * its range. The geometric part is one inverse mapping: bilinear for the image (outside
 * the slice: its minimum, i.e. background), nearest neighbour for the mask (outside: 0).
 * Same Rng state in, same bytes out. */
#ifndef REUSENET_AUGMENT_H
#define REUSENET_AUGMENT_H

#include <stdint.h>

#include "engine/rng.h"

typedef struct AugmentOptions {
    float flip_prob;      /* default 0.5 */
    float rotate_deg;     /* default 15 */
    float scale;          /* default 0.1 */
    float gamma;          /* default 0.3 (gamma in [0.74, 1.35]) */
} AugmentOptions;

void augment_defaults(AugmentOptions *o);
/* image/label size x size in; out_image/out_label size x size out (must not alias the input).
 * label and out_label may be NULL (auto-encoder targets need no mask). */
void augment_slice(const float *image, const uint8_t *label, int size, const AugmentOptions *o,
                   Rng *r, float *out_image, uint8_t *out_label);

#endif
