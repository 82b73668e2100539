/* The recalibrated swap rows (swap.h, --recalibrate): for the baseline and every row,
 * the source's tensor swapped in, every BN's running statistics re-estimated on the
 * target's training slices (recalibrate.h), then the whole validation set evaluated.
 * RM and RV rows need no pass: recalibration overwrites the swapped statistics, so they
 * score exactly as the recalibrated baseline. BN layers in front of the swapped layer
 * keep the recalibrated baseline's statistics (their input does not change). */
#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "models/forward_graph.h"
#include "reuse/recalibrate.h"
#include "reuse/swap_rows.h"
#include "train/progress.h"

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

void swap_scan_recalibrate(Model *target, Model *source, const SliceSet *val,
                           const SwapOptions *o, SwapScan *out)
{
    const size_t budget = (size_t)(o->memory_budget_mb * 1048576.0);
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
    bn_recalibrate(target, o->recal_set, o->batch, 0, budget);
    snapshot_take(&recal, &target->params);
    const double base = recal_mean(target, &tape, val, o, out->evaluated);
    float *backup = swap_backup_alloc(target);
    for (int i = 0; i < out->n_rows; i++) {
        SwapRow *row = &out->rows[i];
        if (i == 0 || row->role == ROLE_RM || row->role == ROLE_RV) {
            row->mean_recal = base;
            row->delta_recal = 0;
            continue;
        }
        swap_row_in(target, source, row_layer[i], row->role, backup);
        const int layer = target->layers[row_layer[i]].number;
        bn_recalibrate(target, o->recal_set, o->batch,
                       forward_graph_layer_step(target->graph, layer), budget);
        row->mean_recal = recal_mean(target, &tape, val, o, out->evaluated);
        row->delta_recal = row->mean_recal - base;
        snapshot_restore(&recal, &target->params);
        if (o->progress)
            fprintf(stderr, "\rswap: recalibrated row %d of %d", i, out->n_rows - 1);
    }
    if (o->progress) fprintf(stderr, "\n");
    snapshot_restore(&original, &target->params);
    out->recalibrated = true;
    out->stats.seconds_recal = progress_now() - t0;
    snapshot_free(&original);
    snapshot_free(&recal);
    tape_free(&tape);
    free(backup);
    free(row_layer);
}
