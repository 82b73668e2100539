/* Table 1 of the study report (report.h): transfer/table.csv as a table in HTML and
 * Markdown, and its figures.
 *
 * Columns are shown in groups, so that any header `reusenet transfer` writes, old or new,
 * reads as one cell per quantity:
 *   X, X_sd                 "X ± sd"; "X ± —" when the sd is empty or the row has a
 *                           single run (runs/seeds = 1): one run has no spread
 *   ..., P_ci_lo, P_ci_hi   appended to the group of X when P is X or a prefix of it
 *                           ("mean" + "mean_ci_*", "delta_random" + "delta_ci_*"):
 *                           "X [lo, hi]", nothing when the interval is empty (< 2 runs)
 *   anything else           as it is; "—" when empty (e.g. delta_random of random init)
 * Values are shown as the CSV has them (it rounds), so the page and the file agree.
 *
 * Figures (HTML): with mean_ci_lo/hi, every configuration's mean Dice with its 95 %
 * interval, grouped by n (id table1-intervals); with delta_random, a forest plot of the
 * paired differences to random initialisation with their intervals and p-values (id
 * table1-forest). A table without intervals (the older format) gets the bar chart of the
 * mean it always had (id fig-transfer-mean). */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "report/report.h"
#include "report/svg.h"

/* One shown column: CSV column indices, -1 when absent. */
typedef struct Group {
    int value, sd, lo, hi;
} Group;

static bool is_column(const CsvTable *t, int c, const char *name)
{
    return c >= 0 && c < t->n_cols && !strcmp(t->header[c], name);
}

/* Whether header h is "P" + suffix with P a non-empty prefix of base that ends at a word
 * boundary of it ("mean" for "mean", "delta" for "delta_random"). */
static bool interval_of(const char *h, const char *base, const char *suffix)
{
    size_t hl = strlen(h), sl = strlen(suffix), p = hl > sl ? hl - sl : 0;
    if (!p || strcmp(h + p, suffix) || strncmp(h, base, p)) return false;
    return base[p] == '\0' || base[p] == '_';
}

/* The group that starts at column c; returns the column after it. */
static int group_at(const CsvTable *t, int c, Group *g)
{
    *g = (Group){c, -1, -1, -1};
    const char *base = t->header[c];
    int next = c + 1;
    char sd[512];
    snprintf(sd, sizeof sd, "%s_sd", base);
    if (is_column(t, next, sd)) g->sd = next++;
    if (next + 1 < t->n_cols && interval_of(t->header[next], base, "_ci_lo") &&
        interval_of(t->header[next + 1], base, "_ci_hi") &&
        strlen(t->header[next]) == strlen(t->header[next + 1])) {
        g->lo = next;
        g->hi = next + 1;
        next += 2;
    }
    return next;
}

/* A single run: the row's runs (or, in the older format, seeds) column is 1. */
static bool single_run(const CsvTable *t, int r)
{
    int c = csv_column(t, "runs");
    if (c < 0) c = csv_column(t, "seeds");
    return c >= 0 && csv_number(t, r, c) == 1;
}

/* x ± sd [lo, hi] of group g in row r (the CSV's own digits; escaped as inputs). */
static void put_cell(TableWriter *w, const CsvTable *t, int r, const Group *g)
{
    char *const *row = t->rows[r];
    table_cell_begin(w, TABLE_DATA, NULL);
    if (!row[g->value][0]) {
        table_printf(w, "—");
        table_cell_end(w);
        return;
    }
    table_text(w, row[g->value]);
    if (g->sd >= 0) {
        table_markup(w, " &plusmn; ", " ± ");
        if (row[g->sd][0] && !single_run(t, r)) table_text(w, row[g->sd]);
        else table_printf(w, "—");
    }
    if (g->lo >= 0 && row[g->lo][0] && row[g->hi][0]) {
        table_printf(w, " [");
        table_text(w, row[g->lo]);
        table_printf(w, ", ");
        table_text(w, row[g->hi]);
        table_printf(w, "]");
    }
    table_cell_end(w);
}

static void put_header(TableWriter *w, const CsvTable *t, const Group *g)
{
    table_cell_begin(w, TABLE_HEAD, NULL);
    table_text(w, t->header[g->value]);
    if (g->lo >= 0) table_printf(w, " [95 %% CI]");
    table_cell_end(w);
}

void report_table1(FILE *out, TableFormat format, const CsvTable *t)
{
    TableWriter w;
    Group g;
    table_begin(&w, out, format, " id=\"table-1\"", NULL);
    table_caption_begin(&w);
    table_printf(&w, "Table 1: per-class and mean Dice of every configuration (cf. the paper's "
                     "Table 1)");
    table_caption_end(&w);
    table_header(&w);
    for (int c = 0, next; c < t->n_cols; c = next) {
        next = group_at(t, c, &g);
        put_header(&w, t, &g);
    }
    table_row_end(&w);
    for (int r = 0; r < t->n_rows; r++) {
        table_row(&w);
        for (int c = 0, next; c < t->n_cols; c = next) {
            next = group_at(t, c, &g);
            put_cell(&w, t, r, &g);
        }
        table_row_end(&w);
    }
    table_end(&w);
    if (csv_column(t, "mean_ci_lo") < 0 && csv_column(t, "delta_random") < 0) return;
    if (format == TABLE_HTML)
        fputs("<p>x &plusmn; sd over the runs (seeds &times; training subsets; &mdash;: a single "
              "run, no spread); [lo, hi]: 95 % t-interval of the mean. delta_random: the paired "
              "difference of the mean Dice to random initialisation on the same seed and subset; "
              "p_value: two-sided Wilcoxon signed-rank test of those differences; delta_all, "
              "p_all: the same against the source's all fine-tune (plain transfer).</p>\n", out);
    else
        fputs("x ± sd over the runs (seeds × training subsets; —: a single run, no spread); "
              "[lo, hi]: 95 % t-interval of the mean. delta_random: the paired difference of the "
              "mean Dice to random initialisation on the same seed and subset; p_value: "
              "two-sided Wilcoxon signed-rank test of those differences; delta_all, p_all: the "
              "same against the source's all fine-tune (plain transfer).\n\n", out);
}

/* The columns that name a configuration: those before the first Dice column ("dice...",
 * "class..." or "mean"), without the run count. */
static bool is_label_column(const CsvTable *t, int c)
{
    for (int k = 0; k <= c; k++)
        if (!strncmp(t->header[k], "dice", 4) || !strncmp(t->header[k], "class", 5) ||
            !strcmp(t->header[k], "mean"))
            return false;
    return strcmp(t->header[c], "seeds") && strcmp(t->header[c], "runs");
}

/* The column holding a configuration's mean Dice ("mean" or "mean_dice"). */
static int mean_column(const CsvTable *t)
{
    int c = csv_column(t, "mean");
    return c >= 0 ? c : csv_column(t, "mean_dice");
}

/* "n=10 T1 seg freeze": the label columns of row r. */
static void row_label(const CsvTable *t, int r, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int c = 0; c < t->n_cols && used < len - 1; c++)
        if (is_label_column(t, c) && t->rows[r][c][0])
            used += (size_t)snprintf(buf + used, len - used, "%s%s%s", used ? " " : "",
                                     !strcmp(t->header[c], "n") ? "n=" : "", t->rows[r][c]);
}

static void figure_open(FILE *out, const char *id)
{
    fprintf(out, "<figure id=\"%s\"><div class=\"charts\">\n", id);
}

static void figure_close(FILE *out, int *figure, const char *caption)
{
    fprintf(out, "</div><figcaption><b>Figure %d.</b> %s</figcaption></figure>\n", ++*figure, caption);
}

/* The older tables' chart: one bar per row. */
static void mean_bars(FILE *out, const CsvTable *t, int mc, int *figure)
{
    char **labels = xcalloc((size_t)t->n_rows, sizeof *labels);
    double *y = xmalloc(sizeof *y * (size_t)t->n_rows);
    for (int r = 0; r < t->n_rows; r++) {
        labels[r] = xmalloc(256);
        row_label(t, r, labels[r], 256);
        y[r] = csv_number(t, r, mc);
    }
    SvgSeries series = {.name = "mean Dice", .y = y};
    SvgChart c = svg_chart_defaults();
    c.title = "Mean Dice per configuration";
    c.x_label = "configuration";
    c.y_label = "mean Dice";
    c.n_x = t->n_rows;
    c.x_labels = (const char *const *)labels;
    c.n_series = 1;
    c.series = &series;
    c.bars = true;
    c.y_min = 0;
    c.y_max = 1;
    c.width = t->n_rows > 8 ? 120 * t->n_rows : 900;
    c.height = 320;
    figure_open(out, "fig-transfer-mean");
    svg_chart_write(out, &c);
    figure_close(out, figure, "Mean Dice of every configuration of Table 1.");
    free_strings(labels, t->n_rows);
    free(y);
}

/* The rows of a figure, in drawing order, with what it shows of each. */
typedef struct Rows {
    int n;
    int *row, *colour;
    char **label, **group, **note, **hover;
    double *x, *lo, *hi;
} Rows;

static void rows_alloc(Rows *w, int n)
{
    memset(w, 0, sizeof *w);
    w->row = xcalloc((size_t)n + 1, sizeof *w->row);
    w->colour = xcalloc((size_t)n + 1, sizeof *w->colour);
    char ***texts[] = {&w->label, &w->group, &w->note, &w->hover};
    for (int k = 0; k < 4; k++) *texts[k] = xcalloc((size_t)n + 1, sizeof(char *));
    w->x = xcalloc((size_t)n + 1, sizeof *w->x);
    w->lo = xcalloc((size_t)n + 1, sizeof *w->lo);
    w->hi = xcalloc((size_t)n + 1, sizeof *w->hi);
}

static void rows_free(Rows *w)
{
    free_strings(w->label, w->n);
    free_strings(w->group, w->n);
    free_strings(w->note, w->n);
    free_strings(w->hover, w->n);
    free(w->row);
    free(w->colour);
    free(w->x);
    free(w->lo);
    free(w->hi);
}

/* Per row, the index of its configuration among the distinct ones in order of first
 * appearance (so that a configuration keeps its colour across the values of n). */
static int *config_index(const CsvTable *t, int cc)
{
    int *idx = xcalloc((size_t)t->n_rows + 1, sizeof *idx), count = 0;
    for (int r = 0; r < t->n_rows; r++) {
        int q = 0;
        while (cc >= 0 && q < r && strcmp(t->rows[q][cc], t->rows[r][cc])) q++;
        idx[r] = cc < 0 ? 0 : q == r ? count++ : idx[q];
    }
    return idx;
}

/* The rows of Table 1 with a value in value_col, grouped by n (in order of first
 * appearance), each group in the table's order. */
static void rows_by_n(const CsvTable *t, int value_col, Rows *w)
{
    const int nc = csv_column(t, "n"), cc = csv_column(t, "configuration");
    rows_alloc(w, t->n_rows);
    bool *done = xcalloc((size_t)t->n_rows + 1, sizeof *done);
    int *colour = config_index(t, cc);
    for (int first = 0; first < t->n_rows; first++) {
        if (done[first]) continue;
        for (int r = first; r < t->n_rows; r++) {
            if (done[r] || (nc >= 0 && strcmp(t->rows[r][nc], t->rows[first][nc]))) continue;
            done[r] = true;
            if (!t->rows[r][value_col][0]) continue;        /* nothing to draw */
            const int i = w->n++;
            w->row[i] = r;
            w->colour[i] = colour[r];
            w->label[i] = xstrdup(cc >= 0 ? t->rows[r][cc] : "");
            w->group[i] = xmalloc(280);
            snprintf(w->group[i], 280, "n = %.260s", nc >= 0 ? t->rows[r][nc] : "?");
        }
    }
    free(colour);
    free(done);
}

static char *format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *format(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return xstrdup(buf);
}

/* Row r's cell of column c, or "?" when the table has no such column. */
static const char *text_of(const CsvTable *t, int r, int c) { return c >= 0 ? t->rows[r][c] : "?"; }

static int runs_column(const CsvTable *t)
{
    int c = csv_column(t, "runs");
    return c >= 0 ? c : csv_column(t, "seeds");
}

/* The interval [lo, hi] of each row of w from columns lo_col, hi_col (NAN when absent). */
static void rows_interval(const CsvTable *t, Rows *w, int value_col, int lo_col, int hi_col)
{
    for (int i = 0; i < w->n; i++) {
        w->x[i] = csv_number(t, w->row[i], value_col);
        w->lo[i] = csv_number(t, w->row[i], lo_col);
        w->hi[i] = csv_number(t, w->row[i], hi_col);
    }
}

/* Figure: each configuration's mean Dice with its 95 % t-interval, grouped by n. */
static void intervals_figure(FILE *out, const CsvTable *t, int *figure)
{
    const int mc = mean_column(t), lc = csv_column(t, "mean_ci_lo"), hc = csv_column(t, "mean_ci_hi");
    const int nc = csv_column(t, "n"), cc = csv_column(t, "configuration"), rc = runs_column(t);
    Rows w;
    rows_by_n(t, mc, &w);
    rows_interval(t, &w, mc, lc, hc);
    for (int i = 0; i < w.n; i++) {
        const int r = w.row[i];
        w.hover[i] = t->rows[r][lc][0]
            ? format("n=%s %s: mean Dice %s, 95 %% interval [%s, %s], %s runs", text_of(t, r, nc),
                     text_of(t, r, cc), t->rows[r][mc], t->rows[r][lc], t->rows[r][hc], text_of(t, r, rc))
            : format("n=%s %s: mean Dice %s, %s run(s), no interval", text_of(t, r, nc),
                     text_of(t, r, cc), t->rows[r][mc], text_of(t, r, rc));
    }
    if (w.n) {
        SvgIntervals c = {.title = "Mean Dice with 95 % intervals", .x_label = "mean Dice",
                          .n = w.n, .labels = (const char *const *)w.label,
                          .groups = (const char *const *)w.group, .x = w.x, .lo = w.lo, .hi = w.hi,
                          .colour = w.colour, .hover = (const char *const *)w.hover, .ref = NAN,
                          .width = 760};
        figure_open(out, "table1-intervals");
        svg_intervals_write(out, &c);
        figure_close(out, figure, "Table 1 as points: the mean Dice of every configuration over "
                     "its runs, with the 95 % t-interval of the mean (a point alone: a single run).");
    }
    rows_free(&w);
}

/* Figure: the paired differences to random initialisation, their intervals and p-values. */
static void forest_figure(FILE *out, const CsvTable *t, int *figure)
{
    const int dc = csv_column(t, "delta_random"), lc = csv_column(t, "delta_ci_lo");
    const int hc = csv_column(t, "delta_ci_hi"), pc = csv_column(t, "p_value");
    const int nc = csv_column(t, "n"), cc = csv_column(t, "configuration"), rc = runs_column(t);
    Rows w;
    rows_by_n(t, dc, &w);                   /* random init has no difference: left out */
    rows_interval(t, &w, dc, lc, hc);
    for (int i = 0; i < w.n; i++) {
        const int r = w.row[i];
        const char *p = pc >= 0 && t->rows[r][pc][0] ? t->rows[r][pc] : "—";
        const bool ci = lc >= 0 && hc >= 0 && t->rows[r][lc][0] && t->rows[r][hc][0];
        w.note[i] = format("p = %s", p);
        char interval[1100] = "";
        if (ci) snprintf(interval, sizeof interval, " [%.500s, %.500s]", t->rows[r][lc], t->rows[r][hc]);
        w.hover[i] = format("n=%s %s: difference to random init %s%s, p = %s, %s run(s)",
                            text_of(t, r, nc), text_of(t, r, cc), t->rows[r][dc], interval, p,
                            text_of(t, r, rc));
    }
    if (w.n) {
        SvgIntervals c = {.title = "Difference to random initialisation", .x_label =
                          "paired difference of mean Dice (configuration - random init)",
                          .n = w.n, .labels = (const char *const *)w.label,
                          .groups = (const char *const *)w.group, .x = w.x, .lo = w.lo, .hi = w.hi,
                          .colour = w.colour, .notes = (const char *const *)w.note,
                          .hover = (const char *const *)w.hover, .ref = 0, .width = 760};
        figure_open(out, "table1-forest");
        svg_intervals_write(out, &c);
        figure_close(out, figure, "Forest plot: the mean paired difference of each configuration's "
                     "mean Dice to random initialisation on the same seed and training subset, "
                     "with its 95 % paired t-interval (a point alone: a single run) and the "
                     "two-sided Wilcoxon signed-rank p-value. Right of the dashed line at 0 the "
                     "configuration did better than random initialisation.");
    }
    rows_free(&w);
}

void report_table1_html(FILE *out, const Study *s, int *figure)
{
    fputs("<section id=\"transfer\"><h2>Transfer experiment (Table 1)</h2>\n", out);
    if (!s->has_table) {
        fputs("<p class=\"none\">No transfer results (transfer/table.csv).</p></section>\n", out);
        return;
    }
    const CsvTable *t = &s->table.csv;
    report_table1(out, TABLE_HTML, t);
    const int mc = mean_column(t);
    if (mc >= 0 && t->n_rows) {
        if (csv_column(t, "mean_ci_lo") >= 0 && csv_column(t, "mean_ci_hi") >= 0)
            intervals_figure(out, t, figure);
        else mean_bars(out, t, mc, figure);
    }
    if (csv_column(t, "delta_random") >= 0) forest_figure(out, t, figure);
    fputs("</section>\n", out);
}

void report_table1_md(FILE *out, const Study *s)
{
    fprintf(out, "## Transfer experiment (Table 1)\n\n");
    if (!s->has_table) fprintf(out, "No transfer results (transfer/table.csv).\n\n");
    else report_table1(out, TABLE_MARKDOWN, &s->table.csv);
}
