/* Resume points and the logs of a resumed run (resume.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/atomic_file.h"
#include "engine/error.h"
#include "engine/fsutil.h"
#include "models/checkpoint.h"
#include "train/resume.h"

int resume_save(const Model *m, const Optimizer *o, const RunState *rs, const char *path,
                const char *origin)
{
    SafetensorsWriter w;
    safetensors_writer_init(&w);
    checkpoint_add_tensors(&w, m);
    if (o->m) safetensors_writer_add_f32(&w, "optimizer.m", 1, (int[]){(int)o->n_values}, o->m);
    if (o->v) safetensors_writer_add_f32(&w, "optimizer.v", 1, (int[]){(int)o->n_values}, o->v);
    safetensors_writer_add_i64(&w, "optimizer.steps", 1, (int[]){o->n_params}, o->steps);
    char buf[64];
    snprintf(buf, sizeof buf, "%d", rs->epoch);
    safetensors_writer_set_meta(&w, "epoch", buf);
    snprintf(buf, sizeof buf, "%lld", (long long)rs->step);
    safetensors_writer_set_meta(&w, "step", buf);
    snprintf(buf, sizeof buf, "%.17g", rs->best);
    safetensors_writer_set_meta(&w, "best", buf);
    safetensors_writer_set_meta(&w, "init", origin);
    int rc = safetensors_write(&w, path);
    safetensors_writer_free(&w);
    return rc;
}

/* A whole number in lo..hi from metadata key; -1 naming the file, key and value. */
static int meta_whole(const SafeTensors *st, const char *key, long long lo, long long hi,
                      const char *what, long long *out)
{
    const char *v = safetensors_meta(st, key);
    if (!v) return error_set("%s: not a resume file (no '%s' metadata)", st->path, key);
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (end == v || *end || errno || v[0] == ' ')
        return error_set("%s: %s '%s' is not a whole number", st->path, key, v);
    if (x < lo || x > hi)
        return error_set("%s: %s %lld is outside 0..%lld (%s)", st->path, key, x, hi, what);
    *out = x;
    return 0;
}

/* epoch, step and best, checked against the run. */
static int read_progress(const SafeTensors *st, int epochs, int64_t steps_per_epoch, RunState *rs)
{
    long long epoch, step;
    char what[96];
    snprintf(what, sizeof what, "the run has %d epochs", epochs);
    if (meta_whole(st, "epoch", 0, epochs, what, &epoch)) return -1;
    snprintf(what, sizeof what, "epoch %lld", epoch);
    if (meta_whole(st, "step", 0, INT64_MAX / 2, what, &step)) return -1;
    const long long expected = epoch * steps_per_epoch;
    if (step != expected)
        return error_set("%s: step %lld does not follow from epoch %lld (%lld steps per epoch: "
                         "%lld); the file was changed, or the run's data, batch or options were",
                         st->path, step, epoch, (long long)steps_per_epoch, expected);
    const char *b = safetensors_meta(st, "best");
    char *end;
    double best = b ? strtod(b, &end) : NAN;
    if (!b) return error_set("%s: not a resume file (no 'best' metadata)", st->path);
    if (end == b || *end || isnan(best) || best == INFINITY)
        return error_set("%s: best '%s' is not a validation score", st->path, b);
    *rs = (RunState){(int)epoch, step, best};
    return 0;
}

/* The optimizer's state: finite moments, second moments >= 0, steps within 0..step. */
static int check_optimizer(const SafeTensors *st, const Optimizer *o, int64_t step)
{
    for (size_t i = 0; o->m && i < o->n_values; i++)
        if (!isfinite(o->m[i]))
            return error_set("%s: optimizer.m holds a non-finite value at element %zu", st->path, i);
    for (size_t i = 0; o->v && i < o->n_values; i++)
        if (!(o->v[i] >= 0 && o->v[i] < INFINITY))
            return error_set("%s: optimizer.v holds %g at element %zu (second moments are "
                             "finite and >= 0)", st->path, (double)o->v[i], i);
    for (int i = 0; i < o->n_params; i++)
        if (o->steps[i] < 0 || o->steps[i] > step)
            return error_set("%s: optimizer.steps[%d] is %lld, outside 0..%lld (the run's steps)",
                             st->path, i, (long long)o->steps[i], (long long)step);
    return 0;
}

int resume_read(SafeTensors *st, Model *m, Optimizer *o, int epochs, int64_t steps_per_epoch,
                RunState *rs, char *origin, size_t origin_len)
{
    if (read_progress(st, epochs, steps_per_epoch, rs)) return -1;
    int rc = 0;
    for (int i = 0; i < m->params.count && !rc; i++) rc = checkpoint_read_param(st, &m->params.items[i]);
    if (!rc && o->m) rc = safetensors_read_f32(st, "optimizer.m", 1, (int[]){(int)o->n_values}, o->m);
    if (!rc && o->v) rc = safetensors_read_f32(st, "optimizer.v", 1, (int[]){(int)o->n_values}, o->v);
    if (!rc) rc = safetensors_read_i64(st, "optimizer.steps", 1, (int[]){o->n_params}, o->steps);
    if (!rc) rc = check_optimizer(st, o, rs->step);
    if (rc) return -1;
    const char *init = safetensors_meta(st, "init");
    snprintf(origin, origin_len, "%s", init ? init : "");
    return 0;
}

int resume_load(const char *path, Model *m, Optimizer *o, int epochs, int64_t steps_per_epoch,
                RunState *rs, char *origin, size_t origin_len)
{
    SafeTensors st;
    if (safetensors_read(path, &st)) return -1;
    int rc = resume_read(&st, m, o, epochs, steps_per_epoch, rs, origin, origin_len);
    safetensors_free(&st);
    return rc;
}

long resume_log_keep(const char *text, size_t len, const char *label, int epochs)
{
    const char *end = text + len, *line = text;
    const char *nl = memchr(line, '\n', len);
    if (len < 6 || strncmp(text, "epoch", 5) || (text[5] != ',' && text[5] != '\n') || !nl)
        return error_set("%s: not a log of epochs (its header does not start with 'epoch')", label);
    line = nl + 1;
    for (int e = 1; e <= epochs; e++) {
        nl = line < end ? memchr(line, '\n', (size_t)(end - line)) : NULL;
        if (!nl)
            return error_set("%s: has %d finished epoch%s, the resume point is after epoch %d",
                             label, e - 1, e == 2 ? "" : "s", epochs);
        char first[16];              /* the row's first field, exactly as the run writes it */
        const int n = snprintf(first, sizeof first, "%d,", e);
        if ((size_t)(nl - line) < (size_t)n || memcmp(line, first, (size_t)n))
            return error_set("%s: row %d is not epoch %d's", label, e + 1, e);
        line = nl + 1;
    }
    return (long)(line - text);
}

FILE *resume_open_log(const char *dir, const char *name, int resuming, int epochs,
                      const char *header)
{
    char *path = fs_join(dir, name);
    FILE *f = NULL;
    if (resuming && access(path, F_OK) != 0) resuming = 0;   /* written by an older version */
    if (resuming) {
        char *text;
        size_t len;
        long keep = read_whole_file(path, &text, &len) ? -1 : resume_log_keep(text, len, path, epochs);
        AtomicFile *af = keep < 0 ? NULL : atomic_open(path);
        if (af) fwrite(text, 1, (size_t)keep, atomic_stream(af));
        if (af && atomic_commit(af) == 0 && !(f = fopen(path, "a")))
            error_set("%s: cannot write (%s)", path, strerror(errno));
        if (keep >= 0) free(text);
    } else if ((f = fopen(path, "w"))) {
        fputs(header, f);
    } else {
        error_set("%s: cannot write (%s)", path, strerror(errno));
    }
    free(path);
    return f;
}
