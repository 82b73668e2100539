/* The swap scan's CSV and its printed summary (swap.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/atomic_file.h"
#include "engine/error.h"
#include "util/csv.h"
#include "reuse/swap.h"
#include "reuse/swap_csv.h"

int swap_csv_check(const CsvTable *t)
{
    static const char *const need[] = {"layer", "kind", "tensor", "mean", "delta"};
    int c[5];
    for (int i = 0; i < 5; i++)
        if ((c[i] = csv_column(t, need[i])) < 0)
            return error_set("%s: no '%s' column: not a swap scan", t->path, need[i]);
    for (int k = 0; k < t->n_cols; k++)
        if (k != c[0] && k != c[1] && k != c[2] &&
            csv_check_numbers(t, (const char *const *)&t->header[k], 1))
            return -1;
    int baseline = -1;
    for (int r = 0; r < t->n_rows; r++) {
        char **row = t->rows[r];
        if (!strcmp(row[c[0]], "baseline")) {
            if (baseline >= 0)
                return error_set("%s: rows %d and %d are both the baseline", t->path,
                                 baseline + 2, r + 2);
            baseline = r;
            continue;
        }
        if (!model_is_layer_label(row[c[0]]))
            return error_set("%s: row %d: layer '%.40s' is not a layer number or 'head'",
                             t->path, r + 2, row[c[0]]);
        ParamRole role;
        if (param_role_parse(row[c[1]], &role))
            return error_set("%s: row %d (layer '%s') has an unknown kind '%.20s' (expected RM RV "
                             "RW RB W B)", t->path, r + 2, row[c[0]], row[c[1]]);
        if (!row[c[2]][0])
            return error_set("%s: row %d (layer '%s') has no tensor name", t->path, r + 2,
                             row[c[0]]);
        for (int q = 0; q < r; q++)
            if (!strcmp(t->rows[q][c[2]], row[c[2]]))
                return error_set("%s: rows %d and %d both swap '%.80s'", t->path, q + 2, r + 2,
                                 row[c[2]]);
    }
    return 0;
}

int swap_write_csv(const char *path, const SwapScan *s)
{
    AtomicFile *af = atomic_open(path);
    if (!af) return -1;
    FILE *f = atomic_stream(af);
    fprintf(f, "layer,kind,tensor");
    for (int c = 0; c < s->classes; c++) fprintf(f, ",dice_%d", c);
    fprintf(f, ",mean,delta,patient_mean,patient_sd,delta_lo,delta_hi,delta_init,delta_random,"
            "delta_control,trivial,mean_recal,delta_recal\n");
    for (int i = 0; i < s->n_rows; i++) {
        const SwapRow *r = &s->rows[i];
        csv_put_text(f, r->label, 1);
        csv_put_text(f, r->role >= 0 ? param_role_name((ParamRole)r->role) : "", 0);
        csv_put_text(f, r->tensor, 0);
        for (int c = 0; c < s->classes; c++)
            csv_put_number(f, (s->evaluated >> c) & 1 ? r->dice[c] : NAN, 0);
        csv_put_number(f, r->mean, 0);
        csv_put_number(f, r->delta, 0);
        csv_put_number(f, r->patient_mean, 0);
        csv_put_number(f, r->patient_sd, 0);
        csv_put_number(f, r->delta_lo, 0);
        csv_put_number(f, r->delta_hi, 0);
        csv_put_number(f, r->delta_donor[DONOR_INIT], 0);
        csv_put_number(f, r->delta_donor[DONOR_RANDOM], 0);
        csv_put_number(f, r->delta_donor[DONOR_CONTROL], 0);
        csv_put_number(f, r->trivial >= 0 ? r->trivial : NAN, 0);
        csv_put_number(f, r->mean_recal, 0);
        csv_put_number(f, r->delta_recal, 0);
        fputc('\n', f);
    }
    return atomic_commit(af);
}

static int by_delta(const void *a, const void *b)
{
    const SwapRow *x = *(const SwapRow *const *)a, *y = *(const SwapRow *const *)b;
    if (x->delta != y->delta) return (x->delta > y->delta) - (x->delta < y->delta);
    return (x > y) - (x < y);            /* ties in table order */
}

void swap_print_summary(FILE *out, const SwapScan *s)
{
    const SwapRow *base = &s->rows[0];
    fprintf(out, "baseline: mean Dice %.4f (per patient %.4f +- %.4f); classes", base->mean,
            base->patient_mean, base->patient_sd);
    for (int c = 0; c < s->classes; c++)
        if ((s->evaluated >> c) & 1) fprintf(out, " %d: %.4f", c, base->dice[c]);
    fprintf(out, "\n");
    const SwapRow **sorted = xmalloc(sizeof *sorted * (size_t)s->n_rows);
    for (int i = 1; i < s->n_rows; i++) sorted[i - 1] = &s->rows[i];
    qsort(sorted, (size_t)s->n_rows - 1, sizeof *sorted, by_delta);
    int show = s->n_rows - 1 < 10 ? s->n_rows - 1 : 10;
    if (s->resamples && s->patients)
        fprintf(out, "intervals: 95%% paired bootstrap over %d validation patients, %d resamples\n",
                s->patients, s->resamples);
    if (s->recalibrated)
        fprintf(out, "recalibrated (AdaBN) baseline: mean Dice %.4f (%+.4f)\n", base->mean_recal,
                base->mean_recal - base->mean);
    fprintf(out, "largest drops:\n%-8s %-4s %-34s %8s %9s %19s %8s %8s %7s\n", "layer", "kind",
            "tensor", "mean", "delta", "95% interval", "init", "random", "trivial");
    for (int i = 0; i < show; i++) {
        const SwapRow *r = sorted[i];
        fprintf(out, "%-8s %-4s %-34s %8.4f %+9.4f [%+8.4f,%+8.4f] %+8.4f %+8.4f %7s\n", r->label,
                param_role_name((ParamRole)r->role), r->tensor, r->mean, r->delta, r->delta_lo,
                r->delta_hi, r->delta_donor[DONOR_INIT], r->delta_donor[DONOR_RANDOM],
                r->trivial < 0 ? "-" : r->trivial ? "yes" : "no");
    }
    int trivial = 0, rows = s->n_rows - 1;
    for (int i = 1; i < s->n_rows; i++) trivial += s->rows[i].trivial == 1;
    if (s->donor[DONOR_RANDOM])
        fprintf(out, "trivial: %d of %d tensors do no better from the source than from the random "
                "control\n", trivial, rows);
    free(sorted);
    const SwapStats *st = &s->stats;
    int donors = 0;
    for (int d = 0; d < DONOR_COUNT; d++) donors += s->donor[d];
    const int passes = (s->n_rows - 1) * donors;
    double naive_seconds = st->seconds_baseline * passes;
    if (s->recalibrated)
        fprintf(out, "recalibration: %.2f s (every BN re-estimated on the training slices after "
                "each swap; RM and RV rows equal the recalibrated baseline by construction)\n",
                st->seconds_recal);
    if (!st->reuse) {
        fprintf(out, "activation reuse off: every swapped pass from the input, %.3g GMAC in "
                "%.2f s (total %.2f s)\n", st->gmacs, st->seconds_rows, st->seconds_total);
        return;
    }
    if (st->batches_resumed)
        fprintf(out, "resumed: %d of %d batches were done by an earlier run (their counts and work "
                "from its state; the pass times below include theirs, the total is this run's)\n", st->batches_resumed, st->batches);
    fprintf(out, "activation reuse: %d of %d layers resume at themselves, %.1f MB of activations "
            "kept per batch; swapped passes %.3g GMAC instead of %.3g (%.0f%% less work)\n",
            st->resume_points, st->layers, st->cache_mb, st->gmacs, st->gmacs_naive,
            st->gmacs_naive > 0 ? 100 * (1 - st->gmacs / st->gmacs_naive) : 0);
    fprintf(out, "time: swapped passes %.2f s; recomputing each from the input would take about "
            "%.2f s (%d passes x %.3f s per baseline pass): %.2f s saved; total %.2f s\n",
            st->seconds_rows, naive_seconds, passes, st->seconds_baseline,
            naive_seconds - st->seconds_rows, st->seconds_total);
}
