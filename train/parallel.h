/* Data-parallel training over the ranks of an MPI job (engine/dist.h; README "Past one
 * machine: Open MPI").
 *
 * Every rank holds the whole model and optimizer state. Each step, rank r of R takes
 * its part of the global batch of B slices (batch_next_share: slices [rB/R, (r+1)B/R)
 * with the augmentation draws they have in the single-process batch), runs forward and
 * backward with batch norm over the global batch (tape.global_batch), and the ranks' parameter
 * gradients and loss shares are summed (parallel_sum_step): every rank then takes the same
 * optimizer step on the same numbers and the weights stay equal without being sent.
 * Rank 0 alone writes the run directory. */
#ifndef REUSENET_PARALLEL_H
#define REUSENET_PARALLEL_H

#include <stdint.h>

#include "engine/params.h"
#include "train/data.h"

/* All ranks: the gradient block and the loss, summed over the ranks (dist.h: in rank
 * order, the same bits for the same R). */
void parallel_sum_step(ParamStore *ps, double *loss);
/* A fingerprint of the training and validation slices (images and labels), so that
 * ranks which read other data refuse to start (dist_same). */
uint64_t parallel_data_fingerprint(const RunData *d);

#endif
