#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/error.h"
#include "reuse/bootstrap.h"
#include "reuse/kept_pass.h"
#include "reuse/plan_validate.h"
#include "reuse/swap_rows.h"
#include "train/evaluate.h"
#include "util/progress.h"

void validate_options_defaults(ValidateOptions *o)
{
    memset(o, 0, sizeof *o);
    o->labelled = 0xe;
    o->batch = 8;
    o->resamples = 1000;
    o->candidates = 4;
}

/* A tensor of the plan: its table row, role, the step of its layer and its plan entry. */
typedef struct Ref {
    int row, role, step, entry;
    float *backup;               /* the target's tensor while the source's is in */
} Ref;

typedef struct Ctx {
    Model *target, *source;
    const SliceSet *val;
    const Plan *plan;
    const ForwardGraph *g;
    int batch;
    unsigned evaluated;
    Tape tape;
    Tensor **values;             /* [n_steps + 1] */
    KeptPass kept;
    Ref *refs;
    int n_refs;
    Bootstrap boot;
    DiceTally base;
    double base_mean;
} Ctx;

/* The plan's reusable tensors as refs, in table (= layer) order; -1 naming a missing one. */
static int find_refs(Ctx *c)
{
    const Plan *p = c->plan;
    Model *m = c->target;
    c->refs = xcalloc((size_t)(p->n ? p->n : 1), sizeof *c->refs);
    for (int r = 0; r < m->n_layers; r++)
        for (int k = 0; k < ROLE_COUNT; k++) {
            if (m->layers[r].param[k] < 0) continue;
            const char *name = swap_row_param(m, r, k)->name;
            for (int e = 0; e < p->n; e++)
                if (p->entries[e].reusable && !strcmp(p->entries[e].tensor, name)) {
                    Ref *ref = &c->refs[c->n_refs++];
                    *ref = (Ref){.row = r, .role = k, .entry = e,
                                 .step = forward_graph_layer_step(c->g, m->layers[r].number)};
                    ref->backup = xmalloc(sizeof(float) * swap_row_param(m, r, k)->t.size);
                }
        }
    int reusable = 0;
    for (int e = 0; e < p->n; e++) reusable += p->entries[e].reusable;
    if (!reusable) return error_set("the plan has no reusable tensor to validate");
    if (c->n_refs == reusable) return 0;
    for (int e = 0; e < p->n; e++) {
        bool found = !p->entries[e].reusable;
        for (int i = 0; i < c->n_refs && !found; i++) found = c->refs[i].entry == e;
        if (!found)
            return error_set("the plan's tensor '%s' is not in the target", p->entries[e].tensor);
    }
    return 0;
}

static void ref_in(Ctx *c, Ref *r) { swap_row_in(c->target, c->source, r->row, r->role, r->backup); }
static void ref_out(Ctx *c, Ref *r) { swap_row_out(c->target, r->row, r->role, r->backup); }

/* Batch [start, start + n): the current model's full pass, every value kept. */
static const Tensor *full_pass(Ctx *c, int start, int n)
{
    tape_reset(&c->tape);
    memset(c->values, 0, sizeof *c->values * (size_t)(c->g->n_steps + 1));
    const Slice *s = &c->val->slices[start];
    c->values[0] = tape_tensor4(&c->tape, n, c->target->cfg.in_channels, s->height, s->width);
    eval_fill_input(c->values[0], c->val, start, n);
    const Tensor *y = forward_graph_run(c->g, c->target, &c->tape, c->values, 0, false);
    kept_pass_keep(&c->kept, c->values);
    return y;
}

/* The current model resumed at step `from` from the kept pass. */
static const Tensor *resumed_pass(Ctx *c, int from)
{
    tape_reset(&c->tape);
    kept_pass_live_in(&c->kept, c->g, from, c->values);
    return forward_graph_run(c->g, c->target, &c->tape, c->values, from, false);
}

static void point_fill(Ctx *c, const DiceTally *t, PlanPoint *pt)
{
    pt->mean = dice_from_counts(&t->total, c->target->cfg.classes, c->evaluated, NULL);
    pt->delta = pt->mean - c->base_mean;
    bootstrap_interval(&c->boot, &c->base, t, &pt->delta_lo, &pt->delta_hi);
}

static DiceTally *tallies_new(Ctx *c, int n)
{
    DiceTally *t = xcalloc((size_t)n, sizeof *t);
    for (int i = 0; i < n; i++)
        dice_tally_init(&t[i], c->target->cfg.classes, sliceset_patients(c->val));
    return t;
}

static void tallies_free(DiceTally *t, int n)
{
    for (int i = 0; i < n; i++) dice_tally_free(&t[i]);
    free(t);
}

/* The whole plan at once, from the input by the evaluation core. */
static void validate_whole(Ctx *c, PlanValidation *out)
{
    DiceTally t;
    dice_tally_init(&t, c->target->cfg.classes, sliceset_patients(c->val));
    for (int i = 0; i < c->n_refs; i++) ref_in(c, &c->refs[i]);
    eval_dice(c->target, &c->tape, c->val, c->batch, &t);
    for (int i = c->n_refs - 1; i >= 0; i--) ref_out(c, &c->refs[i]);
    c->tape.recording = c->tape.training = false;
    point_fill(c, &t, &out->whole);
    out->whole.n_tensors = c->n_refs;
    snprintf(out->whole.layer, sizeof out->whole.layer, "all");
    dice_tally_free(&t);
    out->evaluations++;
}

/* Layers 1..k for every layer k with plan tensors: a chain of passes, each batch's set k
 * resumed at layer k from set k-1's pass. */
static void validate_cumulative(Ctx *c, PlanValidation *out)
{
    int *first = xcalloc((size_t)c->n_refs + 1, sizeof *first);     /* refs of group k */
    int groups = 0;
    for (int i = 0; i < c->n_refs; i++)
        if (!i || c->refs[i].row != c->refs[i - 1].row) first[groups++] = i;
    first[groups] = c->n_refs;
    DiceTally *t = tallies_new(c, groups);
    for (int start = 0; start < c->val->count; start += c->batch) {
        const int n = c->val->count - start < c->batch ? c->val->count - start : c->batch;
        full_pass(c, start, n);
        for (int k = 0; k < groups; k++) {
            for (int i = first[k]; i < first[k + 1]; i++) ref_in(c, &c->refs[i]);
            const Tensor *y = resumed_pass(c, c->refs[first[k]].step);
            dice_tally_add(&t[k], y->data, c->val, start, n);
            if (k + 1 < groups) kept_pass_keep(&c->kept, c->values);
        }
        for (int i = c->n_refs - 1; i >= 0; i--) ref_out(c, &c->refs[i]);
    }
    out->cumulative = xcalloc((size_t)groups, sizeof *out->cumulative);
    out->n_cumulative = groups;
    for (int k = 0; k < groups; k++) {
        PlanPoint *pt = &out->cumulative[k];
        point_fill(c, &t[k], pt);
        pt->n_tensors = first[k + 1];
        snprintf(pt->layer, sizeof pt->layer, "%s", c->target->layers[c->refs[first[k]].row].label);
    }
    out->evaluations += groups;
    tallies_free(t, groups);
    free(first);
}

/* Pool order: the smallest single-swap drop first (the scan's delta), then table order. */
static const Plan *sort_plan;
static const Ref *sort_refs;
static int by_scan_delta(const void *a, const void *b)
{
    const int i = *(const int *)a, j = *(const int *)b;
    const double di = sort_plan->entries[sort_refs[i].entry].delta;
    const double dj = sort_plan->entries[sort_refs[j].entry].delta;
    if (di != dj) return di > dj ? -1 : 1;
    return i - j;
}

/* One greedy round: candidates cand[0..n) each added to the set (swapped in already). */
static void greedy_round(Ctx *c, const int *cand, int n_cand, DiceTally *t)
{
    for (int start = 0; start < c->val->count; start += c->batch) {
        const int n = c->val->count - start < c->batch ? c->val->count - start : c->batch;
        full_pass(c, start, n);
        for (int j = 0; j < n_cand; j++) {
            Ref *r = &c->refs[cand[j]];
            ref_in(c, r);
            const Tensor *y = resumed_pass(c, r->step);
            dice_tally_add(&t[j], y->data, c->val, start, n);
            ref_out(c, r);
        }
    }
}

static void validate_greedy(Ctx *c, const ValidateOptions *o, PlanValidation *out)
{
    int *pool = xmalloc(sizeof *pool * (size_t)c->n_refs), *taken = xcalloc((size_t)c->n_refs, sizeof *taken);
    for (int i = 0; i < c->n_refs; i++) pool[i] = i;
    sort_plan = c->plan;
    sort_refs = c->refs;
    qsort(pool, (size_t)c->n_refs, sizeof *pool, by_scan_delta);
    const int m = o->candidates > 0 ? o->candidates : 4;
    int *cand = xmalloc(sizeof *cand * (size_t)m);
    out->greedy = xcalloc((size_t)c->n_refs, sizeof *out->greedy);
    out->candidates = m;
    out->greedy_stop = NAN;
    int *set = xmalloc(sizeof *set * (size_t)c->n_refs);     /* in order of addition */
    for (int round = 0; round < c->n_refs; round++) {
        int n_cand = 0;
        for (int i = 0; i < c->n_refs && n_cand < m; i++)
            if (!taken[pool[i]]) cand[n_cand++] = pool[i];
        for (int i = 0; i < round; i++) ref_in(c, &c->refs[set[i]]);
        DiceTally *t = tallies_new(c, n_cand);
        greedy_round(c, cand, n_cand, t);
        for (int i = round - 1; i >= 0; i--) ref_out(c, &c->refs[set[i]]);
        out->evaluations += n_cand;
        int best = 0;
        double best_mean = -INFINITY;
        for (int j = 0; j < n_cand; j++) {
            double mean = dice_from_counts(&t[j].total, c->target->cfg.classes, c->evaluated, NULL);
            if (mean > best_mean) {
                best_mean = mean;
                best = j;
            }
        }
        if (best_mean - c->base_mean < -c->plan->tau - 1e-12) {
            out->greedy_stop = best_mean - c->base_mean;
            tallies_free(t, n_cand);
            break;
        }
        const Ref *r = &c->refs[cand[best]];
        PlanPoint *pt = &out->greedy[out->n_greedy++];
        point_fill(c, &t[best], pt);
        pt->n_tensors = round + 1;
        snprintf(pt->tensor, sizeof pt->tensor, "%s", c->plan->entries[r->entry].tensor);
        snprintf(pt->layer, sizeof pt->layer, "%s", c->target->layers[r->row].label);
        taken[cand[best]] = 1;
        set[round] = cand[best];
        tallies_free(t, n_cand);
        if (o->progress && isatty(2))
            fprintf(stderr, "\rplan --validate: greedy set of %d tensors, joint change %+.4f",
                    round + 1, pt->delta);
    }
    if (o->progress && isatty(2)) fprintf(stderr, "\n");
    free(set);
    free(cand);
    free(pool);
    free(taken);
}

int plan_validate(Model *target, Model *source, const Plan *p, const SliceSet *val,
                  const ValidateOptions *o, PlanValidation *out)
{
    memset(out, 0, sizeof *out);
    SwapDonors donors = {.model = {[DONOR_SOURCE] = source}};
    if (swap_check_input(target, &donors, val)) return -1;
    const double t0 = progress_now();
    Ctx c = {.target = target, .source = source, .val = val, .plan = p, .g = target->graph,
             .batch = o->batch > 0 ? o->batch : 8};
    int rc = find_refs(&c);
    if (!rc) {
        c.evaluated = eval_classes(o->labelled, target->cfg.classes);
        c.values = xcalloc((size_t)c.g->n_steps + 1, sizeof *c.values);
        tape_init(&c.tape, 0);
        kept_pass_init(&c.kept, c.g);
        dice_tally_init(&c.base, target->cfg.classes, sliceset_patients(val));
        eval_dice(target, &c.tape, val, c.batch, &c.base);
        c.tape.recording = c.tape.training = false;
        c.base_mean = dice_from_counts(&c.base.total, target->cfg.classes, c.evaluated, NULL);
        bootstrap_init(&c.boot, &c.base, o->resamples, o->seed, c.evaluated);
        out->baseline_mean = c.base_mean;
        out->patients = c.boot.patients;
        out->resamples = o->resamples;
        out->slices = val->count;
        out->tau = p->tau;
        validate_whole(&c, out);
        if (o->progress) fprintf(stderr, "plan --validate: whole plan done, cumulative sets\n");
        validate_cumulative(&c, out);
        validate_greedy(&c, o, out);
        bootstrap_free(&c.boot);
        dice_tally_free(&c.base);
        kept_pass_free(&c.kept);
        tape_free(&c.tape);
        free(c.values);
    }
    for (int i = 0; i < c.n_refs; i++) free(c.refs[i].backup);
    free(c.refs);
    out->seconds = progress_now() - t0;
    return rc;
}

void plan_validation_free(PlanValidation *v)
{
    free(v->cumulative);
    free(v->greedy);
    memset(v, 0, sizeof *v);
}

static void print_point(FILE *out, const char *what, const PlanPoint *p)
{
    fprintf(out, "  %-34s %3d tensors  mean Dice %.4f  change %+.4f", what, p->n_tensors, p->mean,
            p->delta);
    if (!isnan(p->delta_lo)) fprintf(out, "  [%+.4f, %+.4f]", p->delta_lo, p->delta_hi);
    fprintf(out, "\n");
}

void plan_validation_print(FILE *out, const PlanValidation *v)
{
    fprintf(out, "joint validation on %d slices of %d patients (target mean Dice %.4f; 95%% "
            "intervals from %d bootstrap resamples):\n", v->slices, v->patients, v->baseline_mean,
            v->resamples);
    print_point(out, "whole plan", &v->whole);
    char what[64];
    for (int k = 0; k < v->n_cumulative; k++) {
        snprintf(what, sizeof what, "cumulative, layers up to %s", v->cumulative[k].layer);
        print_point(out, what, &v->cumulative[k]);
    }
    if (v->n_greedy) {
        snprintf(what, sizeof what, "greedy set (last: %.24s)", v->greedy[v->n_greedy - 1].tensor);
        print_point(out, what, &v->greedy[v->n_greedy - 1]);
    } else {
        fprintf(out, "  greedy set: empty (no single tensor keeps the drop within tau)\n");
    }
    if (!isnan(v->greedy_stop))
        fprintf(out, "  greedy set stopped: the best next tensor changes the Dice by %+.4f, "
                "beyond tau %.4g\n", v->greedy_stop, v->tau);
    else
        fprintf(out, "  greedy set: the whole plan taken within tau %.4g\n", v->tau);
    fprintf(out, "  %d sets evaluated (greedy: at most %d candidates a round) in %.1f s\n",
            v->evaluations, v->candidates, v->seconds);
}
