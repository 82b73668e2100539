#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "params.h"

void params_init(ParamStore *s) { memset(s, 0, sizeof *s); }

void params_free(ParamStore *s)
{
    free(s->items);
    free(s->values);
    free(s->grads);
    free(s->buffers);
    memset(s, 0, sizeof *s);
}

int params_add(ParamStore *s, const char *name, ParamKind kind, int ndim, const int *shape)
{
    CHECK(!s->finalized, "params_add('%s') after params_finalize", name);
    CHECK(strlen(name) < PARAM_NAME_MAX, "parameter name too long: %s", name);
    CHECK(!params_find(s, name), "parameter '%s' declared twice", name);
    if (s->count == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->items = xrealloc(s->items, (size_t)s->cap * sizeof *s->items);
    }
    Param *p = &s->items[s->count];
    memset(p, 0, sizeof *p);
    strcpy(p->name, name);
    p->kind = kind;
    tensor_set_shape(&p->t, ndim, shape);
    if (kind == PARAM_COUNTER) CHECK(ndim == 0, "counter '%s' must be a scalar", name);
    return s->count++;
}

/* Round each tensor's start up to 16 floats (64 bytes) so every tensor is cache-line
 * aligned; the gaps are zero and never read. */
static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

void params_finalize(ParamStore *s)
{
    CHECK(!s->finalized, "params_finalize called twice");
    size_t nv = 0, nb = 0;
    for (int i = 0; i < s->count; i++) {
        Param *p = &s->items[i];
        if (p->kind == PARAM_TRAINABLE) { p->offset = nv; nv += round16(p->t.size); }
        if (p->kind == PARAM_BUFFER) { p->offset = nb; nb += round16(p->t.size); }
    }
    s->n_values = nv;
    s->n_buffers = nb;
    s->values = xcalloc_floats(nv);
    s->grads = xcalloc_floats(nv);
    s->buffers = xcalloc_floats(nb);
    for (int i = 0; i < s->count; i++) {
        Param *p = &s->items[i];
        if (p->kind == PARAM_TRAINABLE) {
            p->t.data = s->values + p->offset;
            p->t.grad = s->grads + p->offset;
            p->t.requires_grad = !p->frozen;
        } else if (p->kind == PARAM_BUFFER) {
            p->t.data = s->buffers + p->offset;
        }
    }
    s->finalized = true;
}

Param *params_get(ParamStore *s, int index)
{
    CHECK(index >= 0 && index < s->count, "parameter index %d out of range", index);
    return &s->items[index];
}

Param *params_find(ParamStore *s, const char *name)
{
    for (int i = 0; i < s->count; i++)
        if (!strcmp(s->items[i].name, name)) return &s->items[i];
    return NULL;
}

void params_set_frozen(Param *p, bool frozen)
{
    p->frozen = frozen;
    if (p->kind == PARAM_TRAINABLE) p->t.requires_grad = !frozen;
}

void params_zero_grad(ParamStore *s)
{
    memset(s->grads, 0, s->n_values * sizeof(float));
}

size_t params_trainable_count(const ParamStore *s)
{
    size_t n = 0;
    for (int i = 0; i < s->count; i++)
        if (s->items[i].kind == PARAM_TRAINABLE) n += s->items[i].t.size;
    return n;
}

void params_copy(ParamStore *dst, const ParamStore *src)
{
    CHECK(dst->finalized && src->finalized && dst->count == src->count &&
          dst->n_values == src->n_values && dst->n_buffers == src->n_buffers,
          "params_copy between stores of different layouts");
    memcpy(dst->values, src->values, src->n_values * sizeof(float));
    memcpy(dst->buffers, src->buffers, src->n_buffers * sizeof(float));
    for (int i = 0; i < src->count; i++) dst->items[i].counter = src->items[i].counter;
}
