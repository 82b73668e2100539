/* BN recalibration (AdaBN, Li et al. 2016; docs/method.md, "Recalibration"): set the
 * running mean and variance of every BN layer to the exact mean and unbiased variance of
 * its input over all given slices (the training images of the target, evaluation crop, no
 * augmentation, no gradient).
 *
 * What PyTorch computes with momentum=None after reset_running_stats() when all images
 * form one batch in train mode: each BN normalises with the batch's mean and biased
 * variance and records mean and unbiased variance. Each BN's input depends on the BNs
 * before it, so the layers are done in forward order: for BN k, every batch runs up to
 * conv k (through BNs 1..k-1 normalising with their new mean and biased variance, as the
 * one big batch would), and per-channel sums of (x - shift) and (x - shift)^2 are added in
 * double, shift = the channel's first value (against cancellation). At the end every
 * recalibrated variance becomes unbiased: var * n / (n - 1), n = N * H * W.
 *
 * Cost: batches whose activations fit the memory budget keep them between layers (one
 * forward pass in all: each BN's input is computed once, for its sums and for the layers
 * after it); the others run from the input for every BN layer.
 *
 * Resumed (bn_recalibrate_from): after a swap at step j of a recalibrated model, the BNs
 * in front of j keep their statistics and their inputs; each batch's pass then starts at j
 * from the recalibrated model's own pass (bn_recal_keep_passes), not from the input. */
#ifndef REUSENET_RECALIBRATE_H
#define REUSENET_RECALIBRATE_H

#include <stddef.h>

#include "datasets/slice.h"
#include "models/model.h"
#include "reuse/kept_pass.h"

/* Recalibrate the BN layers of m whose step (forward_graph.h) is >= first_step; those
 * before keep their statistics (a swap at a later layer does not change their input).
 * batch: slices per pass; budget: bytes of activations kept across layers. */
void bn_recalibrate(Model *m, const SliceSet *set, int batch, int first_step, size_t budget);

/* The passes of a recalibrated model over every batch of its set, as the recalibration
 * ran them (each BN normalising with its mean and biased variance): batch i is kept[i]
 * for i < n (those that fit the budget); the others are recomputed from the input. */
typedef struct RecalPasses {
    KeptPass *kept;
    int n, batch;
    size_t bytes;            /* kept */
    size_t per_batch;        /* the peak memory of one batch's pass */
} RecalPasses;

/* m as bn_recalibrate(m, set, batch, 0, ..) left it. m is unchanged on return. */
void bn_recal_keep_passes(Model *m, const SliceSet *set, int batch, size_t budget,
                          RecalPasses *out);
void bn_recal_passes_free(RecalPasses *p);
/* bn_recalibrate resumed at first_step from passes of the same set and batch size (NULL:
 * from the input), taken of m's state before the swap; the same statistics bit for bit. */
void bn_recalibrate_from(Model *m, const SliceSet *set, int batch, int first_step,
                         size_t budget, const RecalPasses *from);

#endif
