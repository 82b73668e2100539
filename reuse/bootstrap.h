/* The paired bootstrap over validation patients (docs/method.md, "The paired bootstrap
 * over patients").
 *
 * Draw B resamples of the P patients with replacement (seeded); in resample b the pooled
 * mean Dice of a model is recomputed from the summed per-patient counts of the drawn
 * patients (a patient drawn twice counts twice), for the baseline and the modified model
 * alike, and D*_b = mean(modified) - mean(baseline). The 95 % interval is the 2.5th and
 * 97.5th percentiles of D* (stats_quantile, NumPy's linear rule). The same resamples
 * serve every comparison of a scan (paired across rows too). A model against itself
 * gives [0, 0]. */
#ifndef REUSENET_BOOTSTRAP_H
#define REUSENET_BOOTSTRAP_H

#include <stdint.h>

#include "train/dice.h"

#define BOOTSTRAP_LEVEL 0.95

typedef struct Bootstrap {
    int resamples, patients;  /* B, P (the patients with pixels) */
    int *ids;                 /* [P] their patient ids in the tallies */
    int *draw;                /* [B * P] indices into ids: resample b is draw[b*P .. b*P+P-1] */
    int classes;
    unsigned evaluated;
} Bootstrap;

/* Resamples of the patients that have pixels in `like` (any tally of the scan): patient
 * index draw[b*P + i] = rng_below(P) from one stream seeded with seed. */
void bootstrap_init(Bootstrap *b, const DiceTally *like, int resamples, uint64_t seed,
                    unsigned evaluated);
void bootstrap_free(Bootstrap *b);
/* Pooled mean Dice of tally t over resample r's patients. */
double bootstrap_mean(const Bootstrap *b, const DiceTally *t, int r);
/* The 95 % interval [lo, hi] of mean(mod) - mean(base) over the resamples. */
void bootstrap_interval(const Bootstrap *b, const DiceTally *base, const DiceTally *mod,
                        double *lo, double *hi);

#endif
