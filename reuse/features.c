#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "engine/rng.h"
#include "models/forward_graph.h"
#include "reuse/features.h"

static int compare_sample(const void *a, const void *b)
{
    const PixelSample *p = a, *q = b;
    if (p->slice != q->slice) return p->slice - q->slice;
    if (p->y != q->y) return p->y - q->y;
    return p->x - q->x;
}

/* Reservoir sampling (Algorithm R) of up to k of the pixels accepted by `label` (-1: all). */
static int reservoir(const SliceSet *set, int label, int k, Rng *r, PixelSample *out)
{
    long long seen = 0;
    int kept = 0;
    for (int s = 0; s < set->count && k > 0; s++) {
        const Slice *sl = &set->slices[s];
        for (int i = 0; i < sl->height * sl->width; i++) {
            if (label >= 0 && sl->label[i] != label) continue;
            PixelSample p = {s, i / sl->width, i % sl->width};
            if (kept < k) {
                out[kept++] = p;
            } else {
                /* replace a kept one with probability k / (seen + 1) */
                long long j = (long long)(rng_uniform_double(r) * (double)(seen + 1));
                if (j < k) out[j] = p;
            }
            seen++;
        }
    }
    return kept;
}

int pixels_uniform(const SliceSet *set, int n, uint64_t seed, PixelSample **out)
{
    Rng r;
    rng_seed(&r, seed, 21);
    *out = xmalloc(sizeof **out * (size_t)(n > 0 ? n : 1));
    int kept = reservoir(set, -1, n, &r, *out);
    qsort(*out, (size_t)kept, sizeof **out, compare_sample);
    return kept;
}

int pixels_balanced(const SliceSet *set, int classes, int n, uint64_t seed, PixelSample **out,
                    int *per_class)
{
    const int each = n / classes;
    Rng r;
    rng_seed(&r, seed, 22);
    *out = xmalloc(sizeof **out * (size_t)(each * classes + 1));
    int total = 0;
    for (int c = 0; c < classes; c++) {
        per_class[c] = reservoir(set, c, each, &r, *out + total);
        total += per_class[c];
    }
    qsort(*out, (size_t)total, sizeof **out, compare_sample);
    return total;
}

int features_relu_points(const Model *m, int *layers, int *values)
{
    const ForwardGraph *g = m->graph;
    int count = 0;
    for (int s = 0; s < g->n_steps; s++) {
        const GraphStep *st = &g->steps[s];
        if (st->op != GRAPH_LAYER || st->layer == 0) continue;
        int v = -1;
        if (st->relu) {
            v = s + 1;
        } else {
            for (int t = s + 1; t < g->n_steps && v < 0; t++)   /* the block's add, first input */
                if (g->steps[t].op == GRAPH_ADD_RELU && g->steps[t].in[0] == s + 1) v = t + 1;
        }
        if (v < 0) continue;
        layers[count] = st->layer;
        values[count++] = v;
    }
    return count;
}

int features_penultimate_value(const Model *m)
{
    return m->graph->steps[forward_graph_layer_step(m->graph, 0)].in[0];
}

int features_logits_value(const Model *m)
{
    return m->graph->n_steps;
}

/* Read the samples of slices [first, first + nb) from this batch's values. */
static void gather(Tensor *const *vals, const int *values, int n_values, int first, int nb,
                   const PixelSample *samples, int from, int to, int in_h, int in_w, float **out,
                   const int *channels)
{
    for (int j = 0; j < n_values; j++) {
        const Tensor *t = vals[values[j]];
        const int c = t->shape[1], h = t->shape[2], w = t->shape[3];
        CHECK(c == channels[j] && t->shape[0] == nb, "features: value %d has %d channels", values[j], c);
        for (int i = from; i < to; i++) {
            const PixelSample *p = &samples[i];
            const int cy = (int)(((long long)2 * p->y + 1) * h / (2LL * in_h));
            const int cx = (int)(((long long)2 * p->x + 1) * w / (2LL * in_w));
            const float *base = t->data + (size_t)(p->slice - first) * c * h * w + (size_t)cy * w + cx;
            float *row = out[j] + (size_t)i * c;
            for (int k = 0; k < c; k++) row[k] = base[(size_t)k * h * w];
        }
    }
}

void features_collect(Model *m, const SliceSet *set, const PixelSample *samples, int n,
                      const int *values, int n_values, int batch, float **out, int *channels)
{
    const ForwardGraph *g = m->graph;
    Tape tape;
    tape_init(&tape, 0);
    tape.recording = false;
    tape.training = false;
    Tensor **vals = xcalloc((size_t)g->n_steps + 1, sizeof *vals);
    for (int j = 0; j < n_values; j++) channels[j] = 0;
    for (int i = 0; i < n;) {
        /* the next batch: up to `batch` consecutive slices starting at this sample's */
        const int first = samples[i].slice;
        const int nb = first + batch <= set->count ? batch : set->count - first;
        const Slice *s0 = &set->slices[first];
        const int hw = s0->height * s0->width;
        tape_reset(&tape);
        Tensor *x = tape_tensor4(&tape, nb, m->cfg.in_channels, s0->height, s0->width);
        for (int b = 0; b < nb; b++)
            memcpy(x->data + (size_t)b * hw, set->slices[first + b].image, sizeof(float) * hw);
        vals[0] = x;
        forward_graph_run(g, m, &tape, vals, 0, false);
        if (!channels[0])
            for (int j = 0; j < n_values; j++) {
                channels[j] = vals[values[j]]->shape[1];
                out[j] = xmalloc(sizeof **out * (size_t)n * channels[j] + 1);
            }
        int to = i;
        while (to < n && samples[to].slice < first + nb) to++;
        gather(vals, values, n_values, first, nb, samples, i, to, s0->height, s0->width, out, channels);
        i = to;
    }
    free(vals);
    tape_free(&tape);
}
