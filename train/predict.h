/* Segmenting a new image with a trained model, one 2-D slice at a time, on the slice's own
 * grid. The training preprocessing (datasets/preprocess.h) is applied and undone:
 *
 *   1. resampling: when the checkpoint records a training spacing s (mm per pixel), the
 *      H x W slice (spacing sy, sx) is resampled bilinearly to H' = round(H sy / s),
 *      W' = round(W sx / s) (preprocess_resample); without one, H' = H, W' = W.
 *   2. windows of the training size S: along an axis of length L <= S one window, placed
 *      as training's centre pad (start floor((L - S) / 2)); along a longer axis
 *      n = ceil((L - S) / (S / 2)) + 1 overlapping windows, starts round(i (L - S) / (n - 1)),
 *      so neighbours overlap by at least half a window and the first and last are flush
 *      with the edges (no pixel is left out, as a centre crop would). Outside the slice
 *      a window holds 0, as training's padding.
 *   3. each window is z-scored over its S x S pixels (preprocess_zscore, padding included,
 *      as in training) and run through the model (eval-mode BN).
 *   4. the logits of a pixel are averaged over the windows that cover it (K x H' x W');
 *   5. the logits are resized back to H x W (bilinear, align_corners=False: the exact
 *      inverse grid of step 1), then softmax gives the probabilities and the argmax the
 *      label (ties to the lower class): labels come from resampled logits, never from
 *      resampled labels. */
#ifndef REUSENET_PREDICT_H
#define REUSENET_PREDICT_H

#include <stdint.h>

#include "engine/tape.h"
#include "models/model.h"

typedef struct Predictor {
    Model *model;
    Tape tape;
    int size;              /* S */
    float spacing_mm;      /* 0: keep each slice's own spacing */
} Predictor;

/* Check that m segments (not an auto-encoder) and takes S x S inputs; 0, or -1 with the
 * message set. On success p is ready and must be freed with predictor_free. */
int predictor_init(Predictor *p, Model *m, int size, float spacing_mm);
void predictor_free(Predictor *p);

/* Largest slice side that predict_slice accepts; resampling is bounded apart
 * (preprocess_grid: a damaged header's spacing would otherwise ask for an enormous grid). */
#define PREDICT_MAX_SIDE 8192
/* The grid a slice is resampled to (step 1); -1 with the message set when resampling
 * would grow it beyond PREPROCESS_MAX_GROWN_SIDE or it is larger than PREDICT_MAX_SIDE. */
int predict_grid(const Predictor *p, int h, int w, const float spacing[2], int *rh, int *rw);

/* image (h, w), spacing = {mm between rows, mm between columns} ->
 * prob (K, h, w) class probabilities (may be NULL) and labels (h, w). 0 or -1 (message). */
int predict_slice(Predictor *p, const float *image, int h, int w, const float spacing[2],
                  float *prob, uint8_t *labels);

#endif
