/* Joint validation of a reuse plan (docs/method.md, "Reuse plans"): the scan judges every
 * tensor alone, but a plan loads them together.
 *
 *   whole        every tensor of the plan swapped in from the source at once
 *   cumulative   the plan's tensors of layers 1..k, for every layer k that has any (layer
 *                order: 1..L, head)
 *   greedy       start from nothing; each round, try the `candidates` tensors of the plan
 *                not yet taken whose own swap dropped the Dice least (the scan's delta), each
 *                added to the set, and add the one whose joint drop is smallest; stop when
 *                that drop exceeds tau or the plan is used up. At most candidates x tensors
 *                evaluations; the count is reported.
 *
 * Every set: the pooled mean Dice over the validation slices, its change from the
 * unmodified target and the paired bootstrap interval over patients (bootstrap.h, one set
 * of resamples for all). The whole plan is evaluated by the evaluation core from the input
 * (train/evaluate.h eval_dice). Cumulative and greedy use activation reuse (kept_pass.h),
 * batches as the outer loop: the cumulative sets as a chain, set k resumed at layer k from
 * set k-1's pass (its last point is the whole plan, bit for bit); each greedy round runs the
 * set so far once per batch and resumes every candidate at its own layer. */
#ifndef REUSENET_PLAN_VALIDATE_H
#define REUSENET_PLAN_VALIDATE_H

#include <stdint.h>
#include <stdio.h>

#include "datasets/slice.h"
#include "models/model.h"
#include "reuse/plan.h"

typedef struct PlanPoint {
    char layer[12];              /* cumulative: up to this layer; greedy: the added tensor's */
    char tensor[96];             /* greedy: the tensor added ("" otherwise) */
    int n_tensors;               /* in the set */
    double mean, delta;          /* pooled mean Dice and its change from the target's */
    double delta_lo, delta_hi;   /* 95 % paired bootstrap interval (NAN without resamples) */
} PlanPoint;

typedef struct PlanValidation {
    char target[64], source[64];  /* the models' names (file stems): the report links the
                                   * whole plan's change to Table 1's source of that name */
    double baseline_mean;
    int patients, resamples, slices;
    double tau;
    PlanPoint whole;
    PlanPoint *cumulative, *greedy;
    int n_cumulative, n_greedy;
    double greedy_stop;          /* the joint change that ended the greedy set (NAN: plan used up) */
    int candidates;              /* per greedy round */
    int evaluations;             /* sets evaluated in all (whole, cumulative, greedy) */
    double seconds;
} PlanValidation;

typedef struct ValidateOptions {
    unsigned labelled;           /* classes the data labels (bit c for class c) */
    int batch;                   /* slices per pass (default 8) */
    int resamples;               /* bootstrap resamples (default 1000; 0: no intervals) */
    uint64_t seed;               /* of the bootstrap (default 0) */
    int candidates;              /* per greedy round (default 4) */
    bool progress;               /* a line per stage on stderr */
} ValidateOptions;

void validate_options_defaults(ValidateOptions *o);
/* Validate plan p (its reusable tensors) of target with tensors from source on val.
 * target is restored exactly. 0, or -1 with a message (a plan tensor the target does not
 * have, an empty plan, what the swap scan cannot run on). */
int plan_validate(Model *target, Model *source, const Plan *p, const SliceSet *val,
                  const ValidateOptions *o, PlanValidation *out);
void plan_validation_free(PlanValidation *v);
void plan_validation_print(FILE *out, const PlanValidation *v);

#endif
