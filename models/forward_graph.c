#include <stdlib.h>
#include <string.h>

#include "engine/add.h"
#include "engine/avgpool2d.h"
#include "engine/concat.h"
#include "engine/conv2d.h"
#include "engine/error.h"
#include "engine/maxpool2d.h"
#include "engine/relu.h"
#include "engine/resize.h"
#include "reuse/forward_graph.h"

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

static int emit_layer(ForwardGraph *g, Model *m, int k, int in, bool relu_after)
{
    Layer *l = model_layer(m, k);
    int row = (int)(l - m->layers);
    g->layer_step[row] = g->n_steps;
    return emit(g, (GraphStep){.op = GRAPH_LAYER, .layer = k, .relu = relu_after}, &in, 1);
}

static int emit_maxpool(ForwardGraph *g, int in, int k, int stride, int pad)
{
    return emit(g, (GraphStep){.op = GRAPH_MAXPOOL, .k = k, .stride = stride, .pad = pad}, &in, 1);
}

static int emit_resize_like(ForwardGraph *g, int in, int like)
{
    return emit(g, (GraphStep){.op = GRAPH_RESIZE_LIKE}, (int[]){in, like}, 2);
}

/* models/unet.c: four encoder stages (skip, then 2x2 max-pool), the bottom stage, four
 * decoder stages on concat [skip, bilinear x2 to the skip's size], the 1x1 head. */
static void build_unet(ForwardGraph *g, Model *m)
{
    int skips[4], v = 0;
    for (int s = 0; s < 4; s++) {
        v = emit_layer(g, m, 2 * s + 1, v, true);
        skips[s] = v = emit_layer(g, m, 2 * s + 2, v, true);
        v = emit_maxpool(g, v, 2, 2, 0);
    }
    v = emit_layer(g, m, 9, v, true);
    v = emit_layer(g, m, 10, v, true);
    for (int s = 5; s < 9; s++) {
        int skip = skips[8 - s];
        int up = emit_resize_like(g, v, skip);
        v = emit(g, (GraphStep){.op = GRAPH_CONCAT}, (int[]){skip, up}, 2);
        v = emit_layer(g, m, 2 * s + 1, v, true);
        v = emit_layer(g, m, 2 * s + 2, v, true);
    }
    emit_layer(g, m, 0, v, false);
}

/* models/pspnet.c: conv1 + max-pool, the BasicBlocks of layers 2..20 (a block whose next
 * table row is a downsample uses it as the shortcut), the pyramid (layers 21..24) on the
 * features, concat, bottleneck (25), classifier, bilinear to the input size. */
static void build_pspnet(ForwardGraph *g, Model *m)
{
    static const int bins[4] = {1, 2, 3, 6};
    int v = emit_layer(g, m, 1, 0, true);
    v = emit_maxpool(g, v, 3, 2, 1);
    int k = 2;
    while (k < 21) {
        int h = emit_layer(g, m, k, v, true);
        h = emit_layer(g, m, k + 1, h, false);
        int shortcut = v, next = k + 2;
        if (next <= m->n_numbered && strstr(model_layer(m, next)->conv, "downsample")) {
            shortcut = emit_layer(g, m, next, v, false);
            next++;
        }
        v = emit(g, (GraphStep){.op = GRAPH_ADD_RELU}, (int[]){h, shortcut}, 2);
        k = next;
    }
    int branches[5] = {v};
    for (int i = 0; i < 4; i++) {
        int p = emit(g, (GraphStep){.op = GRAPH_AVGPOOL, .k = bins[i]}, &v, 1);
        p = emit_layer(g, m, 21 + i, p, true);
        branches[1 + i] = emit_resize_like(g, p, v);
    }
    int y = emit(g, (GraphStep){.op = GRAPH_CONCAT}, branches, 5);
    y = emit_layer(g, m, 25, y, true);
    y = emit_layer(g, m, 0, y, false);
    emit_resize_like(g, y, 0);
}

void forward_graph_build(ForwardGraph *g, Model *m)
{
    memset(g, 0, sizeof *g);
    g->n_layers = m->n_layers;
    g->layer_step = xmalloc(sizeof *g->layer_step * (size_t)m->n_layers);
    for (int i = 0; i < m->n_layers; i++) g->layer_step[i] = -1;
    if (m->cfg.arch == ARCH_UNET) build_unet(g, m);
    else build_pspnet(g, m);
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

Tensor *forward_graph_run(const ForwardGraph *g, Model *m, Tape *t, Tensor **values, int from)
{
    CHECK(from >= 0 && from < g->n_steps, "forward graph: cannot resume at step %d", from);
    for (int v = 0; v <= from; v++)
        CHECK(!forward_graph_live_in(g, from, v) || values[v],
              "forward graph: resuming at step %d needs value %d", from, v);
    for (int s = from; s < g->n_steps; s++) {
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
            y = concat(t, xs, st->n_in);
            break;
        }
        case GRAPH_ADD_RELU:
            y = relu(t, add(t, x, values[st->in[1]]));
            break;
        }
        values[s + 1] = y;
    }
    return values[g->n_steps];
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
