/* The report's evidence that a swap verdict means something (docs/method.md, "Controls"):
 *   - per swap scan, the change of mean Dice per layer for each kind: the source's with its
 *     95 % interval as a band, the controls (init, random, control) as thin lines, and a
 *     sentence with what the controls show, counted from the scan;
 *   - per validated plan (plan --validate), the cumulative curve of the joint change with
 *     its interval band, and the whole plan and greedy set in a sentence. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/escape.h"
#include "report/report.h"
#include "report/report_data.h"
#include "report/svg.h"

/* Counts over a scan's swap rows, for the sentence. */
typedef struct ControlCounts {
    int rows, with_random, trivial, with_init, init_as_good, with_interval, interval_below;
    int with_control, control_as_good;
} ControlCounts;

static void count_controls(const CsvTable *t, ControlCounts *k)
{
    memset(k, 0, sizeof *k);
    const int c_layer = csv_column(t, "layer"), c_delta = csv_column(t, "delta"),
              c_triv = csv_column(t, "trivial"), c_init = csv_column(t, "delta_init"),
              c_ctl = csv_column(t, "delta_control"), c_hi = csv_column(t, "delta_hi");
    for (int r = 0; r < t->n_rows; r++) {
        if (c_layer < 0 || !strcmp(t->rows[r][c_layer], "baseline")) continue;
        const double d = c_delta < 0 ? NAN : csv_number(t, r, c_delta);
        const double triv = c_triv < 0 ? NAN : csv_number(t, r, c_triv);
        const double init = c_init < 0 ? NAN : csv_number(t, r, c_init);
        const double ctl = c_ctl < 0 ? NAN : csv_number(t, r, c_ctl);
        const double hi = c_hi < 0 ? NAN : csv_number(t, r, c_hi);
        k->rows++;
        if (!isnan(triv)) {
            k->with_random++;
            k->trivial += triv == 1;
        }
        if (!isnan(init) && !isnan(d)) {
            k->with_init++;
            k->init_as_good += init >= d;
        }
        if (!isnan(ctl) && !isnan(d)) {
            k->with_control++;
            k->control_as_good += ctl >= d;
        }
        if (!isnan(hi)) {
            k->with_interval++;
            k->interval_below += hi < 0;
        }
    }
}

static void controls_sentence(FILE *out, const ControlCounts *k)
{
    fputs("<p class=\"controls\">", out);
    if (k->with_random)
        fprintf(out, "In %d of %d tensors the random control does as well as the source "
                "(trivial: reusing them says nothing about the source). ", k->trivial, k->with_random);
    if (k->with_init)
        fprintf(out, "In %d of %d the target's own initial tensor does as well. ", k->init_as_good,
                k->with_init);
    if (k->with_control)
        fprintf(out, "In %d of %d a model of the target's task from another seed does as well. ",
                k->control_as_good, k->with_control);
    if (k->with_interval)
        fprintf(out, "In %d of %d tensors the source's swap lowers the Dice with its whole 95%% "
                "interval below 0.", k->interval_below, k->with_interval);
    fputs("</p>\n", out);
}

/* One kind: the source's delta with its band, the controls thin. */
static void kind_chart(FILE *out, const CsvTable *t, const char *kind)
{
    static const char *const cols[] = {"delta", "delta_lo", "delta_hi", "delta_init",
                                       "delta_random", "delta_control"};
    Grid g;
    grid_from_columns(t, "layer", cols, NULL, 6, "kind", kind, &g);
    int at[6];
    for (int c = 0; c < 6; c++) {
        at[c] = -1;
        for (int s = 0; s < g.n_series; s++)
            if (!strcmp(g.names[s], cols[c])) at[c] = s;
    }
    if (!g.n_x || at[0] < 0) {
        grid_free(&g);
        return;
    }
    static const char *const names[] = {"source (95% band)", "", "", "init", "random", "control"};
    SvgSeries ss[4];
    int n = 0;
    ss[n++] = (SvgSeries){.name = names[0], .y = grid_row(&g, at[0]),
                          .lo = at[1] >= 0 ? grid_row(&g, at[1]) : NULL,
                          .hi = at[2] >= 0 ? grid_row(&g, at[2]) : NULL};
    for (int c = 3; c < 6; c++)
        if (at[c] >= 0) ss[n++] = (SvgSeries){.name = names[c], .y = grid_row(&g, at[c]), .thin = true};
    char title[64];
    snprintf(title, sizeof title, "%s: change of mean Dice", kind);
    SvgChart ch = svg_chart_defaults();
    ch.title = title;
    ch.x_label = "layer";
    ch.y_label = "delta Dice";
    ch.n_x = g.n_x;
    ch.x_labels = (const char *const *)g.x;
    ch.n_series = n;
    ch.series = ss;
    ch.width = 470;
    ch.height = 260;
    svg_chart_write(out, &ch);
    grid_free(&g);
}

void report_scan_controls_html(FILE *out, const CsvTable *t, const char *name, int *figure)
{
    ControlCounts k;
    count_controls(t, &k);
    if (!k.with_random && !k.with_init && !k.with_interval) return;
    fputs("<figure class=\"controls\"><div class=\"charts\">\n", out);
    for (int k = 0; k < ROLE_COUNT; k++) kind_chart(out, t, param_role_name((ParamRole)k));
    fprintf(out, "</div><figcaption><b>Figure %d.</b> ", ++*figure);
    html_escape(out, name);
    fputs(": change of mean Dice when one tensor is swapped in, per kind. Thick: from the source, "
          "with its 95% paired bootstrap interval over patients as a band; thin: the controls "
          "(init: the target's initial tensor; random: a fresh draw of its initialisation rule, "
          "BN tensors permuted; control: another seed's model).</figcaption>\n", out);
    controls_sentence(out, &k);
    fputs("</figure>\n", out);
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* The cumulative curve of one validated plan. */
static void validation_figure(FILE *out, const char *name, const cJSON *v, int *figure)
{
    const cJSON *cum = cJSON_GetObjectItemCaseSensitive(v, "cumulative"), *pt;
    const int n = cJSON_GetArraySize(cum);
    if (n < 1) return;
    char **x = calloc((size_t)n, sizeof *x);
    double *y = calloc((size_t)n * 3, sizeof *y), *lo = y + n, *hi = y + 2 * n;
    int i = 0;
    cJSON_ArrayForEach(pt, cum) {
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(pt, "layer");
        x[i] = strdup(cJSON_IsString(l) ? l->valuestring : "?");
        y[i] = num(pt, "delta");
        lo[i] = num(pt, "delta_lo");
        hi[i] = num(pt, "delta_hi");
        i++;
    }
    const cJSON *whole = cJSON_GetObjectItemCaseSensitive(v, "whole");
    const cJSON *greedy = cJSON_GetObjectItemCaseSensitive(v, "greedy");
    const int n_greedy = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(greedy, "tensors"));
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(greedy, "steps");
    const cJSON *last = n_greedy ? cJSON_GetArrayItem(steps, n_greedy - 1) : NULL;
    SvgSeries s = {.name = "plan's tensors of layers 1..k (95% band)", .y = y, .lo = lo, .hi = hi};
    SvgChart ch = svg_chart_defaults();
    ch.title = "cumulative joint change of mean Dice";
    ch.x_label = "up to layer k";
    ch.y_label = "delta Dice";
    ch.n_x = n;
    ch.x_labels = (const char *const *)x;
    ch.n_series = 1;
    ch.series = &s;
    ch.width = 560;
    ch.height = 280;
    fputs("<figure class=\"validation\"><div class=\"charts\">\n", out);
    svg_chart_write(out, &ch);
    fprintf(out, "</div><figcaption><b>Figure %d.</b> Plan ", ++*figure);
    html_escape(out, name);
    fprintf(out, " swapped in jointly (plan --validate, %d slices of %d patients): the change "
            "of mean Dice from the target (%.4f) when the plan's tensors of layers 1..k are all "
            "taken from the source.</figcaption>\n", (int)num(v, "slices"), (int)num(v, "patients"),
            num(v, "baseline_mean_dice"));
    fprintf(out, "<p class=\"controls\">The whole plan (%d tensors) changes the mean Dice by "
            "%+.4f [%+.4f, %+.4f]; ", (int)num(whole, "tensors"), num(whole, "delta"),
            num(whole, "delta_lo"), num(whole, "delta_hi"));
    if (last)
        fprintf(out, "the greedy set keeps %d tensors within &tau; (change %+.4f [%+.4f, %+.4f]).",
                n_greedy, num(last, "delta"), num(last, "delta_lo"), num(last, "delta_hi"));
    else
        fputs("no single tensor keeps the joint change within &tau;.", out);
    fprintf(out, " %d sets evaluated.</p>\n</figure>\n", (int)num(v, "evaluations"));
    for (i = 0; i < n; i++) free(x[i]);
    free(x);
    free(y);
}

void report_plan_validation_html(FILE *out, const Study *s, int *figure)
{
    for (int i = 0; i < s->n_plans; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(s->plans[i].json, "validation");
        if (cJSON_IsObject(v)) validation_figure(out, s->plans[i].name, v, figure);
    }
}
