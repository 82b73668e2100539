/* Mini-batches of preprocessed slices: images [N, 1, S, S] and labels [N, S, S].
 *
 * The order of epoch e is a shuffle drawn from (seed, e) alone, and the augmentation of
 * the k-th slice of epoch e from (seed, e, k) alone, so a run resumed at (epoch, position)
 * with batch_seek() produces exactly the batches the uninterrupted run would have: a
 * checkpoint only needs the seed, the epoch and the position.
 *
 *   BatchIterator it;
 *   batch_init(&it, &train_slices, &opts);
 *   for (int e = start_epoch; e < epochs; e++) {
 *       batch_seek(&it, e, 0);
 *       while ((n = batch_next(&it, images, labels)) > 0) train_step(images, labels, n);
 *   }
 *   batch_free(&it); */
#ifndef REUSENET_BATCH_H
#define REUSENET_BATCH_H

#include <stdint.h>

#include "datasets/augment.h"
#include "datasets/slice.h"

typedef struct BatchOptions {
    int batch_size;          /* N */
    uint64_t seed;
    int shuffle;             /* new random order every epoch (else dataset order) */
    int drop_last;           /* skip a last batch smaller than N (BatchNorm dislikes N = 1) */
    int augment;             /* apply augmentation with `aug` */
    AugmentOptions aug;
} BatchOptions;

typedef struct BatchIterator {
    const SliceSet *set;     /* every slice size x size (preprocessed) */
    int size;                /* S */
    BatchOptions opt;
    int epoch;               /* current epoch */
    int position;            /* index into order of the next slice */
    int *order;              /* slice indices in this epoch's order */
} BatchIterator;

/* Defaults: batch 8, seed 0, shuffle, keep the last batch, augmentation off (defaults set). */
void batch_defaults(BatchOptions *o);
/* The set must be non-empty and all its slices square of one size; starts at epoch 0. */
void batch_init(BatchIterator *it, const SliceSet *set, const BatchOptions *o);
/* Go to slice `position` of epoch `epoch` (recomputing that epoch's order). */
void batch_seek(BatchIterator *it, int epoch, int position);
/* Fill the next batch: images N*S*S floats, labels N*S*S (NULL to skip). Returns N for
 * this batch (the last one may be smaller), 0 when the epoch is over. */
int batch_next(BatchIterator *it, float *images, int64_t *labels);
/* Data-parallel training: part `part` of `parts` of the next batch, the slices
 * [part*N/parts, (part+1)*N/parts) of it with the augmentation draws they have in the
 * whole batch (the parts together are exactly batch_next's batch). Sets *batch_n to the
 * whole batch's N (0 when the epoch is over) and returns the part's slice count. */
int batch_next_share(BatchIterator *it, int part, int parts, float *images, int64_t *labels,
                     int *batch_n);
/* Batches in one epoch. */
int batch_count(const BatchIterator *it);
void batch_free(BatchIterator *it);

#endif
