/* The study report: every analysis of a study folder (study.h) on one page.
 *
 * HTML: self-contained (no scripts, nothing fetched: charts are inline SVG, images data:
 * URIs) with the paper's figures as charts with axes, labels and legends:
 *   swap scans          Dice vs layer for RM/RV/RW/RB and for W/B   (paper Figs 3/7, 4/8)
 *                       and which kinds matter (conclusions 2 and 3)
 *   BN statistics       MRM/MRB and MRV/MRW per layer               (Figs 5/9)
 *   kernel RMSE         W and B per layer for each pair             (Figs 6/10)
 *                       and across all pairs                        (Figs 11/12)
 *   transfer            Table 1 (transfer/table.csv); its means with their intervals and a
 *                       forest plot of the differences to random initialisation
 *   plans, overlays     the reusable tensors and verdicts; prediction images
 * Each figure's numbers are also given as a table under it.
 * Markdown: the same tables (no charts), for reading in a terminal or a code review. */
#ifndef REUSENET_REPORT_H
#define REUSENET_REPORT_H

#include "report/study_folder.h"
#include "util/table_writer.h"

/* "Will a source help?" (report/report_predictors.c): per-layer CKA charts, and with Table 1
 * the verdict: Kendall's tau-b of each predictor against the measured gains, its bootstrap
 * interval, a scatter plot per predictor. Written into an open page / Markdown file. */
#include <stdio.h>
void report_predictors_html(FILE *out, const Study *s);
void report_predictors_md(FILE *out, const Study *s);

/* report/report_controls.c: a scan's change of Dice per kind with its interval band and the
 * controls, and a sentence on what they show; the cumulative curves of validated plans.
 * figure: the page's figure counter. */
void report_scan_controls_html(FILE *out, const CsvTable *t, const char *name, int *figure);
void report_plan_validation_html(FILE *out, const Study *s, int *figure);

/* report/report_kinds.c: "Which kinds matter (conclusions 2 and 3)" for one swap scan: per
 * kind its mean change of Dice with a 95 % t-interval over layers, the worst, the hurt,
 * reusable and trivial tensors and the random control's mean; then BN statistics vs BN
 * affine and conv W vs B paired over layers (mean, t-interval, Wilcoxon p) with a verdict
 * and its rule. Nothing for a scan without swap rows. name: the scan's, for the caption. */
void report_kinds(FILE *out, TableFormat format, const CsvTable *t, const char *name);

/* Table 1 (report/report_table1.c): transfer/table.csv as a table, "x ± sd" with "—" for
 * an empty or single-run spread, intervals as "[lo, hi]"; in HTML with its figures (ids
 * table1-intervals, table1-forest; a table without intervals: fig-transfer-mean). Any
 * header reusenet transfer wrote renders. figure: the page's figure counter. */
void report_table1_html(FILE *out, const Study *s, int *figure);
void report_table1_md(FILE *out, const Study *s);
/* The table alone, with the note on what its symbols mean (also transfer/table.md). */
void report_table1(FILE *out, TableFormat format, const CsvTable *t);

/* Both write atomically; 0, or -1 with the error set. */
int report_write_html(const Study *s, const char *path);
int report_write_md(const Study *s, const char *path);
/* The same pages written to out (a write error shows on out). */
void report_render_html(const Study *s, FILE *out);
void report_render_md(const Study *s, FILE *out);

#endif
