#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "optimizer.h"

/* Below this many elements a parallel loop costs more than it saves. */
enum { OPTIMIZER_PARALLEL_MIN = 1 << 15 };

static void optimizer_init(Optimizer *o, const ParamStore *s, OptimizerKind kind, double lr,
                           double weight_decay)
{
    CHECK(s->finalized, "optimizer: the parameter store is not finalized");
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->lr = lr;
    o->weight_decay = weight_decay;
    o->n_values = s->n_values;
    o->n_params = s->count;
    o->steps = xcalloc((size_t)s->count, sizeof *o->steps);
}

void optimizer_init_sgd(Optimizer *o, const ParamStore *s, double lr, double momentum,
                        double weight_decay)
{
    optimizer_init(o, s, OPTIMIZER_SGD, lr, weight_decay);
    o->momentum = momentum;
    if (momentum != 0.0) o->m = xcalloc(s->n_values, sizeof *o->m);
}

void optimizer_init_adam(Optimizer *o, const ParamStore *s, double lr, double beta1,
                         double beta2, double eps, double weight_decay)
{
    optimizer_init(o, s, OPTIMIZER_ADAM, lr, weight_decay);
    o->beta1 = beta1;
    o->beta2 = beta2;
    o->eps = eps;
    o->m = xcalloc(s->n_values, sizeof *o->m);
    o->v = xcalloc(s->n_values, sizeof *o->v);
}

void optimizer_free(Optimizer *o)
{
    free(o->m);
    free(o->v);
    free(o->steps);
    memset(o, 0, sizeof *o);
}

/* One parameter's slice: p, g, and the state at the same offset; n floats. Each element
 * is independent of the others, so the loops split freely across threads. The float
 * operations follow PyTorch's tensor calls one by one (see optimizer.h). */
static void sgd_update(const Optimizer *o, size_t n, float *p, const float *g, float *buf)
{
    const float neg_lr = (float)-o->lr, wd = (float)o->weight_decay, mom = (float)o->momentum;
    const bool decay = o->weight_decay != 0.0;
#pragma omp parallel for schedule(static) if (n >= OPTIMIZER_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) {
        float d = decay ? g[i] + wd * p[i] : g[i];        /* grad.add(param, alpha=wd) */
        if (buf) {
            buf[i] = buf[i] * mom + d;                     /* buf.mul_(momentum).add_(d) */
            d = buf[i];
        }
        p[i] = p[i] + neg_lr * d;                          /* param.add_(d, alpha=-lr) */
    }
}

static void adam_update(const Optimizer *o, int64_t step, size_t n, float *p, const float *g,
                        float *m, float *v)
{
    const double bc1 = 1.0 - pow(o->beta1, (double)step);
    const double bc2 = 1.0 - pow(o->beta2, (double)step);
    const float neg_step_size = (float)-(o->lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    const float b1 = (float)o->beta1, b2 = (float)o->beta2, wd = (float)o->weight_decay;
    const float one_b1 = (float)(1.0 - o->beta1), one_b2 = (float)(1.0 - o->beta2);
    const float eps = (float)o->eps;
    const bool decay = o->weight_decay != 0.0;
#pragma omp parallel for schedule(static) if (n >= OPTIMIZER_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) {
        float d = decay ? g[i] + wd * p[i] : g[i];        /* grad.add(param, alpha=wd) */
        m[i] = m[i] * b1 + one_b1 * d;                     /* m.mul_(b1).add_(d, alpha=1-b1) */
        v[i] = v[i] * b2 + one_b2 * d * d;                 /* v.mul_(b2).addcmul_(d, d, 1-b2) */
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;        /* (v.sqrt() / sqrt(bc2)).add_(eps) */
        p[i] = p[i] + neg_step_size * m[i] / denom;        /* addcdiv_(m, denom, value=-lr/bc1) */
    }
}

void optimizer_step(Optimizer *o, ParamStore *s)
{
    CHECK(s->finalized && s->n_values == o->n_values && s->count == o->n_params,
          "optimizer_step: the store (%d parameters, %zu values) is not the one the "
          "optimizer was made for (%d, %zu)", s->count, s->n_values, o->n_params, o->n_values);
    for (int i = 0; i < s->count; i++) {
        Param *p = &s->items[i];
        if (p->kind != PARAM_TRAINABLE || p->frozen) continue;
        size_t at = p->offset, n = p->t.size;
        o->steps[i]++;
        if (o->kind == OPTIMIZER_SGD)
            sgd_update(o, n, s->values + at, s->grads + at, o->m ? o->m + at : NULL);
        else
            adam_update(o, o->steps[i], n, s->values + at, s->grads + at, o->m + at, o->v + at);
    }
}

void optimizer_copy_state(Optimizer *dst, const Optimizer *src)
{
    CHECK(dst->kind == src->kind && dst->n_values == src->n_values &&
              dst->n_params == src->n_params && !dst->m == !src->m,
          "optimizer_copy_state between optimizers of different kinds or layouts");
    if (src->m) memcpy(dst->m, src->m, src->n_values * sizeof *src->m);
    if (src->v) memcpy(dst->v, src->v, src->n_values * sizeof *src->v);
    memcpy(dst->steps, src->steps, (size_t)src->n_params * sizeof *src->steps);
}

const char *optimizer_kind_name(OptimizerKind kind)
{
    return kind == OPTIMIZER_SGD ? "sgd" : "adam";
}
