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
#include "models/model_arch.h"

/* Append a step reading `ins`; returns the number of the value it writes. */
static int emit(ForwardGraph *g, GraphStep step, const int *ins, int n_in)
{
    CHECK(n_in >= 1 && n_in <= GRAPH_MAX_INPUTS, "graph step with %d inputs", n_in);
    step.n_in = n_in;
    memcpy(step.in, ins, sizeof(int) * (size_t)n_in);
    g->steps = xrealloc(g->steps, sizeof *g->steps * (size_t)(g->n_steps + 1));
    g->steps[g->n_steps] = step;
    return ++g->n_steps;
}

int graph_layer(ForwardGraph *g, Model *m, int k, int in, bool relu_after)
{
    Layer *l = model_layer(m, k);
    int row = (int)(l - m->layers);
    g->layer_step[row] = g->n_steps;
    return emit(g, (GraphStep){.op = GRAPH_LAYER, .layer = k, .relu = relu_after}, &in, 1);
}

int graph_maxpool(ForwardGraph *g, int in, int k, int stride, int pad)
{
    return emit(g, (GraphStep){.op = GRAPH_MAXPOOL, .k = k, .stride = stride, .pad = pad}, &in, 1);
}

int graph_avgpool(ForwardGraph *g, int in, int bins)
{
    return emit(g, (GraphStep){.op = GRAPH_AVGPOOL, .k = bins}, &in, 1);
}

int graph_resize_like(ForwardGraph *g, int in, int like)
{
    return emit(g, (GraphStep){.op = GRAPH_RESIZE_LIKE}, (int[]){in, like}, 2);
}

int graph_concat(ForwardGraph *g, const int *ins, int n_in)
{
    return emit(g, (GraphStep){.op = GRAPH_CONCAT}, ins, n_in);
}

int graph_add_relu(ForwardGraph *g, int a, int b)
{
    return emit(g, (GraphStep){.op = GRAPH_ADD_RELU}, (int[]){a, b}, 2);
}

void forward_graph_build(ForwardGraph *g, Model *m)
{
    memset(g, 0, sizeof *g);
    g->n_layers = m->n_layers;
    g->layer_step = xmalloc(sizeof *g->layer_step * (size_t)m->n_layers);
    for (int i = 0; i < m->n_layers; i++) g->layer_step[i] = -1;
    if (m->cfg.arch == ARCH_UNET) unet_graph(g, m);
    else pspnet_graph(g, m);
    for (int i = 0; i < m->n_layers; i++)
        CHECK(g->layer_step[i] >= 0, "forward graph: layer row %d is never applied", i);
    g->last_use = xmalloc(sizeof *g->last_use * (size_t)(g->n_steps + 1));
    for (int v = 0; v <= g->n_steps; v++) g->last_use[v] = -1;
    for (int s = 0; s < g->n_steps; s++)
        for (int i = 0; i < g->steps[s].n_in; i++) g->last_use[g->steps[s].in[i]] = s;
}

void forward_graph_free(ForwardGraph *g)
{
    free(g->steps);
    free(g->layer_step);
    free(g->last_use);
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
