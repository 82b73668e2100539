/* "Which kinds matter (conclusions 2 and 3)" (report/report_kinds.c): from swap scans
 * written by hand, the per-kind counts and the two paired comparisons over layers in both
 * pages; their means, intervals and Wilcoxon p against NumPy/SciPy
 * (tests/report_kinds_ref.py); the verdicts confirmed, contradicted, inconclusive and "not
 * enough layers"; scans without controls or intervals, in an older format, or with
 * non-numbers render without NaN. Every expectation is checked before failing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/csv.h"
#include "report/report.h"
#include "tests/testutil.h"

static const char *const header =
    "layer,kind,tensor,dice_0,mean,delta,patient_mean,patient_sd,delta_lo,delta_hi,"
    "delta_init,delta_random,delta_control,trivial,mean_recal,delta_recal\n"
    "baseline,,,0.8,0.8,0,0.8,0.1,0,0,,,,,,\n";

static void put(FILE *f, double x)
{
    if (isnan(x)) fputs(",", f);
    else fprintf(f, ",%.17g", x);
}

/* One swap row; NAN: an empty cell. */
static void add_row(FILE *f, const char *layer, const char *kind, double delta, double lo,
                    double hi, double random, double trivial)
{
    fprintf(f, "%s,%s,t.%s.%s,%.17g,%.17g", layer, kind, layer, kind, 0.8 + delta, 0.8 + delta);
    put(f, delta);
    fputs(",0.8,0.1", f);
    put(f, lo);
    put(f, hi);
    fputs(",", f);
    put(f, random);
    fputs(",", f);
    put(f, trivial);
    fputs(",,\n", f);
}

/* Both pages of the kinds section of a scan given as CSV text. */
static void render(const char *csv, char **html, char **md)
{
    CsvTable t;
    assert_int_equal(csv_parse(csv, strlen(csv), "kinds.csv", &t), 0);
    size_t len;
    FILE *f = open_memstream(html, &len);
    report_kinds(f, TABLE_HTML, &t, "a-scan");
    assert_int_equal(fclose(f), 0);
    f = open_memstream(md, &len);
    report_kinds(f, TABLE_MARKDOWN, &t, "a-scan");
    assert_int_equal(fclose(f), 0);
    csv_free(&t);
}

/* Case 1: four layers and the head; RM/RV clearly below RW/RB, W against B mixed; RB with
 * intervals in two layers, RV's random control in three. */
static const double RM[4] = {-0.10, -0.08, -0.12, -0.06}, RV[4] = {-0.05, -0.06, -0.03, -0.09};
static const double RW[4] = {-0.001, 0.002, -0.004, 0.0}, RB[4] = {0.001, -0.002, 0.0, -0.001};
static const double W[5] = {-0.20, 0.01, -0.15, 0.025, -0.30}, B[5] = {0.01, -0.02, -0.005, 0.0, 0.0};

static char *clear_scan(void)
{
    char *csv;
    size_t len;
    FILE *f = open_memstream(&csv, &len);
    fputs(header, f);
    const char *layers[5] = {"1", "2", "3", "4", "head"};
    for (int l = 0; l < 5; l++) {
        if (l < 4) {
            add_row(f, layers[l], "RM", RM[l], RM[l] - 0.01, RM[l] + 0.01, -0.3, 0);
            add_row(f, layers[l], "RV", RV[l], RV[l] - 0.01, RV[l] + 0.01, l < 3 ? -0.2 : NAN,
                    l == 0);
            add_row(f, layers[l], "RW", RW[l], RW[l] - 0.01, RW[l] + 0.01, 0.0, 1);
            add_row(f, layers[l], "RB", RB[l], l < 2 ? RB[l] - 0.01 : NAN,
                    l < 2 ? RB[l] + 0.01 : NAN, NAN, NAN);
        }
        add_row(f, layers[l], "W", W[l], W[l] - 0.01, W[l] + 0.01, -0.4, 0);
        add_row(f, layers[l], "B", B[l], B[l] - 0.01, B[l] + 0.01, 0.0, 1);
    }
    assert_int_equal(fclose(f), 0);
    return csv;
}

static void list(char *buf, size_t len, const double *x, int n)
{
    size_t used = strlen(buf);
    for (int i = 0; i < n; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%.17g", i ? "," : "", x[i]);
}

/* NumPy/SciPy's mean, interval and p per case ("mean:", "bn:", "conv:"); false: skipped. */
static bool reference(double out[][4], int n_cases)
{
    if (!test_python_has("numpy, scipy.stats")) return false;
    char cmd[2048], res[2048];
    snprintf(cmd, sizeof cmd, "%s tests/report_kinds_ref.py mean:", test_python());
    list(cmd, sizeof cmd, RM, 4);
    strcat(cmd, " mean:");
    list(cmd, sizeof cmd, W, 5);
    strcat(cmd, " bn:");
    const double *bn[4] = {RM, RV, RW, RB};
    for (int k = 0; k < 4; k++) {
        if (k) strcat(cmd, "/");
        list(cmd, sizeof cmd, bn[k], 4);
    }
    strcat(cmd, " conv:");
    list(cmd, sizeof cmd, W, 5);
    strcat(cmd, "/");
    list(cmd, sizeof cmd, B, 5);
    assert_int_equal(run_command(cmd, res, sizeof res), 0);
    const char *p = res;
    for (int c = 0; c < n_cases; c++) {
        int used;
        assert_int_equal(sscanf(p, "%lf %lf %lf %lf%n", &out[c][0], &out[c][1], &out[c][2],
                                &out[c][3], &used), 4);
        p += used;
    }
    return true;
}

static void expect_stats(const char *html, const char *md, const char *first, const double r[4],
                         bool with_p)
{
    char want[256];
    snprintf(want, sizeof want, "%s%+.4f [%+.4f, %+.4f]", first, r[0], r[1], r[2]);
    if (with_p) snprintf(want + strlen(want), sizeof want - strlen(want), " | %.3g |", r[3]);
    expect_in(md, want);
    snprintf(want, sizeof want, "<td>%+.4f [%+.4f, %+.4f]</td>", r[0], r[1], r[2]);
    if (with_p) snprintf(want + strlen(want), sizeof want - strlen(want), "<td>%.3g</td>", r[3]);
    expect_in(html, want);
}

/* The end of a test of one scan: no number of either report is NaN; then free the scan
 * and its reports, and fail the test if any expectation was not met. */
static void finish(char *csv, char *html, char *md)
{
    expect_not_in(html, "nan");
    expect_not_in(md, "nan");
    free(csv);
    free(html);
    free(md);
    expect_all_met();
}

static void test_kinds_clear_and_inconclusive(void **state)
{
    (void)state;
    char *csv = clear_scan(), *html, *md;
    render(csv, &html, &md);
    /* per kind: tensors, worst, hurt, reusable (delta >= -0.02), trivial, random mean */
    expect_in(md, " | -0.1200 | 4 of 4 | 0 of 4 | 0 of 4 | -0.3000 |");
    expect_in(md, " | -0.0900 | 4 of 4 | 0 of 4 | 1 of 4 | -0.2000 |");
    expect_in(md, " | -0.0040 | 0 of 4 | 4 of 4 | 4 of 4 | +0.0000 |");
    expect_in(md, " | -0.0020 | 0 of 2 | 4 of 4 | – | – |");
    expect_in(md, " | -0.3000 | 3 of 5 | 2 of 5 | 0 of 5 | -0.4000 |");
    expect_in(md, " | -0.0200 | 1 of 5 | 5 of 5 | 5 of 5 | +0.0000 |");
    const char *rows[] = {"| RM | 4 | ", "| RV | 4 | ", "| RW | 4 | ", "| RB | 4 | ", "| W | 5 | ",
                          "| B | 5 | "};
    for (int i = 0; i < 6; i++) expect_in(md, rows[i]);
    expect_in(html, "<tr><th>RB</th><td>4</td>");
    expect_in(html, "<td>0 of 2</td><td>4 of 4</td><td class=\"na\">&ndash;</td>");
    /* the paired comparisons: means known by hand, p = 2/16 for four negative d */
    expect_in(md, "| 4 | -0.0731 [");
    expect_in(md, " | 0.125 | RM/RV matter more (confirmed) |");
    expect_in(md, "| 5 | -0.1200 [");
    expect_in(md, " | W is more sensitive than B (inconclusive) |");
    expect_in(html, "<td class=\"ok\">RM/RV matter more (confirmed)</td>");
    expect_in(html, "<td>W is more sensitive than B (inconclusive)</td>");
    expect_in(md, "not independent samples");
    expect_in(html, "confirmed when the whole 95% interval of the mean d lies below 0");
    expect_in(html, "<table class=\"kinds\"><caption>a-scan: ");
    expect_that(count_in(html, "<table") == count_in(html, "</table>"), "unbalanced", "<table");
    double ref[4][4];
    if (reference(ref, 4)) {
        expect_stats(html, md, "| RM | 4 | ", ref[0], false);
        expect_stats(html, md, "| W | 5 | ", ref[1], false);
        expect_stats(html, md, "| 4 | ", ref[2], true);
        expect_stats(html, md, "| 5 | ", ref[3], true);
        assert_true(ref[2][2] < 0 && ref[3][1] < 0 && ref[3][2] > 0);   /* the cases' premise */
    }
    finish(csv, html, md);
}

/* Case 2: no controls, no intervals, no trivial column values; BN kinds in one layer only;
 * W above B in three layers. */
static void test_kinds_without_controls(void **state)
{
    (void)state;
    char *csv, *html, *md;
    size_t len;
    FILE *f = open_memstream(&csv, &len);
    fputs(header, f);
    add_row(f, "1", "RM", -0.05, NAN, NAN, NAN, NAN);
    add_row(f, "1", "RV", -0.04, NAN, NAN, NAN, NAN);
    add_row(f, "1", "RW", 0.0, NAN, NAN, NAN, NAN);
    add_row(f, "1", "RB", 0.0, NAN, NAN, NAN, NAN);
    add_row(f, "2", "RM", -0.06, NAN, NAN, NAN, NAN);
    const double w[3] = {-0.001, 0.0, 0.01}, b[3] = {-0.10, -0.08, -0.12};
    const char *layers[3] = {"1", "2", "3"};
    for (int l = 0; l < 3; l++) {
        add_row(f, layers[l], "W", w[l], NAN, NAN, NAN, NAN);
        add_row(f, layers[l], "B", b[l], NAN, NAN, NAN, NAN);
    }
    assert_int_equal(fclose(f), 0);
    render(csv, &html, &md);
    expect_in(md, "| RW | 1 | +0.0000 | +0.0000 | – | 1 of 1 | – | – |");
    expect_in(md, "| RM | 2 | -0.0550 [");
    expect_in(md, "| 1 | -0.0450 | – | not enough layers |");
    expect_in(md, "| 3 | +0.1030 [");
    expect_in(md, " | W is more sensitive than B (contradicted) |");
    expect_in(html, "<td class=\"na\">not enough layers</td>");
    expect_in(html, "<td class=\"warn\">W is more sensitive than B (contradicted)</td>");
    finish(csv, html, md);
}

/* An older scan (no controls' columns), non-numbers, and a scan with no swap rows or no
 * delta column: no crash, no NaN, and nothing for the last two. */
static void test_kinds_odd_scans(void **state)
{
    (void)state;
    char *html, *md;
    render("layer,kind,tensor,mean,delta\nbaseline,,,0.8,0\n1,RM,a,0.7,-0.1\n1,RW,b,0.8,inf\n"
           "2,RM,c,0.8,nan\n2,RW,d,0.8,x\n3,W,e,0.8,\n", &html, &md);
    expect_in(md, "| RM | 2 | -0.1000 | -0.1000 | – | 0 of 1 | – | – |");
    expect_in(md, "| RW | 2 | – | – | – | – | – | – |");
    expect_in(md, "| W | 1 | – | – | – | – | – | – |");
    expect_in(md, "| 0 | – | – | not enough layers |");
    expect_in(html, "Which kinds matter (conclusions 2 and 3)");
    expect_not_in(html, "nan");
    expect_not_in(md, "nan");
    expect_not_in(md, "inf");
    free(html);
    free(md);
    render("layer,kind,tensor,mean,delta\nbaseline,,,0.8,0\n", &html, &md);
    assert_string_equal(html, "");
    assert_string_equal(md, "");
    free(html);
    free(md);
    render("layer,kind,mean\n1,RM,0.7\n", &html, &md);
    assert_string_equal(html, "");
    assert_string_equal(md, "");
    free(html);
    free(md);
    expect_all_met();
}

TEST_MAIN("report kinds", NULL, NULL,
          test_kinds_clear_and_inconclusive, test_kinds_without_controls, test_kinds_odd_scans)
