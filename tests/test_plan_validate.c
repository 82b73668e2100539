/* Joint validation of a plan (reuse/plan_validate.c), against the definition: every set's
 * tensors swapped in and the whole validation set evaluated from the input by the
 * evaluation core (eval_dice), with the bootstrap interval of those counts:
 *   - the whole plan, every cumulative set and every greedy set equal their direct
 *     evaluation (mean, delta, interval); the last cumulative set is the whole plan;
 *   - each greedy round adds the candidate whose joint drop is smallest among the
 *     tensors with the smallest own drop, and stops only beyond tau;
 *   - a plan from the target itself changes nothing: delta 0, interval [0, 0];
 *   - plan --validate writes "validation" into plan.json; bad options give one line. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "reuse/bootstrap.h"
#include "reuse/plan.h"
#include "reuse/plan_validate.h"
#include "reuse/swap.h"
#include "reuse/swap_rows.h"
#include "tests/testutil.h"

typedef struct Fixture {
    Model target, source;
    SliceSet val;
    char scan[512];
} Fixture;

static void fixture_init(Fixture *f, bool self)
{
    SliceSet train;
    toy_set(&train, 4, 8, 31);
    toy_model(&f->target, ARCH_UNET, 4, 1);
    toy_train(&f->target, &train, 120);
    toy_model(&f->source, ARCH_UNET, 4, 1);
    if (self) {
        params_copy(&f->source.params, &f->target.params);
    } else {
        params_copy(&f->source.params, &f->target.params);
        toy_train(&f->source, &train, 40);      /* the target trained on: near, not equal */
        toy_perturb_bn(&f->source, 5);
    }
    sliceset_free(&train);
    toy_set(&f->val, 4, 3, 21);
    SwapOptions o;
    swap_options_defaults(&o);
    o.batch = 4;
    o.resamples = 0;
    SwapScan s;
    assert_int_equal(swap_scan(&f->target, &f->source, &f->val, &o, &s), 0);
    snprintf(f->scan, sizeof f->scan, "%s/scan-%d.csv", test_dir(), self);
    assert_int_equal(swap_write_csv(f->scan, &s), 0);
    swap_scan_free(&s);
}

static void fixture_free(Fixture *f)
{
    model_free(&f->target);
    model_free(&f->source);
    sliceset_free(&f->val);
}

/* The set of named tensors swapped in, the whole set evaluated from the input. */
static void direct_tally(Fixture *f, char names[][96], int n, DiceTally *t)
{
    Model m;
    toy_model(&m, ARCH_UNET, 4, 1);
    params_copy(&m.params, &f->target.params);
    for (int i = 0; i < n; i++) {
        Param *dst = params_find(&m.params, names[i]), *src = params_find(&f->source.params, names[i]);
        assert_non_null(dst);
        memcpy(dst->t.data, src->t.data, sizeof(float) * dst->t.size);
    }
    Tape tape;
    tape_init(&tape, 0);
    dice_tally_init(t, 4, sliceset_patients(&f->val));
    eval_dice(&m, &tape, &f->val, 3, t);
    tape_free(&tape);
    model_free(&m);
}

/* A point against the direct evaluation of its set. */
static void assert_point(Fixture *f, const PlanPoint *p, char names[][96], int n,
                         const ValidateOptions *o, double *mean)
{
    DiceTally base, t;
    direct_tally(f, names, 0, &base);
    direct_tally(f, names, n, &t);
    const unsigned ev = eval_classes(o->labelled, 4);
    Bootstrap b;
    bootstrap_init(&b, &base, o->resamples, o->seed, ev);
    double lo, hi, m0 = dice_from_counts(&base.total, 4, ev, NULL);
    double m1 = dice_from_counts(&t.total, 4, ev, NULL);
    bootstrap_interval(&b, &base, &t, &lo, &hi);
    assert_int_equal(p->n_tensors, n);
    assert_true(p->mean == m1 && fabs(p->delta - (m1 - m0)) < 1e-15);
    assert_true(p->delta_lo == lo && p->delta_hi == hi);
    if (mean) *mean = m1;
    bootstrap_free(&b);
    dice_tally_free(&base);
    dice_tally_free(&t);
}

static void test_sets_equal_direct_evaluation(void **state)
{
    (void)state;
    Fixture f;
    fixture_init(&f, false);
    PlanOptions po;
    plan_options_defaults(&po);
    po.tau = 0.01;
    Plan p;
    assert_int_equal(plan_from_scan(f.scan, &po, &p), 0);
    ValidateOptions o;
    validate_options_defaults(&o);
    o.batch = 3;                               /* 12 slices: 4 batches */
    o.resamples = 300;
    o.candidates = 3;
    PlanValidation v;
    assert_int_equal(plan_validate(&f.target, &f.source, &p, &f.val, &o, &v), 0);
    print_message("%d reusable tensors; whole plan %+.4f; %d cumulative sets; greedy %d tensors, "
                  "stopped at %+.4f; %d evaluations\n", p.reusable, v.whole.delta, v.n_cumulative,
                  v.n_greedy, v.greedy_stop, v.evaluations);
    char (*names)[96] = xcalloc((size_t)p.n, sizeof *names);
    int n = 0;
    for (int i = 0; i < p.n; i++)
        if (p.entries[i].reusable) snprintf(names[n++], 96, "%s", p.entries[i].tensor);
    assert_point(&f, &v.whole, names, n, &o, NULL);
    assert_true(v.n_cumulative >= 2);
    assert_true(v.cumulative[v.n_cumulative - 1].mean == v.whole.mean);
    for (int k = 0; k < v.n_cumulative; k++)
        assert_point(&f, &v.cumulative[k], names, v.cumulative[k].n_tensors, &o, NULL);
    /* greedy: each set directly; round 1 chose the best of its candidates */
    assert_true(v.n_greedy >= 1 && v.n_greedy < p.reusable);
    char (*g)[96] = xcalloc((size_t)p.n, sizeof *g);
    for (int k = 0; k < v.n_greedy; k++) {
        snprintf(g[k], 96, "%s", v.greedy[k].tensor);
        assert_point(&f, &v.greedy[k], g, k + 1, &o, NULL);
        assert_true(v.greedy[k].delta >= -po.tau);
    }
    assert_true(v.greedy_stop < -po.tau);
    /* round 1's candidates: the 3 reusable tensors with the largest scan delta */
    int order[3] = {-1, -1, -1};
    for (int j = 0; j < 3; j++)
        for (int i = 0; i < p.n; i++) {
            if (!p.entries[i].reusable || i == order[0] || i == order[1]) continue;
            if (order[j] < 0 || p.entries[i].delta > p.entries[order[j]].delta) order[j] = i;
        }
    double best = -1, chosen = 0;
    for (int j = 0; j < 3; j++) {
        char one[1][96];
        snprintf(one[0], 96, "%s", p.entries[order[j]].tensor);
        DiceTally t;
        direct_tally(&f, one, 1, &t);
        double m = dice_from_counts(&t.total, 4, eval_classes(o.labelled, 4), NULL);
        best = fmax(best, m);
        if (!strcmp(one[0], v.greedy[0].tensor)) chosen = m;
        dice_tally_free(&t);
    }
    assert_true(chosen == best);
    assert_int_equal(v.evaluations, 1 + v.n_cumulative + 3 * (v.n_greedy + 1));
    free(names);
    free(g);
    plan_validation_free(&v);
    plan_free(&p);
    fixture_free(&f);
}

static void test_self_changes_nothing(void **state)
{
    (void)state;
    Fixture f;
    fixture_init(&f, true);
    PlanOptions po;
    plan_options_defaults(&po);
    Plan p;
    assert_int_equal(plan_from_scan(f.scan, &po, &p), 0);
    assert_int_equal(p.reusable, p.n);
    ValidateOptions o;
    validate_options_defaults(&o);
    o.candidates = 2;
    PlanValidation v;
    assert_int_equal(plan_validate(&f.target, &f.source, &p, &f.val, &o, &v), 0);
    assert_true(v.whole.delta == 0 && v.whole.delta_lo == 0 && v.whole.delta_hi == 0);
    for (int k = 0; k < v.n_cumulative; k++)
        assert_true(v.cumulative[k].delta == 0 && v.cumulative[k].delta_hi == 0);
    assert_int_equal(v.n_greedy, p.n);
    assert_true(isnan(v.greedy_stop));
    plan_validation_free(&v);
    plan_free(&p);
    fixture_free(&f);
}

static void test_command(void **state)
{
    (void)state;
    const char *d = test_dir();
    char cmd[4096], out[8192], path[600], data[600];
    snprintf(data, sizeof data, "%s/data", d);
    test_synth("acdc", 3, 64, 4, 1, data);
    snprintf(cmd, sizeof cmd, "%s init --arch unet --width 4 --seed 1 -o %s/t.safetensors && "
             "%s init --arch unet --width 4 --seed 2 -o %s/s.safetensors && "
             "%s swap --target %s/t.safetensors --source %s/s.safetensors --data %s --size 64 "
             "--val-count 1 --train-count 2 --resamples 0 --no-controls --quiet -o %s/scan.csv",
             reusenet_program(), d, reusenet_program(), d, reusenet_program(), d, d, data, d);
    assert_int_equal(run_command(cmd, out, sizeof out), 0);
    snprintf(cmd, sizeof cmd, "%s plan --scan %s/scan.csv --tau 1 --validate --target "
             "%s/t.safetensors --source %s/s.safetensors --data %s --size 64 --val-count 1 "
             "--train-count 2 --resamples 50 --candidates 2 --quiet --threads 1 -o %s/plan.json",
             reusenet_program(), d, d, d, data, d);
    assert_int_equal(run_command(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "joint validation"));
    snprintf(path, sizeof path, "%s/plan.json", d);
    size_t len;
    char *text = (char *)read_file_bytes(path, &len);
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    cJSON *v = cJSON_GetObjectItem(root, "validation");
    assert_non_null(v);
    assert_non_null(cJSON_GetObjectItem(v, "whole"));
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(v, "cumulative")) > 1);
    cJSON *g = cJSON_GetObjectItem(v, "greedy");
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(g, "tensors")) ==
                cJSON_GetArraySize(cJSON_GetObjectItem(g, "steps")));
    cJSON_Delete(root);
    free(text);
    /* --validate without a model, a model without --validate */
    snprintf(cmd, sizeof cmd, "%s plan --scan %s/scan.csv --validate --data %s -o %s/p2.json",
             reusenet_program(), d, data, d);
    assert_int_equal(run_command(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "--validate needs --target"));
    snprintf(cmd, sizeof cmd, "%s plan --scan %s/scan.csv --target %s/t.safetensors -o %s/p2.json",
             reusenet_program(), d, d, d);
    assert_int_equal(run_command(cmd, out, sizeof out), 2);
}

TEST_MAIN("plan validate", one_thread_dir_setup, test_dir_teardown,
          test_sets_equal_direct_evaluation, test_self_changes_nothing, test_command)
