/* Table 1's statistics over runs (docs/method.md, "Over runs: t-intervals" and "The
 * Wilcoxon signed-rank test").
 *
 * A configuration's runs are its seeds x subsets. Its mean Dice gets a 95 % t-interval,
 * mean +- t_{0.975, n-1} sd / sqrt(n); its paired difference to random initialisation
 * (the random run with the same seed and subset) gets the same interval of the mean
 * difference and a two-sided p-value from the Wilcoxon signed-rank test: zero
 * differences dropped (Wilcoxon's rule), exact null distribution for fewer than 25
 * non-zero pairs without tied |differences|, otherwise the normal approximation with
 * the tie correction and no continuity correction (SciPy's wilcoxon with
 * zero_method="wilcox", correction=False). With fewer than 2 runs there is no interval
 * (NaN), and with no non-zero difference no p-value (NaN). */
#ifndef REUSENET_TABLE_STATS_H
#define REUSENET_TABLE_STATS_H

#include <stdbool.h>

/* The q-quantile of Student's t distribution with df > 0 degrees of freedom. */
double student_t_quantile(double q, double df);
/* Student's t distribution function at t, df > 0. */
double student_t_cdf(double t, double df);

/* mean of x[0..n-1] and its 95 % t-interval [*lo, *hi] (NaN for n < 2). */
void t_interval95(const double *x, int n, double *mean, double *lo, double *hi);

typedef struct WilcoxonResult {
    int n;             /* non-zero differences */
    double r_plus;     /* sum of the ranks of |d| over the positive d */
    double p_value;    /* two-sided; NaN when n = 0 */
    bool exact;        /* exact null distribution (else the normal approximation) */
} WilcoxonResult;

/* The Wilcoxon signed-rank test of the differences d[0..n-1] (x - y of the pairs). */
WilcoxonResult wilcoxon_signed_rank(const double *d, int n);

#endif
