#include <math.h>
#include <stdlib.h>

#include "engine/error.h"
#include "engine/rng.h"
#include "util/rankcorr.h"

static int sign(double v)
{
    return (v > 0) - (v < 0);
}

double kendall_tau_b(const double *x, const double *y, int n)
{
    double con = 0, dis = 0, tx = 0, ty = 0, pairs = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            const int a = sign(x[i] - x[j]), b = sign(y[i] - y[j]);
            pairs++;
            tx += a == 0;
            ty += b == 0;
            if (a * b > 0) con++;
            else if (a * b < 0) dis++;
        }
    const double den = sqrt((pairs - tx) * (pairs - ty));
    return den > 0 ? (con - dis) / den : NAN;
}

static int compare_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of sorted v[0..n-1], linear between order statistics (NumPy's default). */
static double quantile(const double *v, int n, double q)
{
    const double h = (n - 1) * q;
    const int i = (int)floor(h);
    return i + 1 < n ? v[i] + (h - i) * (v[i + 1] - v[i]) : v[n - 1];
}

void kendall_bootstrap(const double *pred, const int *config, const int *base, int n_points,
                       const double *const *runs, const int *n_runs, int n_configs,
                       int resamples, uint64_t seed, double *lo, double *hi)
{
    double *mean = xmalloc(sizeof *mean * (size_t)(n_configs + 1));
    double *gain = xmalloc(sizeof *gain * (size_t)(n_points + 1));
    double *taus = xmalloc(sizeof *taus * (size_t)(resamples + 1));
    int kept = 0;
    Rng r;
    rng_seed(&r, seed, 16);
    for (int b = 0; b < resamples; b++) {
        for (int c = 0; c < n_configs; c++) {
            double s = 0;
            for (int k = 0; k < n_runs[c]; k++) s += runs[c][rng_below(&r, (uint32_t)n_runs[c])];
            mean[c] = n_runs[c] ? s / n_runs[c] : NAN;
        }
        for (int i = 0; i < n_points; i++) gain[i] = mean[config[i]] - mean[base[i]];
        const double t = kendall_tau_b(pred, gain, n_points);
        if (isfinite(t)) taus[kept++] = t;
    }
    qsort(taus, (size_t)kept, sizeof *taus, compare_double);
    *lo = kept ? quantile(taus, kept, 0.025) : NAN;
    *hi = kept ? quantile(taus, kept, 0.975) : NAN;
    free(mean);
    free(gain);
    free(taus);
}
