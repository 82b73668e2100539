#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gemm.h"
#include "engine/error.h"
#include "engine/rng.h"
#include "models/forward_graph.h"
#include "reuse/align.h"
#include "reuse/assignment.h"

/* ---- groups from the forward graph --------------------------------------------------- */

/* The channels of a value as slices, each all channels of one conv's output (rep: its
 * table row; -1 for the model's input). */
typedef struct ValueSlices {
    int n;
    AlignSlice s[ALIGN_MAX_SLICES];      /* .group holds the representative row here */
} ValueSlices;

static int find_root(int *parent, int r)
{
    while (parent[r] != r) r = parent[r] = parent[parent[r]];
    return r;
}

static int layer_row(const Model *m, int number)
{
    return number ? number - 1 : m->n_numbered;
}

/* Walk the program once: each step's output slices from its inputs'; a residual add ties
 * its two inputs' convs into one group (union-find over table rows). */
static void trace_graph(Model *m, int *parent, ValueSlices *in_of_row)
{
    const ForwardGraph *fg = m->graph;
    ValueSlices *vals = xcalloc((size_t)fg->n_steps + 1, sizeof *vals);
    vals[0].n = 1;
    vals[0].s[0] = (AlignSlice){-1, 0, m->cfg.in_channels};
    for (int s = 0; s < fg->n_steps; s++) {
        const GraphStep *st = &fg->steps[s];
        ValueSlices *out = &vals[s + 1];
        switch (st->op) {
        case GRAPH_LAYER: {
            int row = layer_row(m, st->layer);
            in_of_row[row] = vals[st->in[0]];
            out->n = 1;
            out->s[0] = (AlignSlice){row, 0, m->layers[row].out_ch};
            break;
        }
        case GRAPH_CONCAT:
            for (int i = 0, off = 0; i < st->n_in; i++) {
                const ValueSlices *v = &vals[st->in[i]];
                for (int j = 0; j < v->n; j++) {
                    CHECK(out->n < ALIGN_MAX_SLICES, "align: concat of more than %d slices",
                          ALIGN_MAX_SLICES);
                    out->s[out->n] = v->s[j];
                    out->s[out->n++].offset = off;
                    off += v->s[j].count;
                }
            }
            break;
        case GRAPH_ADD_RELU: {
            const ValueSlices *a = &vals[st->in[0]], *b = &vals[st->in[1]];
            CHECK(a->n == 1 && b->n == 1 && a->s[0].group >= 0 && b->s[0].group >= 0,
                  "align: a residual add must join two conv outputs");
            parent[find_root(parent, a->s[0].group)] = find_root(parent, b->s[0].group);
            *out = *a;
            break;
        }
        default:                          /* pools and resizes act per channel */
            *out = vals[st->in[0]];
        }
    }
    free(vals);
}

void align_groups_build(Model *m, AlignGroups *g)
{
    const int rows = m->n_layers, head = m->n_numbered;
    int *parent = xmalloc(sizeof *parent * (size_t)rows), *gid = xmalloc(sizeof *gid * (size_t)rows);
    ValueSlices *in_of_row = xcalloc((size_t)rows, sizeof *in_of_row);
    for (int r = 0; r < rows; r++) parent[r] = r;
    trace_graph(m, parent, in_of_row);
    memset(g, 0, sizeof *g);
    g->size = xcalloc((size_t)rows, sizeof *g->size);
    g->first_row = xcalloc((size_t)rows, sizeof *g->first_row);
    g->out_group = xmalloc(sizeof *g->out_group * (size_t)rows);
    g->n_in = xcalloc((size_t)rows, sizeof *g->n_in);
    g->in = xcalloc((size_t)rows, sizeof *g->in);
    for (int r = 0; r < rows; r++) gid[r] = -1;
    for (int r = 0; r < rows; r++) {      /* rows in table order: groups numbered by first member */
        if (r == head) {
            g->out_group[r] = -1;
            continue;
        }
        int root = find_root(parent, r);
        if (gid[root] < 0) {
            gid[root] = g->n_groups++;
            g->size[gid[root]] = m->layers[r].out_ch;
            g->first_row[gid[root]] = r;
        }
        g->out_group[r] = gid[root];
        CHECK(g->size[gid[root]] == m->layers[r].out_ch, "align: %s is tied to a group of "
              "another width", m->layers[r].conv);
    }
    for (int r = 0; r < rows; r++) {
        g->n_in[r] = in_of_row[r].n;
        for (int j = 0; j < in_of_row[r].n; j++) {
            AlignSlice sl = in_of_row[r].s[j];
            int rep = sl.group;
            sl.group = rep < 0 ? -1 : gid[find_root(parent, rep)];
            CHECK(rep < 0 || rep == head || sl.count == g->size[sl.group], "align: slice width");
            g->in[r][j] = sl;
        }
    }
    free(parent);
    free(gid);
    free(in_of_row);
}

void align_groups_free(AlignGroups *g)
{
    free(g->size);
    free(g->first_row);
    free(g->out_group);
    free(g->n_in);
    free(g->in);
    memset(g, 0, sizeof *g);
}

void align_group_name(const Model *m, const AlignGroups *g, int i, char *out, int len)
{
    int members = 0;
    for (int r = 0; r < m->n_layers; r++) members += g->out_group[r] == i;
    const char *first = m->layers[g->first_row[i]].conv;
    if (members > 1) snprintf(out, (size_t)len, "%s + %d tied", first, members - 1);
    else snprintf(out, (size_t)len, "%s", first);
}

/* ---- applying a permutation ---------------------------------------------------------- */

/* x holds n rows of d floats: row i becomes old row perm[i]. */
static void permute_rows(float *x, int n, size_t d, const int *perm, float *tmp)
{
    memcpy(tmp, x, sizeof *x * (size_t)n * d);
    for (int i = 0; i < n; i++) memcpy(x + (size_t)i * d, tmp + (size_t)perm[i] * d, sizeof *x * d);
}

static size_t kernel_area(const Layer *l)
{
    return (size_t)l->kernel * (size_t)l->kernel;
}

void align_apply(Model *m, const AlignGroups *g, int group, const int *perm)
{
    size_t most = 0;
    for (int i = 0; i < m->params.count; i++)
        if (m->params.items[i].t.size > most) most = m->params.items[i].t.size;
    float *tmp = xmalloc_floats(most ? most : 1);
    for (int r = 0; r < m->n_layers; r++) {
        const Layer *l = &m->layers[r];
        Param *w = model_param(m, l, ROLE_W);
        if (g->out_group[r] == group) {
            for (int role = 0; role < ROLE_COUNT; role++) {
                Param *p = model_param(m, l, (ParamRole)role);
                if (p) permute_rows(p->t.data, l->out_ch, p->t.size / (size_t)l->out_ch, perm, tmp);
            }
        }
        for (int j = 0; j < g->n_in[r]; j++) {
            const AlignSlice *sl = &g->in[r][j];
            if (sl->group != group) continue;
            const size_t kk = kernel_area(l);
            for (int o = 0; o < l->out_ch; o++)
                permute_rows(w->t.data + ((size_t)o * l->in_ch + sl->offset) * kk, sl->count, kk,
                             perm, tmp);
        }
    }
    free(tmp);
}

/* ---- matching -------------------------------------------------------------------------- */

/* score += a b^T for a, b of n rows of d floats (in float by the BLAS, summed in double). */
static void add_products(double *score, int n, int d, const float *a, const float *b, float *tmp)
{
    sgemm_rowmajor(false, true, n, n, d, 1.0f, a, d, b, d, 0.0f, tmp, n);
    for (size_t i = 0; i < (size_t)n * n; i++) score[i] += tmp[i];
}

/* The reader's input slice as count rows of out_ch * kk floats: row i = channel offset + i. */
static void gather_slice(const float *w, const Layer *l, const AlignSlice *sl, float *out)
{
    const size_t kk = kernel_area(l);
    for (int i = 0; i < sl->count; i++)
        for (int o = 0; o < l->out_ch; o++)
            memcpy(out + ((size_t)i * l->out_ch + o) * kk,
                   w + ((size_t)o * l->in_ch + sl->offset + i) * kk, sizeof *w * kk);
}

/* The tensors whose rows the matching compares (align.h): conv W and B, BN weight and bias. */
static const ParamRole matched_roles[] = {ROLE_W, ROLE_B, ROLE_RW, ROLE_RB};
#define N_MATCHED ((int)(sizeof matched_roles / sizeof matched_roles[0]))

/* score[i][j] = similarity of t's channel i and s's channel j of group gi. */
static void group_scores(Model *t, Model *s, const AlignGroups *g, int gi, double *score,
                         float *buf_a, float *buf_b, float *tmp)
{
    const int n = g->size[gi];
    memset(score, 0, sizeof *score * (size_t)n * n);
    for (int r = 0; r < t->n_layers; r++) {
        const Layer *l = &t->layers[r];
        if (g->out_group[r] == gi)
            for (int k = 0; k < N_MATCHED; k++) {
                Param *p = model_param(t, l, matched_roles[k]), *q = model_param(s, &s->layers[r], matched_roles[k]);
                if (p) add_products(score, n, (int)(p->t.size / (size_t)n), p->t.data, q->t.data, tmp);
            }
        for (int j = 0; j < g->n_in[r]; j++) {
            const AlignSlice *sl = &g->in[r][j];
            if (sl->group != gi) continue;
            gather_slice(model_param(t, l, ROLE_W)->t.data, l, sl, buf_a);
            gather_slice(model_param(s, &s->layers[r], ROLE_W)->t.data, l, sl, buf_b);
            add_products(score, n, (int)((size_t)l->out_ch * kernel_area(l)), buf_a, buf_b, tmp);
        }
    }
}

static double weight_distance(Model *t, Model *s)
{
    double sum = 0;
    for (int r = 0; r < t->n_layers; r++)
        for (int k = 0; k < N_MATCHED; k++) {
            Param *p = model_param(t, &t->layers[r], matched_roles[k]);
            Param *q = model_param(s, &s->layers[r], matched_roles[k]);
            if (!p) continue;
            for (size_t i = 0; i < p->t.size; i++) {
                double d = (double)p->t.data[i] - q->t.data[i];
                sum += d * d;
            }
        }
    return sqrt(sum);
}

void align_weights(Model *t, Model *s, const AlignGroups *g, uint64_t seed, int max_rounds,
                   int **perms, AlignResult *res)
{
    memset(res, 0, sizeof *res);
    res->distance_before = weight_distance(t, s);
    int most = 0;
    size_t slice_most = 1;
    for (int i = 0; i < g->n_groups; i++) most = g->size[i] > most ? g->size[i] : most;
    for (int i = 0; i < t->params.count; i++)
        if (t->params.items[i].t.size > slice_most) slice_most = t->params.items[i].t.size;
    double *score = xmalloc(sizeof *score * (size_t)most * most + 1);
    float *tmp = xmalloc_floats((size_t)most * most + 1);
    float *buf_a = xmalloc_floats(slice_most), *buf_b = xmalloc_floats(slice_most);
    int *q = xmalloc(sizeof *q * (size_t)(most + 1)), *old = xmalloc(sizeof *old * (size_t)(most + 1));
    int *order = xmalloc(sizeof *order * (size_t)(g->n_groups + 1));
    int **total = xcalloc((size_t)g->n_groups + 1, sizeof *total);
    for (int i = 0; i < g->n_groups; i++) {
        total[i] = xmalloc(sizeof **total * (size_t)g->size[i]);
        for (int c = 0; c < g->size[i]; c++) total[i][c] = c;
        order[i] = i;
    }
    Rng rng;
    rng_seed(&rng, seed, 11);
    bool changed = true;
    while (changed && res->rounds < max_rounds) {
        changed = false;
        res->rounds++;
        rng_shuffle(&rng, order, g->n_groups);
        for (int k = 0; k < g->n_groups; k++) {
            const int gi = order[k], n = g->size[gi];
            group_scores(t, s, g, gi, score, buf_a, buf_b, tmp);
            double keep = 0;
            for (int i = 0; i < n; i++) keep += score[(size_t)i * n + i];
            double best = assignment_max(n, score, q);
            /* move only for a real gain: ties and float noise must not make it cycle */
            if (best <= keep + 1e-9 * (fabs(keep) + 1e-30)) continue;
            align_apply(s, g, gi, q);
            memcpy(old, total[gi], sizeof *old * (size_t)n);
            for (int i = 0; i < n; i++) total[gi][i] = old[q[i]];
            changed = true;
        }
    }
    for (int i = 0; i < g->n_groups; i++) {
        bool identity = true;
        for (int c = 0; c < g->size[i]; c++) identity &= total[i][c] == c;
        res->moved_groups += !identity;
        if (perms) memcpy(perms[i], total[i], sizeof **total * (size_t)g->size[i]);
        free(total[i]);
    }
    res->distance_after = weight_distance(t, s);
    free(total);
    free(order);
    free(q);
    free(old);
    free(score);
    free(tmp);
    free(buf_a);
    free(buf_b);
}
