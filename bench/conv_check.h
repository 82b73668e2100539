/* Spot checks of conv2d_forward / conv2d_backward against the definition, done before a
 * layer is timed (a benchmark of a wrong result measures nothing). A few elements chosen at
 * random are recomputed by engine/conv2d_direct.h (double sums of the formula there) and
 * must agree to 1e-4 of the sum of |terms|. The gradients must have been zero before
 * the backward call (the kernels accumulate). dx, db may be NULL when not computed.
 * 0, or -1 with error_set() naming the tensor, the element and both values. */
#ifndef REUSENET_CONV_CHECK_H
#define REUSENET_CONV_CHECK_H

#include "engine/conv2d.h"
#include "engine/rng.h"

int conv_check_forward(const Conv2dShape *s, const float *x, const float *w, const float *b,
                       const float *y, Rng *r, int count);
int conv_check_backward(const Conv2dShape *s, const float *x, const float *w, const float *dy,
                        const float *dx, const float *dw, const float *db, Rng *r, int count);

#endif
