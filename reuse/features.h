/* Per-pixel activations of a model on a set of slices, for the representation predictors
 * (reuse/cka.h, reuse/logme.h): choose pixels, run one inference pass over the slices that
 * hold them (eval-mode BN), and read chosen values of the forward graph at those pixels.
 *
 * A pixel (slice, y, x) of the input reads a value of height h, width w at the cell
 * (floor((y + 0.5) h / H), floor((x + 0.5) w / W)): the cell it falls in (PSPNet's
 * stride-8 features, UNet's deeper stages). */
#ifndef REUSENET_FEATURES_H
#define REUSENET_FEATURES_H

#include <stdint.h>

#include "datasets/slice.h"
#include "models/model.h"

typedef struct PixelSample {
    int slice, y, x;
} PixelSample;

/* n pixels drawn uniformly, without replacement, from all pixels of the set (seeded),
 * sorted by slice; fewer when the set has fewer. Returns the count; *out malloc'ed. */
int pixels_uniform(const SliceSet *set, int n, uint64_t seed, PixelSample **out);
/* Class-balanced: up to n / classes pixels of each label 0..classes-1, drawn uniformly
 * without replacement among that class's pixels (reservoir sampling, seeded); per_class
 * [classes] receives how many of each. Sorted by slice. */
int pixels_balanced(const SliceSet *set, int classes, int n, uint64_t seed, PixelSample **out,
                    int *per_class);

/* The activation after each BN+ReLU, as the forward graph computes it: a layer's own
 * output where ReLU follows its BN; for a residual block's second conv, the block's
 * output relu(bn2 + shortcut) (a downsample has none of its own). Fills layer numbers and
 * value numbers (each of size n_layers); returns the count. */
int features_relu_points(const Model *m, int *layers, int *values);
/* The value the head reads (penultimate features) and the logits value. */
int features_penultimate_value(const Model *m);
int features_logits_value(const Model *m);

/* One pass over the slices holding samples (sorted by slice), `batch` slices per forward
 * pass: out[j] (malloc'ed, n x channels[j]) = value values[j] at each sample. */
void features_collect(Model *m, const SliceSet *set, const PixelSample *samples, int n,
                      const int *values, int n_values, int batch, float **out, int *channels);

#endif
