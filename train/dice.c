#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "train/dice.h"
#include "train/stats.h"

unsigned eval_classes(unsigned labelled, int k)
{
    unsigned mask = 1u | labelled;
    if (k < 32) mask &= (1u << k) - 1;
    return mask;
}

void dice_accumulate(const float *logits, int n, int k, int hw, const uint8_t *const *labels,
                     DiceCounts *counts)
{
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * k * hw;
        const uint8_t *g = labels[i];
        for (int p = 0; p < hw; p++) {
            int best = 0;                 /* argmax; ties go to the lower class, as torch */
            for (int c = 1; c < k; c++)
                if (z[(size_t)c * hw + p] > z[(size_t)best * hw + p]) best = c;
            int truth = g[p] < k ? g[p] : 0;
            counts->pred[best]++;
            counts->truth[truth]++;
            if (best == truth) counts->inter[best]++;
        }
    }
}

double dice_from_counts(const DiceCounts *c, int k, unsigned evaluated, double *dice)
{
    double sum = 0;
    int used = 0;
    for (int j = 0; j < k && j < EVAL_MAX_CLASSES; j++) {
        int64_t denom = c->pred[j] + c->truth[j];
        double d = denom ? 2.0 * (double)c->inter[j] / (double)denom : 1.0;
        if (dice) dice[j] = d;
        if (evaluated & (1u << j)) {
            sum += d;
            used++;
        }
    }
    return used ? sum / used : 0;
}

void dice_counts_add(DiceCounts *a, const DiceCounts *b)
{
    for (int c = 0; c < EVAL_MAX_CLASSES; c++) {
        a->inter[c] += b->inter[c];
        a->pred[c] += b->pred[c];
        a->truth[c] += b->truth[c];
    }
}

int sliceset_patients(const SliceSet *set)
{
    int n = 0;
    for (int i = 0; i < set->count; i++)
        if (set->slices[i].patient + 1 > n) n = set->slices[i].patient + 1;
    return n;
}

void dice_tally_init(DiceTally *d, int k, int patients)
{
    CHECK(k >= 1 && k <= EVAL_MAX_CLASSES, "dice tally: %d classes", k);
    memset(d, 0, sizeof *d);
    d->classes = k;
    d->patients = patients;
    d->per_patient = xcalloc((size_t)(patients ? patients : 1), sizeof *d->per_patient);
}

void dice_tally_free(DiceTally *d)
{
    free(d->per_patient);
    memset(d, 0, sizeof *d);
}

void dice_tally_add(DiceTally *d, const float *logits, const SliceSet *set, int start, int n)
{
    const int k = d->classes;
    for (int i = 0; i < n; i++) {
        const Slice *s = &set->slices[start + i];
        CHECK(s->patient >= 0 && s->patient < d->patients, "dice tally: patient %d of %d",
              s->patient, d->patients);
        const int hw = s->height * s->width;
        const uint8_t *labels[1] = {s->label};
        const float *z = logits + (size_t)i * k * hw;
        dice_accumulate(z, 1, k, hw, labels, &d->total);
        dice_accumulate(z, 1, k, hw, labels, &d->per_patient[s->patient]);
    }
}

static bool has_pixels(const DiceCounts *c, int k)
{
    int64_t pixels = 0;
    for (int j = 0; j < k; j++) pixels += c->truth[j];
    return pixels > 0;
}

void dice_tally_summary(const DiceTally *d, unsigned evaluated, DiceSummary *out)
{
    const int k = d->classes, np = d->patients;
    memset(out, 0, sizeof *out);
    out->mean = dice_from_counts(&d->total, k, evaluated, out->dice);
    double *means = xmalloc(sizeof *means * (size_t)(np + 1));
    double *per_class = xmalloc(sizeof *per_class * (size_t)k * (np + 1));
    int n = 0;
    for (int p = 0; p < np; p++) {
        if (!has_pixels(&d->per_patient[p], k)) continue;
        double dice[EVAL_MAX_CLASSES];
        means[n] = dice_from_counts(&d->per_patient[p], k, evaluated, dice);
        for (int c = 0; c < k; c++) per_class[(size_t)c * (np + 1) + n] = dice[c];
        n++;
    }
    out->patients = n;
    stats_mean_sd(means, n, &out->patient_mean, &out->patient_sd);
    for (int c = 0; c < k; c++)
        stats_mean_sd(per_class + (size_t)c * (np + 1), n, &out->patient_dice_mean[c],
                      &out->patient_dice_sd[c]);
    free(means);
    free(per_class);
}
