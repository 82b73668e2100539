/* "Which kinds matter": a swap scan's evidence for the paper's conclusions 2 (the BN running
 * statistics RM, RV matter more than the BN weight and bias RW, RB) and 3 (conv weights W
 * are sensitive, conv biases B are not). Delta is a row's change of mean Dice when that one
 * tensor is swapped in from the source (reuse/swap.h).
 *
 * Per kind, over its rows (one per layer, the head included):
 *   mean delta with its 95 % t-interval over the layers (t_interval95), the worst delta,
 *   hurt      rows whose paired bootstrap interval lies below 0 (delta_hi < 0), of the rows
 *             that have an interval,
 *   reusable  rows the paper's rule keeps: delta >= -0.02,
 *   trivial   rows whose random control does as well as the source (trivial = 1),
 *   and the mean of the random control's delta (delta_random): a kind that a random tensor
 *   hurts as much as the source's is sensitive to any replacement, not to the source.
 * Two paired comparisons over the layers that have every kind involved:
 *   BN statistics vs affine  d_l = (delta_RM + delta_RV) / 2 - (delta_RW + delta_RB) / 2
 *   conv W vs B              d_l = delta_W - delta_B
 * with the mean of d, its 95 % t-interval and the Wilcoxon signed-rank p (table_stats.h).
 * Rule: the claim (RM/RV matter more; W is more sensitive than B) is confirmed when the
 * whole interval lies below 0 (swapping the first kinds costs more Dice), contradicted when
 * it lies above 0, inconclusive otherwise; with fewer than 2 layers, not enough layers.
 * The layers of one network are not independent samples: the interval is descriptive.
 * Empty or non-finite cells count as missing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "util/escape.h"
#include "report/report.h"
#include "report/report_data.h"
#include "util/table_stats.h"

#define KINDS_TAU 0.02          /* the paper's rule: reusable when delta >= -0.02 */
#define KIND_COLS 8
#define CMP_COLS 6
#define CELL 96

typedef struct ScanCols {
    int layer, kind, delta, hi, random, trivial;
} ScanCols;

typedef struct KindSummary {
    int rows, with_delta, with_interval, hurt, reusable, with_trivial, trivial, with_random;
    double mean, lo, hi, worst, random_mean;
} KindSummary;

typedef struct KindComparison {
    const char *name, *formula, *claim;
    int layers;
    double mean, lo, hi, p;
} KindComparison;

static bool scan_cols(const CsvTable *t, ScanCols *c)
{
    *c = (ScanCols){csv_column(t, "layer"), csv_column(t, "kind"), csv_column(t, "delta"),
                    csv_column(t, "delta_hi"), csv_column(t, "delta_random"),
                    csv_column(t, "trivial")};
    return c->layer >= 0 && c->kind >= 0 && c->delta >= 0;
}

/* A finite number, else NAN (a missing column or an empty cell). */
static double value(const CsvTable *t, int r, int c)
{
    const double x = csv_number(t, r, c);
    return isfinite(x) ? x : NAN;
}

static bool is_swap_row(const CsvTable *t, const ScanCols *c, int r)
{
    return strcmp(t->rows[r][c->layer], "baseline") != 0;
}

static void summarise_kind(const CsvTable *t, const ScanCols *c, const char *kind, KindSummary *k)
{
    memset(k, 0, sizeof *k);
    double *deltas = xmalloc(sizeof *deltas * (size_t)(t->n_rows + 1)), random_sum = 0;
    k->worst = NAN;
    for (int r = 0; r < t->n_rows; r++) {
        if (!is_swap_row(t, c, r) || strcmp(t->rows[r][c->kind], kind)) continue;
        const double d = value(t, r, c->delta), hi = value(t, r, c->hi);
        const double rnd = value(t, r, c->random), triv = value(t, r, c->trivial);
        k->rows++;
        if (!isnan(d)) {
            deltas[k->with_delta++] = d;
            k->reusable += d >= -KINDS_TAU;
            if (isnan(k->worst) || d < k->worst) k->worst = d;
        }
        if (!isnan(hi)) {
            k->with_interval++;
            k->hurt += hi < 0;
        }
        if (!isnan(triv)) {
            k->with_trivial++;
            k->trivial += triv == 1;
        }
        if (!isnan(rnd)) {
            k->with_random++;
            random_sum += rnd;
        }
    }
    k->mean = k->lo = k->hi = NAN;
    if (k->with_delta) t_interval95(deltas, k->with_delta, &k->mean, &k->lo, &k->hi);
    k->random_mean = k->with_random ? random_sum / k->with_random : NAN;
    free(deltas);
}

/* The delta of (layer, kind): the first such row's, NAN when there is none. */
static double layer_delta(const CsvTable *t, const ScanCols *c, const char *layer, const char *kind)
{
    for (int r = 0; r < t->n_rows; r++)
        if (!strcmp(t->rows[r][c->layer], layer) && !strcmp(t->rows[r][c->kind], kind))
            return value(t, r, c->delta);
    return NAN;
}

/* d_l = mean of the plus kinds' deltas - mean of the minus kinds', over the layers (in
 * the scan's order) that have all of them; its mean, t-interval and Wilcoxon p. */
static void compare_kinds(const CsvTable *t, const ScanCols *c, const ParamRole *plus,
                          const ParamRole *minus, int n_each, KindComparison *k)
{
    double *d = xmalloc(sizeof *d * (size_t)(t->n_rows + 1));
    k->layers = 0;
    for (int r = 0; r < t->n_rows; r++) {
        const char *layer = t->rows[r][c->layer];
        bool seen = !is_swap_row(t, c, r);
        for (int q = 0; q < r && !seen; q++) seen = !strcmp(t->rows[q][c->layer], layer);
        if (seen) continue;
        double p = 0, m = 0;
        for (int i = 0; i < n_each; i++) {
            p += layer_delta(t, c, layer, param_role_name(plus[i])) / n_each;
            m += layer_delta(t, c, layer, param_role_name(minus[i])) / n_each;
        }
        if (!isnan(p - m)) d[k->layers++] = p - m;
    }
    k->mean = k->lo = k->hi = k->p = NAN;
    if (k->layers) t_interval95(d, k->layers, &k->mean, &k->lo, &k->hi);
    if (k->layers >= 2) k->p = wilcoxon_signed_rank(d, k->layers).p_value;
    free(d);
}

/* "confirmed", "contradicted", "inconclusive", or NULL: not enough layers. */
static const char *comparison_status(const KindComparison *k)
{
    if (k->layers < 2 || isnan(k->lo) || isnan(k->hi)) return NULL;
    if (k->hi < 0) return "confirmed";
    if (k->lo > 0) return "contradicted";
    return "inconclusive";
}

static void compare_scan(const CsvTable *t, const ScanCols *c, KindComparison cmp[2])
{
    static const ParamRole stats[] = {ROLE_RM, ROLE_RV}, affine[] = {ROLE_RW, ROLE_RB};
    static const ParamRole w[] = {ROLE_W}, b[] = {ROLE_B};
    cmp[0] = (KindComparison){.name = "BN statistics vs BN affine",
                              .formula = "(ΔRM + ΔRV)/2 − (ΔRW + ΔRB)/2",
                              .claim = "RM/RV matter more"};
    cmp[1] = (KindComparison){.name = "conv W vs conv B", .formula = "ΔW − ΔB",
                              .claim = "W is more sensitive than B"};
    compare_kinds(t, c, stats, affine, 2, &cmp[0]);
    compare_kinds(t, c, w, b, 1, &cmp[1]);
}

/* ---- cells ("": a missing number) ------------------------------------------------------- */

static void mean_interval(char *buf, double mean, double lo, double hi)
{
    if (isnan(mean)) buf[0] = '\0';
    else if (isnan(lo) || isnan(hi)) snprintf(buf, CELL, "%+.4f", mean);
    else snprintf(buf, CELL, "%+.4f [%+.4f, %+.4f]", mean, lo, hi);
}

static void count_of(char *buf, int k, int n)
{
    if (n) snprintf(buf, CELL, "%d of %d", k, n);
    else buf[0] = '\0';
}

static void number_or(char *buf, const char *fmt, double x)
{
    if (isnan(x)) buf[0] = '\0';
    else snprintf(buf, CELL, fmt, x);
}

static const char *const kind_header[KIND_COLS] = {
    "kind", "tensors", "mean Δ [95% CI over layers]", "worst Δ", "hurt (interval below 0)",
    "reusable (Δ ≥ −0.02)", "trivial", "random control: mean Δ"};

static void kind_cells(const char *kind, const KindSummary *k, char cells[KIND_COLS][CELL])
{
    snprintf(cells[0], CELL, "%s", kind);
    snprintf(cells[1], CELL, "%d", k->rows);
    mean_interval(cells[2], k->mean, k->lo, k->hi);
    number_or(cells[3], "%+.4f", k->worst);
    count_of(cells[4], k->hurt, k->with_interval);
    count_of(cells[5], k->reusable, k->with_delta);
    count_of(cells[6], k->trivial, k->with_trivial);
    number_or(cells[7], "%+.4f", k->random_mean);
}

static const char *const cmp_header[CMP_COLS] = {"comparison", "d per layer", "layers",
                                                 "mean d [95% CI]", "Wilcoxon p", "verdict"};

static void comparison_cells(const KindComparison *k, char cells[CMP_COLS][CELL])
{
    const char *status = comparison_status(k);
    snprintf(cells[0], CELL, "%s", k->name);
    snprintf(cells[1], CELL, "%s", k->formula);
    snprintf(cells[2], CELL, "%d", k->layers);
    mean_interval(cells[3], k->mean, k->lo, k->hi);
    number_or(cells[4], "%.3g", k->p);
    if (status) snprintf(cells[5], CELL, "%s (%s)", k->claim, status);
    else snprintf(cells[5], CELL, "not enough layers");
}

static const char *const rule_text =
    "Rule: a claim is confirmed when the whole 95% interval of the mean d lies below 0 "
    "(swapping the first kinds costs more Dice), contradicted when it lies above 0, "
    "inconclusive otherwise; with fewer than 2 layers there are not enough layers. The "
    "layers of one network are not independent samples, so the interval and the p-value "
    "describe these layers, they do not test a population. Hurt: the swap's paired "
    "bootstrap interval lies below 0; reusable: the paper's rule Δ ≥ −0.02; trivial: the "
    "random control does as well as the source.";

/* ---- the tables (every cell is the program's own text) ----------------------------------- */

static void header_row(TableWriter *w, const char *const *names, int n)
{
    table_header(w);
    for (int i = 0; i < n; i++) {
        table_cell_begin(w, TABLE_HEAD, NULL);
        table_printf(w, "%s", names[i]);
        table_cell_end(w);
    }
    table_row_end(w);
}

/* The label, then the cells; last_class: the HTML class of the last cell (NULL: none). */
static void cells_row(TableWriter *w, char cells[][CELL], int n, const char *last_class)
{
    table_row(w);
    table_cell_begin(w, TABLE_HEAD, NULL);
    table_printf(w, "%s", cells[0]);
    table_cell_end(w);
    for (int i = 1; i < n; i++) {
        if (!cells[i][0]) {
            table_missing(w);
            continue;
        }
        table_cell_begin(w, TABLE_DATA, i == n - 1 ? last_class : NULL);
        table_printf(w, "%s", cells[i]);
        table_cell_end(w);
    }
    table_row_end(w);
}

/* A table with its caption ("NAME: " + text, or text alone). */
static void kinds_table_open(TableWriter *w, FILE *out, TableFormat format, const char *html_class,
                       const char *name, const char *caption)
{
    char attrs[64];
    snprintf(attrs, sizeof attrs, " class=\"%s\"", html_class);
    table_begin(w, out, format, attrs, NULL);
    table_caption_begin(w);
    if (name) {
        table_text(w, name);
        table_printf(w, ": ");
    }
    table_printf(w, "%s", caption);
    table_caption_end(w);
    table_markup(w, "\n", NULL);
}

static void comparisons(FILE *out, TableFormat format, const CsvTable *t, const ScanCols *c)
{
    TableWriter w;
    kinds_table_open(&w, out, format, "kinds-compare", NULL, "Paired over layers");
    header_row(&w, cmp_header, CMP_COLS);
    KindComparison cmp[2];
    compare_scan(t, c, cmp);
    for (int i = 0; i < 2; i++) {
        char cells[CMP_COLS][CELL];
        const char *status = comparison_status(&cmp[i]);
        comparison_cells(&cmp[i], cells);
        cells_row(&w, cells, CMP_COLS, !status ? "na" : !strcmp(status, "confirmed") ? "ok"
                                       : !strcmp(status, "contradicted") ? "warn" : NULL);
    }
    table_end(&w);
}

void report_kinds(FILE *out, TableFormat format, const CsvTable *t, const char *name)
{
    ScanCols c;
    if (!scan_cols(t, &c)) return;
    TableWriter w;
    bool any = false;
    for (int i = 0; i < ROLE_COUNT; i++) {
        KindSummary k;
        summarise_kind(t, &c, param_role_name((ParamRole)i), &k);
        if (!k.rows) continue;
        if (!any) {
            fputs(format == TABLE_HTML ? "<div class=\"kinds\"><h4>Which kinds matter (conclusions "
                                         "2 and 3)</h4>\n"
                                       : "#### Which kinds matter (conclusions 2 and 3)\n\n", out);
            kinds_table_open(&w, out, format, "kinds", name, "change of mean Dice per swapped kind");
            header_row(&w, kind_header, KIND_COLS);
            any = true;
        }
        char cells[KIND_COLS][CELL];
        kind_cells(param_role_name((ParamRole)i), &k, cells);
        cells_row(&w, cells, KIND_COLS, NULL);
    }
    if (!any) return;
    table_end(&w);
    comparisons(out, format, t, &c);
    if (format == TABLE_HTML) {
        fputs("<p class=\"kinds-rule\">", out);
        html_escape(out, rule_text);
        fputs("</p></div>\n", out);
    } else {
        fprintf(out, "%s\n\n", rule_text);
    }
}
