#include <math.h>
#include <stdlib.h>

#include "engine/error.h"
#include "reuse/cka.h"

/* Centre the columns: a copy in double. */
static double *centred(const float *x, int n, int p)
{
    double *c = xmalloc(sizeof *c * (size_t)n * p), *mean = xcalloc((size_t)p, sizeof *mean);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < p; j++) mean[j] += x[(size_t)i * p + j];
    for (int j = 0; j < p; j++) mean[j] /= n;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < p; j++) c[(size_t)i * p + j] = x[(size_t)i * p + j] - mean[j];
    free(mean);
    return c;
}

/* ||X'Y||_F^2 for X n x p, Y n x q: each row of X'Y summed over samples in order. */
static double cross_frobenius2(const double *x, int n, int p, const double *y, int q)
{
    double total = 0;
    double *row = xmalloc(sizeof *row * (size_t)q);
    for (int a = 0; a < p; a++) {
        for (int b = 0; b < q; b++) row[b] = 0;
        for (int i = 0; i < n; i++) {
            const double xa = x[(size_t)i * p + a];
            const double *yi = y + (size_t)i * q;
            for (int b = 0; b < q; b++) row[b] += xa * yi[b];
        }
        for (int b = 0; b < q; b++) total += row[b] * row[b];
    }
    free(row);
    return total;
}

/* The Gram matrix's pieces without forming it: diag(K) and K1 (diagonal removed). */
static void gram_parts(const double *x, int n, int p, double *diag, double *k1)
{
    double *colsum = xcalloc((size_t)p, sizeof *colsum);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < p; j++) colsum[j] += x[(size_t)i * p + j];
    for (int i = 0; i < n; i++) {
        double d = 0, s = 0;
        for (int j = 0; j < p; j++) {
            const double v = x[(size_t)i * p + j];
            d += v * v;
            s += v * colsum[j];
        }
        diag[i] = d;
        k1[i] = s - d;
    }
    free(colsum);
}

/* HSIC1 from tr(K~L~), K~1, L~1 (n entries each). */
static double hsic1(int n, double trace_kl, const double *k1, const double *l1)
{
    double sk = 0, sl = 0, kl = 0;
    for (int i = 0; i < n; i++) {
        sk += k1[i];
        sl += l1[i];
        kl += k1[i] * l1[i];         /* 1'K~ L~ 1 = (K~1).(L~1): both symmetric */
    }
    const double dn = n;
    return (trace_kl + sk * sl / ((dn - 1) * (dn - 2)) - 2.0 / (dn - 2) * kl) / (dn * (dn - 3));
}

double cka_linear_unbiased(const float *xf, int n, int p, const float *yf, int q)
{
    CHECK(n >= 4, "cka: needs at least 4 samples, got %d", n);
    double *x = centred(xf, n, p), *y = centred(yf, n, q);
    double *dx = xmalloc(sizeof *dx * (size_t)n), *kx = xmalloc(sizeof *kx * (size_t)n);
    double *dy = xmalloc(sizeof *dy * (size_t)n), *ky = xmalloc(sizeof *ky * (size_t)n);
    gram_parts(x, n, p, dx, kx);
    gram_parts(y, n, q, dy, ky);
    double dxy = 0, dxx = 0, dyy = 0;
    for (int i = 0; i < n; i++) {
        dxy += dx[i] * dy[i];
        dxx += dx[i] * dx[i];
        dyy += dy[i] * dy[i];
    }
    const double hxy = hsic1(n, cross_frobenius2(x, n, p, y, q) - dxy, kx, ky);
    const double hxx = hsic1(n, cross_frobenius2(x, n, p, x, p) - dxx, kx, kx);
    const double hyy = hsic1(n, cross_frobenius2(y, n, q, y, q) - dyy, ky, ky);
    free(x);
    free(y);
    free(dx);
    free(kx);
    free(dy);
    free(ky);
    if (!(hxx > 0) || !(hyy > 0)) return NAN;
    return hxy / sqrt(hxx * hyy);
}
