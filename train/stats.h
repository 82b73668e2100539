/* Descriptive statistics shared by evaluation, the swap scan and the transfer table. */
#ifndef REUSENET_STATS_H
#define REUSENET_STATS_H

/* Mean and sample standard deviation (divisor n - 1) of x[0..n-1]; mean 0 for n = 0,
 * sd 0 for n < 2. */
void stats_mean_sd(const double *x, int n, double *mean, double *sd);

/* The q-quantile (0 <= q <= 1) of x[0..n-1] (n >= 1) by linear interpolation between
 * order statistics, NumPy's default ("linear", method 7 of Hyndman and Fan):
 * position h = (n - 1) q, result x_(floor h) + (h - floor h) (x_(floor h + 1) - x_(floor h))
 * over the sorted values. x is sorted in place. */
double stats_quantile(double *x, int n, double q);

#endif
