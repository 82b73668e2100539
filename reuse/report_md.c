/* report.md: the report's tables in Markdown (report.h). */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "engine/atomic_file.h"
#include "reuse/report.h"
#include "reuse/report_data.h"

/* A table cell: '|' escaped, line breaks as spaces. */
static void cell(FILE *out, const char *s)
{
    fputs(" ", out);
    for (; *s; s++) {
        if (*s == '|') fputs("\\|", out);
        else fputc(*s == '\n' || *s == '\r' ? ' ' : *s, out);
    }
    fputs(" |", out);
}

static void number(FILE *out, double x)
{
    char buf[32];
    if (isnan(x)) snprintf(buf, sizeof buf, "-");
    else snprintf(buf, sizeof buf, "%.4g", x);
    cell(out, buf);
}

static void header(FILE *out, const char *first, char *const *names, int n)
{
    fputs("|", out);
    cell(out, first);
    for (int i = 0; i < n; i++) cell(out, names[i]);
    fputs("\n|---|", out);
    for (int i = 0; i < n; i++) fputs("---:|", out);
    fputs("\n", out);
}

static void grid_md(FILE *out, const Grid *g, const char *corner)
{
    if (!g->n_x) {
        fputs("(no data)\n\n", out);
        return;
    }
    header(out, corner, g->names, g->n_series);
    for (int i = 0; i < g->n_x; i++) {
        fputs("|", out);
        cell(out, g->x[i]);
        for (int s = 0; s < g->n_series; s++) number(out, grid_at(g, s, i));
        fputs("\n", out);
    }
    fputs("\n", out);
}

static void scans_md(FILE *out, const Study *s)
{
    fprintf(out, "## Swap scans\n\nMean Dice of the target with one tensor taken from the "
            "source, per layer and kind (spec/reuse.md, section 1).\n\n");
    if (!s->n_scans) fprintf(out, "No scans (scans/*.csv).\n\n");
    for (int i = 0; i < s->n_scans; i++) {
        const CsvTable *t = &s->scans[i].csv;
        Grid g;
        grid_pivot(t, "layer", "kind", "mean", &g);
        int fig = paper_figure_base(grid_numbered(&g));
        fprintf(out, "### %s\n\nBaseline mean Dice %.4f (per patient %.4f ± %.4f).", s->scans[i].name,
                scan_baseline(t, "mean"), scan_baseline(t, "patient_mean"), scan_baseline(t, "patient_sd"));
        if (fig) fprintf(out, " Cf. the paper's Figures %d and %d.", fig, fig + 1);
        fprintf(out, "\n\n");
        grid_md(out, &g, "layer");
        grid_free(&g);
        report_kinds_md(out, t);
    }
}

static void bn_md(FILE *out, const Study *s)
{
    fprintf(out, "## BN scale and shift statistics\n\n");
    if (!s->n_bn) fprintf(out, "No BN statistics (bn/*.csv).\n\n");
    for (int i = 0; i < s->n_bn; i++) {
        static const char *const cols[] = {"MRM", "MRV", "MRW", "MRB", "skipped"};
        Grid g;
        grid_from_columns(&s->bn[i].csv, "layer", cols, NULL, 5, NULL, NULL, &g);
        int fig = paper_figure_base(grid_numbered(&g));
        fprintf(out, "### %s\n\n", s->bn[i].name);
        if (fig) fprintf(out, "Cf. the paper's Figure %d.\n\n", fig + 2);
        grid_md(out, &g, "layer");
        grid_free(&g);
    }
}

static void rmse_md(FILE *out, const Study *s)
{
    fprintf(out, "## Kernel RMSE\n\n");
    if (!s->n_rmse) fprintf(out, "No RMSE tables (rmse/*.csv).\n\n");
    for (int i = 0; i < s->n_rmse; i++) {
        const CsvTable *t = &s->rmse[i].csv;
        fprintf(out, "### %s\n\n", s->rmse[i].name);
        int pc = csv_column(t, "pair"), sc = csv_column(t, "shared_init");
        for (int r = 0; r < t->n_rows && sc >= 0; r++)
            if (!r || strcmp(t->rows[r][pc], t->rows[r - 1][pc]))
                fprintf(out, "- %s: %s\n", t->rows[r][pc], !strcmp(t->rows[r][sc], "yes")
                        ? "shared initialisation" : "**no shared initialisation**: the RMSE "
                        "compares different starting points");
        fprintf(out, "\nW:\n\n");
        Grid g;
        grid_pivot(t, "layer", "pair", "rmse_w", &g);
        grid_md(out, &g, "layer");
        grid_free(&g);
        fprintf(out, "B:\n\n");
        grid_pivot(t, "layer", "pair", "rmse_b", &g);
        grid_md(out, &g, "layer");
        grid_free(&g);
    }
}

static void plans_md(FILE *out, const Study *s)
{
    fprintf(out, "## Reuse plans\n\n");
    if (!s->n_plans) {
        fprintf(out, "No plans (plans/*.json).\n\n");
        return;
    }
    char *cols[] = {"tau", "rho", "tensors reused", "W reusable", "verdict", "not reusable"};
    header(out, "plan", cols, 6);
    for (int i = 0; i < s->n_plans; i++) {
        PlanSummary p;
        plan_summary(s->plans[i].json, &p);
        char buf[1024];
        fputs("|", out);
        cell(out, s->plans[i].name);
        number(out, p.tau);
        number(out, p.rho);
        if (p.total > 0) snprintf(buf, sizeof buf, "%d of %d (%.0f%%)", p.reused, p.total, 100.0 * p.reused / p.total);
        else snprintf(buf, sizeof buf, "%d", p.reused);
        cell(out, buf);
        if (p.w_total > 0) snprintf(buf, sizeof buf, "%d of %d", p.w_reusable, p.w_total);
        else snprintf(buf, sizeof buf, "-");
        cell(out, buf);
        cell(out, p.verdict);
        size_t used = 0;
        buf[0] = '\0';
        for (int k = 0; k < ROLE_COUNT; k++)
            if (p.not_reusable[k][0] && used < sizeof buf)
                used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s: %s", used ? "; " : "",
                                         param_role_name((ParamRole)k), p.not_reusable[k]);
        cell(out, used ? buf : "none");
        fputs("\n", out);
    }
    fputs("\n", out);
}

void report_render_md(const Study *s, FILE *out)
{
    fprintf(out, "# Parameter-reuse study: %s\n\n", s->dir);
    scans_md(out, s);
    bn_md(out, s);
    rmse_md(out, s);
    plans_md(out, s);
    report_table1_md(out, s);
    report_predictors_md(out, s);
    fprintf(out, "## Predictions\n\n");
    if (!s->n_overlays) fprintf(out, "No overlays (overlays/*.png).\n");
    for (int i = 0; i < s->n_overlays; i++)
        fprintf(out, "- %s/overlays/%s.png\n", s->dir, s->overlays[i].name);
}

int report_write_md(const Study *s, const char *path)
{
    AtomicFile *af = atomic_open(path);
    if (!af) return -1;
    report_render_md(s, atomic_stream(af));
    return atomic_commit(af);
}
