#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "reuse/kept_pass.h"

void kept_pass_init(KeptPass *k, const ForwardGraph *g)
{
    memset(k, 0, sizeof *k);
    k->n_values = g->n_steps + 1;
    k->kept = xcalloc((size_t)k->n_values, sizeof *k->kept);
    arena_init(&k->arena[0], 0);
    arena_init(&k->arena[1], 0);
}

void kept_pass_free(KeptPass *k)
{
    free(k->kept);
    arena_free(&k->arena[0]);
    arena_free(&k->arena[1]);
    memset(k, 0, sizeof *k);
}

void kept_pass_keep(KeptPass *k, Tensor *const *values)
{
    const int next = 1 - k->cur;
    Arena *a = &k->arena[next];
    arena_reset(a);
    Tensor *fresh = xcalloc((size_t)k->n_values, sizeof *fresh);
    k->bytes = 0;
    for (int v = 0; v < k->n_values; v++) {
        const Tensor *src = values[v];
        if (!src || !src->data) continue;
        fresh[v] = *src;
        fresh[v].grad = NULL;
        fresh[v].requires_grad = false;
        fresh[v].data = arena_floats(a, src->size);
        memcpy(fresh[v].data, src->data, sizeof(float) * src->size);
        k->bytes += sizeof(float) * src->size;
    }
    free(k->kept);
    k->kept = fresh;
    k->cur = next;
}

void kept_pass_live_in(KeptPass *k, const ForwardGraph *g, int from, Tensor **values)
{
    for (int v = 0; v < k->n_values; v++) {
        values[v] = NULL;
        if (v > from || !forward_graph_live_in(g, from, v)) continue;
        CHECK(k->kept[v].data, "kept pass: value %d, live-in at step %d, was not kept", v, from);
        values[v] = &k->kept[v];
    }
}
