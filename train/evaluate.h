/* Evaluation of a model on a set of preprocessed slices (docs/method.md, "Metrics").
 *
 * Segmentation: the prediction is the argmax over the K output channels. Dice of class c
 * is 2|P_c ∩ G_c| / (|P_c| + |G_c|) counted over all pixels of the set together (pooled);
 * a class absent from both counts as 1. The mean is over the evaluated classes:
 * background plus the classes the dataset labels (all four for ACDC: the paper's mean).
 * Also the per-patient Dice (pooled within each patient), as mean and sd over patients.
 * The counting is train/dice.h's; the loss is engine/loss.h's cross-entropy.
 * Auto-encoder: every output channel should reproduce the input image; reported are the
 * MSE over all outputs and the PSNR 10 log10(range^2 / MSE) with range the max - min of
 * each slice, averaged over slices. */
#ifndef REUSENET_EVALUATE_H
#define REUSENET_EVALUATE_H

#include <stdint.h>

#include "datasets/slice.h"
#include "models/model.h"
#include "train/dice.h"

typedef struct EvalResult {
    int classes;                        /* K */
    unsigned evaluated;                 /* bit c: class c counts in the mean (bit 0 always) */
    double dice[EVAL_MAX_CLASSES];      /* pooled over the set */
    double mean_dice;                   /* mean over the evaluated classes */
    double patient_dice_mean[EVAL_MAX_CLASSES], patient_dice_sd[EVAL_MAX_CLASSES];
    double patient_mean_mean, patient_mean_sd;   /* of the per-patient mean Dice */
    int patients;
    double loss;                        /* mean cross-entropy (seg) or MSE (auto) */
    double mse, psnr;                   /* auto-encoder */
} EvalResult;

typedef struct EvalOptions {
    ModelTask task;
    unsigned labelled;                  /* bit c set for labelled classes 1..3 */
    int batch;                          /* slices per forward pass (default 8) */
    /* Under MPI (engine/dist.h, more than one rank): each rank evaluates its share of the
     * slices, [r*S/R, (r+1)*S/R), and the sums behind the result (integer Dice counts,
     * loss and PSNR sums) are added over the ranks, so every rank returns the whole set's
     * result. Counts are exact; the loss differs from one process's by rounding. */
    bool split_over_ranks;
} EvalOptions;

/* Evaluate m (eval-mode BN) on every slice of set (all S x S). Uses (and resets) tape. */
void evaluate_model(Model *m, Tape *tape, const SliceSet *set, const EvalOptions *o,
                    EvalResult *out);

/* x (n, C, S, S): slices start..start+n-1 of set, each image copied into every one of
 * x's C input channels. The input of every evaluation pass (eval, validation, swap). */
void eval_fill_input(Tensor *x, const SliceSet *set, int start, int n);

/* The evaluation loop: every batch of `batch` slices of set through m in eval mode, each
 * batch's logits y (n, K, S, S) handed to visit(y, start, ctx). Uses (and resets) tape;
 * restores its recording and training flags. */
typedef void (*EvalVisit)(const Tensor *y, int start, void *ctx);
void eval_batches(Model *m, Tape *tape, const SliceSet *set, int batch, EvalVisit visit,
                  void *ctx);
/* eval_batches into a Dice tally (dice_tally_init'ed for m's classes). */
void eval_dice(Model *m, Tape *tape, const SliceSet *set, int batch, DiceTally *d);

/* For every slice of set, DIR/slice_NNNN_<patient>.png: the image, the image with the
 * ground truth overlaid, and with the prediction overlaid, side by side (RV blue,
 * myocardium green, LV red). 0, or -1 with the message set. */
int eval_write_overlays(Model *m, Tape *tape, const SliceSet *set, const char *dir);
/* Overlay colours, also used by the report. */
void overlay_pixel(float gray01, int label, uint8_t rgb[3]);

#endif
