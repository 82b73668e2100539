/* Internal to the report (report.c, report_md.c): the numbers of a result CSV arranged as
 * series over categories (layers), the shape both the charts and the tables need. */
#ifndef REUSENET_REPORT_DATA_H
#define REUSENET_REPORT_DATA_H

#include <stdbool.h>
#include <stdio.h>

#include "models/param_role.h"
#include "reuse/csv.h"

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

#endif
