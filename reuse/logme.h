/* Transferability estimators: how well a source model's outputs suit a target's labels,
 * computed from one forward pass, without training.
 *
 * LogME (You et al., ICML 2021): for features F (N x D) and, per class c, the one-vs-rest
 * target t_c = [y == c], the log evidence of the Bayesian linear model t = F w + noise,
 * w ~ N(0, 1/alpha), noise ~ N(0, 1/beta), maximised over alpha and beta by the paper's
 * fixed point (Algorithm 1; iterated here until alpha/beta changes by < 1e-12), divided by
 * N and averaged over the classes:
 *   m      = beta V diag(1 / (alpha + beta s)) V' F' t       (F'F = V diag(s) V')
 *   gamma  = sum_i beta s_i / (alpha + beta s_i)
 *   alpha <- gamma / (|m|^2 + e),   beta <- (N - gamma) / (|t - F m|^2 + e)
 *   L      = D/2 log alpha + N/2 log beta - 1/2 sum_i log(alpha + beta s_i)
 *            - beta/2 (|t - F m|^2 + e) - alpha/2 (|m|^2 + e) - N/2 log(2 pi)
 * with e = 1e-5 as in the authors' code (it keeps alpha finite for useless features)
 * The eigendecomposition of F'F is a cyclic Jacobi sweep (symmetric, D x D), so no LAPACK
 * is needed.
 *
 * LEEP (Nguyen et al., ICML 2020) for a source that is itself a classifier: with theta_i
 * its softmax over source classes z, P(y, z) = 1/N sum_i theta_iz [y_i = y],
 * P(y | z) = P(y, z) / sum_y P(y, z), LEEP = 1/N sum_i log sum_z P(y_i | z) theta_iz.
 *
 * tests/test_predictors.c compares both with NumPy implementations. */
#ifndef REUSENET_LOGME_H
#define REUSENET_LOGME_H

#include <stdint.h>

/* Eigen-decomposition of the symmetric n x n matrix a (overwritten): eigenvalues w[n],
 * eigenvectors as the columns of v (n x n, row-major). */
void sym_eigen(double *a, int n, double *w, double *v);

/* f: N x D floats, y: N labels in 0..classes-1. Classes without samples are skipped; NAN
 * when none has any. */
double logme_score(const float *f, int n, int d, const int64_t *y, int classes);
/* p: N x Z probabilities (rows sum to 1), y: N labels in 0..classes-1. */
double leep_score(const float *p, int n, int z, const int64_t *y, int classes);

#endif
