#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "reuse/logme.h"

/* Cyclic Jacobi (Golub and Van Loan, Algorithm 8.5.3): rotations zero each off-diagonal
 * element in turn until the off-diagonal mass is negligible against the whole. */
void sym_eigen(double *a, int n, double *w, double *v)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) v[(size_t)i * n + j] = i == j;
    double total = 0;
    for (size_t i = 0; i < (size_t)n * n; i++) total += a[i] * a[i];
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) off += a[(size_t)p * n + q] * a[(size_t)p * n + q];
        if (off <= 1e-30 * total || off == 0) break;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) {
                const double apq = a[(size_t)p * n + q];
                if (apq == 0) continue;
                const double theta = (a[(size_t)q * n + q] - a[(size_t)p * n + p]) / (2 * apq);
                const double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                const double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < n; k++) {          /* A <- A J (columns p, q) */
                    double *rk = a + (size_t)k * n;
                    const double akp = rk[p], akq = rk[q];
                    rk[p] = c * akp - s * akq;
                    rk[q] = s * akp + c * akq;
                }
                double *rp = a + (size_t)p * n, *rq = a + (size_t)q * n;
                for (int k = 0; k < n; k++) {          /* A <- J' A (rows p, q) */
                    const double apk = rp[k], aqk = rq[k];
                    rp[k] = c * apk - s * aqk;
                    rq[k] = s * apk + c * aqk;
                }
                for (int k = 0; k < n; k++) {          /* V <- V J */
                    double *vk = v + (size_t)k * n;
                    const double vkp = vk[p], vkq = vk[q];
                    vk[p] = c * vkp - s * vkq;
                    vk[q] = s * vkp + c * vkq;
                }
            }
    }
    for (int i = 0; i < n; i++) w[i] = a[(size_t)i * n + i];
}

/* Added to |m|^2 and |t - F m|^2 as the authors' code does: with features that say
 * nothing about a class, alpha grows without bound (m -> 0) and the evidence approaches a
 * finite limit that the 1e-5 keeps finite. */
#define LOGME_EPS 1e-5

/* The evidence of one class: z = V'F't (D), targets t (N). */
static double class_evidence(const double *f, int n, int d, const double *s, const double *v,
                             const double *z, const double *t, double *m)
{
    double alpha = 1, beta = 1, res2 = 0, m2 = 0;
    for (int iter = 0; iter < 1000; iter++) {
        double gamma = 0;
        for (int i = 0; i < d; i++) gamma += beta * s[i] / (alpha + beta * s[i]);
        /* m = V (beta z / (alpha + beta s)) */
        for (int i = 0; i < d; i++) m[i] = 0;
        for (int k = 0; k < d; k++) {
            const double zk = beta * z[k] / (alpha + beta * s[k]);
            for (int i = 0; i < d; i++) m[i] += v[(size_t)i * d + k] * zk;
        }
        m2 = 0;
        for (int i = 0; i < d; i++) m2 += m[i] * m[i];
        res2 = 0;
        for (int r = 0; r < n; r++) {
            double fm = 0;
            for (int i = 0; i < d; i++) fm += f[(size_t)r * d + i] * m[i];
            res2 += (t[r] - fm) * (t[r] - fm);
        }
        const double a_new = gamma / (m2 + LOGME_EPS), b_new = (n - gamma) / (res2 + LOGME_EPS);
        const bool done = fabs(a_new / b_new - alpha / beta) <= 1e-12 * (alpha / beta);
        alpha = a_new;
        beta = b_new;
        if (done) break;
    }
    /* the evidence at the final alpha, beta: m and the residual once more */
    for (int i = 0; i < d; i++) m[i] = 0;
    for (int k = 0; k < d; k++) {
        const double zk = beta * z[k] / (alpha + beta * s[k]);
        for (int i = 0; i < d; i++) m[i] += v[(size_t)i * d + k] * zk;
    }
    m2 = 0;
    res2 = 0;
    for (int i = 0; i < d; i++) m2 += m[i] * m[i];
    for (int r = 0; r < n; r++) {
        double fm = 0;
        for (int i = 0; i < d; i++) fm += f[(size_t)r * d + i] * m[i];
        res2 += (t[r] - fm) * (t[r] - fm);
    }
    double logdet = 0;
    for (int i = 0; i < d; i++) logdet += log(alpha + beta * s[i]);
    return (d / 2.0 * log(alpha) + n / 2.0 * log(beta) - 0.5 * logdet - beta / 2 * (res2 + LOGME_EPS) -
            alpha / 2 * (m2 + LOGME_EPS) - n / 2.0 * log(2 * M_PI)) / n;
}

double logme_score(const float *ff, int n, int d, const int64_t *y, int classes)
{
    double *f = xmalloc(sizeof *f * (size_t)n * d), *ftf = xcalloc((size_t)d * d, sizeof *ftf);
    for (size_t i = 0; i < (size_t)n * d; i++) f[i] = ff[i];
    for (int r = 0; r < n; r++)                     /* F'F, upper triangle then mirrored */
        for (int i = 0; i < d; i++) {
            const double fi = f[(size_t)r * d + i];
            for (int j = i; j < d; j++) ftf[(size_t)i * d + j] += fi * f[(size_t)r * d + j];
        }
    for (int i = 0; i < d; i++)
        for (int j = 0; j < i; j++) ftf[(size_t)i * d + j] = ftf[(size_t)j * d + i];
    double *s = xmalloc(sizeof *s * (size_t)d), *v = xmalloc(sizeof *v * (size_t)d * d);
    sym_eigen(ftf, d, s, v);
    for (int i = 0; i < d; i++) s[i] = s[i] > 0 ? s[i] : 0;     /* rounding below zero */
    double *t = xmalloc(sizeof *t * (size_t)n), *ft = xmalloc(sizeof *ft * (size_t)d);
    double *z = xmalloc(sizeof *z * (size_t)d), *m = xmalloc(sizeof *m * (size_t)d);
    double sum = 0;
    int used = 0;
    for (int c = 0; c < classes; c++) {
        int count = 0;
        for (int r = 0; r < n; r++) count += (t[r] = y[r] == c) != 0;
        if (!count) continue;
        for (int i = 0; i < d; i++) ft[i] = 0;
        for (int r = 0; r < n; r++)
            if (t[r] != 0)
                for (int i = 0; i < d; i++) ft[i] += f[(size_t)r * d + i];
        for (int k = 0; k < d; k++) {               /* z = V' F't */
            z[k] = 0;
            for (int i = 0; i < d; i++) z[k] += v[(size_t)i * d + k] * ft[i];
        }
        sum += class_evidence(f, n, d, s, v, z, t, m);
        used++;
    }
    free(f);
    free(ftf);
    free(s);
    free(v);
    free(t);
    free(ft);
    free(z);
    free(m);
    return used ? sum / used : NAN;
}

double leep_score(const float *p, int n, int z, const int64_t *y, int classes)
{
    double *joint = xcalloc((size_t)classes * z, sizeof *joint), *marg = xcalloc((size_t)z, sizeof *marg);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < z; k++) {
            joint[(size_t)y[i] * z + k] += p[(size_t)i * z + k] / n;
            marg[k] += p[(size_t)i * z + k] / n;
        }
    double total = 0;
    for (int i = 0; i < n; i++) {
        double e = 0;
        for (int k = 0; k < z; k++)
            if (marg[k] > 0) e += joint[(size_t)y[i] * z + k] / marg[k] * p[(size_t)i * z + k];
        total += log(e);
    }
    free(joint);
    free(marg);
    return total / n;
}
