/* Preprocessing of a slice for the network, applied the same way to training and
 * validation data:
 *   1. optional in-plane resampling to a fixed spacing (bilinear for the image with
 *      PyTorch's align_corners=False sampling grid, nearest neighbour for the mask);
 *   2. centre crop or zero-pad to size x size (the crop starts at floor((H - size) / 2));
 *   3. per-slice z-score of the image: (x - mean) / std over the size x size result
 *      (std below 1e-6 counts as 1, so a blank slice stays finite). */
#ifndef REUSENET_PREPROCESS_H
#define REUSENET_PREPROCESS_H

#include <stddef.h>

#include "datasets/slice.h"

typedef struct PreprocessOptions {
    int size;             /* output side S (default 128) */
    float spacing_mm;     /* > 0: resample to this many mm per pixel first; 0: keep (default) */
    int zscore;           /* normalise intensities per slice (default 1) */
} PreprocessOptions;

void preprocess_defaults(PreprocessOptions *o);
/* A new S x S slice made from in (metadata copied, spacing updated). */
Slice preprocess_slice(const Slice *in, const PreprocessOptions *o);
/* Step 3 alone, in place on n intensities. */
void preprocess_zscore(float *img, size_t n);
/* Resampling alone (step 1): a new slice of the size that spacing_mm gives. */
Slice preprocess_resample(const Slice *in, float spacing_mm);

#endif
