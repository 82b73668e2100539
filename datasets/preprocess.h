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
/* 0 when the options make sense (size >= 1, spacing 0 or a finite positive number of mm),
 * else -1 with the message. */
int preprocess_check(const PreprocessOptions *o);

/* Resampling may grow a side of a slice to at most this many pixels (a slice that is
 * larger already may shrink): a damaged or absurd spacing (pixdim 100 mm against a 1.5 mm
 * model) would otherwise ask for an enormous grid, and minutes of work per slice. */
#define PREPROCESS_MAX_GROWN_SIDE 1024
/* The grid a h x w slice of spacing[] (mm between rows, columns) gets when resampled to
 * spacing_mm (step 1): rh = max(1, round(h sy / s)), rw alike. 0, or -1 with a message
 * naming the sizes when a side grows beyond PREPROCESS_MAX_GROWN_SIDE. */
int preprocess_grid(int h, int w, const float spacing[2], float spacing_mm, int *rh, int *rw);
/* A new S x S slice made from in (metadata copied, spacing updated). */
Slice preprocess_slice(const Slice *in, const PreprocessOptions *o);
/* Step 3 alone, in place on n intensities. */
void preprocess_zscore(float *img, size_t n);
/* Resampling alone (step 1): a new slice of the size that spacing_mm gives. */
Slice preprocess_resample(const Slice *in, float spacing_mm);

#endif
