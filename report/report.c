#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/atomic_file.h"
#include "engine/engine.h"
#include "util/escape.h"
#include "report/report.h"
#include "report/report_data.h"
#include "report/svg.h"

typedef struct Page {
    FILE *out;
    int figure;                  /* figures so far */
} Page;

static void esc(Page *pg, const char *s) { html_escape(pg->out, s); }

static void figure_open(Page *pg, const char *prefix, const char *name)
{
    fputs("<figure id=\"", pg->out);
    html_id(pg->out, prefix, name);
    fputs("\"><div class=\"charts\">\n", pg->out);
}

/* Close a figure with "Figure N: caption" (caption is trusted markup). */
static void figure_close(Page *pg, const char *caption)
{
    fprintf(pg->out, "</div><figcaption><b>Figure %d.</b> %s</figcaption>\n", ++pg->figure, caption);
}

/* " Cf. the paper's Figure N." or "" when the model has no counterpart in the paper. */
static const char *paper_ref(int figure, char *buf, size_t len)
{
    if (figure > 0) snprintf(buf, len, " Cf. the paper's Figure %d.", figure);
    else buf[0] = '\0';
    return buf;
}


/* A chart of some of a grid's series. */
static void grid_chart(Page *pg, const Grid *g, const int *series, int n, const bool *dashed,
                       const char *title, const char *y_label, double y_min, double y_max,
                       bool bars, bool allow_log)
{
    SvgSeries ss[16];
    if (n > 16) n = 16;
    for (int i = 0; i < n; i++)
        ss[i] = (SvgSeries){.name = g->names[series[i]], .y = grid_row(g, series[i]), .dashed = dashed && dashed[i]};
    SvgChart c = svg_chart_defaults();
    c.title = title;
    c.x_label = "layer";
    c.y_label = y_label;
    c.n_x = g->n_x;
    c.x_labels = (const char *const *)g->x;
    c.n_series = n;
    c.series = ss;
    c.bars = bars;
    c.y_min = y_min;
    c.y_max = y_max;
    c.width = 470;
    c.height = 290;
    c.log_y = allow_log && svg_wants_log(ss, n, g->n_x, 2.5);
    svg_chart_write(pg->out, &c);
}

/* ---- swap scans ---------------------------------------------------------------------- */

/* One chart per kind: mean Dice, each evaluated class, and the baseline mean (dashed). */
static void scan_kind_chart(Page *pg, const CsvTable *t, const char *kind)
{
    const char *cols[12], *names[12];
    char class_names[8][16];
    int n_dice = scan_dice_columns(t, cols + 1, 8);
    cols[0] = "mean";
    names[0] = "mean Dice";
    for (int c = 0; c < n_dice; c++) {
        snprintf(class_names[c], sizeof class_names[c], "class %s", cols[1 + c] + 5);
        names[1 + c] = class_names[c];
    }
    Grid g;
    grid_from_columns(t, "layer", cols, names, 1 + n_dice, "kind", kind, &g);
    if (!g.n_x) {
        grid_free(&g);
        return;
    }
    /* the baseline as a dashed series */
    double base = scan_baseline(t, "mean");
    g.v = xrealloc(g.v, sizeof *g.v * (size_t)(g.n_series + 1) * g.n_x);
    for (int i = 0; i < g.n_x; i++) g.v[(size_t)g.n_series * g.n_x + i] = base;
    g.names = xrealloc(g.names, sizeof *g.names * (size_t)(g.n_series + 1));
    g.names[g.n_series] = xmalloc(32);
    snprintf(g.names[g.n_series++], 32, "baseline %.3f", base);
    int series[16];
    bool dashed[16] = {false};
    for (int s = 0; s < g.n_series && s < 16; s++) series[s] = s;
    dashed[g.n_series - 1 < 16 ? g.n_series - 1 : 15] = true;
    char title[64];
    snprintf(title, sizeof title, "%s swapped", kind);
    grid_chart(pg, &g, series, g.n_series < 16 ? g.n_series : 16, dashed, title, "Dice", 0, 1,
               false, false);
    grid_free(&g);
}

static void section_scans(Page *pg, const Study *s)
{
    fputs("<section id=\"scans\"><h2>Swap scans</h2>\n<p>For every layer and parameter kind, "
          "that one tensor of the target is replaced by the source's and the target is evaluated "
          "on the validation set without retraining (docs/method.md, \"The swap scan\"). A "
          "tensor is reusable when the mean Dice falls by at most &tau;.</p>\n", pg->out);
    if (!s->n_scans) fputs("<p class=\"none\">No scans (scans/*.csv).</p>\n", pg->out);
    for (int i = 0; i < s->n_scans; i++) {
        const CsvTable *t = &s->scans[i].csv;
        Grid means;
        grid_pivot(t, "layer", "kind", "mean", &means);
        int fig = paper_figure_base(grid_numbered(&means));
        fputs("<h3>", pg->out);
        esc(pg, s->scans[i].name);
        fprintf(pg->out, "</h3>\n<p>Baseline mean Dice %.4f (per patient %.4f &plusmn; %.4f); %d "
                "numbered layers.</p>\n", scan_baseline(t, "mean"), scan_baseline(t, "patient_mean"),
                scan_baseline(t, "patient_sd"), grid_numbered(&means));
        char caption[512], ref[64];
        figure_open(pg, "fig-scan-bn-", s->scans[i].name);
        for (int k = ROLE_RM; k <= ROLE_RB; k++) scan_kind_chart(pg, t, param_role_name((ParamRole)k));
        snprintf(caption, sizeof caption, "Dice when one BN tensor of a layer is taken from the "
                 "source: running mean (RM), running variance (RV), weight (RW), bias (RB). "
                 "Dashed: the unmodified target.%s", paper_ref(fig, ref, sizeof ref));
        figure_close(pg, caption);
        fputs("</figure>\n", pg->out);
        figure_open(pg, "fig-scan-conv-", s->scans[i].name);
        for (int k = ROLE_W; k < ROLE_COUNT; k++) scan_kind_chart(pg, t, param_role_name((ParamRole)k));
        snprintf(caption, sizeof caption, "Dice when a convolution's weight (W) or bias (B) is "
                 "taken from the source.%s", paper_ref(fig ? fig + 1 : 0, ref, sizeof ref));
        figure_close(pg, caption);
        report_scan_table(pg->out, TABLE_HTML, &means);
        fputs("</figure>\n", pg->out);
        report_scan_controls_html(pg->out, t, s->scans[i].name, &pg->figure);
        report_kinds(pg->out, TABLE_HTML, t, s->scans[i].name);
        grid_free(&means);
    }
    fputs("</section>\n", pg->out);
}

/* ---- BN statistics --------------------------------------------------------------------- */

static void section_bn(Page *pg, const Study *s)
{
    fputs("<section id=\"bn\"><h2>BN scale and shift statistics</h2>\n<p>Per BN layer, target "
          "against source (docs/method.md, \"BN scale and shift statistics\"): MRM and MRB "
          "measure the shift, MRV and MRW the scaling that swapping the running mean, bias, "
          "running variance and weight would cause.</p>\n", pg->out);
    if (!s->n_bn) fputs("<p class=\"none\">No BN statistics (bn/*.csv).</p>\n", pg->out);
    for (int i = 0; i < s->n_bn; i++) {
        Grid g;
        report_bn_grid(&s->bn[i].csv, &g);
        int fig = paper_figure_base(grid_numbered(&g));
        fputs("<h3>", pg->out);
        esc(pg, s->bn[i].name);
        fputs("</h3>\n", pg->out);
        figure_open(pg, "fig-bn-", s->bn[i].name);
        int shift[2], scale[2], n_shift = 0, n_scale = 0;
        for (int k = 0; k < g.n_series; k++) {
            bool is_shift = !strcmp(g.names[k], "MRM") || !strcmp(g.names[k], "MRB");
            if (is_shift) shift[n_shift++] = k;
            else scale[n_scale++] = k;
        }
        grid_chart(pg, &g, shift, n_shift, NULL, "Shift: MRM and MRB", "mean per channel", NAN,
                   NAN, false, true);
        grid_chart(pg, &g, scale, n_scale, NULL, "Scale: MRV and MRW", "mean ratio", NAN, NAN,
                   false, true);
        char caption[256], ref[64];
        snprintf(caption, sizeof caption, "BN statistics per layer (a log axis when the values "
                 "span several decades).%s", paper_ref(fig ? fig + 2 : 0, ref, sizeof ref));
        figure_close(pg, caption);
        report_bn_table(pg->out, TABLE_HTML, &g);
        fputs("</figure>\n", pg->out);
        grid_free(&g);
    }
    fputs("</section>\n", pg->out);
}

/* ---- kernel RMSE ----------------------------------------------------------------------- */

static void shared_init_notes(Page *pg, const CsvTable *t)
{
    int pc = csv_column(t, "pair"), sc = csv_column(t, "shared_init");
    int ia = csv_column(t, "init_a"), ib = csv_column(t, "init_b");
    if (pc < 0 || sc < 0) return;
    fputs("<ul class=\"init\">", pg->out);
    for (int r = 0; r < t->n_rows; r++) {
        if (r && !strcmp(t->rows[r][pc], t->rows[r - 1][pc])) continue;
        bool shared = !strcmp(t->rows[r][sc], "yes");
        fprintf(pg->out, "<li class=\"%s\">", shared ? "ok" : "warn");
        esc(pg, t->rows[r][pc]);
        fputs(shared ? ": shared initialisation" : ": <b>no shared initialisation</b>", pg->out);
        if (ia >= 0 && ib >= 0) {
            fputs(" (", pg->out);
            esc(pg, t->rows[r][ia][0] ? t->rows[r][ia] : "unknown");
            fputs(" / ", pg->out);
            esc(pg, t->rows[r][ib][0] ? t->rows[r][ib] : "unknown");
            fputs(")", pg->out);
        }
        fputs(shared ? "</li>" : "; their RMSE compares different starting points</li>", pg->out);
    }
    fputs("</ul>\n", pg->out);
}

static void section_rmse(Page *pg, const Study *s)
{
    fputs("<section id=\"rmse\"><h2>Kernel RMSE</h2>\n<p>RMSE of each convolution's weight W "
          "and bias B between two models (docs/method.md, \"Kernel RMSE\"). It only means "
          "something between models that started from the same weights.</p>\n", pg->out);
    if (!s->n_rmse) fputs("<p class=\"none\">No RMSE tables (rmse/*.csv).</p>\n", pg->out);
    for (int i = 0; i < s->n_rmse; i++) {
        const CsvTable *t = &s->rmse[i].csv;
        Grid w, b;
        grid_pivot(t, "layer", "pair", "rmse_w", &w);
        grid_pivot(t, "layer", "pair", "rmse_b", &b);
        int fig = paper_figure_base(grid_numbered(&w));
        fputs("<h3>", pg->out);
        esc(pg, s->rmse[i].name);
        fputs("</h3>\n", pg->out);
        shared_init_notes(pg, t);
        char caption[512], ref[64];
        /* per pair: W and B side by side (the paper's Figures 6 and 10 show one pair) */
        figure_open(pg, "fig-rmse-layers-", s->rmse[i].name);
        for (int p = 0; p < w.n_series; p++) {
            const char *cols[] = {"rmse_w", "rmse_b", "rmse_w_aligned", "rmse_b_aligned"},
                       *names[] = {"W", "B", "W aligned", "B aligned"};
            Grid g;
            grid_from_columns(t, "layer", cols, names, 4, "pair", w.names[p], &g);
            int series[4] = {0, 1, 2, 3};
            grid_chart(pg, &g, series, g.n_series, NULL, w.names[p], "RMSE", NAN, NAN, true, false);
            grid_free(&g);
        }
        snprintf(caption, sizeof caption, "RMSE of the convolution weights W and biases B per "
                 "layer, for each pair of models (W aligned, B aligned: after weight matching the "
                 "second model's channels to the first's, reusenet rmse --align).%s", paper_ref(fig ? fig + 3 : 0, ref, sizeof ref));
        figure_close(pg, caption);
        report_rmse_tables(pg->out, TABLE_HTML, t);
        fputs("</figure>\n", pg->out);
        if (w.n_series > 1) {                         /* every pair in one chart */
            figure_open(pg, "fig-rmse-pairs-", s->rmse[i].name);
            int series[16];
            for (int p = 0; p < w.n_series && p < 16; p++) series[p] = p;
            int n = w.n_series < 16 ? w.n_series : 16;
            grid_chart(pg, &w, series, n, NULL, "W: every pair", "RMSE", NAN, NAN, false, true);
            if (b.n_series) grid_chart(pg, &b, series, b.n_series < 16 ? b.n_series : 16, NULL,
                                       "B: every pair", "RMSE", NAN, NAN, false, true);
            figure_close(pg, "RMSE per layer across all pairs of models. Cf. the paper's "
                             "Figures 11 and 12.");
            fputs("</figure>\n", pg->out);
        }
        grid_free(&w);
        grid_free(&b);
    }
    fputs("</section>\n", pg->out);
}

/* ---- plans, overlays (Table 1: report_table1.c) ------------------------------------------ */

static void section_plans(Page *pg, const Study *s)
{
    fputs("<section id=\"plans\"><h2>Reuse plans</h2>\n", pg->out);
    if (!s->n_plans) {
        fputs("<p class=\"none\">No plans (plans/*.json).</p></section>\n", pg->out);
        return;
    }
    report_plans_table(pg->out, TABLE_HTML, s);
    report_plan_validation_html(pg->out, s, &pg->figure);
    fputs("</section>\n", pg->out);
}

static void base64(FILE *out, const unsigned char *b, size_t n)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)b[i] << 16 | (i + 1 < n ? (unsigned)b[i + 1] << 8 : 0) |
                     (i + 2 < n ? b[i + 2] : 0);
        fputc(alphabet[v >> 18 & 63], out);
        fputc(alphabet[v >> 12 & 63], out);
        fputc(i + 1 < n ? alphabet[v >> 6 & 63] : '=', out);
        fputc(i + 2 < n ? alphabet[v & 63] : '=', out);
    }
}

static void section_overlays(Page *pg, const Study *s)
{
    fputs("<section id=\"overlays\"><h2>Predictions</h2>\n", pg->out);
    if (!s->n_overlays) fputs("<p class=\"none\">No overlays (overlays/*.png).</p>\n", pg->out);
    for (int i = 0; i < s->n_overlays; i++) {
        const StudyImage *im = &s->overlays[i];
        fputs("<figure id=\"", pg->out);
        html_id(pg->out, "overlay-", im->name);
        fputs("\"><img alt=\"", pg->out);
        esc(pg, im->name);
        fputs("\" src=\"data:image/png;base64,", pg->out);
        base64(pg->out, im->bytes, im->size);
        fputs("\"><figcaption>", pg->out);
        esc(pg, im->name);
        fputs("</figcaption></figure>\n", pg->out);
    }
    fputs("</section>\n", pg->out);
}

static const char *const style =
    "body{font-family:sans-serif;max-width:1200px;margin:1em auto;padding:0 1em;color:#222}"
    "h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}"
    ".charts{display:flex;flex-wrap:wrap;gap:8px}figure{margin:1em 0}"
    "figcaption{font-size:.9em;color:#444;max-width:960px}"
    "table{border-collapse:collapse;font-size:.85em;margin:.5em 0}"
    "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#f4f4f4}"
    "caption{text-align:left;font-weight:bold;padding:.3em 0}"
    ".na{color:#999}.none{color:#777;font-style:italic}.warn{color:#a33}.ok{color:#275}"
    "details{margin:.3em 0 1em}summary{cursor:pointer;color:#0072B2}"
    "img{max-width:100%;min-width:384px;image-rendering:pixelated}";

void report_render_html(const Study *s, FILE *out)
{
    Page pg = {out, 0};
    fprintf(pg.out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>Parameter-reuse study: ");
    esc(&pg, s->dir);
    fprintf(pg.out, "</title><style>%s</style></head><body>\n<h1>Parameter-reuse study</h1>\n"
            "<p>Study folder <code>", style);
    esc(&pg, s->dir);
    fprintf(pg.out, "</code>: %d swap scan%s, %d BN statistics, %d RMSE table%s, %d plan%s, %s, "
            "%d overlay%s. Made by reusenet %s.</p>\n<nav><a href=\"#scans\">Swap scans</a> "
            "&middot; <a href=\"#bn\">BN statistics</a> &middot; <a href=\"#rmse\">Kernel RMSE</a> "
            "&middot; <a href=\"#plans\">Plans</a> &middot; <a href=\"#transfer\">Table 1</a> "
            "&middot; <a href=\"#predictors\">Will a source help?</a> &middot; <a href=\"#overlays\">"
            "Predictions</a></nav>\n", s->n_scans,
            s->n_scans == 1 ? "" : "s", s->n_bn, s->n_rmse, s->n_rmse == 1 ? "" : "s", s->n_plans,
            s->n_plans == 1 ? "" : "s", s->has_table ? "Table 1" : "no Table 1", s->n_overlays,
            s->n_overlays == 1 ? "" : "s", REUSENET_VERSION);
    section_scans(&pg, s);
    section_bn(&pg, s);
    section_rmse(&pg, s);
    section_plans(&pg, s);
    report_table1_html(pg.out, s, &pg.figure);
    report_predictors_html(pg.out, s);
    section_overlays(&pg, s);
    fputs("</body></html>\n", pg.out);
}

int report_write_html(const Study *s, const char *path)
{
    AtomicFile *af = atomic_open(path);
    if (!af) return -1;
    report_render_html(s, atomic_stream(af));
    return atomic_commit(af);
}
