#include <math.h>
#include <stdlib.h>

#include "engine/error.h"
#include "engine/rng.h"
#include "reuse/bootstrap.h"
#include "train/stats.h"

void bootstrap_init(Bootstrap *b, const DiceTally *like, int resamples, uint64_t seed,
                    unsigned evaluated)
{
    b->resamples = resamples;
    b->classes = like->classes;
    b->evaluated = evaluated;
    b->ids = xmalloc(sizeof *b->ids * (size_t)(like->patients + 1));
    b->patients = 0;
    for (int p = 0; p < like->patients; p++) {
        int64_t pixels = 0;
        for (int c = 0; c < like->classes; c++) pixels += like->per_patient[p].truth[c];
        if (pixels) b->ids[b->patients++] = p;
    }
    const size_t n = (size_t)resamples * b->patients;
    b->draw = xmalloc(sizeof *b->draw * (n ? n : 1));
    Rng r;
    rng_seed(&r, seed, 0x626f6f74);       /* "boot" */
    for (size_t i = 0; i < n; i++) b->draw[i] = (int)rng_below(&r, (uint32_t)b->patients);
}

void bootstrap_free(Bootstrap *b)
{
    free(b->ids);
    free(b->draw);
}

double bootstrap_mean(const Bootstrap *b, const DiceTally *t, int r)
{
    DiceCounts sum = {0};
    const int *d = b->draw + (size_t)r * b->patients;
    for (int i = 0; i < b->patients; i++) dice_counts_add(&sum, &t->per_patient[b->ids[d[i]]]);
    return dice_from_counts(&sum, b->classes, b->evaluated, NULL);
}

void bootstrap_interval(const Bootstrap *b, const DiceTally *base, const DiceTally *mod,
                        double *lo, double *hi)
{
    if (!b->resamples || !b->patients) {
        *lo = *hi = NAN;
        return;
    }
    double *d = xmalloc(sizeof *d * (size_t)b->resamples);
    for (int r = 0; r < b->resamples; r++)
        d[r] = bootstrap_mean(b, mod, r) - bootstrap_mean(b, base, r);
    *lo = stats_quantile(d, b->resamples, (1 - BOOTSTRAP_LEVEL) / 2);
    *hi = stats_quantile(d, b->resamples, (1 + BOOTSTRAP_LEVEL) / 2);
    free(d);
}
