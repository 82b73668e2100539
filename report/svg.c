#include <math.h>
#include <string.h>

#include "util/escape.h"
#include "report/svg.h"

/* Okabe-Ito colours: distinguishable with the common colour-vision deficiencies. */
static const char *const palette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                      "#E69F00", "#56B4E9", "#000000", "#999933"};
enum { PALETTE = sizeof palette / sizeof palette[0] };

SvgChart svg_chart_defaults(void)
{
    SvgChart c;
    memset(&c, 0, sizeof c);
    c.y_min = c.y_max = NAN;
    return c;
}

bool svg_wants_log(const SvgSeries *series, int n_series, int n_x, double decades)
{
    double lo = INFINITY, hi = 0;
    for (int s = 0; s < n_series; s++)
        for (int i = 0; i < n_x; i++) {
            double y = series[s].y[i];
            if (!isfinite(y)) continue;
            if (y <= 0) return false;
            lo = fmin(lo, y);
            hi = fmax(hi, y);
        }
    return hi > 0 && log10(hi / lo) > decades;
}

/* A "nice" step (1, 2 or 5 times a power of ten) for about `count` intervals of range. */
static double nice_step(double range, int count)
{
    double raw = range / count, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

typedef struct Frame {
    double left, top, width, height;        /* plot area */
    double lo, hi;                          /* y range (log10 of it for a log axis) */
    bool log_y;
    int n_x;
} Frame;

static double frame_x(const Frame *f, int i) { return f->left + (i + 0.5) * f->width / f->n_x; }

static double frame_y(const Frame *f, double y)
{
    double v = f->log_y ? log10(y) : y;
    return f->top + f->height * (1 - (v - f->lo) / (f->hi - f->lo));
}

static bool plottable(const Frame *f, double y) { return isfinite(y) && (!f->log_y || y > 0); }

/* The y range from the data (or the chart's fixed limits), padded to whole ticks. */
static void y_range(const SvgChart *c, Frame *f, double *step)
{
    double lo = INFINITY, hi = -INFINITY;
    for (int s = 0; s < c->n_series; s++)
        for (int i = 0; i < c->n_x; i++) {
            const SvgSeries *se = &c->series[s];
            const double ys[3] = {se->y[i], se->lo ? se->lo[i] : NAN, se->hi ? se->hi[i] : NAN};
            for (int k = 0; k < 3; k++) {
                if (!plottable(f, ys[k])) continue;
                double v = f->log_y ? log10(ys[k]) : ys[k];
                lo = fmin(lo, v);
                hi = fmax(hi, v);
            }
        }
    if (!isfinite(lo)) lo = 0, hi = 1;
    if (f->log_y) {
        f->lo = isnan(c->y_min) || c->y_min <= 0 ? floor(lo) : log10(c->y_min);
        f->hi = isnan(c->y_max) || c->y_max <= 0 ? ceil(hi) : log10(c->y_max);
        if (f->hi <= f->lo) f->hi = f->lo + 1;
        *step = 1;
        return;
    }
    /* bars start at 0; lines include 0 unless the data sit far from it */
    if (c->bars || (lo > 0 && lo < 0.5 * hi)) lo = fmin(lo, 0);
    if (c->bars && hi < 0) hi = 0;
    if (!isnan(c->y_min)) lo = c->y_min;
    if (!isnan(c->y_max)) hi = c->y_max;
    if (hi - lo < 1e-12) {
        double pad = fabs(hi) > 1e-12 ? 0.1 * fabs(hi) : 1;
        lo -= pad;
        hi += pad;
    }
    *step = nice_step(hi - lo, 5);
    if (isnan(c->y_min)) lo = floor(lo / *step + 1e-9) * *step;
    if (isnan(c->y_max)) hi = ceil(hi / *step - 1e-9) * *step;
    f->lo = lo;
    f->hi = hi;
}

static void format_tick(char *buf, size_t len, double v, bool log_y)
{
    if (log_y) snprintf(buf, len, "1e%d", (int)lround(v));
    else if (fabs(v) < 1e-12) snprintf(buf, len, "0");
    else snprintf(buf, len, "%.4g", v);
}

static void axes(FILE *out, const SvgChart *c, const Frame *f, double step)
{
    /* horizontal grid lines and y tick labels */
    for (double v = f->lo; v <= f->hi + step * 1e-6; v += step) {
        double y = f->top + f->height * (1 - (v - f->lo) / (f->hi - f->lo));
        char label[32];
        format_tick(label, sizeof label, v, f->log_y);
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>",
                f->left, y, f->left + f->width, y);
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"10\">%s</text>\n",
                f->left - 5, y + 3.5, label);
    }
    /* x tick labels (every one, smaller when crowded) */
    int font = c->n_x > 30 ? 7 : c->n_x > 15 ? 9 : 10;
    for (int i = 0; i < c->n_x; i++) {
        double x = frame_x(f, i);
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>", x,
                f->top + f->height, x, f->top + f->height + 4);
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"%d\">", x,
                f->top + f->height + 15, font);
        html_escape(out, c->x_labels[i]);
        fputs("</text>\n", out);
    }
    /* the axes themselves */
    fprintf(out, "<path d=\"M%.1f %.1fV%.1fH%.1f\" fill=\"none\" stroke=\"#333\"/>\n", f->left,
            f->top, f->top + f->height, f->left + f->width);
    if (c->x_label) {
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"11\">",
                f->left + f->width / 2, f->top + f->height + 32);
        html_escape(out, c->x_label);
        fputs("</text>\n", out);
    }
    if (c->y_label) {
        double cy = f->top + f->height / 2;
        fprintf(out, "<text x=\"14\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"11\" "
                "transform=\"rotate(-90 14 %.1f)\">", cy, cy);
        html_escape(out, c->y_label);
        fputs("</text>\n", out);
    }
}

/* Hover text of one point: "series, x: value". */
static void point_title(FILE *out, const SvgChart *c, int s, int i, double y)
{
    fputs("<title>", out);
    html_escape(out, c->series[s].name);
    fputs(", ", out);
    html_escape(out, c->x_labels[i]);
    fprintf(out, ": %.4g</title>", y);
}

/* The band [lo, hi] of a series: a shaded polygon per run of points where both are known. */
static void band(FILE *out, const SvgSeries *se, const char *colour, int n_x, const Frame *f)
{
    for (int i = 0; i < n_x;) {
        int j = i;
        while (j < n_x && plottable(f, se->lo[j]) && plottable(f, se->hi[j])) j++;
        if (j > i) {
            fprintf(out, "<path fill=\"%s\" fill-opacity=\"0.18\" stroke=\"none\" d=\"", colour);
            for (int k = i; k < j; k++)
                fprintf(out, "%c%.1f %.1f", k == i ? 'M' : 'L', frame_x(f, k), frame_y(f, se->hi[k]));
            for (int k = j - 1; k >= i; k--)
                fprintf(out, "L%.1f %.1f", frame_x(f, k) + (i == j - 1 ? 3 : 0), frame_y(f, se->lo[k]));
            fputs("Z\"/>\n", out);
        }
        i = j + 1;
    }
}

static void lines(FILE *out, const SvgChart *c, const Frame *f)
{
    for (int s = 0; s < c->n_series; s++)
        if (c->series[s].lo && c->series[s].hi)
            band(out, &c->series[s], palette[s % PALETTE], c->n_x, f);
    for (int s = 0; s < c->n_series; s++) {
        const SvgSeries *se = &c->series[s];
        const char *colour = palette[s % PALETTE];
        fprintf(out, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"%s\"%s d=\"", colour,
                se->thin ? "0.9" : "1.6", se->dashed ? " stroke-dasharray=\"5 3\"" : "");
        bool pen = false;
        for (int i = 0; i < c->n_x; i++) {
            if (!plottable(f, se->y[i])) {
                pen = false;
                continue;
            }
            fprintf(out, "%c%.1f %.1f", pen ? 'L' : 'M', frame_x(f, i), frame_y(f, se->y[i]));
            pen = true;
        }
        fputs("\"/>\n", out);
        if (se->dashed) continue;
        if (se->thin) {                 /* hover values without drawn points */
            for (int i = 0; i < c->n_x; i++) {
                if (!plottable(f, se->y[i])) continue;
                fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"%s\" "
                        "fill-opacity=\"0\">", frame_x(f, i), frame_y(f, se->y[i]), colour);
                point_title(out, c, s, i, se->y[i]);
                fputs("</circle>\n", out);
            }
            continue;
        }
        for (int i = 0; i < c->n_x; i++) {
            if (!plottable(f, se->y[i])) continue;
            fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.4\" fill=\"%s\">", frame_x(f, i),
                    frame_y(f, se->y[i]), colour);
            point_title(out, c, s, i, se->y[i]);
            fputs("</circle>\n", out);
        }
    }
}

static void bars(FILE *out, const SvgChart *c, const Frame *f)
{
    double slot = f->width / c->n_x, group = 0.8 * slot, bar = group / c->n_series;
    double base = frame_y(f, f->log_y ? pow(10, f->lo) : fmax(f->lo, fmin(0, f->hi)));
    for (int s = 0; s < c->n_series; s++)
        for (int i = 0; i < c->n_x; i++) {
            double y = c->series[s].y[i];
            if (!plottable(f, y)) continue;
            double x = f->left + i * slot + 0.1 * slot + s * bar, top = frame_y(f, y);
            fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">",
                    x, fmin(top, base), fmax(bar - 0.5, 0.5), fabs(base - top),
                    palette[s % PALETTE]);
            point_title(out, c, s, i, y);
            fputs("</rect>\n", out);
        }
}

/* Legend items in rows under the x label, wrapped to the chart's width. */
static double legend(FILE *out, const SvgChart *c, double top, double width, bool draw)
{
    double x = 60, y = top;
    for (int s = 0; s < c->n_series; s++) {
        double w = 36 + 6.2 * strlen(c->series[s].name ? c->series[s].name : "");
        if (x + w > width && x > 60) {
            x = 60;
            y += 16;
        }
        if (draw) {
            const char *colour = palette[s % PALETTE];
            if (c->bars)
                fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"9\" fill=\"%s\"/>",
                        x, y - 8, colour);
            else
                fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                        "stroke-width=\"%s\"%s/>", x, y - 4, x + 16, y - 4, colour,
                        c->series[s].thin ? "1" : "2",
                        c->series[s].dashed ? " stroke-dasharray=\"5 3\"" : "");
            fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10.5\">", x + 20, y);
            html_escape(out, c->series[s].name);
            fputs("</text>\n", out);
        }
        x += w;
    }
    return y + 8;
}

void svg_chart_write(FILE *out, const SvgChart *c)
{
    const int width = c->width ? c->width : 560, plot_height = c->height ? c->height : 300;
    Frame f = {.left = 60, .top = c->title ? 30 : 12, .width = width - 75, .log_y = c->log_y,
               .n_x = c->n_x > 0 ? c->n_x : 1};
    f.height = plot_height - f.top - 45;
    double step;
    y_range(c, &f, &step);
    double height = legend(out, c, plot_height + 4, width, false) + 4;
    fprintf(out, "<svg class=\"chart\" width=\"%d\" height=\"%.0f\" viewBox=\"0 0 %d %.0f\" "
            "role=\"img\" font-family=\"sans-serif\"><title>", width, height, width, height);
    html_escape(out, c->title ? c->title : "chart");
    fputs("</title>\n", out);
    fprintf(out, "<rect width=\"%d\" height=\"%.0f\" fill=\"#fff\"/>\n", width, height);
    if (c->title) {
        fprintf(out, "<text x=\"%.1f\" y=\"18\" text-anchor=\"middle\" font-size=\"13\" "
                "font-weight=\"bold\">", width / 2.0);
        html_escape(out, c->title);
        fputs("</text>\n", out);
    }
    axes(out, c, &f, step);
    if (c->n_x > 0) {
        if (c->bars) bars(out, c, &f);
        else lines(out, c, &f);
    }
    legend(out, c, plot_height + 4, width, true);
    fputs("</svg>\n", out);
}

/* ---- scatter plots ------------------------------------------------------------------- */

/* [lo, hi] widened to whole ticks, and the tick step; [0, 1] when lo is not finite (no
 * values), a range around the value when they coincide. */
static void pad_to_ticks(double *lo, double *hi, double *step)
{
    if (!isfinite(*lo)) *lo = 0, *hi = 1;
    if (*hi - *lo < 1e-12) {
        double pad = fabs(*hi) > 1e-12 ? 0.1 * fabs(*hi) : 1;
        *lo -= pad;
        *hi += pad;
    }
    *step = nice_step(*hi - *lo, 5);
    *lo = floor(*lo / *step + 1e-9) * *step;
    *hi = ceil(*hi / *step - 1e-9) * *step;
}

/* Padded range of the finite values, its tick step; [0, 1] when there are none. */
static void scatter_range(const double *v, const double *other, int n, double *lo, double *hi,
                          double *step)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i]) && isfinite(other[i])) {
            *lo = fmin(*lo, v[i]);
            *hi = fmax(*hi, v[i]);
        }
    pad_to_ticks(lo, hi, step);
}

void svg_scatter_write(FILE *out, const SvgScatter *c)
{
    const double width = c->width > 0 ? c->width : 360, height = c->height > 0 ? c->height : 300;
    const double left = 58, top = 28, pw = width - left - 14, ph = height - top - 62;
    double xlo, xhi, xs, ylo, yhi, ys;
    scatter_range(c->x, c->y, c->n, &xlo, &xhi, &xs);
    scatter_range(c->y, c->x, c->n, &ylo, &yhi, &ys);
    fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n", width, height, width, height);
    fprintf(out, "<text x=\"%.1f\" y=\"16\" text-anchor=\"middle\" font-size=\"12\" "
            "font-weight=\"bold\">", width / 2);
    html_escape(out, c->title);
    fputs("</text>\n", out);
    for (double v = ylo; v <= yhi + ys * 1e-6; v += ys) {
        const double y = top + ph * (1 - (v - ylo) / (yhi - ylo));
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"10\">%.4g</text>\n",
                left, y, left + pw, y, left - 5, y + 3.5, fabs(v) < 1e-12 ? 0 : v);
    }
    for (double v = xlo; v <= xhi + xs * 1e-6; v += xs) {
        const double x = left + pw * (v - xlo) / (xhi - xlo);
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"10\">%.4g</text>\n",
                x, top, x, top + ph, x, top + ph + 14, fabs(v) < 1e-12 ? 0 : v);
    }
    fprintf(out, "<path d=\"M%.1f %.1fV%.1fH%.1f\" fill=\"none\" stroke=\"#333\"/>\n", left, top,
            top + ph, left + pw);
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"11\">",
            left + pw / 2, top + ph + 30);
    html_escape(out, c->x_label);
    fprintf(out, "</text>\n<text x=\"14\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"11\" "
            "transform=\"rotate(-90 14 %.1f)\">", top + ph / 2, top + ph / 2);
    html_escape(out, c->y_label);
    fputs("</text>\n", out);
    for (int i = 0; i < c->n; i++) {
        if (!isfinite(c->x[i]) || !isfinite(c->y[i])) continue;
        const int g = c->group ? c->group[i] : 0;
        fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\" fill-opacity=\"0.8\">"
                "<title>", left + pw * (c->x[i] - xlo) / (xhi - xlo),
                top + ph * (1 - (c->y[i] - ylo) / (yhi - ylo)), palette[g % PALETTE]);
        if (c->labels) html_escape(out, c->labels[i]);
        fprintf(out, ": %.4g, %.4g</title></circle>\n", c->x[i], c->y[i]);
    }
    for (int g = 0; g < c->n_groups; g++) {            /* legend under the x label */
        const double x = left + g * 110, y = height - 10;
        fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/><text x=\"%.1f\" "
                "y=\"%.1f\" font-size=\"10\">", x, y - 3, palette[g % PALETTE], x + 8, y);
        html_escape(out, c->group_names[g]);
        fputs("</text>\n", out);
    }
    fputs("</svg>\n", out);
}

/* ---- horizontal interval (forest) charts ------------------------------------------------ */

static double at(const double *v, int i) { return v ? v[i] : NAN; }

/* Width in pixels of the longest of n strings (NULL entries and arrays count as empty), at
 * about 6.2 pixels a character of 10.5-pixel sans-serif. */
static double text_width(const char *const *s, int n)
{
    size_t longest = 0;
    for (int i = 0; i < n && s; i++)
        if (s[i] && strlen(s[i]) > longest) longest = strlen(s[i]);
    return 6.2 * (double)longest;
}

/* Whether row i starts a new group (its heading goes above it). */
static bool new_group(const SvgIntervals *c, int i)
{
    return c->groups && c->groups[i] && (i == 0 || !c->groups[i - 1] || strcmp(c->groups[i], c->groups[i - 1]));
}

/* x of value v; geo = {plot left, plot width, axis lo, axis hi}. */
static double interval_x(double v, const double *geo)
{
    return geo[0] + geo[1] * (v - geo[2]) / (geo[3] - geo[2]);
}

/* Row i: its bar with end caps, its point, both under one hover title; label and note. */
static void interval_row(FILE *out, const SvgIntervals *c, int i, double y, const double *geo)
{
    const double x = c->x[i], lo = at(c->lo, i), hi = at(c->hi, i), right = geo[0] + geo[1];
    const char *colour = palette[(c->colour ? c->colour[i] : 0) % PALETTE];
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"10.5\">", geo[0] - 8, y + 3.5);
    html_escape(out, c->labels[i]);
    fputs("</text>\n<g>", out);
    if (isfinite(lo) && isfinite(hi)) {
        double a = interval_x(lo, geo), b = interval_x(hi, geo);
        fprintf(out, "<path d=\"M%.1f %.1fH%.1fM%.1f %.1fV%.1fM%.1f %.1fV%.1f\" stroke=\"%s\" "
                "stroke-width=\"1.6\" fill=\"none\"/>", a, y, b, a, y - 4, y + 4, b, y - 4, y + 4, colour);
    }
    if (isfinite(x))
        fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.6\" fill=\"%s\"/>", interval_x(x, geo), y, colour);
    fputs("<title>", out);
    if (c->hover && c->hover[i]) html_escape(out, c->hover[i]);
    else {
        html_escape(out, c->labels[i]);
        fprintf(out, ": %.4g", x);
        if (isfinite(lo) && isfinite(hi)) fprintf(out, " [%.4g, %.4g]", lo, hi);
    }
    fputs("</title></g>\n", out);
    if (c->notes && c->notes[i]) {
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10.5\">", right + 8, y + 3.5);
        html_escape(out, c->notes[i]);
        fputs("</text>\n", out);
    }
}

void svg_intervals_write(FILE *out, const SvgIntervals *c)
{
    const double row = 20, width = c->width > 0 ? c->width : 640;
    double lo = INFINITY, hi = -INFINITY, step;
    int headings = 0;
    for (int i = 0; i < c->n; i++) {
        const double v[3] = {c->x[i], at(c->lo, i), at(c->hi, i)};
        for (int k = 0; k < 3; k++)
            if (isfinite(v[k])) lo = fmin(lo, v[k]), hi = fmax(hi, v[k]);
        headings += new_group(c, i);
    }
    if (isfinite(c->ref) && isfinite(lo)) lo = fmin(lo, c->ref), hi = fmax(hi, c->ref);
    pad_to_ticks(&lo, &hi, &step);
    /* the label column as wide as the longest label, the notes' as the longest note */
    const double left = fmin(fmax(text_width(c->labels, c->n) + 16, 90), 0.45 * width);
    const double right = c->notes ? text_width(c->notes, c->n) + 14 : 16;
    const double top = c->title ? 34 : 12, plot_h = row * (c->n + headings) + 6;
    const double geo[4] = {left, fmax(width - left - right, 80), lo, hi};
    const double height = top + plot_h + 42;
    fprintf(out, "<svg class=\"chart\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
            "role=\"img\" font-family=\"sans-serif\"><title>", width, height, width, height);
    html_escape(out, c->title ? c->title : "chart");
    fprintf(out, "</title>\n<rect width=\"%.0f\" height=\"%.0f\" fill=\"#fff\"/>\n", width, height);
    if (c->title) {
        fprintf(out, "<text x=\"%.1f\" y=\"18\" text-anchor=\"middle\" font-size=\"13\" "
                "font-weight=\"bold\">", width / 2);
        html_escape(out, c->title);
        fputs("</text>\n", out);
    }
    for (double v = lo; v <= hi + step * 1e-6; v += step) {      /* grid and x ticks */
        double x = interval_x(v, geo);
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"10\">%.4g</text>\n",
                x, top, x, top + plot_h, x, top + plot_h + 14, fabs(v) < 1e-12 ? 0 : v);
    }
    if (isfinite(c->ref))
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\" "
                "stroke-dasharray=\"4 3\"/>\n", interval_x(c->ref, geo), top, interval_x(c->ref, geo), top + plot_h);
    fprintf(out, "<path d=\"M%.1f %.1fV%.1fH%.1f\" fill=\"none\" stroke=\"#333\"/>\n", left, top,
            top + plot_h, left + geo[1]);
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"11\">",
            left + geo[1] / 2, top + plot_h + 32);
    html_escape(out, c->x_label);
    fputs("</text>\n", out);
    double y = top + row / 2;
    for (int i = 0; i < c->n; i++) {
        if (new_group(c, i)) {
            fprintf(out, "<text x=\"6\" y=\"%.1f\" font-size=\"11\" font-weight=\"bold\">", y + 4);
            html_escape(out, c->groups[i]);
            fputs("</text>\n", out);
            y += row;
        }
        interval_row(out, c, i, y, geo);
        y += row;
    }
    fputs("</svg>\n", out);
}
