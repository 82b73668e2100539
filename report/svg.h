/* Charts as inline SVG for the study report: line charts and grouped bar charts over
 * categories (layers "1".."L", "head"; model pairs; configurations), scatter plots and
 * horizontal interval (forest) charts, with axes, ticks, axis labels, a title and a
 * legend. The output is plain SVG markup for an HTML page: no scripts, no fonts or
 * anything else fetched; hovering a point shows its value (an SVG <title>).
 *
 * Missing values (NAN) leave a gap in a line and no bar. The y axis is linear, from the
 * data (including 0 unless the data are all far from it) or fixed by y_min/y_max, or
 * logarithmic (log_y: powers of ten, positive values only; others are left out). */
#ifndef REUSENET_SVG_H
#define REUSENET_SVG_H

#include <stdbool.h>
#include <stdio.h>

typedef struct SvgSeries {
    const char *name;            /* legend entry */
    const double *y;             /* [n_x] */
    bool dashed;                 /* e.g. a baseline */
    const double *lo, *hi;       /* lines: an interval band [lo, hi] around y (NULL: none) */
    bool thin;                   /* lines: a thin line without points (e.g. a control) */
} SvgSeries;

typedef struct SvgChart {
    const char *title, *x_label, *y_label;
    int n_x;
    const char *const *x_labels; /* [n_x] category names */
    int n_series;
    const SvgSeries *series;
    bool bars;                   /* grouped bars instead of lines */
    bool log_y;
    double y_min, y_max;         /* NAN: from the data */
    int width, height;           /* pixels (0: 560 x 300) */
} SvgChart;

/* A chart with every field empty and y_min = y_max = NAN. */
SvgChart svg_chart_defaults(void);
void svg_chart_write(FILE *out, const SvgChart *c);

/* A scatter plot: one circle per point with finite x and y (hover: its label and values),
 * coloured by group (legend from group_names), linear axes from the data. */
typedef struct SvgScatter {
    const char *title, *x_label, *y_label;
    int n;
    const double *x, *y;
    const char *const *labels;   /* [n] or NULL */
    const int *group;            /* [n] colour index or NULL */
    const char *const *group_names;
    int n_groups;
    int width, height;           /* pixels (0: 360 x 300) */
} SvgScatter;
void svg_scatter_write(FILE *out, const SvgScatter *c);

/* A horizontal interval chart (a forest plot): one row per item, top to bottom, its point x
 * on a linear x axis with a bar [lo, hi] (no bar when either is missing; no point when x is
 * missing), its label left of the plot and an optional note right of it. A group heading
 * (e.g. "n = 10") is drawn above each run of rows with the same group; colour picks the
 * palette entry of a row (e.g. per configuration, the same across groups). A vertical
 * reference line at ref (e.g. 0 for differences) unless NAN. The x axis spans the points,
 * bars and ref. Hovering a row shows hover[i], or "label: x [lo, hi]". */
typedef struct SvgIntervals {
    const char *title, *x_label;
    int n;
    const char *const *labels;   /* [n] */
    const char *const *groups;   /* [n] or NULL */
    const double *x, *lo, *hi;   /* [n]; lo, hi may be NULL */
    const int *colour;           /* [n] palette index or NULL */
    const char *const *notes;    /* [n] or NULL (an entry may be NULL) */
    const char *const *hover;    /* [n] or NULL (an entry may be NULL) */
    double ref;
    int width;                   /* pixels (0: 640); the height follows from the rows */
} SvgIntervals;
void svg_intervals_write(FILE *out, const SvgIntervals *c);

/* True when every finite value is > 0 and they span more than `decades` powers of ten:
 * a log axis shows such data better. */
bool svg_wants_log(const SvgSeries *series, int n_series, int n_x, double decades);

#endif
