/* The report's tables of per-layer numbers and of plans, each written once for both pages
 * (table_writer.h). */
#include <cjson/cJSON.h>
#include <string.h>

#include "report/report_data.h"
#include "util/table_writer.h"

void report_grid_table(FILE *out, TableFormat format, const Grid *g, const char *corner,
                       const char *summary)
{
    TableWriter w;
    table_begin(&w, out, format, NULL, summary);
    table_header(&w);
    table_head(&w, corner);
    for (int s = 0; s < g->n_series; s++) table_head(&w, g->names[s]);
    table_row_end(&w);
    for (int i = 0; i < g->n_x; i++) {
        table_row(&w);
        table_head(&w, g->x[i]);
        for (int s = 0; s < g->n_series; s++) table_number(&w, "%.4g", grid_at(g, s, i));
        table_row_end(&w);
    }
    table_end(&w);
}

void report_scan_table(FILE *out, TableFormat format, const Grid *means)
{
    report_grid_table(out, format, means, "layer", "Mean Dice per layer and swapped kind");
}

void report_bn_grid(const CsvTable *t, Grid *g)
{
    static const char *const cols[] = {"MRM", "MRB", "MRV", "MRW"};
    grid_from_columns(t, "layer", cols, NULL, 4, NULL, NULL, g);
}

void report_bn_table(FILE *out, TableFormat format, const Grid *g)
{
    report_grid_table(out, format, g, "layer", "MRM, MRB, MRV, MRW per layer");
}

void report_rmse_tables(FILE *out, TableFormat format, const CsvTable *t)
{
    static const struct { const char *col, *summary; } tables[] = {
        {"rmse_w", "RMSE of W per layer and pair"},
        {"rmse_b", "RMSE of B per layer and pair"},
        {"rmse_w_aligned", "RMSE of W after alignment, per layer and pair"}};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        if (i == 2 && csv_column(t, tables[i].col) < 0) break;   /* written by rmse --align */
        Grid g;
        grid_pivot(t, "layer", "pair", tables[i].col, &g);
        report_grid_table(out, format, &g, "layer", tables[i].summary);
        grid_free(&g);
    }
}

/* The plan's trivial tensors, apart from the others: their count and names. */
static void trivial_cell(TableWriter *w, const cJSON *json)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(json, "trivial"), *item;
    if (!cJSON_IsArray(list)) {
        table_missing(w);
        return;
    }
    const int n = cJSON_GetArraySize(list);
    table_cell_begin(w, TABLE_DATA, NULL);
    table_markup(w, "<details><summary>", NULL);
    table_printf(w, "%d", n);
    table_markup(w, "</summary>", n ? ": " : NULL);
    const char *sep = "";
    cJSON_ArrayForEach(item, list) {
        if (!cJSON_IsString(item)) continue;
        table_printf(w, "%s", sep);
        table_text(w, item->valuestring);
        sep = ", ";
    }
    table_markup(w, "</details>", NULL);
    table_cell_end(w);
}

static void plans_header(TableWriter *w)
{
    table_header(w);
    table_head(w, "plan");
    table_cell_begin(w, TABLE_HEAD, NULL);
    table_markup(w, "&tau;", "τ");
    table_cell_end(w);
    table_cell_begin(w, TABLE_HEAD, NULL);
    table_markup(w, "&rho;", "ρ");
    table_cell_end(w);
    table_head(w, "tensors reused");
    table_head(w, "W reusable");
    table_head(w, "verdict");
    for (int k = 0; k < ROLE_COUNT; k++) {
        table_cell_begin(w, TABLE_HEAD, NULL);
        table_printf(w, "not reusable: %s", param_role_name((ParamRole)k));
        table_cell_end(w);
    }
    table_head(w, "trivial (reusable, but the random control does as well)");
    table_row_end(w);
}

void report_plans_table(FILE *out, TableFormat format, const Study *s)
{
    TableWriter w;
    table_begin(&w, out, format, " id=\"table-plans\"", NULL);
    plans_header(&w);
    for (int i = 0; i < s->n_plans; i++) {
        PlanSummary p;
        plan_summary(s->plans[i].json, &p);
        table_row_id(&w, "plan-", s->plans[i].name);
        table_head(&w, s->plans[i].name);
        table_number(&w, "%.4g", p.tau);
        table_number(&w, "%.4g", p.rho);
        if (p.total > 0) table_cellf(&w, "%d of %d (%.0f%%)", p.reused, p.total, 100.0 * p.reused / p.total);
        else table_cellf(&w, "%d", p.reused);
        if (p.w_total > 0) table_cellf(&w, "%d of %d", p.w_reusable, p.w_total);
        else table_missing(&w);
        table_cell_class(&w, strcmp(p.verdict, "reusable network") ? "warn" : "ok",
                         p.verdict[0] ? p.verdict : "?");
        for (int k = 0; k < ROLE_COUNT; k++) table_cell(&w, p.not_reusable[k]);
        trivial_cell(&w, s->plans[i].json);
        table_row_end(&w);
    }
    table_end(&w);
}
