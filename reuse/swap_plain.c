/* The plain swap scan: the definition of docs/method.md, "The swap scan", read top to bottom.
 * For every row and donor: put the donor's tensor into the target, evaluate the whole
 * set from the input with the evaluation core (train/evaluate.h), put the tensor back.
 * `reusenet swap --no-reuse` runs it; the scan with activation reuse (swap.c) must give
 * the same numbers (tests/test_reuse_swap.c). */
#include <stdlib.h>
#include <string.h>

#include "reuse/swap_rows.h"
#include "util/progress.h"

/* Multiply-accumulates of one image's forward pass (the convolutions), from the output
 * sizes model_forward noted in the layer table. */
static double image_macs(const Model *m)
{
    double macs = 0;
    for (int r = 0; r < m->n_layers; r++) {
        const Layer *l = &m->layers[r];
        macs += (double)l->out_h * l->out_w * l->out_ch * l->in_ch * l->kernel * l->kernel;
    }
    return macs;
}

int swap_scan_plain(Model *target, const SwapDonors *donors, const SliceSet *set,
                    const SwapOptions *o, SwapScan *out)
{
    memset(out, 0, sizeof *out);
    if (swap_check_input(target, donors, set)) return -1;
    int *row_layer;
    out->n_rows = swap_rows_list(target, &out->rows, &row_layer);
    DiceTally *tallies = swap_tallies_alloc(target, donors, out->n_rows, set);
    float *backup = swap_backup_alloc(target);
    Tape tape;
    tape_init(&tape, 0);
    double t0 = progress_now();
    eval_dice(target, &tape, set, o->batch, &tallies[0]);
    double t1 = progress_now();
    out->stats.seconds_baseline = t1 - t0;
    const double pass = image_macs(target) * set->count * 1e-9;
    for (int i = 1; i < out->n_rows; i++)
        for (int d = 0; d < DONOR_COUNT; d++) {
            if (!donors->model[d]) continue;
            swap_row_in(target, donors->model[d], row_layer[i], out->rows[i].role, backup);
            eval_dice(target, &tape, set, o->batch, &tallies[(size_t)i * DONOR_COUNT + d]);
            swap_row_out(target, row_layer[i], out->rows[i].role, backup);
            out->stats.gmacs += pass;
        }
    out->stats.seconds_rows = progress_now() - t1;
    out->stats.gmacs_naive = out->stats.gmacs;
    out->stats.layers = target->n_layers;
    const int batch = o->batch > 0 ? o->batch : 8;
    out->stats.batches = (set->count + batch - 1) / batch;
    swap_scan_finish(out, tallies, donors, o);
    swap_tallies_free(tallies, out->n_rows);
    tape_free(&tape);
    free(backup);
    free(row_layer);
    if (o->recal_set) swap_scan_recalibrate(target, donors->model[DONOR_SOURCE], set, o, out);
    out->stats.seconds_total = progress_now() - t0;
    return 0;
}
