/* Shared by the report's files (report*.c, and their tests), nothing else: the numbers of
 * a result CSV arranged as series over categories (layers), the shape both the charts and
 * the tables need; what a plan file says; and the tables both pages show, each written
 * once (table_writer.h). */
#ifndef REUSENET_REPORT_DATA_H
#define REUSENET_REPORT_DATA_H

#include <stdbool.h>
#include <stdio.h>

#include "models/param_role.h"
#include "util/csv.h"
#include "report/study_folder.h"
#include "util/table_writer.h"

typedef struct Grid {
    int n_x;
    char **x;                 /* category labels in the order they first appear */
    int n_series;
    char **names;
    double *v;                /* [n_series][n_x], NAN where absent */
} Grid;

/* v[s][i] */
double grid_at(const Grid *g, int s, int i);
const double *grid_row(const Grid *g, int s);
void grid_free(Grid *g);

/* Rows whose filter_col equals filter_value (filter_col NULL: all rows): x from x_col,
 * one series per value column (named by names[] or the column). Columns that are missing
 * or empty in every selected row are left out. */
void grid_from_columns(const CsvTable *t, const char *x_col, const char *const *cols,
                       const char *const *names, int n_cols, const char *filter_col,
                       const char *filter_value, Grid *g);
/* x from x_col, one series per distinct value of series_col (rows with an empty one are
 * skipped), values from value_col. */
void grid_pivot(const CsvTable *t, const char *x_col, const char *series_col,
                const char *value_col, Grid *g);

/* A scan's baseline value of a column (NAN if absent). */
double scan_baseline(const CsvTable *t, const char *col);
/* The per-class Dice columns of a scan ("dice_0", ...): count, names into cols[]. */
int scan_dice_columns(const CsvTable *t, const char **cols, int max);
/* The paper's figure numbers for a model with this many numbered layers: 18 (UNet) -> 3,
 * 25 (PSPNet) -> 7, so that figure + 0/1/2/3 are the swap-BN, swap-conv, BN-statistics and
 * RMSE figures; 0 for other sizes. */
int paper_figure_base(int numbered_layers);
/* Numbered layers among a grid's categories (labels that are not "head"). */
int grid_numbered(const Grid *g);

/* What a plan file says, for the plan tables (missing fields: NAN, -1 or ""). */
typedef struct cJSON cJSON;
typedef struct PlanSummary {
    char verdict[64];
    double tau, rho, rmse_max;
    int reused, total, w_reusable, w_total;
    char scan[256], rmse_pair[160];
    char not_reusable[ROLE_COUNT][256];   /* per kind RM RV RW RB W B: "1, 17" */
} PlanSummary;
void plan_summary(const cJSON *json, PlanSummary *p);

/* The numbers behind a figure (report/report_tables.c): categories down, series across,
 * "%.4g", folded under summary. */
void report_grid_table(FILE *out, TableFormat format, const Grid *g, const char *corner,
                       const char *summary);
/* A swap scan's mean Dice per layer (down) and kind (across): grid_pivot of its layer, kind
 * and mean. */
void report_scan_table(FILE *out, TableFormat format, const Grid *means);
/* A BN statistics table (bn/NAME.csv) as MRM, MRB, MRV, MRW per layer, and its table. */
void report_bn_grid(const CsvTable *t, Grid *g);
void report_bn_table(FILE *out, TableFormat format, const Grid *g);
/* An RMSE table's numbers (rmse/NAME.csv): W, B and, when aligned, W after alignment, each
 * per layer and pair. */
void report_rmse_tables(FILE *out, TableFormat format, const CsvTable *t);
/* Every plan of the study: tau, rho, tensors reused, W reusable, the verdict, the
 * non-reusable layers per kind and the trivial tensors (id table-plans, rows plan-NAME). */
void report_plans_table(FILE *out, TableFormat format, const Study *s);

#endif
