/* The state of an unfinished swap scan (swap_state.h). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/dist.h"
#include "engine/error.h"
#include "engine/safetensors.h"
#include "reuse/swap_state.h"

#define FORMAT "reusenet swap state 1"
#define COUNTS 3                     /* inter, pred, truth */
/* A bound no real count reaches (10^12 pixels), so that sums over patients cannot overflow. */
#define MAX_COUNT ((int64_t)1 << 40)

static const char *const work_keys[] = {"gmacs", "gmacs_naive", "seconds_baseline",
                                        "seconds_rows", "work_done"};
#define WORK_KEYS (int)(sizeof work_keys / sizeof *work_keys)

static double *work_field(SwapStateWork *w, int k)
{
    double *f[WORK_KEYS] = {&w->gmacs, &w->gmacs_naive, &w->seconds_baseline,
                            &w->seconds_rows, &w->work_done};
    return f[k];
}

static uint64_t hash_model(uint64_t h, const Model *m)
{
    for (int i = 0; i < m->params.count; i++) {
        const Param *p = &m->params.items[i];
        h = dist_hash(h, p->name, strlen(p->name) + 1);
        if (p->kind == PARAM_COUNTER) {            /* an int64_t of its own, no data */
            h = dist_hash(h, &p->counter, sizeof p->counter);
            continue;
        }
        h = dist_hash(h, &p->t.size, sizeof p->t.size);
        h = dist_hash(h, p->t.data, p->t.size * sizeof *p->t.data);
    }
    return h;
}

uint64_t swap_state_fingerprint(const Model *target, const SwapDonors *donors,
                                const SliceSet *set, const SwapRow *rows, int n_rows,
                                int batch)
{
    uint64_t h = dist_hash(DIST_HASH_INIT, FORMAT, sizeof FORMAT);
    h = dist_hash(h, &batch, sizeof batch);
    h = hash_model(h, target);
    for (int d = 0; d < DONOR_COUNT; d++) {
        const int present = donors->model[d] != NULL;
        h = dist_hash(h, &present, sizeof present);
        if (present) h = hash_model(h, donors->model[d]);
    }
    h = dist_hash(h, &set->count, sizeof set->count);
    for (int i = 0; i < set->count; i++) {
        const Slice *s = &set->slices[i];
        const int head[3] = {s->height, s->width, s->patient};
        const size_t hw = (size_t)s->height * s->width;
        h = dist_hash(h, head, sizeof head);
        h = dist_hash(h, s->image, hw * sizeof *s->image);
        h = dist_hash(h, s->label, hw);
    }
    for (int i = 0; i < n_rows; i++) h = dist_hash(h, rows[i].tensor, strlen(rows[i].tensor) + 1);
    return h;
}

static int tally_patients(const DiceTally *tallies, int n_tallies)
{
    int p = 0;
    for (int i = 0; i < n_tallies; i++) p = tallies[i].patients > p ? tallies[i].patients : p;
    return p;
}

/* Offset of counts[i][j] for tally i, j = 0 (pooled) or 1 + patient: inter, pred, truth rows. */
static size_t count_offset(int patients, int i, int j)
{
    return ((size_t)i * (1 + patients) + (size_t)j) * COUNTS * EVAL_MAX_CLASSES;
}

static void pack(const DiceCounts *c, int64_t *out)
{
    memcpy(out, c->inter, sizeof c->inter);
    memcpy(out + EVAL_MAX_CLASSES, c->pred, sizeof c->pred);
    memcpy(out + 2 * EVAL_MAX_CLASSES, c->truth, sizeof c->truth);
}

static void unpack(const int64_t *in, DiceCounts *c)
{
    memcpy(c->inter, in, sizeof c->inter);
    memcpy(c->pred, in + EVAL_MAX_CLASSES, sizeof c->pred);
    memcpy(c->truth, in + 2 * EVAL_MAX_CLASSES, sizeof c->truth);
}

int swap_state_save(const char *path, uint64_t fingerprint, int done, int batches,
                    const DiceTally *tallies, int n_tallies, const SwapStateWork *work)
{
    const int patients = tally_patients(tallies, n_tallies);
    const size_t per = (size_t)COUNTS * EVAL_MAX_CLASSES;
    int64_t *counts = xcalloc((size_t)n_tallies * (1 + patients) * per, sizeof *counts);
    for (int i = 0; i < n_tallies; i++) {
        if (!tallies[i].per_patient) continue;       /* a donor that is not there: zeros */
        pack(&tallies[i].total, counts + count_offset(patients, i, 0));
        for (int p = 0; p < patients; p++)
            pack(&tallies[i].per_patient[p], counts + count_offset(patients, i, 1 + p));
    }
    SafetensorsWriter w;
    safetensors_writer_init(&w);
    safetensors_writer_add_i64(&w, "counts", 4,
                               (int[]){n_tallies, 1 + patients, COUNTS, EVAL_MAX_CLASSES}, counts);
    char buf[64];
    safetensors_writer_set_meta(&w, "format", FORMAT);
    snprintf(buf, sizeof buf, "%d", batches);
    safetensors_writer_set_meta(&w, "batches", buf);
    snprintf(buf, sizeof buf, "%d", done);
    safetensors_writer_set_meta(&w, "batches_done", buf);
    snprintf(buf, sizeof buf, "%016" PRIx64, fingerprint);
    safetensors_writer_set_meta(&w, "fingerprint", buf);
    SwapStateWork copy = *work;
    for (int k = 0; k < WORK_KEYS; k++) {
        snprintf(buf, sizeof buf, "%.17g", *work_field(&copy, k));
        safetensors_writer_set_meta(&w, work_keys[k], buf);
    }
    int rc = safetensors_write(&w, path);
    safetensors_writer_free(&w);
    free(counts);
    return rc;
}

/* Metadata key as a whole number in lo..hi, or a finite number >= 0 (whole == false). */
static int meta_number(const SafeTensors *st, const char *key, bool whole, double lo, double hi,
                       double *out)
{
    const char *v = safetensors_meta(st, key);
    if (!v) return error_set("%s: not a swap scan state (no '%s' metadata)", st->path, key);
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || *end || errno || !isfinite(x) || x < lo || x > hi || (whole && x != floor(x)))
        return error_set("%s: %s '%s' is not %s %g..%g", st->path, key, v,
                         whole ? "a whole number in" : "a number in", lo, hi);
    *out = x;
    return 0;
}

/* One tally's counts: whole, 0 <= inter <= pred, truth, pooled = the sum of the patients'. */
static int check_tally(const SafeTensors *st, const int64_t *counts, int patients, int i)
{
    for (int j = 0; j <= patients; j++) {
        const int64_t *c = counts + count_offset(patients, i, j);
        for (int k = 0; k < EVAL_MAX_CLASSES; k++) {
            const int64_t in = c[k], pr = c[EVAL_MAX_CLASSES + k], tr = c[2 * EVAL_MAX_CLASSES + k];
            if (in < 0 || in > pr || in > tr || pr > MAX_COUNT || tr > MAX_COUNT)
                return error_set("%s: counts of tally %d are not those of a Dice (inter %" PRId64
                                 ", pred %" PRId64 ", truth %" PRId64 ")", st->path, i, in, pr, tr);
        }
    }
    for (int v = 0; v < COUNTS * EVAL_MAX_CLASSES; v++) {
        int64_t sum = 0;
        for (int p = 0; p < patients; p++) sum += counts[count_offset(patients, i, 1 + p) + v];
        if (sum != counts[count_offset(patients, i, 0) + v])
            return error_set("%s: the pooled counts of tally %d are not the sum of its patients'",
                             st->path, i);
    }
    return 0;
}

/* The file's progress and counts into tallies and work; returns batches_done or -1. */
static int read_state(SafeTensors *st, uint64_t fingerprint, int batches, DiceTally *tallies,
                      int n_tallies, SwapStateWork *work)
{
    const char *format = safetensors_meta(st, "format"), *fp = safetensors_meta(st, "fingerprint");
    if (!format || strcmp(format, FORMAT) || !fp)
        return error_set("%s: not a swap scan state (format '%s')", st->path, format ? format : "");
    char want[17];
    snprintf(want, sizeof want, "%016" PRIx64, fingerprint);
    if (strcmp(fp, want))
        return error_set("%s: the state of a scan of other models, data or batch size; remove "
                         "it to start again", st->path);
    double b, done;
    if (meta_number(st, "batches", true, batches, batches, &b) ||
        meta_number(st, "batches_done", true, 1, batches, &done))
        return -1;
    for (int k = 0; k < WORK_KEYS; k++)
        if (meta_number(st, work_keys[k], false, 0, 1e300, work_field(work, k))) return -1;
    const int patients = tally_patients(tallies, n_tallies);
    const size_t n = (size_t)n_tallies * (1 + patients) * COUNTS * EVAL_MAX_CLASSES;
    int64_t *counts = xmalloc(n * sizeof *counts);
    int rc = safetensors_read_i64(st, "counts", 4,
                                  (int[]){n_tallies, 1 + patients, COUNTS, EVAL_MAX_CLASSES}, counts);
    if (!rc) rc = safetensors_check_all_used(st);
    for (int i = 0; i < n_tallies && !rc; i++) {
        rc = check_tally(st, counts, patients, i);
        if (rc || !tallies[i].per_patient) continue;
        unpack(counts + count_offset(patients, i, 0), &tallies[i].total);
        for (int p = 0; p < patients; p++)
            unpack(counts + count_offset(patients, i, 1 + p), &tallies[i].per_patient[p]);
    }
    free(counts);
    return rc ? -1 : (int)done;
}

char *swap_state_path(const char *out)
{
    const char *suffix = ".resume.safetensors";
    char *p = xmalloc(strlen(out) + strlen(suffix) + 1);
    return strcat(strcpy(p, out), suffix);
}

int swap_state_check_start(const char *path, bool resume)
{
    struct stat sb;
    if (!resume && lstat(path, &sb) == 0)
        return error_set("%s holds an unfinished scan: --resume goes on from it (or remove it)",
                         path);
    return 0;
}

int swap_state_load(const char *path, bool resume, uint64_t fingerprint, int batches,
                    DiceTally *tallies, int n_tallies, SwapStateWork *work)
{
    struct stat sb;
    if (swap_state_check_start(path, resume)) return -1;
    if (lstat(path, &sb) != 0) return 0;
    SafeTensors st;
    if (safetensors_read(path, &st)) return -1;
    int done = read_state(&st, fingerprint, batches, tallies, n_tallies, work);
    safetensors_free(&st);
    return done;
}
