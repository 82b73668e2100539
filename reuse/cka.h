/* Linear CKA (Kornblith et al. 2019) with the unbiased HSIC estimator (Song et al. 2012,
 * as Nguyen, Raghu and Kornblith 2021 use it): for n samples with features X (n x p) and
 * Y (n x q), columns centred, K = X X^T and L = Y Y^T with their diagonals set to zero,
 *
 *   HSIC1(K, L) = [tr(K L) + (1'K1)(1'L1) / ((n-1)(n-2)) - 2/(n-2) 1'K L 1] / (n (n-3))
 *   CKA = HSIC1(K, L) / sqrt(HSIC1(K, K) HSIC1(L, L))
 *
 * computed without the n x n matrices, in feature space (O(n p q), double precision):
 *   tr(K L) = ||X'Y||_F^2 - sum_i |x_i|^2 |y_i|^2,   K1 = X (X'1) - diag(K),  1'K1 = sum(K1).
 * tests/test_predictors.c compares it with the Gram-matrix formula in NumPy. */
#ifndef REUSENET_CKA_H
#define REUSENET_CKA_H

/* x: n x p, y: n x q floats, row-major; n >= 4. NAN when a representation is constant. */
double cka_linear_unbiased(const float *x, int n, int p, const float *y, int q);

#endif
