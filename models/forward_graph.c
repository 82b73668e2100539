#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/add.h"
#include "engine/avgpool2d.h"
#include "engine/concat.h"
#include "engine/conv2d.h"
#include "engine/error.h"
#include "engine/maxpool2d.h"
#include "engine/resize.h"
#include "models/forward_graph.h"

/* Append a step reading `ins`, whose output has `channels` channels; returns the number
 * of the value it writes. */
static int emit(ForwardGraph *g, GraphStep step, const int *ins, int n_in, int channels)
{
    CHECK(n_in >= 1 && n_in <= GRAPH_MAX_INPUTS, "graph step with %d inputs", n_in);
    for (int i = 0; i < n_in; i++)
        CHECK(ins[i] >= 0 && ins[i] <= g->n_steps, "forward graph: step %d reads value %d, "
              "which is not written yet (values 0..%d)", g->n_steps, ins[i], g->n_steps);
    step.n_in = n_in;
    memcpy(step.in, ins, sizeof(int) * (size_t)n_in);
    g->steps = xrealloc(g->steps, sizeof *g->steps * (size_t)(g->n_steps + 1));
    g->steps[g->n_steps] = step;
    g->channels = xrealloc(g->channels, sizeof *g->channels * (size_t)(g->n_steps + 2));
    g->channels[g->n_steps + 1] = channels;
    return ++g->n_steps;
}

static void copy_name(char *dst, const char *src, const char *what)
{
    CHECK(src && strlen(src) < LAYER_NAME_MAX, "forward graph: %s name '%s' missing or longer "
          "than %d characters", what, src ? src : "", LAYER_NAME_MAX - 1);
    strcpy(dst, src);
}

/* Add row r to m's table (the head when `head`), reading value `in`, and the step that
 * applies it. The table is numbered rows in declaration order, then the head. */
static int declare_row(ForwardGraph *g, Model *m, int in, const ConvRow *r, bool head)
{
    CHECK(m->n_layers == m->n_numbered, "forward graph: %s is declared after the head %s",
          r->conv ? r->conv : "a row", m->n_layers ? m->layers[m->n_layers - 1].conv : "");
    CHECK(in >= 0 && in <= g->n_steps, "forward graph: %s reads value %d (values 0..%d)",
          r->conv ? r->conv : "a row", in, g->n_steps);
    CHECK(r->out_ch >= 1 && r->kernel >= 1 && r->stride >= 1 && r->pad >= 0 && r->dilation >= 1,
          "forward graph: %s: out %d, kernel %d, stride %d, pad %d, dilation %d", r->conv,
          r->out_ch, r->kernel, r->stride, r->pad, r->dilation);
    m->layers = xrealloc(m->layers, sizeof *m->layers * (size_t)(m->n_layers + 1));
    Layer *l = &m->layers[m->n_layers];
    memset(l, 0, sizeof *l);
    for (int i = 0; i < ROLE_COUNT; i++) l->param[i] = -1;    /* no tensors yet */
    l->bn_count = -1;
    copy_name(l->conv, r->conv, "conv");
    if (head) {
        CHECK(!r->bn, "forward graph: the head %s has a BN (%s)", r->conv, r->bn);
        snprintf(l->label, sizeof l->label, "head");
    } else {
        copy_name(l->bn, r->bn, "BN");
        l->number = ++m->n_numbered;
        snprintf(l->label, sizeof l->label, "%d", l->number);
    }
    l->in_ch = g->channels[in];
    l->out_ch = r->out_ch;
    l->kernel = r->kernel;
    l->stride = r->stride;
    l->pad = r->pad;
    l->dilation = r->dilation;
    l->conv_bias = r->bias;
    l->relu = r->relu;
    l->init = r->init;
    g->layer_step = xrealloc(g->layer_step, sizeof *g->layer_step * (size_t)(m->n_layers + 1));
    g->layer_step[m->n_layers] = g->n_steps;
    g->n_layers = ++m->n_layers;
    GraphStep step = {.op = GRAPH_LAYER, .layer = l->number, .relu = r->relu};
    return emit(g, step, &in, 1, r->out_ch);
}

int graph_conv(ForwardGraph *g, Model *m, int in, const ConvRow *row)
{
    return declare_row(g, m, in, row, false);
}

int graph_head(ForwardGraph *g, Model *m, int in, const ConvRow *row)
{
    return declare_row(g, m, in, row, true);
}

int graph_channels(const ForwardGraph *g, int v)
{
    CHECK(v >= 0 && v <= g->n_steps, "forward graph: no value %d (values 0..%d)", v, g->n_steps);
    return g->channels[v];
}

int graph_maxpool(ForwardGraph *g, int in, int k, int stride, int pad)
{
    GraphStep step = {.op = GRAPH_MAXPOOL, .k = k, .stride = stride, .pad = pad};
    return emit(g, step, &in, 1, graph_channels(g, in));
}

int graph_avgpool(ForwardGraph *g, int in, int bins)
{
    return emit(g, (GraphStep){.op = GRAPH_AVGPOOL, .k = bins}, &in, 1, graph_channels(g, in));
}

int graph_resize_like(ForwardGraph *g, int in, int like)
{
    return emit(g, (GraphStep){.op = GRAPH_RESIZE_LIKE}, (int[]){in, like}, 2,
                graph_channels(g, in));
}

int graph_concat(ForwardGraph *g, const int *ins, int n_in)
{
    int channels = 0;
    for (int i = 0; i < n_in; i++) channels += graph_channels(g, ins[i]);
    return emit(g, (GraphStep){.op = GRAPH_CONCAT}, ins, n_in, channels);
}

int graph_add_relu(ForwardGraph *g, int a, int b)
{
    CHECK(graph_channels(g, a) == graph_channels(g, b), "forward graph: adding values %d and %d "
          "of %d and %d channels", a, b, graph_channels(g, a), graph_channels(g, b));
    return emit(g, (GraphStep){.op = GRAPH_ADD_RELU}, (int[]){a, b}, 2, graph_channels(g, a));
}

/* What the swap scan's restart relies on, and what the table's numbering means: one head,
 * the last row; one step per row, in the table's order. */
static void check_rows(const ForwardGraph *g, const Model *m)
{
    CHECK(m->n_layers == m->n_numbered + 1 && m->n_numbered >= 1, "forward graph: %d numbered "
          "rows and %d heads (need at least 1 and exactly 1)", m->n_numbered,
          m->n_layers - m->n_numbered);
    int applied = 0;
    for (int s = 0; s < g->n_steps; s++) applied += g->steps[s].op == GRAPH_LAYER;
    CHECK(applied == m->n_layers, "forward graph: %d layer steps for %d rows", applied,
          m->n_layers);
    for (int i = 1; i < m->n_layers; i++)
        CHECK(g->layer_step[i - 1] < g->layer_step[i], "forward graph: row %s (step %d) runs "
              "before row %s (step %d)", m->layers[i].conv, g->layer_step[i],
              m->layers[i - 1].conv, g->layer_step[i - 1]);
}

void forward_graph_build_with(ForwardGraph *g, Model *m, void (*build)(ForwardGraph *, Model *))
{
    CHECK(!m->layers && !m->n_layers, "forward graph: the model already has a table");
    memset(g, 0, sizeof *g);
    g->channels = xmalloc(sizeof *g->channels);
    g->channels[GRAPH_INPUT] = m->cfg.in_channels;
    build(g, m);
    check_rows(g, m);
    g->last_use = xmalloc(sizeof *g->last_use * (size_t)(g->n_steps + 1));
    for (int v = 0; v <= g->n_steps; v++) g->last_use[v] = -1;
    for (int s = 0; s < g->n_steps; s++)
        for (int i = 0; i < g->steps[s].n_in; i++) g->last_use[g->steps[s].in[i]] = s;
}

void forward_graph_build(ForwardGraph *g, Model *m)
{
    const ModelArchInfo *a = model_arch_info(m->cfg.arch);
    forward_graph_build_with(g, m, a->build);
    CHECK(a->backbone_rows <= m->n_numbered, "%s: %d backbone rows of %d", a->name,
          a->backbone_rows, m->n_numbered);
    for (int k = 1; k <= a->backbone_rows; k++)
        CHECK(model_layer(m, k)->init == LAYER_INIT_RESNET, "%s: backbone row %s without the "
              "ResNet initialisation", a->name, model_layer(m, k)->conv);
}

void forward_graph_free(ForwardGraph *g)
{
    free(g->steps);
    free(g->layer_step);
    free(g->last_use);
    free(g->channels);
    memset(g, 0, sizeof *g);
}

int forward_graph_layer_step(const ForwardGraph *g, int k)
{
    CHECK(k >= 0 && k < g->n_layers, "forward graph: layer %d out of range", k);
    return g->layer_step[k ? k - 1 : g->n_layers - 1];
}

bool forward_graph_live_in(const ForwardGraph *g, int j, int v)
{
    /* value v is written by step v - 1, so it exists before step j when v <= j */
    return v <= j && g->last_use[v] >= j;
}

Tensor *forward_graph_run(const ForwardGraph *g, Model *m, Tape *t, Tensor **values, int from,
                          bool free_dead)
{
    return forward_graph_run_steps(g, m, t, values, from, g->n_steps,
                                   free_dead ? from + 1 : g->n_steps + 1);
}

Tensor *forward_graph_run_steps(const ForwardGraph *g, Model *m, Tape *t, Tensor **values,
                                int from, int to, int free_from)
{
    CHECK(from >= 0 && from < g->n_steps, "forward graph: cannot resume at step %d", from);
    CHECK(to > from && to <= g->n_steps, "forward graph: cannot stop at step %d", to);
    for (int v = 0; v <= from; v++)
        CHECK(!forward_graph_live_in(g, from, v) || values[v],
              "forward graph: resuming at step %d needs value %d", from, v);
    for (int s = from; s < to; s++) {
        const GraphStep *st = &g->steps[s];
        Tensor *x = values[st->in[0]], *y = NULL;
        switch (st->op) {
        case GRAPH_LAYER:
            y = model_apply_layer(m, t, model_layer(m, st->layer), x, st->relu);
            break;
        case GRAPH_MAXPOOL:
            y = maxpool2d(t, x, st->k, st->stride, st->pad);
            break;
        case GRAPH_AVGPOOL:
            y = adaptive_avgpool2d(t, x, st->k, st->k);
            break;
        case GRAPH_RESIZE_LIKE: {
            const Tensor *like = values[st->in[1]];
            y = resize_bilinear(t, x, like->shape[2], like->shape[3]);
            break;
        }
        case GRAPH_CONCAT: {
            Tensor *xs[GRAPH_MAX_INPUTS];
            for (int i = 0; i < st->n_in; i++) xs[i] = values[st->in[i]];
            y = concat_resized(t, xs, st->n_in);
            break;
        }
        case GRAPH_ADD_RELU:
            y = add_relu(t, x, values[st->in[1]]);
            break;
        }
        values[s + 1] = y;
        for (int i = 0; i < st->n_in; i++) {
            const int v = st->in[i];        /* not the input x, which is the caller's */
            if (v >= free_from && v > 0 && g->last_use[v] == s && values[v]->data)
                tape_release(t, values[v]);
        }
    }
    return values[to];
}

void forward_graph_shapes(const ForwardGraph *g, Model *m, int h, int w, ValueShape *shapes)
{
    shapes[GRAPH_INPUT] = (ValueShape){g->channels[GRAPH_INPUT], h, w};
    for (int s = 0; s < g->n_steps; s++) {
        const GraphStep *st = &g->steps[s];
        const ValueShape x = shapes[st->in[0]];
        ValueShape *y = &shapes[s + 1];
        *y = (ValueShape){g->channels[s + 1], x.h, x.w};   /* concat, add: in[0]'s size */
        switch (st->op) {
        case GRAPH_LAYER: {
            const Layer *l = model_layer(m, st->layer);
            Conv2dShape cs = conv2d_shape(1, x.c, x.h, x.w, l->out_ch, l->kernel, l->kernel,
                                          l->stride, l->pad, l->dilation);
            y->h = cs.oh;
            y->w = cs.ow;
            break;
        }
        case GRAPH_MAXPOOL: {
            MaxPool2dShape ps = maxpool2d_shape(1, x.c, x.h, x.w, st->k, st->stride, st->pad);
            y->h = ps.oh;
            y->w = ps.ow;
            break;
        }
        case GRAPH_AVGPOOL:
            y->h = y->w = st->k;
            break;
        case GRAPH_RESIZE_LIKE:
            y->h = shapes[st->in[1]].h;
            y->w = shapes[st->in[1]].w;
            break;
        case GRAPH_CONCAT:          /* at in[0]'s size, channels summed (g->channels) */
        case GRAPH_ADD_RELU:
            break;
        }
    }
}

double forward_graph_step_macs(const ForwardGraph *g, Model *m, Tensor *const *values, int s)
{
    const GraphStep *st = &g->steps[s];
    if (st->op != GRAPH_LAYER) return (double)values[s + 1]->size;
    const Layer *l = model_layer(m, st->layer);
    const Tensor *x = values[st->in[0]];
    Conv2dShape cs = conv2d_shape(x->shape[0], x->shape[1], x->shape[2], x->shape[3], l->out_ch,
                                  l->kernel, l->kernel, l->stride, l->pad, l->dilation);
    return conv2d_macs(&cs);
}
