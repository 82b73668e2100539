/* What the three swap scans share: the one with activation reuse (swap.c), the definition
 * it is tested against (swap_plain.c) and the recalibrated rows of --recalibrate
 * (swap_recal.c); plan validation (plan_validate.c) swaps with it too. The rows, the swap
 * itself, the input checks and the statistics of the end. */
#ifndef REUSENET_SWAP_ROWS_H
#define REUSENET_SWAP_ROWS_H

#include "reuse/swap.h"

/* The baseline, then every (layer, kind) present, layers in table order (1..L, head);
 * row_layer[i] is row i's table row (-1 for the baseline). Returns the row count. */
int swap_rows_list(Model *m, SwapRow **rows, int **row_layer);
/* 0, or -1 with a message: what the scan cannot run on. */
int swap_check_input(Model *target, const SwapDonors *donors, const SliceSet *set);
/* Row's tensor of model m. */
Param *swap_row_param(Model *m, int table_row, int role);
/* Copy donor's tensor into target's (backup gets the target's), or put backup back. */
void swap_row_in(Model *target, Model *donor, int table_row, int role, float *backup);
void swap_row_out(Model *target, int table_row, int role, const float *backup);
/* A buffer as large as the target's largest tensor. */
float *swap_backup_alloc(const Model *target);

/* Tallies [n_rows * DONOR_COUNT] for the baseline (donor 0) and every row of every donor
 * present (the others left zero); freed with swap_tallies_free. */
DiceTally *swap_tallies_alloc(const Model *target, const SwapDonors *donors, int n_rows,
                              const SliceSet *set);
void swap_tallies_free(DiceTally *t, int n_rows);

/* Fill out->rows' statistics from tallies[i * DONOR_COUNT + d] (row i, donor d; the
 * baseline row only with d = 0): Dice, deltas, intervals, trivial. */
void swap_scan_finish(SwapScan *out, const DiceTally *tallies, const SwapDonors *donors,
                      const SwapOptions *o);

/* --recalibrate: fill mean_recal and delta_recal of out's rows (swap_recal.c), the
 * source's tensor swapped in, BN statistics re-estimated on o->recal_set. target is
 * restored exactly. */
void swap_scan_recalibrate(Model *target, Model *source, const SliceSet *val,
                           const SwapOptions *o, SwapScan *out);

#endif
