#include <math.h>
#include <stdlib.h>

#include "train/stats.h"

void stats_mean_sd(const double *x, int n, double *mean, double *sd)
{
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++) s += x[i];
    *mean = n ? s / n : 0;
    for (int i = 0; i < n; i++) ss += (x[i] - *mean) * (x[i] - *mean);
    *sd = n > 1 ? sqrt(ss / (n - 1)) : 0;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double stats_quantile(double *x, int n, double q)
{
    qsort(x, (size_t)n, sizeof *x, by_value);
    double h = (n - 1) * q;
    int lo = (int)floor(h);
    if (lo >= n - 1) return x[n - 1];
    if (lo < 0) return x[0];
    return x[lo] + (h - lo) * (x[lo + 1] - x[lo]);
}
