/* BN recalibration (AdaBN, Li et al. 2016; spec/reuse.md section 6): set the running mean
 * and variance of every BN layer to the exact mean and unbiased variance of its input
 * over all given slices (the training images of the target, evaluation crop, no
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
 * forward pass in all); the others run from the input for every BN layer. */
#ifndef REUSENET_RECALIBRATE_H
#define REUSENET_RECALIBRATE_H

#include <stddef.h>

#include "datasets/slice.h"
#include "models/model.h"

/* Recalibrate the BN layers of m whose step (forward_graph.h) is >= first_step; those
 * before keep their statistics (a swap at a later layer does not change their input).
 * batch: slices per pass; budget: bytes of activations kept across layers. */
void bn_recalibrate(Model *m, const SliceSet *set, int batch, int first_step, size_t budget);

#endif
