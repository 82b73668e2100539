/* report.md: the report's tables in Markdown (report.h), written by the same calls as the
 * HTML page's (table_writer.h), with every name from the study escaped (escape.h). */
#include <string.h>

#include "engine/atomic_file.h"
#include "util/escape.h"
#include "report/report.h"
#include "report/report_data.h"

static void scans_md(FILE *out, const Study *s)
{
    fprintf(out, "## Swap scans\n\nMean Dice of the target with one tensor taken from the "
            "source, per layer and kind (docs/method.md, \"The swap scan\").\n\n");
    if (!s->n_scans) fprintf(out, "No scans (scans/*.csv).\n\n");
    for (int i = 0; i < s->n_scans; i++) {
        const CsvTable *t = &s->scans[i].csv;
        Grid g;
        grid_pivot(t, "layer", "kind", "mean", &g);
        int fig = paper_figure_base(grid_numbered(&g));
        fputs("### ", out);
        md_escape(out, s->scans[i].name);
        fprintf(out, "\n\nBaseline mean Dice %.4f (per patient %.4f ± %.4f); %d numbered layers.",
                scan_baseline(t, "mean"), scan_baseline(t, "patient_mean"),
                scan_baseline(t, "patient_sd"), grid_numbered(&g));
        if (fig) fprintf(out, " Cf. the paper's Figures %d and %d.", fig, fig + 1);
        fprintf(out, "\n\n");
        report_scan_table(out, TABLE_MARKDOWN, &g);
        grid_free(&g);
        report_kinds(out, TABLE_MARKDOWN, t, s->scans[i].name);
    }
}

static void bn_md(FILE *out, const Study *s)
{
    fprintf(out, "## BN scale and shift statistics\n\n");
    if (!s->n_bn) fprintf(out, "No BN statistics (bn/*.csv).\n\n");
    for (int i = 0; i < s->n_bn; i++) {
        Grid g;
        report_bn_grid(&s->bn[i].csv, &g);
        int fig = paper_figure_base(grid_numbered(&g));
        fputs("### ", out);
        md_escape(out, s->bn[i].name);
        fputs("\n\n", out);
        if (fig) fprintf(out, "Cf. the paper's Figure %d.\n\n", fig + 2);
        report_bn_table(out, TABLE_MARKDOWN, &g);
        grid_free(&g);
    }
}

static void rmse_md(FILE *out, const Study *s)
{
    fprintf(out, "## Kernel RMSE\n\n");
    if (!s->n_rmse) fprintf(out, "No RMSE tables (rmse/*.csv).\n\n");
    for (int i = 0; i < s->n_rmse; i++) {
        const CsvTable *t = &s->rmse[i].csv;
        fputs("### ", out);
        md_escape(out, s->rmse[i].name);
        fputs("\n\n", out);
        int pc = csv_column(t, "pair"), sc = csv_column(t, "shared_init");
        bool any = false;
        for (int r = 0; r < t->n_rows && pc >= 0 && sc >= 0; r++)
            if (!r || strcmp(t->rows[r][pc], t->rows[r - 1][pc])) {
                fputs("- ", out);
                md_escape(out, t->rows[r][pc]);
                fputs(!strcmp(t->rows[r][sc], "yes") ? ": shared initialisation\n"
                      : ": **no shared initialisation**: the RMSE compares different starting "
                        "points\n", out);
                any = true;
            }
        if (any) fputs("\n", out);
        report_rmse_tables(out, TABLE_MARKDOWN, t);
    }
}

static void plans_md(FILE *out, const Study *s)
{
    fprintf(out, "## Reuse plans\n\n");
    if (!s->n_plans) fprintf(out, "No plans (plans/*.json).\n\n");
    else report_plans_table(out, TABLE_MARKDOWN, s);
}

void report_render_md(const Study *s, FILE *out)
{
    fputs("# Parameter-reuse study: ", out);
    md_escape(out, s->dir);
    fputs("\n\n", out);
    scans_md(out, s);
    bn_md(out, s);
    rmse_md(out, s);
    plans_md(out, s);
    report_table1_md(out, s);
    report_predictors_md(out, s);
    fprintf(out, "## Predictions\n\n");
    if (!s->n_overlays) fprintf(out, "No overlays (overlays/*.png).\n");
    for (int i = 0; i < s->n_overlays; i++) {
        fputs("- ", out);
        md_escape(out, s->dir);
        fputs("/overlays/", out);
        md_escape(out, s->overlays[i].name);
        fputs(".png\n", out);
    }
}

int report_write_md(const Study *s, const char *path)
{
    AtomicFile *af = atomic_open(path);
    if (!af) return -1;
    report_render_md(s, atomic_stream(af));
    return atomic_commit(af);
}
