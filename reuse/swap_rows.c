#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "reuse/bootstrap.h"
#include "reuse/swap_rows.h"

/* ---- rows ---------------------------------------------------------------------------- */

int swap_rows_list(Model *m, SwapRow **rows, int **row_layer)
{
    int n = 1;
    for (int r = 0; r < m->n_layers; r++)
        for (int k = 0; k < ROLE_COUNT; k++) n += m->layers[r].param[k] >= 0;
    *rows = xcalloc((size_t)n, sizeof **rows);
    *row_layer = xcalloc((size_t)n, sizeof **row_layer);
    SwapRow *b = &(*rows)[0];
    b->layer = -1;
    b->role = -1;
    snprintf(b->label, sizeof b->label, "baseline");
    (*row_layer)[0] = -1;
    int i = 1;
    for (int r = 0; r < m->n_layers; r++) {
        const Layer *l = &m->layers[r];
        for (int k = 0; k < ROLE_COUNT; k++) {
            if (l->param[k] < 0) continue;
            SwapRow *row = &(*rows)[i];
            row->layer = l->number;
            row->role = k;
            snprintf(row->label, sizeof row->label, "%s", l->label);
            snprintf(row->tensor, sizeof row->tensor, "%s", params_get(&m->params, l->param[k])->name);
            (*row_layer)[i++] = r;
        }
    }
    return n;
}

/* Tallies for the baseline and for every row of every donor present. */
DiceTally *swap_tallies_alloc(const Model *target, const SwapDonors *donors, int n_rows,
                              const SliceSet *set)
{
    DiceTally *t = xcalloc((size_t)n_rows * DONOR_COUNT, sizeof *t);
    const int patients = sliceset_patients(set);
    for (int i = 0; i < n_rows; i++)
        for (int d = 0; d < (i ? DONOR_COUNT : 1); d++)
            if (donors->model[d])
                dice_tally_init(&t[(size_t)i * DONOR_COUNT + d], target->cfg.classes, patients);
    return t;
}

void swap_tallies_free(DiceTally *t, int n_rows)
{
    for (int i = 0; i < n_rows * DONOR_COUNT; i++)
        if (t[i].per_patient) dice_tally_free(&t[i]);
    free(t);
}

int swap_check_input(Model *target, const SwapDonors *donors, const SliceSet *set)
{
    const int k = target->cfg.classes;
    if (target->cfg.task != TASK_SEG)
        return error_set("the swap scan's target must be a segmentation model (task seg), "
                         "this one is an auto-encoder");
    if (k > EVAL_MAX_CLASSES)
        return error_set("the swap scan handles at most %d classes, the model has %d",
                         EVAL_MAX_CLASSES, k);
    CHECK(donors->model[DONOR_SOURCE], "swap scan without a source");
    if (!set->count) return error_set("no validation slices to evaluate on");
    for (int i = 0; i < set->count; i++)
        if (set->slices[i].height != set->slices[0].height ||
            set->slices[i].width != set->slices[0].width)
            return error_set("slices of different sizes (%dx%d and %dx%d)",
                             set->slices[0].height, set->slices[0].width,
                             set->slices[i].height, set->slices[i].width);
    return model_check_run(target, 1, set->slices[0].height, set->slices[0].width, false);
}

Param *swap_row_param(Model *m, int table_row, int role)
{
    return params_get(&m->params, m->layers[table_row].param[role]);
}

void swap_row_in(Model *target, Model *donor, int table_row, int role, float *backup)
{
    Param *t = swap_row_param(target, table_row, role), *s = swap_row_param(donor, table_row, role);
    CHECK(t->t.size == s->t.size, "swap: %s differs in size between target and donor", t->name);
    memcpy(backup, t->t.data, sizeof(float) * t->t.size);
    memcpy(t->t.data, s->t.data, sizeof(float) * t->t.size);
}

void swap_row_out(Model *target, int table_row, int role, const float *backup)
{
    Param *t = swap_row_param(target, table_row, role);
    memcpy(t->t.data, backup, sizeof(float) * t->t.size);
}

float *swap_backup_alloc(const Model *target)
{
    size_t largest = 1;
    for (int i = 0; i < target->params.count; i++)
        if (target->params.items[i].t.size > largest) largest = target->params.items[i].t.size;
    return xmalloc(sizeof(float) * largest);
}

/* The trivial flag (docs/method.md, "Controls"): the source's swap does no better than the
 * random control when the interval of delta_source - delta_random reaches 0 or below
 * (without a bootstrap: when delta_source <= delta_random); -1 without a random control. */
static int trivial_flag(const Bootstrap *b, const DiceTally *source, const DiceTally *random,
                        double d_source, double d_random)
{
    if (!random->per_patient) return -1;
    if (!b->resamples) return d_source <= d_random;
    double lo, hi;
    bootstrap_interval(b, random, source, &lo, &hi);
    return lo <= 0;
}

void swap_scan_finish(SwapScan *out, const DiceTally *tallies, const SwapDonors *donors,
                      const SwapOptions *o)
{
    const DiceTally *base = &tallies[0];
    out->classes = base->classes;
    out->evaluated = eval_classes(o->labelled, base->classes);
    for (int d = 0; d < DONOR_COUNT; d++) out->donor[d] = donors->model[d] != NULL;
    Bootstrap b;
    bootstrap_init(&b, base, o->resamples, o->seed, out->evaluated);
    out->resamples = o->resamples;
    out->patients = b.patients;
    double base_mean = dice_from_counts(&base->total, out->classes, out->evaluated, NULL);
    for (int i = 0; i < out->n_rows; i++) {
        SwapRow *row = &out->rows[i];
        const DiceTally *t = &tallies[(size_t)i * DONOR_COUNT];
        DiceSummary sum;
        dice_tally_summary(t, out->evaluated, &sum);
        memcpy(row->dice, sum.dice, sizeof row->dice);
        row->mean = sum.mean;
        row->delta = sum.mean - base_mean;
        row->patient_mean = sum.patient_mean;
        row->patient_sd = sum.patient_sd;
        bootstrap_interval(&b, base, t, &row->delta_lo, &row->delta_hi);
        for (int d = 0; d < DONOR_COUNT; d++)
            row->delta_donor[d] = i && t[d].per_patient
                ? dice_from_counts(&t[d].total, out->classes, out->evaluated, NULL) - base_mean
                : NAN;
        row->delta_donor[DONOR_SOURCE] = row->delta;
        row->trivial = i ? trivial_flag(&b, t, &t[DONOR_RANDOM], row->delta,
                                        row->delta_donor[DONOR_RANDOM]) : -1;
        row->mean_recal = row->delta_recal = NAN;
    }
    bootstrap_free(&b);
}
