#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "report/report_data.h"

double grid_at(const Grid *g, int s, int i) { return g->v[(size_t)s * g->n_x + i]; }
const double *grid_row(const Grid *g, int s) { return g->v + (size_t)s * g->n_x; }

void grid_free(Grid *g)
{
    free_strings(g->x, g->n_x);
    free_strings(g->names, g->n_series);
    free(g->v);
    memset(g, 0, sizeof *g);
}

/* Index of label in list (appending it when new). */
static int intern(char ***list, int *n, const char *label)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp((*list)[i], label)) return i;
    *list = xrealloc(*list, sizeof **list * (size_t)(*n + 1));
    (*list)[*n] = xstrdup(label);
    return (*n)++;
}

static bool selected(const CsvTable *t, int r, int filter, const char *value)
{
    return filter < 0 || !strcmp(t->rows[r][filter], value);
}

void grid_from_columns(const CsvTable *t, const char *x_col, const char *const *cols,
                       const char *const *names, int n_cols, const char *filter_col,
                       const char *filter_value, Grid *g)
{
    memset(g, 0, sizeof *g);
    int xc = csv_column(t, x_col), fc = filter_col ? csv_column(t, filter_col) : -1;
    if (xc < 0 || (filter_col && fc < 0)) return;
    for (int r = 0; r < t->n_rows; r++)
        if (selected(t, r, fc, filter_value)) intern(&g->x, &g->n_x, t->rows[r][xc]);
    g->v = xmalloc(sizeof *g->v * (size_t)(n_cols * g->n_x + 1));
    for (int c = 0; c < n_cols; c++) {
        int vc = csv_column(t, cols[c]);
        double *row = g->v + (size_t)g->n_series * g->n_x;
        bool any = false;
        for (int i = 0; i < g->n_x; i++) row[i] = NAN;
        for (int r = 0; r < t->n_rows && vc >= 0; r++) {
            if (!selected(t, r, fc, filter_value)) continue;
            double y = csv_number(t, r, vc);
            row[intern(&g->x, &g->n_x, t->rows[r][xc])] = y;
            any |= !isnan(y);
        }
        if (any) intern(&g->names, &g->n_series, names ? names[c] : cols[c]);
    }
}

void grid_pivot(const CsvTable *t, const char *x_col, const char *series_col,
                const char *value_col, Grid *g)
{
    memset(g, 0, sizeof *g);
    int xc = csv_column(t, x_col), sc = csv_column(t, series_col), vc = csv_column(t, value_col);
    if (xc < 0 || sc < 0 || vc < 0) return;
    for (int r = 0; r < t->n_rows; r++) {
        if (!t->rows[r][sc][0]) continue;
        intern(&g->x, &g->n_x, t->rows[r][xc]);
        intern(&g->names, &g->n_series, t->rows[r][sc]);
    }
    g->v = xmalloc(sizeof *g->v * (size_t)(g->n_series * g->n_x + 1));
    for (int i = 0; i < g->n_series * g->n_x; i++) g->v[i] = NAN;
    for (int r = 0; r < t->n_rows; r++) {
        if (!t->rows[r][sc][0]) continue;
        int i = intern(&g->x, &g->n_x, t->rows[r][xc]);
        int s = intern(&g->names, &g->n_series, t->rows[r][sc]);
        g->v[(size_t)s * g->n_x + i] = csv_number(t, r, vc);
    }
}

double scan_baseline(const CsvTable *t, const char *col)
{
    int lc = csv_column(t, "layer"), c = csv_column(t, col);
    for (int r = 0; r < t->n_rows && lc >= 0; r++)
        if (!strcmp(t->rows[r][lc], "baseline")) return csv_number(t, r, c);
    return NAN;
}

int scan_dice_columns(const CsvTable *t, const char **cols, int max)
{
    int n = 0;
    for (int c = 0; c < t->n_cols && n < max; c++)
        if (!strncmp(t->header[c], "dice_", 5)) cols[n++] = t->header[c];
    return n;
}

int paper_figure_base(int numbered_layers)
{
    return numbered_layers == 18 ? 3 : numbered_layers == 25 ? 7 : 0;
}

int grid_numbered(const Grid *g)
{
    int n = 0;
    for (int i = 0; i < g->n_x; i++) n += strcmp(g->x[i], "head") && strcmp(g->x[i], "baseline");
    return n;
}

static double json_number(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* A count: a number in 0..INT_MAX (truncated), else -1 (missing, or not one a plan
 * can hold; converting a larger double to int would be undefined). */
static int json_count(const cJSON *o, const char *key)
{
    double v = json_number(o, key);
    return v >= 0 && v <= INT_MAX ? (int)v : -1;
}

static void json_string(const cJSON *o, const char *key, char *buf, size_t len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    snprintf(buf, len, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

void plan_summary(const cJSON *json, PlanSummary *p)
{
    memset(p, 0, sizeof *p);
    json_string(json, "verdict", p->verdict, sizeof p->verdict);
    json_string(json, "scan", p->scan, sizeof p->scan);
    json_string(json, "rmse_pair", p->rmse_pair, sizeof p->rmse_pair);
    p->tau = json_number(json, "tau");
    p->rho = json_number(json, "rho");
    p->rmse_max = json_number(json, "rmse_max");
    p->reused = json_count(json, "reused_tensors");
    p->total = json_count(json, "total_tensors");
    p->w_reusable = json_count(json, "w_reusable");
    p->w_total = json_count(json, "w_total");
    if (p->reused < 0) p->reused = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(json, "tensors"));
    const cJSON *nr = cJSON_GetObjectItemCaseSensitive(json, "not_reusable");
    for (int k = 0; k < ROLE_COUNT; k++) {
        const cJSON *layers = cJSON_GetObjectItemCaseSensitive(nr, param_role_name((ParamRole)k)), *item;
        size_t used = 0;
        cJSON_ArrayForEach(item, layers) {
            if (!cJSON_IsString(item)) continue;
            int w = snprintf(p->not_reusable[k] + used, sizeof p->not_reusable[k] - used, "%s%s",
                             used ? ", " : "", item->valuestring);
            if (w < 0 || (size_t)w >= sizeof p->not_reusable[k] - used) break;
            used += (size_t)w;
        }
    }
}
