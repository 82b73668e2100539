/* SGD and Adam: steps worked by hand, several steps against the update rules written out
 * in double here, frozen parameters untouched, per-parameter Adam step counts, and a
 * resume from saved state that continues bit for bit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/optimizer.h"
#include "tests/testutil.h"

/* A store like a model's: two trainable tensors, a BN buffer between them, a third
 * trainable tensor (frozen in some tests) and a counter. */
enum { P_W, P_RUNNING, P_B, P_FROZEN, P_COUNT, N_PARAMS };

static void make_store(ParamStore *s)
{
    params_init(s);
    params_add(s, "conv.weight", PARAM_TRAINABLE, 2, (int[]){2, 3});
    params_add(s, "bn.running_mean", PARAM_BUFFER, 1, (int[]){3});
    params_add(s, "conv.bias", PARAM_TRAINABLE, 1, (int[]){3});
    params_add(s, "head.weight", PARAM_TRAINABLE, 1, (int[]){5});
    params_add(s, "bn.num_batches_tracked", PARAM_COUNTER, 0, NULL);
    params_finalize(s);
    for (int i = 0; i < s->count; i++) {
        Param *p = params_get(s, i);
        if (p->kind != PARAM_COUNTER) fill_uniform(p->t.data, p->t.size, -1, 1, 10 + i);
    }
}

/* Deterministic gradients for step `step`, in every trainable slot (frozen ones too: the
 * optimizer must ignore what is there). */
static void set_grads(ParamStore *s, int step)
{
    for (int i = 0; i < s->count; i++) {
        Param *p = params_get(s, i);
        if (p->kind == PARAM_TRAINABLE) fill_uniform(p->t.grad, p->t.size, -1, 1, 100 * step + i);
    }
}

/* ---- by hand ---------------------------------------------------------------------------- */

static void one_value_store(ParamStore *s, float value)
{
    params_init(s);
    params_add(s, "w", PARAM_TRAINABLE, 1, (int[]){1});
    params_finalize(s);
    s->values[0] = value;
}

/* p = 1, g = 0.5, lr 0.1, momentum 0.9, weight decay 0.1:
 *   step 1: d = 0.5 + 0.1*1 = 0.6, buf = 0.6, p = 1 - 0.06 = 0.94
 *   step 2: d = 0.5 + 0.094 = 0.594, buf = 0.9*0.6 + 0.594 = 1.134, p = 0.94 - 0.1134 = 0.8266 */
static void test_sgd_by_hand(void **state)
{
    (void)state;
    ParamStore s;
    one_value_store(&s, 1.0f);
    Optimizer o;
    optimizer_init_sgd(&o, &s, 0.1, 0.9, 0.1);
    s.grads[0] = 0.5f;
    optimizer_step(&o, &s);
    assert_true(fabs(s.values[0] - 0.94) < 1e-6 && fabs(o.m[0] - 0.6) < 1e-6);
    optimizer_step(&o, &s);
    assert_true(fabs(o.m[0] - 1.134) < 1e-6);
    assert_true(fabs(s.values[0] - 0.8266) < 1e-6);
    optimizer_free(&o);
    /* Momentum 0 keeps no buffer: p = 1 - 0.1 * (0.5 + 0.1) = 0.94, then 0.94 - 0.1 * 0.594. */
    s.values[0] = 1.0f;
    optimizer_init_sgd(&o, &s, 0.1, 0.0, 0.1);
    assert_null(o.m);
    optimizer_step(&o, &s);
    optimizer_step(&o, &s);
    assert_true(fabs(s.values[0] - (0.94 - 0.0594)) < 1e-6);
    optimizer_free(&o);
    params_free(&s);
}

/* p = 1, constant g = 0.5, lr 0.1, betas (0.9, 0.999), eps 1e-8:
 *   step 1: m = 0.05, v = 0.00025; m/(1-0.9) = 0.5, v/(1-0.999) = 0.25 -> p = 1 - 0.1*0.5/0.5 = 0.9
 *   step 2: m = 0.095, v = 0.00049975; m/0.19 = 0.5, v/0.001999 = 0.25 -> p = 0.8
 * (a constant gradient moves Adam by lr per step). With weight decay 1 the gradient is
 * 0.5 + p = 1.5 at step 1: m/(1-0.9) = 1.5, v/(1-0.999) = 2.25 -> again p = 0.9. */
static void test_adam_by_hand(void **state)
{
    (void)state;
    ParamStore s;
    one_value_store(&s, 1.0f);
    Optimizer o;
    optimizer_init_adam(&o, &s, 0.1, 0.9, 0.999, 1e-8, 0.0);
    s.grads[0] = 0.5f;
    optimizer_step(&o, &s);
    assert_true(fabs(s.values[0] - 0.9) < 1e-6);
    assert_true(fabs(o.m[0] - 0.05) < 1e-8 && fabs(o.v[0] - 0.00025) < 1e-9);
    optimizer_step(&o, &s);
    assert_true(fabs(s.values[0] - 0.8) < 1e-6);
    assert_true(fabs(o.v[0] - 0.00049975) < 1e-9);
    assert_int_equal(o.steps[0], 2);
    optimizer_free(&o);

    s.values[0] = 1.0f;
    optimizer_init_adam(&o, &s, 0.1, 0.9, 0.999, 1e-8, 1.0);
    optimizer_step(&o, &s);
    assert_true(fabs(s.values[0] - 0.9) < 1e-6 && fabs(o.m[0] - 0.15) < 1e-7);
    optimizer_free(&o);
    params_free(&s);
}

/* ---- several steps against the rules in double ---------------------------------------- */

typedef struct Ref { double p, m, v; } Ref;

static void sgd_ref(Ref *r, double g, double lr, double mom, double wd)
{
    double d = g + wd * r->p;
    r->m = mom * r->m + d;
    r->p -= lr * r->m;
}

static void adam_ref(Ref *r, double g, int t, double lr, double b1, double b2, double eps,
                     double wd)
{
    double d = g + wd * r->p;
    r->m = b1 * r->m + (1 - b1) * d;
    r->v = b2 * r->v + (1 - b2) * d * d;
    double mhat = r->m / (1 - pow(b1, t)), vhat = r->v / (1 - pow(b2, t));
    r->p -= lr * mhat / (sqrt(vhat) + eps);
}

/* Five steps with changing gradients and learning rates (as a schedule would set them).
 * float32 against double over 5 steps: 1e-5 absolute on values of size ~1. */
static void test_several_steps(void **state)
{
    (void)state;
    for (int kind = 0; kind < 2; kind++) {
        ParamStore s;
        make_store(&s);
        size_t n = s.n_values;
        Ref *ref = calloc(n, sizeof *ref);
        for (size_t i = 0; i < n; i++) ref[i].p = s.values[i];
        Optimizer o;
        if (kind == 0) optimizer_init_sgd(&o, &s, 0.1, 0.9, 1e-2);
        else optimizer_init_adam(&o, &s, 0.05, 0.9, 0.99, 1e-8, 1e-2);
        for (int step = 1; step <= 5; step++) {
            o.lr = (kind == 0 ? 0.1 : 0.05) / step;
            set_grads(&s, step);
            for (int i = 0; i < s.count; i++) {
                Param *p = params_get(&s, i);
                if (p->kind != PARAM_TRAINABLE) continue;
                for (size_t j = p->offset; j < p->offset + p->t.size; j++) {
                    if (kind == 0) sgd_ref(&ref[j], s.grads[j], o.lr, 0.9, 1e-2);
                    else adam_ref(&ref[j], s.grads[j], step, o.lr, 0.9, 0.99, 1e-8, 1e-2);
                }
            }
            optimizer_step(&o, &s);
        }
        for (int i = 0; i < s.count; i++) {
            Param *p = params_get(&s, i);
            if (p->kind != PARAM_TRAINABLE) continue;
            for (size_t j = p->offset; j < p->offset + p->t.size; j++) {
                assert_true(fabs(s.values[j] - ref[j].p) < 1e-5);
                assert_true(fabs(o.m[j] - ref[j].m) < 1e-5);
                if (kind == 1) assert_true(fabs(o.v[j] - ref[j].v) < 1e-6);
            }
        }
        free(ref);
        optimizer_free(&o);
        params_free(&s);
    }
}

/* ---- frozen parameters -------------------------------------------------------------------- */

/* A frozen parameter keeps its exact bits (with weight decay on and garbage in its
 * gradient slot) and gets no state; the others change; buffers are never touched. */
static void test_frozen_is_bitwise_unchanged(void **state)
{
    (void)state;
    for (int kind = 0; kind < 2; kind++) {
        ParamStore s;
        make_store(&s);
        Param *frozen = params_get(&s, P_FROZEN), *w = params_get(&s, P_W);
        params_set_frozen(frozen, true);
        float before[5], w_before[6], buffers[3];
        memcpy(before, frozen->t.data, sizeof before);
        memcpy(w_before, w->t.data, sizeof w_before);
        memcpy(buffers, params_get(&s, P_RUNNING)->t.data, sizeof buffers);
        Optimizer o;
        if (kind == 0) optimizer_init_sgd(&o, &s, 0.1, 0.9, 0.5);
        else optimizer_init_adam(&o, &s, 0.1, 0.9, 0.999, 1e-8, 0.5);
        for (int step = 1; step <= 3; step++) {
            set_grads(&s, step);
            optimizer_step(&o, &s);
        }
        assert_memory_equal(frozen->t.data, before, sizeof before);
        assert_memory_equal(params_get(&s, P_RUNNING)->t.data, buffers, sizeof buffers);
        for (int j = 0; j < 6; j++) assert_true(w->t.data[j] != w_before[j]);
        assert_int_equal(o.steps[P_FROZEN], 0);
        assert_int_equal(o.steps[P_W], 3);
        for (size_t j = 0; j < frozen->t.size; j++) {
            assert_true(o.m[frozen->offset + j] == 0.0f);
            if (o.v) assert_true(o.v[frozen->offset + j] == 0.0f);
        }
        optimizer_free(&o);
        params_free(&s);
    }
}

/* Adam counts steps per parameter, as PyTorch's per-parameter state does: a parameter
 * frozen for two steps and then unfrozen takes a first step (bias correction at t = 1):
 * p -= lr * g / (|g| + eps). */
static void test_adam_unfrozen_later_starts_at_step_one(void **state)
{
    (void)state;
    ParamStore s;
    make_store(&s);
    Param *late = params_get(&s, P_FROZEN);
    params_set_frozen(late, true);
    Optimizer o;
    optimizer_init_adam(&o, &s, 0.01, 0.9, 0.999, 1e-8, 0.0);
    set_grads(&s, 1);
    optimizer_step(&o, &s);
    set_grads(&s, 2);
    optimizer_step(&o, &s);
    params_set_frozen(late, false);
    float p0[5];
    memcpy(p0, late->t.data, sizeof p0);
    set_grads(&s, 3);
    optimizer_step(&o, &s);
    assert_int_equal(o.steps[P_FROZEN], 1);
    assert_int_equal(o.steps[P_W], 3);
    for (int j = 0; j < 5; j++) {
        double g = late->t.grad[j];
        assert_true(fabs(late->t.data[j] - (p0[j] - 0.01 * g / (fabs(g) + 1e-8))) < 1e-6);
    }
    optimizer_free(&o);
    params_free(&s);
}

/* ---- resume ------------------------------------------------------------------------------ */

/* Four steps in one go equal two steps, a save/restore of values and optimizer state
 * into fresh objects, and two more steps, bit for bit. */
static void test_resume_from_state(void **state)
{
    (void)state;
    for (int kind = 0; kind < 2; kind++) {
        ParamStore a, b, c;
        make_store(&a);
        make_store(&b);
        Optimizer oa, ob, oc;
        if (kind == 0) {
            optimizer_init_sgd(&oa, &a, 0.05, 0.9, 1e-3);
            optimizer_init_sgd(&ob, &b, 0.05, 0.9, 1e-3);
        } else {
            optimizer_init_adam(&oa, &a, 0.05, 0.9, 0.999, 1e-8, 1e-3);
            optimizer_init_adam(&ob, &b, 0.05, 0.9, 0.999, 1e-8, 1e-3);
        }
        for (int step = 1; step <= 4; step++) {
            set_grads(&a, step);
            optimizer_step(&oa, &a);
        }
        for (int step = 1; step <= 2; step++) {
            set_grads(&b, step);
            optimizer_step(&ob, &b);
        }
        make_store(&c);
        params_copy(&c, &b);
        if (kind == 0) optimizer_init_sgd(&oc, &c, 0.05, 0.9, 1e-3);
        else optimizer_init_adam(&oc, &c, 0.05, 0.9, 0.999, 1e-8, 1e-3);
        optimizer_copy_state(&oc, &ob);
        for (int step = 3; step <= 4; step++) {
            set_grads(&c, step);
            optimizer_step(&oc, &c);
        }
        assert_memory_equal(c.values, a.values, a.n_values * sizeof(float));
        assert_memory_equal(oc.m, oa.m, a.n_values * sizeof(float));
        if (kind == 1) assert_memory_equal(oc.v, oa.v, a.n_values * sizeof(float));
        optimizer_free(&oa); optimizer_free(&ob); optimizer_free(&oc);
        params_free(&a); params_free(&b); params_free(&c);
    }
}

static void wrong_store(void *arg)
{
    (void)arg;
    ParamStore a, b;
    make_store(&a);
    one_value_store(&b, 1.0f);
    Optimizer o;
    optimizer_init_sgd(&o, &a, 0.1, 0.9, 0.0);
    optimizer_step(&o, &b);
}

static void test_wrong_store_is_reported(void **state)
{
    (void)state;
    assert_exits_with_message(wrong_store, NULL, "optimizer_step: the store (1 parameters");
}

TEST_MAIN("optimizer", NULL, NULL,
          test_sgd_by_hand, test_adam_by_hand, test_several_steps, test_frozen_is_bitwise_unchanged,
          test_adam_unfrozen_later_starts_at_step_one, test_resume_from_state,
          test_wrong_store_is_reported)
