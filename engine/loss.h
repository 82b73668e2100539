/* Losses for segmentation (softmax cross-entropy, soft Dice) and reconstruction (mean
 * squared error). Each taped loss returns a scalar tensor (ndim 0) and records its
 * backward, so tape_backward(t, loss) starts from it.
 *
 * Class labels are int64 class indices, one per pixel, in a LabelMap (N,H,W) that must
 * match the logits (N,K,H,W); a label outside 0..K-1 stops the program naming the value
 * and the pixel. Every pixel counts (there is no "ignore" label).
 *
 * All sums are taken in double over fixed blocks of LOSS_BLOCK pixels, the blocks in
 * parallel and their partial sums then added in order, so the loss does not depend on
 * the number of threads. Softmax subtracts the per-pixel maximum before exp.
 *
 * In data-parallel training (tape.global_batch > 0, see tape.h) a taped loss returns this
 * rank's share n/G of the global batch's loss and records the gradient of the global loss
 * with respect to this rank's inputs: the means divide by the global count, the soft Dice
 * sums I, P, G over the ranks (engine/dist.h). The kernels below are unchanged. */
#ifndef REUSENET_LOSS_H
#define REUSENET_LOSS_H

#include <stdbool.h>
#include <stdint.h>

#include "tape.h"

/* Class index per pixel: data[(n*H + y)*W + x]. The caller owns data. */
typedef struct LabelMap {
    const int64_t *data;
    int n, h, w;
} LabelMap;

#define LOSS_BLOCK 4096
/* Number of LOSS_BLOCK blocks covering `count` pixels (or elements). */
size_t loss_block_count(size_t count);

/* ---- softmax cross-entropy (PyTorch F.cross_entropy, reduction "mean") -----------------
 *   L = 1/(N*H*W) * sum over pixels of [ log(sum_c exp z_c) - z_label ]
 *   dL/dz_c = (softmax(z)_c - [c == label]) / (N*H*W)
 * logits (N,K,H,W), labels (N,H,W), hw = H*W; partial: loss_block_count(N*H*W) doubles
 * of scratch. The backward kernel recomputes the softmax from the logits. */
double cross_entropy_forward(int n, int k, int hw, const float *logits, const int64_t *labels,
                             double *partial);
/* dlogits += dloss * dL/dlogits */
void cross_entropy_backward(int n, int k, int hw, const float *logits, const int64_t *labels,
                            float dloss, float *dlogits);
Tensor *loss_cross_entropy(Tape *t, Tensor *logits, const LabelMap *labels);

/* ---- mean squared error (PyTorch F.mse_loss, reduction "mean") ---------------------------
 *   L = 1/count * sum (pred - target)^2,  dL/dpred = 2 (pred - target) / count = -dL/dtarget
 * partial: loss_block_count(count) doubles of scratch. */
double mse_forward(size_t count, const float *pred, const float *target, double *partial);
/* dpred += dloss * dL/dpred, dtarget += dloss * dL/dtarget; either may be NULL. */
void mse_backward(size_t count, const float *pred, const float *target, float dloss,
                  float *dpred, float *dtarget);
/* Stops with both shapes unless pred and target have the same shape. */
Tensor *loss_mse(Tape *t, Tensor *pred, Tensor *target);

/* ---- soft Dice -----------------------------------------------------------------------
 * With p = softmax(logits) over classes and g = one-hot(labels), per class c, summed over
 * every pixel of the batch (N, H and W together):
 *   I_c = sum p_c g_c,  P_c = sum p_c,  G_c = sum g_c
 *   L = 1 - 1/|C| * sum_{c in C} (2 I_c + eps) / (P_c + G_c + eps)
 * C is all K classes, or 1..K-1 when include_background is false (class 0 is the
 * background). eps keeps a class absent from both prediction and labels at a score of 1
 * instead of 0/0; DICE_EPS (1.0) is the usual "smooth" value. */
#define DICE_EPS 1.0f
/* sums (3, K) <- rows I, P, G; returns L. partial: 3*K*loss_block_count(N*H*W) doubles. */
double dice_forward(int n, int k, int hw, const float *logits, const int64_t *labels,
                    float eps, bool include_background, double *sums, double *partial);
/* dlogits += dloss * dL/dlogits, given the sums of the forward pass:
 *   dL/dp_c = -1/|C| * (2 g_c / D_c - (2 I_c + eps) / D_c^2),  D_c = P_c + G_c + eps
 * (0 for a class outside C), then through the softmax: dz_c = p_c (dp_c - sum_j p_j dp_j). */
void dice_backward(int n, int k, int hw, const float *logits, const int64_t *labels,
                   const double *sums, float eps, bool include_background, float dloss,
                   float *dlogits);
/* Stops unless there is at least one class to score (K >= 2 without background). */
Tensor *loss_dice(Tape *t, Tensor *logits, const LabelMap *labels, float eps,
                  bool include_background);

#endif
