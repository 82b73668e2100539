/* Rank correlation of a predictor with measured gains (docs/method.md, "Kendall's tau-b
 * and its bootstrap"): Kendall's tau-b and its 95 % bootstrap interval over the runs behind
 * each gain.
 *
 * tau-b = (C - D) / sqrt((P - Tx)(P - Ty)): C concordant and D discordant pairs among the
 * P = n(n-1)/2, Tx (Ty) pairs tied in x (y) (Kendall 1945; scipy.stats.kendalltau's
 * default). */
#ifndef REUSENET_RANKCORR_H
#define REUSENET_RANKCORR_H

#include <stdint.h>

/* NAN when n < 2 or either variable is constant. */
double kendall_tau_b(const double *x, const double *y, int n);

/* Gains from runs: point i's gain is mean(runs of config[i]) - mean(runs of base[i]);
 * runs[c] holds n_runs[c] values of configuration c. Each of `resamples` bootstrap
 * replicates draws every configuration's runs with replacement (seeded), recomputes the
 * gains and tau-b against pred; lo and hi are the 2.5th and 97.5th percentiles of the
 * finite replicates (NAN when there are none). */
void kendall_bootstrap(const double *pred, const int *config, const int *base, int n_points,
                       const double *const *runs, const int *n_runs, int n_configs,
                       int resamples, uint64_t seed, double *lo, double *hi);

#endif
