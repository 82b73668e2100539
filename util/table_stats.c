#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "util/table_stats.h"

/* The regularised incomplete beta function I_x(a, b) by its continued fraction
 * (modified Lentz), in the region x < (a + 1) / (a + b + 2) where it converges fast;
 * the other side through I_x(a, b) = 1 - I_{1-x}(b, a). */
static double beta_fraction(double a, double b, double x)
{
    const double tiny = 1e-300;
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    if (fabs(d) < tiny) d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 500; m++) {
        const int m2 = 2 * m;
        for (int half = 0; half < 2; half++) {
            const double num = half == 0 ? m * (b - m) * x / ((a + m2 - 1) * (a + m2))
                                         : -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
            d = 1 + num * d;
            if (fabs(d) < tiny) d = tiny;
            c = 1 + num / c;
            if (fabs(c) < tiny) c = tiny;
            d = 1 / d;
            h *= d * c;
        }
        if (fabs(d * c - 1) < 1e-15) break;
    }
    return h;
}

static double incomplete_beta(double a, double b, double x)
{
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    const double front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
    if (x < (a + 1) / (a + b + 2)) return front * beta_fraction(a, b, x) / a;
    return 1 - front * beta_fraction(b, a, 1 - x) / b;
}

/* P(T <= t) = 1 - I_{df/(df+t^2)}(df/2, 1/2) / 2 for t >= 0, symmetric below. Near
 * t = 0 that argument rounds to 1, so there the tail is taken from the complement,
 * I_{df/(df+t^2)}(df/2, 1/2) = 1 - I_{t^2/(df+t^2)}(1/2, df/2). */
double student_t_cdf(double t, double df)
{
    const double t2 = t * t;
    const double tail = t2 < df ? 0.5 - 0.5 * incomplete_beta(0.5, df / 2, t2 / (df + t2))
                                : 0.5 * incomplete_beta(df / 2, 0.5, df / (df + t2));
    return t >= 0 ? 1 - tail : tail;
}

/* By bisection on the distribution function, which is increasing: 200 halvings of a
 * bracket that holds any quantile in (1e-12, 1 - 1e-12) for df >= 1 reach double
 * precision. */
double student_t_quantile(double q, double df)
{
    CHECK(q > 0 && q < 1 && df > 0, "student_t_quantile: q %g, df %g", q, df);
    double lo = -1e7, hi = 1e7;
    for (int i = 0; i < 200 && hi - lo > 1e-14 * (1 + fabs(lo)); i++) {
        const double mid = 0.5 * (lo + hi);
        if (student_t_cdf(mid, df) < q) lo = mid;
        else hi = mid;
    }
    return 0.5 * (lo + hi);
}

void t_interval95(const double *x, int n, double *mean, double *lo, double *hi)
{
    double sum = 0, ss = 0;
    for (int i = 0; i < n; i++) sum += x[i];
    *mean = n ? sum / n : NAN;
    if (n < 2) {
        *lo = *hi = NAN;
        return;
    }
    for (int i = 0; i < n; i++) ss += (x[i] - *mean) * (x[i] - *mean);
    const double half = student_t_quantile(0.975, n - 1) * sqrt(ss / (n - 1) / n);
    *lo = *mean - half;
    *hi = *mean + half;
}

static int compare_abs(const void *a, const void *b)
{
    const double x = fabs(*(const double *)a), y = fabs(*(const double *)b);
    return (x > y) - (x < y);
}

/* The exact null distribution of R+ for ranks 1..n: each rank is positive or negative
 * with probability 1/2, so count[s] over the 2^n sign choices is built rank by rank
 * (count'[s] = count[s] + count[s - r]). P(R+ >= k) for the upper tail. */
static double exact_upper_tail(int n, int k)
{
    const int most = n * (n + 1) / 2;
    double *count = calloc((size_t)most + 1, sizeof *count);
    count[0] = 1;
    for (int r = 1; r <= n; r++)
        for (int s = r * (r + 1) / 2; s >= r; s--) count[s] += count[s - r];
    double tail = 0;
    for (int s = k; s <= most; s++) tail += count[s];
    free(count);
    return tail / ldexp(1.0, n);
}

WilcoxonResult wilcoxon_signed_rank(const double *d, int n)
{
    WilcoxonResult r = {0, 0, NAN, false};
    double *v = malloc(sizeof *v * (size_t)(n > 0 ? n : 1));
    for (int i = 0; i < n; i++)
        if (d[i] != 0) v[r.n++] = d[i];
    qsort(v, (size_t)r.n, sizeof *v, compare_abs);
    /* ranks of |d|, tied values sharing their mean rank; tie groups of size t add
     * (t^3 - t) / 48 to the approximation's variance correction */
    double ties = 0;
    for (int i = 0; i < r.n;) {
        int j = i;
        while (j + 1 < r.n && fabs(v[j + 1]) == fabs(v[i])) j++;
        const double rank = 0.5 * (i + j) + 1, t = j - i + 1;
        for (int k = i; k <= j; k++)
            if (v[k] > 0) r.r_plus += rank;
        ties += (t * t * t - t) / 48;
        i = j + 1;
    }
    free(v);
    if (r.n == 0) return r;
    const double total = r.n * (r.n + 1) / 2.0, r_minus = total - r.r_plus;
    r.exact = r.n < 25 && ties == 0;
    if (r.exact) {
        const double k = r.r_plus > r_minus ? r.r_plus : r_minus;
        r.p_value = fmin(1.0, 2 * exact_upper_tail(r.n, (int)k));
    } else {
        const double mean = total / 2, var = r.n * (r.n + 1) * (2 * r.n + 1) / 24.0 - ties;
        const double z = (fmin(r.r_plus, r_minus) - mean) / sqrt(var);
        r.p_value = erfc(-z / sqrt(2.0));     /* 2 P(Z <= z), z <= 0 */
    }
    return r;
}
