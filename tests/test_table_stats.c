/* Table 1's statistics (util/table_stats.h) against SciPy (tests/table_stats_ref.py):
 * Student t quantiles, the 95 % t-interval, and the Wilcoxon signed-rank test, exact and
 * approximate, with zeros and tied differences. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/table_stats.h"
#include "tests/testutil.h"

static char *scipy_reference(void)
{
    static char out[1 << 16];
    char cmd[512];
    if (!test_python_has("scipy.stats")) return NULL;
    snprintf(cmd, sizeof cmd, "%s tests/table_stats_ref.py", test_python());
    assert_int_equal(run_command(cmd, out, sizeof out), 0);
    return out;
}

static void test_against_scipy(void **state)
{
    (void)state;
    char *ref = scipy_reference();
    if (!ref) skip();
    int t_cases = 0, w_cases = 0;
    for (char *line = strtok(ref, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == 't') {
            double q, df, want;
            assert_int_equal(sscanf(line, "t %lf %lf %lf", &q, &df, &want), 3);
            const double got = student_t_quantile(q, df);
            if (fabs(got - want) > 1e-8 * fmax(1, fabs(want)))   /* SciPy: ~2e-9 */
                fail_msg("t quantile q %g df %g: %.12g, SciPy %.12g", q, df, got, want);
            t_cases++;
        } else {
            char mode[16];
            double p, r_plus, d[64];
            int n, at;
            assert_int_equal(sscanf(line, "w %15s %lf %lf %d%n", mode, &p, &r_plus, &n, &at), 4);
            for (int i = 0; i < n; i++) {
                int used;
                assert_int_equal(sscanf(line + at, "%lf%n", &d[i], &used), 1);
                at += used;
            }
            const WilcoxonResult w = wilcoxon_signed_rank(d, n);
            assert_int_equal(w.exact, strcmp(mode, "exact") == 0);
            if (fabs(w.r_plus - r_plus) > 1e-9 || fabs(w.p_value - p) > 1e-9 * fmax(p, 1e-3))
                fail_msg("wilcoxon n %d: R+ %g p %.12g, SciPy R+ %g p %.12g", n, w.r_plus,
                         w.p_value, r_plus, p);
            w_cases++;
        }
    }
    print_message("%d t quantiles, %d Wilcoxon tests agree with SciPy\n", t_cases, w_cases);
    assert_true(t_cases >= 50 && w_cases >= 12);
}

/* The interval by its definition: mean +- t sd / sqrt(n); none for one run. */
static void test_t_interval(void **state)
{
    (void)state;
    const double x[] = {0.71, 0.74, 0.69, 0.77, 0.73};
    double mean, lo, hi;
    t_interval95(x, 5, &mean, &lo, &hi);
    double ss = 0;
    for (int i = 0; i < 5; i++) ss += (x[i] - 0.728) * (x[i] - 0.728);
    const double half = 2.7764451051977987 * sqrt(ss / 4 / 5);   /* t_{0.975, 4} */
    assert_true(fabs(mean - 0.728) < 1e-12);
    assert_true(fabs(lo - (0.728 - half)) < 1e-9 && fabs(hi - (0.728 + half)) < 1e-9);
    t_interval95(x, 1, &mean, &lo, &hi);
    assert_true(mean == 0.71 && isnan(lo) && isnan(hi));
    const double zeros[] = {0, 0, 0};
    const WilcoxonResult w = wilcoxon_signed_rank(zeros, 3);
    assert_int_equal(w.n, 0);
    assert_true(isnan(w.p_value));
}

TEST_MAIN("table stats", NULL, NULL,
          test_against_scipy, test_t_interval)
