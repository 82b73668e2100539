/* The recalibrated swap rows (swap.h, --recalibrate): for the baseline and every row,
 * the source's tensor swapped in, every BN's running statistics re-estimated on the
 * target's training slices (recalibrate.h), then the whole validation set evaluated.
 * RM and RV rows need no pass: recalibration overwrites the swapped statistics, so they
 * score exactly as the recalibrated baseline. Nor do B rows of a conv followed by a BN:
 * the bias b shifts the BN's input, whose recalibrated mean then shifts by b too and the
 * variance not at all, so BN(conv(x) + b) = BN(conv(x)); the recalibrated baseline again
 * (up to float rounding; tests/test_swap_stats.c computes one). BN layers in front of the swapped layer
 * keep the recalibrated baseline's statistics (their input does not change).
 *
 * With activation reuse (o->reuse), nothing in front of the swapped layer is recomputed:
 * the recalibration of the training slices resumes there from the recalibrated
 * baseline's own passes (bn_recalibrate_from), and so does the evaluation of the
 * validation slices (kept_pass.h), every batch that fits the memory budget. Bit for bit
 * what the plain scan (swap_plain.c: recalibrate and evaluate from the input) gives. */
#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "models/forward_graph.h"
#include "reuse/kept_pass.h"
#include "reuse/recalibrate.h"
#include "reuse/swap_rows.h"
#include "util/progress.h"

/* All values and running statistics of m. */
typedef struct Snapshot {
    float *values, *buffers;
} Snapshot;

static void snapshot_take(Snapshot *s, const ParamStore *p)
{
    s->values = xmalloc(sizeof(float) * (p->n_values ? p->n_values : 1));
    s->buffers = xmalloc(sizeof(float) * (p->n_buffers ? p->n_buffers : 1));
    memcpy(s->values, p->values, sizeof(float) * p->n_values);
    memcpy(s->buffers, p->buffers, sizeof(float) * p->n_buffers);
}

static void snapshot_restore(const Snapshot *s, ParamStore *p)
{
    memcpy(p->values, s->values, sizeof(float) * p->n_values);
    memcpy(p->buffers, s->buffers, sizeof(float) * p->n_buffers);
}

static void snapshot_free(Snapshot *s)
{
    free(s->values);
    free(s->buffers);
}

static double recal_mean(Model *m, Tape *tape, const SliceSet *val, const SwapOptions *o,
                         unsigned evaluated)
{
    DiceTally t;
    dice_tally_init(&t, m->cfg.classes, sliceset_patients(val));
    eval_dice(m, tape, val, o->batch, &t);
    double mean = dice_from_counts(&t.total, m->cfg.classes, evaluated, NULL);
    dice_tally_free(&t);
    return mean;
}

/* The recalibrated baseline's validation passes, batch b kept in kept[b] for b < n. */
typedef struct ValPasses {
    KeptPass *kept;
    int n, batch;
} ValPasses;

static void val_passes_keep(Model *m, Tape *tape, const SliceSet *val, int batch,
                            size_t budget, ValPasses *vp)
{
    const ForwardGraph *g = m->graph;
    const int n_batches = (val->count + batch - 1) / batch;
    vp->kept = xcalloc((size_t)n_batches, sizeof *vp->kept);
    vp->batch = batch;
    Tensor **values = xcalloc((size_t)g->n_steps + 1, sizeof *values);
    const bool recording = tape->recording, training = tape->training;
    tape->recording = tape->training = false;
    size_t bytes = 0;
    for (int b = 0; b < n_batches; b++) {
        const int start = b * batch, n = val->count - start < batch ? val->count - start : batch;
        tape_reset(tape);
        memset(values, 0, sizeof *values * (size_t)(g->n_steps + 1));
        values[0] = tape_tensor4(tape, n, m->cfg.in_channels, val->slices[start].height,
                                 val->slices[start].width);
        eval_fill_input(values[0], val, start, n);
        forward_graph_run_steps(g, m, tape, values, 0, g->n_steps, g->n_steps + 1);
        kept_pass_init(&vp->kept[b], g);
        kept_pass_keep(&vp->kept[b], values);
        bytes += vp->kept[b].bytes;
        vp->n = b + 1;
        if (bytes + vp->kept[b].bytes > budget) break;     /* the next would not fit */
    }
    tape_reset(tape);
    tape->recording = recording;
    tape->training = training;
    free(values);
}

static void val_passes_free(ValPasses *vp)
{
    for (int b = 0; b < vp->n; b++) kept_pass_free(&vp->kept[b]);
    free(vp->kept);
}

/* Mean Dice of m on val, each kept batch resumed at step `from`, the others from the input. */
static double resumed_mean(Model *m, Tape *tape, const SliceSet *val, const ValPasses *vp,
                           int from, unsigned evaluated)
{
    const ForwardGraph *g = m->graph;
    DiceTally t;
    dice_tally_init(&t, m->cfg.classes, sliceset_patients(val));
    Tensor **values = xcalloc((size_t)g->n_steps + 1, sizeof *values);
    const bool recording = tape->recording, training = tape->training;
    tape->recording = tape->training = false;
    for (int b = 0, start = 0; start < val->count; b++, start += vp->batch) {
        const int n = val->count - start < vp->batch ? val->count - start : vp->batch;
        tape_reset(tape);
        int at = from;
        if (b < vp->n) {
            kept_pass_live_in(&vp->kept[b], g, from, values);
        } else {
            memset(values, 0, sizeof *values * (size_t)(g->n_steps + 1));
            values[0] = tape_tensor4(tape, n, m->cfg.in_channels, val->slices[start].height,
                                     val->slices[start].width);
            eval_fill_input(values[0], val, start, n);
            at = 0;
        }
        Tensor *y = forward_graph_run_steps(g, m, tape, values, at, g->n_steps, at + 1);
        dice_tally_add(&t, y->data, val, start, n);
    }
    tape_reset(tape);
    tape->recording = recording;
    tape->training = training;
    free(values);
    double mean = dice_from_counts(&t.total, m->cfg.classes, evaluated, NULL);
    dice_tally_free(&t);
    return mean;
}

void swap_scan_recalibrate(Model *target, Model *source, const SliceSet *val,
                           const SwapOptions *o, SwapScan *out)
{
    const size_t budget = (size_t)(o->memory_budget_mb * 1048576.0);
    const int batch = o->batch > 0 ? o->batch : 8;
    const double t0 = progress_now();
    int *row_layer;
    SwapRow *rows;
    int n = swap_rows_list(target, &rows, &row_layer);
    CHECK(n == out->n_rows, "recalibration: %d rows, the scan has %d", n, out->n_rows);
    free(rows);
    Snapshot original, recal;
    snapshot_take(&original, &target->params);
    Tape tape;
    tape_init(&tape, 0);
    bn_recalibrate(target, o->recal_set, batch, 0, budget);
    snapshot_take(&recal, &target->params);
    const double base = recal_mean(target, &tape, val, o, out->evaluated);
    RecalPasses train_passes = {0};
    ValPasses val_passes = {0};
    if (o->reuse) {
        bn_recal_keep_passes(target, o->recal_set, batch, budget, &train_passes);
        val_passes_keep(target, &tape, val, batch, budget, &val_passes);
    }
    float *backup = swap_backup_alloc(target);
    for (int i = 0; i < out->n_rows; i++) {
        SwapRow *row = &out->rows[i];
        /* row 0 is the baseline, which has no layer (row_layer -1) */
        const bool bn_after = i > 0 && target->layers[row_layer[i]].bn[0];
        if (i == 0 || row->role == ROLE_RM || row->role == ROLE_RV ||
            (row->role == ROLE_B && bn_after)) {
            row->mean_recal = base;
            row->delta_recal = 0;
            continue;
        }
        swap_row_in(target, source, row_layer[i], row->role, backup);
        const int step = forward_graph_layer_step(target->graph, target->layers[row_layer[i]].number);
        bn_recalibrate_from(target, o->recal_set, batch, step, budget,
                            o->reuse ? &train_passes : NULL);
        row->mean_recal = o->reuse ? resumed_mean(target, &tape, val, &val_passes, step, out->evaluated)
                                   : recal_mean(target, &tape, val, o, out->evaluated);
        row->delta_recal = row->mean_recal - base;
        snapshot_restore(&recal, &target->params);
        if (o->progress)
            fprintf(stderr, "\rswap: recalibrated row %d of %d", i, out->n_rows - 1);
    }
    if (o->progress) fprintf(stderr, "\n");
    snapshot_restore(&original, &target->params);
    out->recalibrated = true;
    out->stats.seconds_recal = progress_now() - t0;
    if (o->reuse) {
        bn_recal_passes_free(&train_passes);
        val_passes_free(&val_passes);
    }
    snapshot_free(&original);
    snapshot_free(&recal);
    tape_free(&tape);
    free(backup);
    free(row_layer);
}
