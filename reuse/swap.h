/* The swap scan (docs/method.md, "The swap scan"; paper Figures 3, 4, 7, 8).
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
 * later layers need (forward_graph.h, resume_points.h; within the memory budget), and
 * resumes every swapped forward pass at its layer. The numbers are bitwise those of
 * recomputing from the input (tests/test_reuse_swap.c, against swap_scan_plain, the
 * definition: swap, evaluate, restore). Batches are the outer loop, so the cache holds one
 * batch's activations at a time, and all a batch leaves for the next is counts: with
 * state_path they are kept after every batch, and a killed scan resumes from them to the
 * bits of an uninterrupted one (swap_state.h).
 *
 * Donors (docs/method.md, "Controls"): besides the source, a row's tensor can be taken from
 * the target's initial model (control `init`), from a fresh draw of its initialisation
 * rule (`random`, swap_controls.h) and from a model of the target's task trained from
 * another seed (`control`). Every donor runs in the same resumed passes. Each (row, donor)
 * keeps per-patient Dice counts, from which the paired bootstrap over patients
 * (bootstrap.h) gives the interval of delta and the `trivial` flag. */
#ifndef REUSENET_SWAP_H
#define REUSENET_SWAP_H

#include <stdbool.h>
#include <stdio.h>

#include "datasets/slice.h"
#include "models/model.h"
#include "util/csv.h"
#include "train/evaluate.h"

typedef enum SwapDonor { DONOR_SOURCE, DONOR_INIT, DONOR_RANDOM, DONOR_CONTROL, DONOR_COUNT } SwapDonor;

typedef struct SwapRow {
    int layer;                       /* 1..L, 0 = head, -1 = the baseline row */
    char label[12];                  /* "1".."L", "head", "baseline" */
    int role;                        /* ParamRole; -1 for the baseline */
    char tensor[PARAM_NAME_MAX];     /* "enc1.bn1.running_mean"; "" for the baseline */
    double dice[EVAL_MAX_CLASSES];   /* pooled over the set */
    double mean;                     /* over background and the labelled classes */
    double delta;                    /* mean - the baseline's mean */
    double patient_mean, patient_sd; /* of the per-patient mean Dice */
    double delta_lo, delta_hi;       /* 95 % paired bootstrap interval of delta */
    double delta_donor[DONOR_COUNT]; /* delta with the tensor from each donor (NAN: not run);
                                        [DONOR_SOURCE] = delta */
    int trivial;                     /* 1: no better than the random control, 0, -1: unknown */
    double mean_recal, delta_recal;  /* after swap and BN recalibration (NAN: not run) */
} SwapRow;

typedef struct SwapOptions {
    unsigned labelled;               /* classes the data labels (bit c for class c) */
    int batch;                       /* slices per forward pass (default 8) */
    double memory_budget_mb;         /* kept activations of one batch; 0: keep none */
    bool reuse;                      /* false: the plain scan (swap_scan_plain) */
    bool progress;                   /* progress line on stderr */
    int resamples;                   /* bootstrap resamples (default 1000; 0: no intervals) */
    uint64_t seed;                   /* of the bootstrap (default 0) */
    const SliceSet *recal_set;       /* the target's training slices: recalibrate (NULL: not) */
    const char *state_path;          /* the scan's state after every batch (swap_state.h; the
                                        scan with reuse only); NULL: none */
    bool resume;                     /* go on from state_path's state when it exists */
} SwapOptions;

typedef struct SwapStats {
    bool reuse;                      /* activation reuse was on */
    int batches;
    int batches_resumed;             /* done by an earlier run, from its state (--resume) */
    int resume_points, layers;       /* layers whose swaps resume at themselves, of all */
    double cache_mb;                 /* kept activations of the largest batch */
    double gmacs, gmacs_naive;       /* the swapped passes' work, with and without reuse */
    double seconds_baseline;         /* the baseline passes */
    double seconds_rows;             /* all swapped passes */
    double seconds_recal;            /* recalibration and the recalibrated evaluations */
    double seconds_total;
} SwapStats;

typedef struct SwapScan {
    int classes;                     /* K */
    unsigned evaluated;              /* classes in the mean (eval_classes) */
    int n_rows;
    SwapRow *rows;                   /* rows[0] is the baseline */
    bool donor[DONOR_COUNT];         /* which donors ran */
    int resamples, patients;         /* of the bootstrap (patients with pixels) */
    bool recalibrated;
    SwapStats stats;
} SwapScan;

/* The models a row's tensor is taken from: source required, the others NULL when absent.
 * All of the target's configuration. */
typedef struct SwapDonors {
    Model *model[DONOR_COUNT];
} SwapDonors;

void swap_options_defaults(SwapOptions *o);

/* Run the scan of target against the donors (o->reuse false: swap_scan_plain) on set. target is modified during the scan
 * and restored exactly. 0, or -1 with a message (a target that is not a segmentation
 * model, an empty set, slices the model cannot take). */
int swap_scan_donors(Model *target, const SwapDonors *donors, const SliceSet *set,
                     const SwapOptions *o, SwapScan *out);
/* The scan with the source as the only donor. */
int swap_scan(Model *target, Model *source, const SliceSet *set, const SwapOptions *o,
              SwapScan *out);
/* The definition the fast scan is tested against: for each row and donor, swap the
 * tensor in, evaluate the whole set from the input (train/evaluate.h), put it back. */
int swap_scan_plain(Model *target, const SwapDonors *donors, const SliceSet *set,
                    const SwapOptions *o, SwapScan *out);
void swap_scan_free(SwapScan *s);

/* CSV: layer,kind,tensor,dice_0..dice_{K-1},mean,delta,patient_mean,patient_sd,
 * delta_lo,delta_hi,delta_init,delta_random,delta_control,trivial,mean_recal,delta_recal;
 * the baseline row first (layer "baseline", kind and tensor empty); classes outside the
 * mean and statistics not computed are empty fields. Atomic. 0 or -1. */
int swap_write_csv(const char *path, const SwapScan *s);
/* Baseline, the largest drops, the controls, and the time and work saved by reuse. */
void swap_print_summary(FILE *out, const SwapScan *s);

#endif
