#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "reuse/resume_points.h"

typedef struct Work {
    const ForwardGraph *g;
    const size_t *value_bytes;
    const int *rows;
    double *suffix;          /* suffix[j] = work of steps j..end */
    bool *chosen;            /* [n_layers] */
    bool *keep;              /* scratch: values kept for `chosen` */
} Work;

/* Mark the values the chosen resume points need; return their bytes. */
static size_t kept_values(const Work *w, const bool *chosen, bool *keep)
{
    const ForwardGraph *g = w->g;
    memset(keep, 0, sizeof *keep * (size_t)(g->n_steps + 1));
    keep[0] = true;
    size_t bytes = 0;
    for (int r = 0; r < g->n_layers; r++) {
        if (!chosen[r]) continue;
        int j = g->layer_step[r];
        for (int v = 1; v <= j; v++)
            if (!keep[v] && forward_graph_live_in(g, j, v)) {
                keep[v] = true;
                bytes += w->value_bytes[v];
            }
    }
    return bytes;
}

/* The step a swap at table row r resumes from: the latest chosen layer at or before it. */
static int resume_step(const Work *w, const bool *chosen, int r)
{
    const ForwardGraph *g = w->g;
    int best = 0, target = g->layer_step[r];
    for (int c = 0; c < g->n_layers; c++)
        if (chosen[c] && g->layer_step[c] <= target && g->layer_step[c] > best)
            best = g->layer_step[c];
    return best;
}

static double total_work(const Work *w, const bool *chosen)
{
    double sum = 0;
    for (int r = 0; r < w->g->n_layers; r++)
        sum += w->rows[r] * w->suffix[resume_step(w, chosen, r)];
    return sum;
}

void resume_points_choose(const ForwardGraph *g, const double *step_macs,
                        const size_t *value_bytes, const int *rows, size_t budget,
                        ResumePoints *p)
{
    memset(p, 0, sizeof *p);
    Work w = {g, value_bytes, rows, NULL, NULL, NULL};
    w.suffix = xcalloc((size_t)g->n_steps + 1, sizeof *w.suffix);
    for (int s = g->n_steps - 1; s >= 0; s--) w.suffix[s] = w.suffix[s + 1] + step_macs[s];
    w.chosen = xcalloc((size_t)g->n_layers, sizeof *w.chosen);
    w.keep = xcalloc((size_t)g->n_steps + 1, sizeof *w.keep);
    p->keep = xcalloc((size_t)g->n_steps + 1, sizeof *p->keep);
    p->resume = xcalloc((size_t)g->n_layers, sizeof *p->resume);

    double work = total_work(&w, w.chosen);
    p->macs_naive = work;
    size_t bytes = 0;
    for (;;) {
        int best = -1;
        double best_ratio = 0, best_work = work;
        size_t best_bytes = bytes;
        for (int c = 0; c < g->n_layers; c++) {
            if (w.chosen[c] || !rows[c]) continue;
            w.chosen[c] = true;
            size_t b = kept_values(&w, w.chosen, w.keep);
            double t = total_work(&w, w.chosen);
            w.chosen[c] = false;
            if (b > budget || t >= work) continue;
            /* saving per extra byte; a point that costs no new bytes is free */
            double ratio = b > bytes ? (work - t) / (double)(b - bytes) : 1e300;
            if (best < 0 || ratio > best_ratio) {
                best = c;
                best_ratio = ratio;
                best_work = t;
                best_bytes = b;
            }
        }
        if (best < 0) break;
        w.chosen[best] = true;
        work = best_work;
        bytes = best_bytes;
    }
    p->bytes = kept_values(&w, w.chosen, p->keep);
    p->macs = work;
    for (int r = 0; r < g->n_layers; r++) {
        p->resume[r] = resume_step(&w, w.chosen, r);
        p->points += p->resume[r] == g->layer_step[r];
    }
    free(w.suffix);
    free(w.chosen);
    free(w.keep);
}

void resume_points_free(ResumePoints *p)
{
    free(p->keep);
    free(p->resume);
    memset(p, 0, sizeof *p);
}
