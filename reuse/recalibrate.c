#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/conv2d.h"
#include "engine/error.h"
#include "models/forward_graph.h"
#include "reuse/recalibrate.h"
#include "train/evaluate.h"

/* One batch's pass: its own tape and values, kept across BN layers or rebuilt each time. */
typedef struct RecalBatch {
    int index, start, n;
    bool kept;
    int at;                  /* kept: the next step to run */
    int free_from;           /* values from here on are this tape's (forward_graph_run_steps) */
    Tensor *conv;            /* kept: the conv output of the BN being recalibrated */
    Tape tape;
    Tensor **values;
} RecalBatch;

/* Per-channel sums of one BN layer's input. */
typedef struct ChannelSums {
    double *shift, *s1, *s2;
    int64_t n;
    bool started;
} ChannelSums;

/* The batch's values at step `first`: from its kept pass, else the input (step 0). */
static void batch_start(RecalBatch *b, Model *m, const SliceSet *set, int first,
                        const RecalPasses *from)
{
    const ForwardGraph *g = m->graph;
    tape_reset(&b->tape);
    b->conv = NULL;
    if (from && b->index < from->n) {
        kept_pass_live_in(&from->kept[b->index], g, first, b->values);
        b->at = first;
        b->free_from = first + 1;
        return;
    }
    memset(b->values, 0, sizeof *b->values * (size_t)(g->n_steps + 1));
    const Slice *s = &set->slices[b->start];
    Tensor *x = tape_tensor4(&b->tape, b->n, m->cfg.in_channels, s->height, s->width);
    eval_fill_input(x, set, b->start, b->n);
    b->values[0] = x;
    b->at = 0;
    b->free_from = 1;
}

/* Add the batch's input of the BN at step `step` to sums. */
static void add_batch(RecalBatch *b, Model *m, const SliceSet *set, int step, ChannelSums *cs,
                      int first, const RecalPasses *from)
{
    const ForwardGraph *g = m->graph;
    if (!b->kept) batch_start(b, m, set, first, from);
    if (step > b->at) forward_graph_run_steps(g, m, &b->tape, b->values, b->at, step, b->free_from);
    b->at = step;
    const Layer *l = model_layer(m, g->steps[step].layer);
    Param *bias = model_param(m, l, ROLE_B);
    Tensor *y = conv2d(&b->tape, b->values[g->steps[step].in[0]], &model_param(m, l, ROLE_W)->t,
                       bias ? &bias->t : NULL, l->stride, l->pad, l->dilation);
    const int c = y->shape[1];
    const size_t hw = (size_t)y->shape[2] * y->shape[3];
    for (int j = 0; j < c; j++) {
        if (!cs->started) cs->shift[j] = y->data[(size_t)j * hw];
        double s1 = 0, s2 = 0;
        for (int i = 0; i < y->shape[0]; i++) {
            const float *p = y->data + ((size_t)i * c + j) * hw;
            for (size_t q = 0; q < hw; q++) {
                double d = p[q] - cs->shift[j];
                s1 += d;
                s2 += d * d;
            }
        }
        cs->s1[j] += s1;
        cs->s2[j] += s2;
    }
    cs->started = true;
    cs->n += (int64_t)y->shape[0] * (int64_t)hw;
    if (b->kept) b->conv = y;
    else tape_release(&b->tape, y);
}

/* A kept batch after its BN's statistics are set: the step's output from the conv output
 * already computed (what forward_graph_run_steps would compute again), its input given
 * back when this was its last reader. */
static void finish_layer(RecalBatch *b, Model *m, int step)
{
    if (!b->kept) return;
    const ForwardGraph *g = m->graph;
    const GraphStep *st = &g->steps[step];
    b->values[step + 1] = model_apply_bn(m, &b->tape, model_layer(m, st->layer), b->conv, st->relu);
    b->conv = NULL;
    const int v = st->in[0];
    if (v >= b->free_from && v > 0 && g->last_use[v] == step && b->values[v]->data)
        tape_release(&b->tape, b->values[v]);
    b->at = step + 1;
}

/* The passes' tapes and values, each batch kept while (i + 1) * per_batch fits budget. */
static RecalBatch *batches_alloc(Model *m, const SliceSet *set, int batch, size_t per_batch,
                                 size_t budget, int *n_batches)
{
    const int n = (set->count + batch - 1) / batch;
    RecalBatch *bs = xcalloc((size_t)n, sizeof *bs);
    for (int i = 0; i < n; i++) {
        RecalBatch *b = &bs[i];
        b->index = i;
        b->start = i * batch;
        b->n = set->count - b->start < batch ? set->count - b->start : batch;
        tape_init(&b->tape, 0);
        b->tape.recording = b->tape.training = false;
        b->values = xcalloc((size_t)m->graph->n_steps + 1, sizeof *b->values);
        b->kept = n == 1 || (size_t)(i + 1) * per_batch <= budget;
    }
    *n_batches = n;
    return bs;
}

static void batches_free(RecalBatch *bs, int n)
{
    for (int i = 0; i < n; i++) {
        tape_free(&bs[i].tape);
        free(bs[i].values);
    }
    free(bs);
}

/* The peak memory of one batch's full pass: what keeping a batch can cost. */
static size_t pass_bytes(Model *m, const SliceSet *set, int batch)
{
    RecalBatch b = {.n = set->count < batch ? set->count : batch};
    tape_init(&b.tape, 0);
    b.tape.recording = b.tape.training = false;
    b.values = xcalloc((size_t)m->graph->n_steps + 1, sizeof *b.values);
    batch_start(&b, m, set, 0, NULL);
    forward_graph_run_steps(m->graph, m, &b.tape, b.values, 0, m->graph->n_steps, 1);
    size_t bytes = b.tape.arena.high_water;
    tape_free(&b.tape);
    free(b.values);
    return bytes;
}

/* The BNs in front of first_step keep their statistics but normalise with their biased
 * variance var * (n - 1) / n during the passes, as they did when they were recalibrated
 * themselves (n = N * H * W of the set). Returns a copy of the running statistics. */
static float *bias_variances_in_front(Model *m, const SliceSet *set, int first_step)
{
    const ForwardGraph *g = m->graph;
    float *saved = xmalloc(sizeof *saved * (m->params.n_buffers ? m->params.n_buffers : 1));
    memcpy(saved, m->params.buffers, sizeof *saved * m->params.n_buffers);
    for (int s = 0; s < first_step; s++) {
        if (g->steps[s].op != GRAPH_LAYER) continue;
        const Layer *l = model_layer(m, g->steps[s].layer);
        if (!l->bn[0]) continue;
        const double n = (double)set->count * l->out_h * l->out_w;
        float *rv = model_param(m, l, ROLE_RV)->t.data;
        for (int j = 0; n > 1 && j < l->out_ch; j++) rv[j] = (float)(rv[j] * ((n - 1) / n));
    }
    return saved;
}

/* ... and get them back. */
static void restore_variances_in_front(Model *m, int first_step, const float *saved)
{
    const ForwardGraph *g = m->graph;
    for (int s = 0; s < first_step; s++) {
        if (g->steps[s].op != GRAPH_LAYER) continue;
        const Layer *l = model_layer(m, g->steps[s].layer);
        if (!l->bn[0]) continue;
        Param *rv = model_param(m, l, ROLE_RV);
        memcpy(rv->t.data, saved + rv->offset, sizeof(float) * rv->t.size);
    }
}

void bn_recal_keep_passes(Model *m, const SliceSet *set, int batch, size_t budget,
                          RecalPasses *out)
{
    const ForwardGraph *g = m->graph;
    if (batch < 1) batch = 8;
    memset(out, 0, sizeof *out);
    out->batch = batch;
    int n_batches;
    const size_t per_batch = pass_bytes(m, set, batch);
    out->per_batch = per_batch;
    RecalBatch *bs = batches_alloc(m, set, batch, per_batch, budget, &n_batches);
    float *saved = bias_variances_in_front(m, set, g->n_steps);
    out->kept = xcalloc((size_t)n_batches, sizeof *out->kept);
    for (int i = 0; i < n_batches && bs[i].kept; i++) {
        batch_start(&bs[i], m, set, 0, NULL);
        forward_graph_run_steps(g, m, &bs[i].tape, bs[i].values, 0, g->n_steps, g->n_steps + 1);
        kept_pass_init(&out->kept[i], g);
        kept_pass_keep(&out->kept[i], bs[i].values);
        out->bytes += out->kept[i].bytes;
        out->n = i + 1;
        tape_reset(&bs[i].tape);
    }
    restore_variances_in_front(m, g->n_steps, saved);
    free(saved);
    batches_free(bs, n_batches);
}

void bn_recal_passes_free(RecalPasses *p)
{
    for (int i = 0; i < p->n; i++) kept_pass_free(&p->kept[i]);
    free(p->kept);
    memset(p, 0, sizeof *p);
}

void bn_recalibrate(Model *m, const SliceSet *set, int batch, int first_step, size_t budget)
{
    bn_recalibrate_from(m, set, batch, first_step, budget, NULL);
}

void bn_recalibrate_from(Model *m, const SliceSet *set, int batch, int first_step,
                         size_t budget, const RecalPasses *from)
{
    const ForwardGraph *g = m->graph;
    if (batch < 1) batch = 8;
    CHECK(!from || from->batch == batch, "recalibration resumed from passes of %d slices, not %d",
          from ? from->batch : 0, batch);
    /* a pass resumed from kept values holds at most what a full pass from the input does */
    int n_batches;
    const size_t per_batch = from ? from->per_batch : pass_bytes(m, set, batch);
    RecalBatch *bs = batches_alloc(m, set, batch, per_batch, budget, &n_batches);
    for (int i = 0; i < n_batches; i++)
        if (bs[i].kept) batch_start(&bs[i], m, set, first_step, from);
    int64_t *count = xcalloc((size_t)m->n_layers, sizeof *count);
    float *kept_var = bias_variances_in_front(m, set, first_step);
    ChannelSums cs = {0};
    for (int s = first_step; s < g->n_steps; s++) {
        if (g->steps[s].op != GRAPH_LAYER) continue;
        const Layer *l = model_layer(m, g->steps[s].layer);
        if (!l->bn[0]) continue;
        const int c = l->out_ch;
        cs = (ChannelSums){.shift = xcalloc((size_t)c, sizeof(double)),
                           .s1 = xcalloc((size_t)c, sizeof(double)),
                           .s2 = xcalloc((size_t)c, sizeof(double))};
        for (int i = 0; i < n_batches; i++) add_batch(&bs[i], m, set, s, &cs, first_step, from);
        /* mean and biased variance: what the one big batch normalises with downstream */
        float *rm = model_param(m, l, ROLE_RM)->t.data, *rv = model_param(m, l, ROLE_RV)->t.data;
        for (int j = 0; j < c; j++) {
            double mean = cs.s1[j] / cs.n;
            rm[j] = (float)(cs.shift[j] + mean);
            rv[j] = (float)fmax(cs.s2[j] / cs.n - mean * mean, 0.0);
        }
        for (int i = 0; i < n_batches; i++) finish_layer(&bs[i], m, s);
        count[l - m->layers] = cs.n;
        free(cs.shift);
        free(cs.s1);
        free(cs.s2);
    }
    /* recorded: the unbiased variance, as PyTorch's running_var; the others as they were */
    restore_variances_in_front(m, first_step, kept_var);
    free(kept_var);
    for (int r = 0; r < m->n_layers; r++) {
        if (count[r] < 2) continue;
        float *rv = model_param(m, &m->layers[r], ROLE_RV)->t.data;
        for (int j = 0; j < m->layers[r].out_ch; j++)
            rv[j] = (float)(rv[j] * ((double)count[r] / (double)(count[r] - 1)));
    }
    batches_free(bs, n_batches);
    free(count);
}
