/* Dice from counts (docs/method.md, "Metrics" and "Per-patient counts"), the one
 * accumulator behind `eval`, training validation, the swap scan and its statistics.
 *
 * The prediction is the argmax over the K output channels (ties to the lower class, as
 * torch.argmax). For each class c the counts are TP = |P_c ∩ G_c|, |P_c| and |G_c|, so
 * FP = |P_c| - TP and FN = |G_c| - TP. Dice of a set of pixels is
 *   2 TP / (|P_c| + |G_c|)  =  2 TP / (2 TP + FP + FN),  1 when the denominator is 0,
 * and the mean is over the evaluated classes (background and the labelled ones). A
 * DiceTally keeps the counts pooled over the set and per patient, so that any set of
 * patients (a bootstrap resample) can be scored again from counts alone. */
#ifndef REUSENET_DICE_H
#define REUSENET_DICE_H

#include <stdint.h>

#include "datasets/slice.h"

#define EVAL_MAX_CLASSES 8

typedef struct DiceCounts {
    int64_t inter[EVAL_MAX_CLASSES], pred[EVAL_MAX_CLASSES], truth[EVAL_MAX_CLASSES];
} DiceCounts;

/* Add a batch's argmax prediction of logits (N, K, HW) against labels to counts. */
void dice_accumulate(const float *logits, int n, int k, int hw, const uint8_t *const *labels,
                     DiceCounts *counts);
/* Dice per class (into dice, if not NULL) and the mean over `evaluated` classes. */
double dice_from_counts(const DiceCounts *c, int k, unsigned evaluated, double *dice);
/* Bit mask of the classes that count: background and the labelled ones, below k. */
unsigned eval_classes(unsigned labelled, int k);
/* a += b */
void dice_counts_add(DiceCounts *a, const DiceCounts *b);

/* Counts pooled over the set and per patient (Slice.patient, 0..patients-1). */
typedef struct DiceTally {
    int classes, patients;
    DiceCounts total;
    DiceCounts *per_patient;         /* [patients] */
} DiceTally;

/* The summary of a tally: pooled Dice and, over the patients that have pixels, the mean
 * and sd of each class's and of the mean Dice per patient. */
typedef struct DiceSummary {
    double dice[EVAL_MAX_CLASSES];   /* pooled over the set */
    double mean;                     /* over the evaluated classes */
    double patient_dice_mean[EVAL_MAX_CLASSES], patient_dice_sd[EVAL_MAX_CLASSES];
    double patient_mean, patient_sd; /* of the per-patient mean Dice */
    int patients;                    /* patients with pixels */
} DiceSummary;

/* Patient ids of set run 0..sliceset_patients(set) - 1. */
int sliceset_patients(const SliceSet *set);
void dice_tally_init(DiceTally *d, int k, int patients);
void dice_tally_free(DiceTally *d);
/* Score logits (n, K, HW) of slices start..start+n-1 of set. */
void dice_tally_add(DiceTally *d, const float *logits, const SliceSet *set, int start, int n);
void dice_tally_summary(const DiceTally *d, unsigned evaluated, DiceSummary *out);

#endif
