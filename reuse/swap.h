/* The swap scan (spec/reuse.md, section 1; paper Figures 3, 4, 7, 8).
 *
 * For every numbered layer k and the head, and every parameter kind present there (RM,
 * RV, RW, RB: the BN's running mean, running variance, weight, bias; W, B: the conv's
 * weight and bias), copy that one tensor from the source S into the target T, evaluate T
 * in eval mode on the validation slices without any training, record the per-class Dice,
 * the mean and the change from T's own score, and put the tensor back. The unmodified T
 * is the baseline row. Dice is pooled over all slices (train/evaluate.h); the per-patient
 * mean Dice and its standard deviation are recorded too.
 *
 * Activation reuse: a swap at layer k leaves everything computed before layer k as it
 * was, so the scan runs the baseline once per batch, keeps the activations that the
 * later layers need (forward_graph.h, resume_plan.h; within the memory budget), and
 * resumes every swapped forward pass at its layer. The numbers are bitwise those of
 * recomputing from the input (tests/test_reuse_swap.c). Batches are the outer loop, so the
 * cache holds one batch's activations at a time. */
#ifndef REUSENET_SWAP_H
#define REUSENET_SWAP_H

#include <stdbool.h>
#include <stdio.h>

#include "datasets/slice.h"
#include "models/model.h"
#include "train/evaluate.h"

typedef struct SwapRow {
    int layer;                       /* 1..L, 0 = head, -1 = the baseline row */
    char label[12];                  /* "1".."L", "head", "baseline" */
    int role;                        /* ParamRole; -1 for the baseline */
    char tensor[PARAM_NAME_MAX];     /* "enc1.bn1.running_mean"; "" for the baseline */
    double dice[EVAL_MAX_CLASSES];   /* pooled over the set */
    double mean;                     /* over background and the labelled classes */
    double delta;                    /* mean - the baseline's mean */
    double patient_mean, patient_sd; /* of the per-patient mean Dice */
} SwapRow;

typedef struct SwapOptions {
    unsigned labelled;               /* classes the data labels (bit c for class c) */
    int batch;                       /* slices per forward pass (default 8) */
    double memory_budget_mb;         /* kept activations of one batch; 0: keep none */
    bool reuse;                      /* false: every row from the input (the naive scan) */
    bool progress;                   /* progress line on stderr */
} SwapOptions;

typedef struct SwapStats {
    bool reuse;                      /* activation reuse was on */
    int batches;
    int resume_points, layers;       /* layers whose swaps resume at themselves, of all */
    double cache_mb;                 /* kept activations of the largest batch */
    double gmacs, gmacs_naive;       /* the swapped passes' work, with and without reuse */
    double seconds_baseline;         /* the baseline passes */
    double seconds_rows;             /* all swapped passes */
    double seconds_total;
} SwapStats;

typedef struct SwapScan {
    int classes;                     /* K */
    unsigned evaluated;              /* classes in the mean (eval_classes) */
    int n_rows;
    SwapRow *rows;                   /* rows[0] is the baseline */
    SwapStats stats;
} SwapScan;

void swap_options_defaults(SwapOptions *o);

/* Run the scan of target against source (same configuration) on set. target is modified
 * during the scan and restored exactly. 0, or -1 with a message (a target that is not a
 * segmentation model, an empty set, slices the model cannot take). */
int swap_scan(Model *target, Model *source, const SliceSet *set, const SwapOptions *o,
              SwapScan *out);
void swap_scan_free(SwapScan *s);

/* CSV: layer,kind,tensor,dice_0..dice_{K-1},mean,delta,patient_mean,patient_sd; the
 * baseline row first (layer "baseline", kind and tensor empty); classes outside the mean
 * have empty Dice fields. Atomic. 0 or -1. */
int swap_write_csv(const char *path, const SwapScan *s);
/* Baseline, the largest drops, and the time and work saved by activation reuse. */
void swap_print_summary(FILE *out, const SwapScan *s);

#endif
