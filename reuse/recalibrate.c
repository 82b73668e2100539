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
    int start, n;
    bool kept;
    int at;                  /* kept: the next step to run */
    Tape tape;
    Tensor **values;
} RecalBatch;

/* Per-channel sums of one BN layer's input. */
typedef struct ChannelSums {
    double *shift, *s1, *s2;
    int64_t n;
    bool started;
} ChannelSums;

static void batch_start(RecalBatch *b, Model *m, const SliceSet *set)
{
    const ForwardGraph *g = m->graph;
    tape_reset(&b->tape);
    memset(b->values, 0, sizeof *b->values * (size_t)(g->n_steps + 1));
    const Slice *s = &set->slices[b->start];
    Tensor *x = tape_tensor4(&b->tape, b->n, m->cfg.in_channels, s->height, s->width);
    eval_fill_input(x, set, b->start, b->n);
    b->values[0] = x;
    b->at = 0;
}

/* Add the batch's input of the BN at step `step` to sums. */
static void add_batch(RecalBatch *b, Model *m, const SliceSet *set, int step, ChannelSums *cs)
{
    const ForwardGraph *g = m->graph;
    if (!b->kept) batch_start(b, m, set);
    if (step > b->at) forward_graph_run_steps(g, m, &b->tape, b->values, b->at, step, 1);
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
    tape_release(&b->tape, y);
}

void bn_recalibrate(Model *m, const SliceSet *set, int batch, int first_step, size_t budget)
{
    const ForwardGraph *g = m->graph;
    if (batch < 1) batch = 8;
    const int n_batches = (set->count + batch - 1) / batch;
    RecalBatch *bs = xcalloc((size_t)n_batches, sizeof *bs);
    size_t per_batch = 0;
    for (int i = 0; i < n_batches; i++) {
        RecalBatch *b = &bs[i];
        b->start = i * batch;
        b->n = set->count - b->start < batch ? set->count - b->start : batch;
        tape_init(&b->tape, 0);
        b->tape.recording = b->tape.training = false;
        b->values = xcalloc((size_t)g->n_steps + 1, sizeof *b->values);
        if (i == 0) {
            /* the peak of one batch's full pass: what keeping a batch can cost */
            batch_start(b, m, set);
            forward_graph_run_steps(g, m, &b->tape, b->values, 0, g->n_steps, 1);
            per_batch = b->tape.arena.high_water;
        }
        b->kept = n_batches == 1 || (size_t)(i + 1) * per_batch <= budget;
        if (b->kept) batch_start(b, m, set);
    }
    /* The BNs in front of first_step keep their statistics, but normalise with the biased
     * variance during the passes, as they did when they were recalibrated themselves. */
    int64_t *count = xcalloc((size_t)m->n_layers, sizeof *count);
    float *kept_var = xmalloc(sizeof *kept_var * (m->params.n_buffers ? m->params.n_buffers : 1));
    memcpy(kept_var, m->params.buffers, sizeof *kept_var * m->params.n_buffers);
    for (int s = 0; s < first_step; s++) {
        if (g->steps[s].op != GRAPH_LAYER) continue;
        const Layer *l = model_layer(m, g->steps[s].layer);
        if (!l->bn[0]) continue;
        const double n = (double)set->count * l->out_h * l->out_w;
        float *rv = model_param(m, l, ROLE_RV)->t.data;
        for (int j = 0; n > 1 && j < l->out_ch; j++) rv[j] = (float)(rv[j] * ((n - 1) / n));
    }
    ChannelSums cs = {0};
    for (int s = first_step; s < g->n_steps; s++) {
        if (g->steps[s].op != GRAPH_LAYER) continue;
        const Layer *l = model_layer(m, g->steps[s].layer);
        if (!l->bn[0]) continue;
        const int c = l->out_ch;
        cs = (ChannelSums){.shift = xcalloc((size_t)c, sizeof(double)),
                           .s1 = xcalloc((size_t)c, sizeof(double)),
                           .s2 = xcalloc((size_t)c, sizeof(double))};
        for (int i = 0; i < n_batches; i++) add_batch(&bs[i], m, set, s, &cs);
        /* mean and biased variance: what the one big batch normalises with downstream */
        float *rm = model_param(m, l, ROLE_RM)->t.data, *rv = model_param(m, l, ROLE_RV)->t.data;
        for (int j = 0; j < c; j++) {
            double mean = cs.s1[j] / cs.n;
            rm[j] = (float)(cs.shift[j] + mean);
            rv[j] = (float)fmax(cs.s2[j] / cs.n - mean * mean, 0.0);
        }
        count[l - m->layers] = cs.n;
        free(cs.shift);
        free(cs.s1);
        free(cs.s2);
    }
    /* recorded: the unbiased variance, as PyTorch's running_var; the others as they were */
    for (int s = 0; s < first_step; s++) {
        if (g->steps[s].op != GRAPH_LAYER) continue;
        const Layer *l = model_layer(m, g->steps[s].layer);
        if (!l->bn[0]) continue;
        Param *rv = model_param(m, l, ROLE_RV);
        memcpy(rv->t.data, kept_var + rv->offset, sizeof(float) * rv->t.size);
    }
    free(kept_var);
    for (int r = 0; r < m->n_layers; r++) {
        if (count[r] < 2) continue;
        float *rv = model_param(m, &m->layers[r], ROLE_RV)->t.data;
        for (int j = 0; j < m->layers[r].out_ch; j++)
            rv[j] = (float)(rv[j] * ((double)count[r] / (double)(count[r] - 1)));
    }
    for (int i = 0; i < n_batches; i++) {
        tape_free(&bs[i].tape);
        free(bs[i].values);
    }
    free(bs);
    free(count);
}
