/* "Will a source help?" in the study report: the per-layer CKA figures and the verdict on
 * question 3 (docs/method.md, "Predictors").
 *
 * A point of the verdict is one (n, source, freeze | fine-tune) row of Table 1; its gain is
 * the row's mean Dice minus that of random initialisation at the same n. Each predictor is
 * looked up by the source's name (Table 1's configuration "NAME freeze"):
 *   LogME, LEEP      transferability/NAME2.csv, the row whose source is NAME
 *   mean CKA         cka/NAME2.csv, mean over the layers of the rows whose source is NAME
 *   RMSE W, aligned  rmse/NAME2.csv, mean over the numbered layers of the pairs with NAME
 *   plan swap        plans/NAME2.json validated with source NAME: the whole plan's change of
 *                    the target's mean Dice without training (the paper's own evidence)
 * Kendall's tau-b against the gain, with a 95 % interval from resampling the runs of every
 * configuration (transfer/runs.csv, or the run folders of older studies); without runs, no
 * interval. A predictor from models without a shared initialisation is marked. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "engine/error.h"
#include "util/escape.h"
#include "util/rankcorr.h"
#include "report/report.h"
#include "report/report_data.h"
#include "report/svg.h"

#define N_PREDICTORS 6
#define BOOTSTRAP 2000

typedef struct Verdict {
    int n_points;
    char (*source)[64];
    int *config, *base, *mode;          /* Table 1 rows; mode 0 freeze, 1 fine-tune (the
                                         * plan's tensors), 2 all fine-tune (every tensor) */
    double *gain;
    double **runs;                      /* [table rows] final mean Dice of each run */
    int *n_runs;
    bool per_run;                       /* every configuration has its runs, some several */
    double pred[N_PREDICTORS][64];
    bool unshared[N_PREDICTORS];
} Verdict;

static const char *const predictor_names[N_PREDICTORS] = {
    "LogME", "LEEP", "mean CKA", "RMSE W (raw)", "RMSE W (aligned)", "plan swap (zero-shot)"};
enum { P_LOGME, P_LEEP, P_CKA, P_RMSE, P_RMSE_ALIGNED, P_SWAP, P_COUNT = N_PREDICTORS };

static const char *cell(const CsvTable *t, int r, const char *col)
{
    int c = csv_column(t, col);
    return c < 0 ? "" : t->rows[r][c];
}

/* The run folders' prefix of Table 1 row r, as transfer/transfer.c names them. */
static void run_prefix(int n, const char *config, char *out, size_t len)
{
    size_t cl = strlen(config);
    if (!strcmp(config, "random init")) snprintf(out, len, "n%d-random-s", n);
    else if (cl > 7 && !strcmp(config + cl - 7, " freeze"))
        snprintf(out, len, "n%d-%.*s-freeze-s", n, (int)(cl - 7), config);
    else if (cl > 10 && !strcmp(config + cl - 10, " fine-tune"))
        snprintf(out, len, "n%d-%.*s-finetune-s", n, (int)(cl - 10), config);
    else out[0] = '\0';
    for (char *q = out; *q; q++)
        if (*q == ' ' || *q == '/') *q = '_';
}

/* The final mean Dice of every run of Table 1's (n, configuration) from transfer/runs.csv
 * (written since Table 1 has subsets); 0 runs when the file or the rows are absent, -1
 * when there is no such file. */
static int read_runs_csv(const char *dir, const char *n, const char *config, double **out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/transfer/runs.csv", dir);
    CsvTable t;
    if (csv_read(path, &t)) {
        error_clear();
        return -1;
    }
    const int nc = csv_column(&t, "n"), cc = csv_column(&t, "configuration");
    const int mc = csv_column(&t, "mean_dice");
    int count = 0;
    for (int r = 0; nc >= 0 && cc >= 0 && mc >= 0 && r < t.n_rows; r++) {
        double v = csv_number(&t, r, mc);
        if (strcmp(t.rows[r][nc], n) || strcmp(t.rows[r][cc], config) || !isfinite(v)) continue;
        *out = xrealloc(*out, sizeof **out * (size_t)(count + 1));
        (*out)[count++] = v;
    }
    csv_free(&t);
    return count;
}

/* The final mean Dice of every run of a configuration (0 runs when absent), from the run
 * folders of a study written before runs.csv. */
static int read_runs(const char *dir, const char *prefix, double **out)
{
    *out = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/transfer/runs", dir);
    DIR *d = prefix[0] ? opendir(path) : NULL;
    if (!d) return 0;
    int n = 0;
    size_t pl = strlen(prefix);
    for (struct dirent *e; (e = readdir(d));) {
        if (strncmp(e->d_name, prefix, pl) || !e->d_name[pl] ||
            strspn(e->d_name + pl, "0123456789") != strlen(e->d_name + pl))
            continue;
        char log[4400];
        snprintf(log, sizeof log, "%s/%s/log.csv", path, e->d_name);
        CsvTable t;
        if (csv_read(log, &t)) continue;
        int c = csv_column(&t, "mean_dice");
        double v = t.n_rows && c >= 0 ? csv_number(&t, t.n_rows - 1, c) : NAN;
        csv_free(&t);
        if (!isfinite(v)) continue;
        *out = xrealloc(*out, sizeof **out * (size_t)(n + 1));
        (*out)[n++] = v;
    }
    closedir(d);
    return n;
}

/* Mean of a column over rows where key_col == key (and, for RMSE, not the head); sets
 * *unshared when such a row says shared_init "no". */
static double lookup(const StudyTable *tables, int n_tables, const char *key_col, const char *key,
                     const char *col, bool skip_head, bool *unshared)
{
    double sum = 0;
    int count = 0;
    for (int i = 0; i < n_tables; i++) {
        const CsvTable *t = &tables[i].csv;
        if (csv_column(t, col) < 0) continue;
        for (int r = 0; r < t->n_rows; r++) {
            bool match = !strcmp(cell(t, r, key_col), key);
            if (!match && !strcmp(key_col, "model_b")) match = !strcmp(cell(t, r, "model_a"), key);
            if (!match || (skip_head && !strcmp(cell(t, r, "layer"), "head"))) continue;
            double v = csv_number(t, r, csv_column(t, col));
            if (!isfinite(v)) continue;
            sum += v;
            count++;
            if (!strcmp(cell(t, r, "shared_init"), "no")) *unshared = true;
        }
    }
    return count ? sum / count : NAN;
}

/* The paper's own predictor: the change of the target's mean Dice when the source's whole
 * plan is swapped in without training (plans/NAME.json validated with plan --validate,
 * whose "validation" names the source). Mean over the plans of that source; NAN without. */
static double plan_swap_delta(const Study *s, const char *source)
{
    double sum = 0;
    int count = 0;
    for (int i = 0; i < s->n_plans; i++) {
        const cJSON *val = cJSON_GetObjectItemCaseSensitive(s->plans[i].json, "validation");
        const cJSON *src = cJSON_GetObjectItemCaseSensitive(val, "source");
        const cJSON *whole = cJSON_GetObjectItemCaseSensitive(val, "whole");
        const cJSON *delta = cJSON_GetObjectItemCaseSensitive(whole, "delta");
        if (!cJSON_IsString(src) || strcmp(src->valuestring, source) || !cJSON_IsNumber(delta))
            continue;
        sum += delta->valuedouble;
        count++;
    }
    return count ? sum / count : NAN;
}

static void verdict_build(const Study *s, Verdict *v)
{
    memset(v, 0, sizeof *v);
    const CsvTable *t = &s->table.csv;
    const int nc = csv_column(t, "n"), cc = csv_column(t, "configuration"), mc = csv_column(t, "mean");
    if (nc < 0 || cc < 0 || mc < 0) return;
    v->source = xcalloc((size_t)t->n_rows + 1, sizeof *v->source);
    v->config = xcalloc((size_t)t->n_rows + 1, sizeof *v->config);
    v->base = xcalloc((size_t)t->n_rows + 1, sizeof *v->base);
    v->mode = xcalloc((size_t)t->n_rows + 1, sizeof *v->mode);
    v->gain = xcalloc((size_t)t->n_rows + 1, sizeof *v->gain);
    v->runs = xcalloc((size_t)t->n_rows + 1, sizeof *v->runs);
    v->n_runs = xcalloc((size_t)t->n_rows + 1, sizeof *v->n_runs);
    v->per_run = true;
    for (int r = 0; r < t->n_rows; r++) {
        char prefix[512];
        run_prefix(atoi(t->rows[r][nc]), t->rows[r][cc], prefix, sizeof prefix);
        v->n_runs[r] = read_runs_csv(s->dir, t->rows[r][nc], t->rows[r][cc], &v->runs[r]);
        if (v->n_runs[r] < 0) v->n_runs[r] = read_runs(s->dir, prefix, &v->runs[r]);
        if (!v->n_runs[r]) {                 /* no runs: the table's mean stands alone */
            v->per_run = false;
            v->runs[r] = xmalloc(sizeof **v->runs);
            v->runs[r][0] = csv_number(t, r, mc);
            v->n_runs[r] = 1;
        }
    }
    /* resampling single runs gives no spread: an interval needs repeated runs */
    bool repeated = false;
    for (int r = 0; r < t->n_rows; r++) repeated |= v->n_runs[r] > 1;
    v->per_run = v->per_run && repeated;
    for (int r = 0; r < t->n_rows && v->n_points < 64; r++) {
        const char *conf = t->rows[r][cc];
        size_t cl = strlen(conf);
        /* "NAME freeze", "NAME fine-tune", "NAME all fine-tune" (transfer.h) */
        int mode = cl > 14 && !strcmp(conf + cl - 14, " all fine-tune") ? 2
                 : cl > 7 && !strcmp(conf + cl - 7, " freeze") ? 0
                 : cl > 10 && !strcmp(conf + cl - 10, " fine-tune") ? 1 : -1;
        int base = -1;
        for (int q = 0; q < t->n_rows; q++)
            if (!strcmp(t->rows[q][cc], "random init") && !strcmp(t->rows[q][nc], t->rows[r][nc])) base = q;
        if (mode < 0 || base < 0) continue;
        const int i = v->n_points++;
        snprintf(v->source[i], sizeof v->source[i], "%.*s", (int)(cl - (size_t[]){7, 10, 14}[mode]), conf);
        v->config[i] = r;
        v->base[i] = base;
        v->mode[i] = mode;
        v->gain[i] = csv_number(t, r, mc) - csv_number(t, base, mc);
        const char *src = v->source[i];
        v->pred[P_LOGME][i] = lookup(s->scores, s->n_scores, "source", src, "logme", false, &v->unshared[P_LOGME]);
        v->pred[P_LEEP][i] = lookup(s->scores, s->n_scores, "source", src, "leep", false, &v->unshared[P_LEEP]);
        v->pred[P_CKA][i] = lookup(s->cka, s->n_cka, "source", src, "cka", false, &v->unshared[P_CKA]);
        v->pred[P_RMSE][i] = lookup(s->rmse, s->n_rmse, "model_b", src, "rmse_w", true, &v->unshared[P_RMSE]);
        v->pred[P_RMSE_ALIGNED][i] = lookup(s->rmse, s->n_rmse, "model_b", src, "rmse_w_aligned",
                                            true, &v->unshared[P_RMSE_ALIGNED]);
        v->pred[P_SWAP][i] = plan_swap_delta(s, src);
    }
}

static void verdict_free(Verdict *v, int rows)
{
    for (int r = 0; r < rows && v->runs; r++) free(v->runs[r]);
    free(v->runs);
    free(v->n_runs);
    free(v->source);
    free(v->config);
    free(v->base);
    free(v->mode);
    free(v->gain);
}

typedef struct TauRow {
    int points;
    double tau, lo, hi;
} TauRow;

/* tau-b over the points where predictor p is known, and its bootstrap interval. */
static TauRow verdict_tau(const Verdict *v, int p, int n_configs)
{
    TauRow row = {0, NAN, NAN, NAN};
    double x[64], g[64];
    int cfg[64], base[64];
    for (int i = 0; i < v->n_points; i++) {
        if (!isfinite(v->pred[p][i])) continue;
        x[row.points] = v->pred[p][i];
        g[row.points] = v->gain[i];
        cfg[row.points] = v->config[i];
        base[row.points++] = v->base[i];
    }
    row.tau = kendall_tau_b(x, g, row.points);
    if (v->per_run && row.points >= 2)
        kendall_bootstrap(x, cfg, base, row.points, (const double *const *)v->runs, v->n_runs,
                          n_configs, BOOTSTRAP, 1, &row.lo, &row.hi);
    return row;
}

/* Kendall's tau-b of every predictor against the gains, with its interval. */
static void verdict_table(FILE *out, TableFormat format, const Verdict *v, int n_configs)
{
    TableWriter w;
    table_begin(&w, out, format, NULL, NULL);
    table_caption_begin(&w);
    table_printf(&w, "Kendall's tau-b of each predictor against the gain in mean Dice over "
                 "random initialisation (each n, freeze and fine-tune: %d points); 95 %% "
                 "interval from %d bootstrap resamples of the runs behind each gain%s.",
                 v->n_points, BOOTSTRAP, v->per_run ? "" : " (not available: it needs every "
                 "configuration's runs in transfer/runs/, and several runs of some)");
    table_caption_end(&w);
    table_markup(&w, "\n", NULL);
    table_header(&w);
    static const char *const header[] = {"predictor", "points", "tau-b", "95 % interval", "note"};
    for (int i = 0; i < 5; i++) table_head(&w, header[i]);
    table_row_end(&w);
    for (int p = 0; p < P_COUNT; p++) {
        const TauRow r = verdict_tau(v, p, n_configs);
        table_row(&w);
        table_head(&w, predictor_names[p]);
        table_cellf(&w, "%d", r.points);
        if (isfinite(r.tau)) table_cellf(&w, "%.3f", r.tau);
        else table_cell_class(&w, "na", "—");
        if (isfinite(r.lo)) table_cellf(&w, "[%.3f, %.3f]", r.lo, r.hi);
        else table_cell_class(&w, "na", "—");
        table_cell_begin(&w, TABLE_DATA, NULL);
        if (v->unshared[p]) {
            table_markup(&w, "<span class=\"warn\">", NULL);
            table_printf(&w, "from models that share no initialisation with the target");
            table_markup(&w, "</span>", NULL);
        } else if (!r.points) {
            table_printf(&w, "no values");
        }
        table_cell_end(&w);
        table_row_end(&w);
    }
    table_end(&w);
}

static void cka_charts(FILE *out, const Study *s)
{
    for (int i = 0; i < s->n_cka; i++) {
        const CsvTable *t = &s->cka[i].csv;
        const char *cols[] = {"cka"}, *names[] = {s->cka[i].name};
        Grid g;
        grid_from_columns(t, "layer", cols, names, 1, NULL, NULL, &g);
        SvgChart c = svg_chart_defaults();
        SvgSeries series = {.name = s->cka[i].name, .y = grid_row(&g, 0)};
        c.title = s->cka[i].name;
        c.x_label = "layer";
        c.y_label = "linear CKA (unbiased)";
        c.n_x = g.n_x;
        c.x_labels = (const char *const *)g.x;
        c.n_series = g.n_series ? 1 : 0;
        c.series = &series;
        c.y_min = 0;
        c.y_max = 1;
        fputs("<figure>", out);
        svg_chart_write(out, &c);
        double mean = 0;
        for (int k = 0; k < g.n_x; k++) mean += grid_at(&g, 0, k) / g.n_x;
        const char *src = t->n_rows ? cell(t, 0, "source") : "", *tgt = t->n_rows ? cell(t, 0, "target") : "";
        fprintf(out, "<figcaption>Linear CKA (unbiased HSIC) between the activations of ");
        html_escape(out, tgt);
        fputs(" (target) and ", out);
        html_escape(out, src);
        fprintf(out, " (source) after each BN+ReLU, on %s pixels of the target's images; mean "
                "%.3f.%s</figcaption></figure>\n", t->n_rows ? cell(t, 0, "pixels") : "?", mean,
                t->n_rows && !strcmp(cell(t, 0, "shared_init"), "no")
                    ? " <span class=\"warn\">The models share no initialisation.</span>" : "");
        grid_free(&g);
    }
}

void report_predictors_html(FILE *out, const Study *s)
{
    fputs("<section id=\"predictors\"><h2>Will a source help?</h2>\n<p>Predictors of the "
          "transfer gain: weight-matched RMSE (reusenet rmse --align), linear CKA (reusenet "
          "cka), LogME and LEEP (reusenet transferability).</p>\n", out);
    if (!s->n_cka) fputs("<p class=\"none\">No CKA tables (cka/*.csv).</p>\n", out);
    cka_charts(out, s);
    if (!s->has_table) {
        fputs("<p class=\"none\">No Table 1 (transfer/table.csv): no verdict.</p></section>\n", out);
        return;
    }
    Verdict v;
    verdict_build(s, &v);
    fputs("<h3>The verdict on question 3</h3>\n", out);
    verdict_table(out, TABLE_HTML, &v, s->table.csv.n_rows);
    fputs("<div class=\"charts\">\n", out);
    static const char *const modes[3] = {"freeze", "fine-tune", "all fine-tune"};
    for (int p = 0; p < P_COUNT; p++) {
        int n = 0;
        for (int i = 0; i < v.n_points; i++) n += isfinite(v.pred[p][i]);
        if (!n) continue;
        const char *labels[64];
        for (int i = 0; i < v.n_points; i++) labels[i] = v.source[i];
        SvgScatter sc = {predictor_names[p], predictor_names[p], "gain in mean Dice",
                         v.n_points, v.pred[p], v.gain, labels, v.mode, modes, 3, 0, 0};
        svg_scatter_write(out, &sc);
    }
    fputs("</div>\n</section>\n", out);
    verdict_free(&v, s->table.csv.n_rows);
}

void report_predictors_md(FILE *out, const Study *s)
{
    fprintf(out, "## Will a source help?\n\n");
    for (int i = 0; i < s->n_cka; i++) {
        const CsvTable *t = &s->cka[i].csv;
        bool unshared = false;
        double m = lookup(&s->cka[i], 1, "source", t->n_rows ? cell(t, 0, "source") : "", "cka",
                          false, &unshared);
        fputs("- CKA ", out);
        md_escape(out, s->cka[i].name);
        fprintf(out, ": mean %.4f over %d layers%s\n", m, t->n_rows,
                unshared ? " (no shared initialisation)" : "");
    }
    if (!s->has_table) {
        fprintf(out, "\nNo Table 1: no verdict.\n\n");
        return;
    }
    Verdict v;
    verdict_build(s, &v);
    fputc('\n', out);
    verdict_table(out, TABLE_MARKDOWN, &v, s->table.csv.n_rows);
    verdict_free(&v, s->table.csv.n_rows);
}
