#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/atomic_file.h"
#include "engine/error.h"
#include "util/csv.h"
#include "models/forward_graph.h"
#include "reuse/bootstrap.h"
#include "reuse/resume_points.h"
#include "reuse/swap.h"
#include "reuse/swap_rows.h"
#include "reuse/swap_state.h"
#include "util/progress.h"

void swap_options_defaults(SwapOptions *o)
{
    memset(o, 0, sizeof *o);
    o->labelled = 0xe;           /* RV, myocardium, LV */
    o->batch = 8;
    o->memory_budget_mb = 1024;
    o->reuse = true;
    o->resamples = 1000;
}

/* ---- progress -------------------------------------------------------------------------- */

typedef struct ScanProgress {
    bool on, tty;
    double start, last;
    int batches, rows;
} ScanProgress;

/* fraction: of the whole scan done; resumed: the part of it an earlier run did (the ETA
 * extrapolates from this run's pace). */
static void progress_show(ScanProgress *p, int batch, int row, double fraction, double resumed,
                          bool final)
{
    if (!p->on) return;
    double now = progress_now();
    if (!final && now - p->last < (p->tty ? 0.1 : 5.0)) return;
    p->last = now;
    char eta[16] = "?", took[16];
    if (fraction > resumed)
        format_duration((now - p->start) * (1 - fraction) / (fraction - resumed), eta, sizeof eta);
    format_duration(now - p->start, took, sizeof took);
    if (final)
        fprintf(stderr, "%sswap: %d batch%s x %d rows done in %s\n", p->tty ? "\r\033[K" : "",
                p->batches, p->batches == 1 ? "" : "es", p->rows, took);
    else
        fprintf(stderr, "%sswap: batch %d/%d, row %d of %d  %3.0f%%  ETA %s%s",
                p->tty ? "\r\033[K" : "", batch + 1, p->batches, row, p->rows, 100 * fraction,
                eta, p->tty ? "" : "\n");
    fflush(stderr);
}

/* ---- the scan -------------------------------------------------------------------------- */

typedef struct Scan {
    Model *target;
    const SwapDonors *donors;
    const SliceSet *set;
    const SwapOptions *o;
    const ForwardGraph *g;                  /* the target's forward pass, as steps */
    ResumePoints resume;                    /* which baseline values to keep */
    bool chosen;                            /* resume was chosen (first batch) */
    SwapRow *rows;
    int n_rows, *row_layer, n_donors;
    SwapStats *stats;
    double *suffix;                         /* [n_steps + 1]: work of steps j..end, this batch */
    double work_done, work_total;           /* for the progress line (multiply-accumulates) */
    double work_resumed;                    /* work_done by an earlier run (--resume) */
    uint64_t fingerprint;                   /* of the inputs, with o->state_path */
    DiceTally *tallies;                     /* [n_rows * DONOR_COUNT] */
    Tape tape;
    Arena cache;                            /* the kept activations of the current batch */
    Tensor *kept;                           /* [n_steps + 1] copies (data in `cache`) */
    Tensor **values;                        /* [n_steps + 1] */
    float *backup;                          /* the target's tensor during a swap */
    ScanProgress progress;
} Scan;

/* The input batch (N, C_in, S, S) in the cache arena: it outlives the tape's resets. */
static Tensor *load_batch(Scan *sc, int start, int n)
{
    const Slice *s = &sc->set->slices[start];
    Tensor *x = &sc->kept[0];
    tensor_set_shape(x, 4, (int[]){n, sc->target->cfg.in_channels, s->height, s->width});
    x->data = arena_floats(&sc->cache, x->size);
    x->grad = NULL;
    x->requires_grad = false;
    eval_fill_input(x, sc->set, start, n);
    return x;
}

/* First batch: the work of every step and size of every value, then the resume points. */
static void choose_resume_points(Scan *sc, int n_batch)
{
    const ForwardGraph *g = sc->g;
    double *macs = xcalloc((size_t)g->n_steps, sizeof *macs);
    size_t *bytes = xcalloc((size_t)g->n_steps + 1, sizeof *bytes);
    int *rows = xcalloc((size_t)g->n_layers, sizeof *rows);
    for (int s = 0; s < g->n_steps; s++)
        macs[s] = forward_graph_step_macs(g, sc->target, sc->values, s) / n_batch;
    for (int v = 0; v <= g->n_steps; v++) bytes[v] = sc->values[v]->size * sizeof(float);
    for (int i = 1; i < sc->n_rows; i++) rows[sc->row_layer[i]] += sc->n_donors;
    size_t budget = (size_t)(sc->o->memory_budget_mb * 1048576.0);
    resume_points_choose(g, macs, bytes, rows, budget, &sc->resume);
    sc->chosen = true;
    double full = 0;
    for (int s = 0; s < g->n_steps; s++) full += macs[s];
    sc->work_total = (full + sc->resume.macs) * sc->set->count;
    free(macs);
    free(bytes);
    free(rows);
}

/* Row i with donor d's tensor, resumed at the row's layer from the kept values. */
static void scan_row(Scan *sc, int b, int start, int i, int d)
{
    const ForwardGraph *g = sc->g;
    const int from = sc->resume.resume[sc->row_layer[i]];
    swap_row_in(sc->target, sc->donors->model[d], sc->row_layer[i], sc->rows[i].role, sc->backup);
    tape_reset(&sc->tape);
    for (int v = 0; v <= g->n_steps; v++)
        sc->values[v] = v <= from && forward_graph_live_in(g, from, v) && sc->resume.keep[v]
                            ? &sc->kept[v] : NULL;
    double t0 = progress_now();
    Tensor *y = forward_graph_run(g, sc->target, &sc->tape, sc->values, from, false);
    sc->stats->seconds_rows += progress_now() - t0;
    swap_row_out(sc->target, sc->row_layer[i], sc->rows[i].role, sc->backup);
    dice_tally_add(&sc->tallies[(size_t)i * DONOR_COUNT + d], y->data, sc->set, start,
                   y->shape[0]);
    sc->stats->gmacs += sc->suffix[from] * 1e-9;
    sc->stats->gmacs_naive += sc->suffix[0] * 1e-9;
    sc->work_done += sc->suffix[from];
    progress_show(&sc->progress, b, i, fmin(sc->work_done / sc->work_total, 0.999),
                  sc->work_resumed / sc->work_total, false);
}

/* One batch: the baseline pass, then every swap row and donor resumed at its layer. */
static void scan_batch(Scan *sc, int b, int start, int n)
{
    const ForwardGraph *g = sc->g;
    arena_reset(&sc->cache);
    tape_reset(&sc->tape);
    for (int v = 0; v <= g->n_steps; v++) sc->values[v] = NULL;
    sc->values[0] = load_batch(sc, start, n);
    double t0 = progress_now();
    Tensor *y = forward_graph_run(g, sc->target, &sc->tape, sc->values, 0, false);
    sc->stats->seconds_baseline += progress_now() - t0;
    dice_tally_add(&sc->tallies[0], y->data, sc->set, start, n);
    if (!sc->chosen) choose_resume_points(sc, n);
    sc->suffix[g->n_steps] = 0;
    for (int s = g->n_steps - 1; s >= 0; s--)
        sc->suffix[s] = sc->suffix[s + 1] + forward_graph_step_macs(g, sc->target, sc->values, s);
    sc->work_done += sc->suffix[0];

    /* keep the chosen values: copies in the cache arena, which the tape's resets spare */
    for (int v = 1; v <= g->n_steps; v++) {
        if (!sc->resume.keep[v]) continue;
        Tensor *src = sc->values[v], *dst = &sc->kept[v];
        *dst = *src;
        dst->grad = NULL;
        dst->data = arena_floats(&sc->cache, src->size);
        memcpy(dst->data, src->data, sizeof(float) * src->size);
    }
    for (int i = 1; i < sc->n_rows; i++)
        for (int d = 0; d < DONOR_COUNT; d++)
            if (sc->donors->model[d]) scan_row(sc, b, start, i, d);
}

/* ---- the state kept after every batch (swap_state.h) ----------------------------------- */

/* The batch to start at: 0, or the first an earlier run's state has not done; -1 with the
 * message set. */
static int scan_state_load(Scan *sc, int batches, int batch)
{
    if (!sc->o->state_path) return 0;
    sc->fingerprint = swap_state_fingerprint(sc->target, sc->donors, sc->set, sc->rows,
                                             sc->n_rows, batch);
    SwapStateWork w = {0};
    int done = swap_state_load(sc->o->state_path, sc->o->resume, sc->fingerprint, batches,
                               sc->tallies, sc->n_rows * DONOR_COUNT, &w);
    if (done > 0) {
        sc->stats->gmacs = w.gmacs;
        sc->stats->gmacs_naive = w.gmacs_naive;
        sc->stats->seconds_baseline = w.seconds_baseline;
        sc->stats->seconds_rows = w.seconds_rows;
        sc->stats->batches_resumed = done;
        sc->work_done = sc->work_resumed = w.work_done;
    }
    return done;
}

static int scan_state_save(const Scan *sc, int done, int batches)
{
    if (!sc->o->state_path) return 0;
    const SwapStateWork w = {sc->stats->gmacs, sc->stats->gmacs_naive,
                             sc->stats->seconds_baseline, sc->stats->seconds_rows, sc->work_done};
    return swap_state_save(sc->o->state_path, sc->fingerprint, done, batches, sc->tallies,
                           sc->n_rows * DONOR_COUNT, &w);
}

static void scan_free(Scan *sc)
{
    resume_points_free(&sc->resume);
    tape_free(&sc->tape);
    arena_free(&sc->cache);
    swap_tallies_free(sc->tallies, sc->n_rows);
    free(sc->row_layer);
    free(sc->suffix);
    free(sc->kept);
    free(sc->values);
    free(sc->backup);
}

int swap_scan_donors(Model *target, const SwapDonors *donors, const SliceSet *set,
                     const SwapOptions *o, SwapScan *out)
{
    if (!o->reuse) return swap_scan_plain(target, donors, set, o, out);
    memset(out, 0, sizeof *out);
    if (swap_check_input(target, donors, set)) return -1;
    Scan sc = {.target = target, .donors = donors, .set = set, .o = o, .stats = &out->stats,
               .g = target->graph};
    for (int d = 0; d < DONOR_COUNT; d++) sc.n_donors += donors->model[d] != NULL;
    sc.suffix = xcalloc((size_t)sc.g->n_steps + 1, sizeof *sc.suffix);
    sc.n_rows = swap_rows_list(target, &sc.rows, &sc.row_layer);
    sc.tallies = swap_tallies_alloc(target, donors, sc.n_rows, set);
    sc.kept = xcalloc((size_t)sc.g->n_steps + 1, sizeof *sc.kept);
    sc.values = xcalloc((size_t)sc.g->n_steps + 1, sizeof *sc.values);
    sc.backup = swap_backup_alloc(target);
    tape_init(&sc.tape, 0);
    sc.tape.recording = false;
    sc.tape.training = false;
    arena_init(&sc.cache, 0);

    const int batch = o->batch > 0 ? o->batch : 8;
    const int batches = (set->count + batch - 1) / batch;
    sc.progress = (ScanProgress){.on = o->progress, .tty = isatty(2), .start = progress_now(),
                                 .batches = batches, .rows = sc.n_rows - 1};
    /* a log gets its first line (with an ETA) at once, then one every few seconds */
    sc.progress.last = sc.progress.tty ? sc.progress.start : sc.progress.start - 10;
    double t_start = progress_now();
    const int first = scan_state_load(&sc, batches, batch);
    int rc = first < 0 ? -1 : 0;
    for (int b = first; b < batches && !rc; b++) {
        int start = b * batch, n = set->count - start < batch ? set->count - start : batch;
        scan_batch(&sc, b, start, n);
        rc = scan_state_save(&sc, b + 1, batches);
    }
    if (rc) {
        scan_free(&sc);
        free(sc.rows);
        return -1;
    }
    progress_show(&sc.progress, batches - 1, sc.n_rows - 1, 1, 0, true);

    out->n_rows = sc.n_rows;
    out->rows = sc.rows;
    out->stats.reuse = true;
    out->stats.batches = batches;
    out->stats.layers = target->n_layers;
    out->stats.resume_points = sc.resume.points;
    out->stats.cache_mb = sc.resume.bytes / 1048576.0;
    swap_scan_finish(out, sc.tallies, donors, o);
    scan_free(&sc);
    if (o->recal_set) swap_scan_recalibrate(target, donors->model[DONOR_SOURCE], set, o, out);
    out->stats.seconds_total = progress_now() - t_start;
    return 0;
}

int swap_scan(Model *target, Model *source, const SliceSet *set, const SwapOptions *o,
              SwapScan *out)
{
    SwapDonors donors = {.model = {[DONOR_SOURCE] = source}};
    return swap_scan_donors(target, &donors, set, o, out);
}

void swap_scan_free(SwapScan *s)
{
    free(s->rows);
    memset(s, 0, sizeof *s);
}

