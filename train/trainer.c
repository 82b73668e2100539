/* The training loop, checkpoints and resume. See trainer.h for the run directory. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "datasets/batch.h"
#include "engine/add.h"
#include "engine/atomic_file.h"
#include "engine/blas.h"
#include "engine/dist.h"
#include "engine/error.h"
#include "engine/fsutil.h"
#include "engine/loss.h"
#include "engine/safetensors.h"
#include "models/checkpoint.h"
#include "train/evaluate.h"
#include "train/parallel.h"
#include "train/progress.h"
#include "train/trainer.h"

void train_config_defaults(TrainConfig *c)
{
    memset(c, 0, sizeof *c);
    c->model = (ModelConfig){ARCH_UNET, 1, 4, 32, TASK_SEG};
    data_options_defaults(&c->data);
    c->epochs = 10;
    c->batch = 8;
    c->lr = 1e-3;
    c->momentum = 0.9;
    c->optimizer = OPTIMIZER_ADAM;
    c->schedule = SCHEDULE_POLY;
    c->augment = true;
}

static char *join(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *p = xmalloc(len);
    snprintf(p, len, "%s/%s", dir, name);
    return p;
}

static int write_text_atomic(const char *path, const char *text)
{
    AtomicFile *af = atomic_open(path);
    if (!af) return -1;
    fputs(text, atomic_stream(af));
    return atomic_commit(af);
}

/* The run's configuration as config.json records it, without what may differ between the
 * nodes of a job (build, processor), and without the thread count unless with_threads
 * (the bits do not depend on it). */
static cJSON *config_json(const TrainConfig *c, const char *origin, bool with_threads)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "arch", model_arch_name(c->model.arch));
    cJSON_AddNumberToObject(j, "width", c->model.width);
    cJSON_AddNumberToObject(j, "in_channels", c->model.in_channels);
    cJSON_AddNumberToObject(j, "classes", c->model.classes);
    cJSON_AddStringToObject(j, "task", model_task_name(c->model.task));
    cJSON_AddStringToObject(j, "data", c->data.dir);
    cJSON_AddNumberToObject(j, "size", c->data.size);
    cJSON_AddNumberToObject(j, "spacing", c->data.spacing_mm);
    cJSON_AddNumberToObject(j, "n_train", c->data.n_train);
    cJSON_AddNumberToObject(j, "split_seed", (double)c->data.split_seed);
    cJSON_AddNumberToObject(j, "epochs", c->epochs);
    cJSON_AddNumberToObject(j, "batch", c->batch);
    cJSON_AddNumberToObject(j, "lr", c->lr);
    cJSON_AddStringToObject(j, "optimizer", optimizer_kind_name(c->optimizer));
    cJSON_AddNumberToObject(j, "momentum", c->momentum);
    cJSON_AddNumberToObject(j, "weight_decay", c->weight_decay);
    cJSON_AddStringToObject(j, "schedule", schedule_name(c->schedule));
    cJSON_AddBoolToObject(j, "dice_loss", c->dice_loss);
    cJSON_AddBoolToObject(j, "augment", c->augment);
    cJSON_AddNumberToObject(j, "seed", (double)c->seed);
    if (with_threads) cJSON_AddNumberToObject(j, "threads", engine_threads());
    cJSON_AddStringToObject(j, "init_from", c->init_from ? c->init_from : "");
    cJSON_AddStringToObject(j, "params", c->params_list ? c->params_list : "");
    cJSON_AddStringToObject(j, "plan", c->plan ? c->plan : "");
    cJSON_AddBoolToObject(j, "freeze", c->freeze);
    cJSON_AddStringToObject(j, "init", origin);
    return j;
}

/* Ranks of a data-parallel job must agree on this: the configuration, the run directory
 * and whether to resume. */
static uint64_t config_fingerprint(const TrainConfig *c)
{
    cJSON *j = config_json(c, "", false);
    cJSON_AddStringToObject(j, "out_dir", c->out_dir);
    cJSON_AddBoolToObject(j, "resume", c->resume);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    uint64_t h = dist_hash(DIST_HASH_INIT, text, strlen(text));
    free(text);
    return h;
}

static int write_config_json(const TrainConfig *c, const char *path, const char *origin)
{
    cJSON *j = config_json(c, origin, true);
    /* what the results' bits depend on besides the above (README: "What the bits depend
     * on"); the thread count is not among them */
    cJSON *bits = cJSON_AddObjectToObject(j, "bits_depend_on");
    cJSON_AddStringToObject(bits, "blas", blas_library());
    cJSON_AddStringToObject(bits, "blas_kernel", blas_kernel());
    cJSON_AddStringToObject(bits, "build", engine_build());
    cJSON_AddStringToObject(bits, "cpu", engine_cpu_name());
    /* a data-parallel run's sums are in rank order: the same bits for the same R only */
    if (c->data_parallel && dist_size() > 1) cJSON_AddNumberToObject(bits, "ranks", dist_size());
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    size_t len = strlen(text);
    char *withnl = xmalloc(len + 2);
    memcpy(withnl, text, len);
    memcpy(withnl + len, "\n", 2);
    int rc = write_text_atomic(path, withnl);
    free(text);
    free(withnl);
    return rc;
}

/* ---- resume state: the model's tensors plus optimizer state and progress ------------- */

typedef struct RunState {
    int epoch;            /* epochs finished */
    int64_t step;         /* optimizer steps taken */
    double best;          /* best validation score (higher is better) */
} RunState;

static int save_resume(Model *m, const Optimizer *o, const RunState *rs, const char *path,
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

static int load_resume(Model *m, Optimizer *o, RunState *rs, const char *path, char *origin,
                       size_t origin_len)
{
    SafeTensors st;
    if (safetensors_read(path, &st)) return -1;
    int rc = 0;
    for (int i = 0; i < m->params.count && !rc; i++) rc = checkpoint_read_param(&st, &m->params.items[i]);
    if (!rc && o->m) rc = safetensors_read_f32(&st, "optimizer.m", 1, (int[]){(int)o->n_values}, o->m);
    if (!rc && o->v) rc = safetensors_read_f32(&st, "optimizer.v", 1, (int[]){(int)o->n_values}, o->v);
    if (!rc) rc = safetensors_read_i64(&st, "optimizer.steps", 1, (int[]){o->n_params}, o->steps);
    const char *e = safetensors_meta(&st, "epoch"), *s = safetensors_meta(&st, "step");
    const char *b = safetensors_meta(&st, "best"), *init = safetensors_meta(&st, "init");
    if (!rc && (!e || !s || !b)) rc = error_set("%s: not a resume file (no epoch/step)", path);
    if (!rc) {
        rs->epoch = atoi(e);
        rs->step = atoll(s);
        rs->best = strtod(b, NULL);
        snprintf(origin, origin_len, "%s", init ? init : "");
    }
    safetensors_free(&st);
    return rc;
}

/* Keep the header and the first `epochs` rows of log.csv: a run killed after writing an
 * epoch's row but before its resume point would otherwise log that epoch twice. */
static int truncate_log(const char *path, int epochs)
{
    FILE *f = fopen(path, "r");
    if (!f) return error_set("%s: cannot read (%s)", path, strerror(errno));
    AtomicFile *af = atomic_open(path);
    if (!af) {
        fclose(f);
        return -1;
    }
    char line[8192];
    for (int row = -1; row < epochs && fgets(line, sizeof line, f); row++)
        fputs(line, atomic_stream(af));
    fclose(f);
    return atomic_commit(af);
}

/* ---- one step ---------------------------------------------------------------------- */

/* The first trainable tensor whose gradient is not finite, or NULL. */
static const char *nonfinite_gradient(ParamStore *ps)
{
    for (int i = 0; i < ps->count; i++) {
        Param *p = &ps->items[i];
        if (p->kind != PARAM_TRAINABLE || p->frozen) continue;
        for (size_t j = 0; j < p->t.size; j++)
            if (!isfinite(p->t.grad[j])) return p->name;
    }
    return NULL;
}

/* Forward, loss, backward on one batch; returns the loss. */
static double train_step(Model *m, Tape *t, const TrainConfig *c, float *images,
                         int64_t *labels, int n, float *targets)
{
    const int s = c->data.size, k = m->cfg.classes, hw = s * s;
    tape_reset(t);
    t->recording = t->training = true;
    Tensor *x = tape_wrap(t, images, 4, (int[]){n, 1, s, s});
    Tensor *y = model_forward(m, t, x);
    Tensor *loss;
    if (c->model.task == TASK_SEG) {
        LabelMap lm = {labels, n, s, s};
        loss = loss_cross_entropy(t, y, &lm);
        if (c->dice_loss) loss = add(t, loss, loss_dice(t, y, &lm, 1.0f, true));
    } else {
        /* auto-encoder: every output channel reproduces the input image */
        for (int i = 0; i < n; i++)
            for (int j = 0; j < k; j++)
                memcpy(targets + ((size_t)i * k + j) * hw, images + (size_t)i * hw,
                       (size_t)hw * sizeof(float));
        loss = loss_mse(t, y, tape_wrap(t, targets, 4, (int[]){n, k, s, s}));
    }
    params_zero_grad(&m->params);
    tape_backward(t, loss);
    return loss->data[0];
}

/* ---- the run ----------------------------------------------------------------------- */

static double score_of(const EvalResult *r, ModelTask task)
{
    return task == TASK_SEG ? r->mean_dice : -r->mse;     /* higher is better */
}

/* log.csv's header line: the columns of an epoch's row. */
static void log_header(char *buf, size_t len, const Model *m, ModelTask task)
{
    int at = snprintf(buf, len, "epoch,step,lr,train_loss,val_loss");
    if (task == TASK_SEG) {
        for (int c = 0; c < m->cfg.classes; c++) at += snprintf(buf + at, len - at, ",dice_%d", c);
        at += snprintf(buf + at, len - at, ",mean_dice,patient_mean_dice,patient_sd_dice");
    } else {
        at += snprintf(buf + at, len - at, ",val_mse,val_psnr");
    }
    snprintf(buf + at, len - at, "\n");
}

/* log.csv holds results only, the same bits on every run of the same configuration;
 * times.csv the wall time of each epoch's training and validation, which is not, and in
 * a data-parallel run the ranks and the time spent summing gradients across them. */
static const char TIMES_HEADER[] =
    "epoch,train_seconds,val_seconds,threads,ranks,gradient_sum_seconds\n";

/* Open RUN/NAME for appending after keeping its header and first `epochs` rows (a
 * resumed run), or create it with `header` (a new one); NULL with the error set. */
static FILE *open_epoch_file(const char *dir, const char *name, bool resuming, int epochs,
                             const char *header)
{
    char *path = join(dir, name);
    FILE *f = NULL;
    if (resuming && access(path, F_OK) != 0) resuming = false;   /* written by an older version */
    if (resuming) {
        if (truncate_log(path, epochs) == 0 && !(f = fopen(path, "a")))
            error_set("%s: cannot write (%s)", path, strerror(errno));
    } else if ((f = fopen(path, "w"))) {
        fputs(header, f);
    } else {
        error_set("%s: cannot write (%s)", path, strerror(errno));
    }
    free(path);
    return f;
}

/* The row of one finished epoch in log.csv and times.csv, and its progress line. */
static void log_epoch(FILE *log, FILE *times, const Model *m, const TrainConfig *c,
                      const RunState *rs, double lr, double train_loss, const EvalResult *er,
                      bool best, const double seconds[3], char *detail, size_t detail_len)
{
    fprintf(log, "%d,%lld,%.6g,%.6f,%.6f", rs->epoch, (long long)rs->step, lr, train_loss, er->loss);
    if (c->model.task == TASK_SEG) {
        for (int k = 0; k < m->cfg.classes; k++) fprintf(log, ",%.4f", er->dice[k]);
        fprintf(log, ",%.4f,%.4f,%.4f", er->mean_dice, er->patient_mean_mean, er->patient_mean_sd);
        snprintf(detail, detail_len, "train loss %.4f  val loss %.4f  mean Dice %.4f%s",
                 train_loss, er->loss, er->mean_dice, best ? " *" : "");
    } else {
        fprintf(log, ",%.6f,%.3f", er->mse, er->psnr);
        snprintf(detail, detail_len, "train loss %.4f  val MSE %.4f  PSNR %.2f dB%s",
                 train_loss, er->mse, er->psnr, best ? " *" : "");
    }
    fputc('\n', log);
    fflush(log);
    fprintf(times, "%d,%.2f,%.2f,%d,%d,%.3f\n", rs->epoch, seconds[0], seconds[1],
            engine_threads(), c->data_parallel ? dist_size() : 1, seconds[2]);
    fflush(times);
}

/* A data-parallel run's ranks must have the same configuration and data; R must not
 * exceed the batch. 0, or -1 (all ranks) with the message set. */
static int check_ranks(const TrainConfig *c)
{
    if (dist_same(config_fingerprint(c), "configuration (options, run directory, --resume)"))
        return -1;
    return dist_agree(c->batch < dist_size()
                          ? error_set("a batch of %d cannot be split over %d ranks", c->batch,
                                      dist_size())
                          : 0);
}

int train_run(const TrainConfig *c)
{
    engine_set_threads(c->threads);
    if (c->epochs < 1 || c->batch < 1 || !(c->lr > 0))
        return error_set("epochs, batch and lr must be positive");
    /* data-parallel: rank `rank` of `ranks` takes its part of every batch; rank 0 writes */
    const bool dp = c->data_parallel && dist_size() > 1;
    const int rank = dp ? dist_rank() : 0, ranks = dp ? dist_size() : 1;
    const bool writer = rank == 0, quiet = c->quiet || !writer;
    if (dp && check_ranks(c)) return -1;
    char *resume_path = join(c->out_dir, "resume.safetensors");
    char *last_path = join(c->out_dir, "last.safetensors");
    char *best_path = join(c->out_dir, "best.safetensors");
    char *config_path = join(c->out_dir, "config.json");
    int rc = -1;
    RunData data = {0};
    Model m = {0};
    Optimizer opt = {0};
    Tape tape = {0};
    float *images = NULL, *targets = NULL;
    int64_t *labels = NULL;
    BatchIterator it = {0};
    FILE *log = NULL, *times = NULL;
    char origin[512] = "";

    /* Setup. In a data-parallel run a rank that fails goes to setup_failed, which meets
     * the others at their next dist_agree: every rank then stops, and rank 0 reports. */
    struct stat sb;
    bool resuming = c->resume && stat(resume_path, &sb) == 0;
    if (!c->resume && stat(resume_path, &sb) == 0) {
        error_set("%s already holds a run (use --resume to continue it, or another -o)", c->out_dir);
        goto setup_failed;
    }
    if (writer && make_dirs(c->out_dir)) goto setup_failed;
    if (run_data_load(&c->data, RUN_DATA_TRAIN | RUN_DATA_VAL, &data)) goto setup_failed;
    if (!data.train.count || !data.val.count) {
        error_set("%s: no training or validation slices", c->data.dir);
        goto setup_failed;
    }
    if (dp && (dist_agree(0) || dist_same(parallel_data_fingerprint(&data),
                                          "data (training and validation slices)")))
        goto done;
    if (model_create(&m, &c->model)) goto setup_failed;
    if (model_check_input(&m, c->batch, 1, c->data.size, c->data.size)) goto setup_failed;
    model_init_weights(&m, c->seed);
    snprintf(origin, sizeof origin, "seed %llu", (unsigned long long)c->seed);
    if (c->init_from) {
        int loaded = init_from_checkpoint(&m, c->init_from, c->params_list, c->plan, c->freeze,
                                          origin, sizeof origin);
        if (loaded < 0) goto setup_failed;
        if (!quiet)
            fprintf(stderr, "loaded %d tensors from %s%s\n", loaded, c->init_from,
                    c->freeze ? " (frozen)" : "");
    }
    if (c->optimizer == OPTIMIZER_SGD)
        optimizer_init_sgd(&opt, &m.params, c->lr, c->momentum, c->weight_decay);
    else
        optimizer_init_adam(&opt, &m.params, c->lr, 0.9, 0.999, 1e-8, c->weight_decay);

    BatchOptions bo;
    batch_defaults(&bo);
    bo.batch_size = c->batch;
    bo.seed = c->seed;
    bo.drop_last = 1;          /* a batch of 1 gives BN a single value per 1x1 channel */
    bo.augment = c->augment;
    batch_init(&it, &data.train, &bo);
    const int steps_per_epoch = batch_count(&it);
    if (steps_per_epoch < 1) {
        error_set("%s: %d training slices make no full batch of %d", c->data.dir,
                  data.train.count, c->batch);
        goto setup_failed;
    }
    Schedule sched = {c->schedule, c->lr, 0, SCHEDULE_POLY_POWER,
                      (int64_t)steps_per_epoch * c->epochs};

    RunState rs = {0, 0, -INFINITY};
    if (resuming) {
        if (load_resume(&m, &opt, &rs, resume_path, origin, sizeof origin)) goto setup_failed;
        if (!quiet) fprintf(stderr, "resuming %s after epoch %d\n", c->out_dir, rs.epoch);
    } else if (writer && write_config_json(c, config_path, origin)) {
        goto setup_failed;
    }
    char header[1024];
    log_header(header, sizeof header, &m, c->model.task);
    if (writer &&
        (!(log = open_epoch_file(c->out_dir, "log.csv", resuming, rs.epoch, header)) ||
         !(times = open_epoch_file(c->out_dir, "times.csv", resuming, rs.epoch, TIMES_HEADER))))
        goto setup_failed;
    if (dp && dist_agree(0)) goto done;
    /* What predict must repeat on new scans: the crop/pad size and the resampling. */
    char size_text[16], spacing_text[32];
    snprintf(size_text, sizeof size_text, "%d", c->data.size);
    snprintf(spacing_text, sizeof spacing_text, "%.9g", (double)c->data.spacing_mm);
    MetaPair meta[] = {{"init", origin}, {"size", size_text}, {"spacing", spacing_text}};
    const int n_meta = c->data.spacing_mm > 0 ? 3 : 2;

    const int s = c->data.size;
    images = xmalloc_floats((size_t)c->batch * s * s);
    labels = xmalloc(sizeof(int64_t) * (size_t)c->batch * s * s);
    targets = xmalloc(sizeof(float) * (size_t)c->batch * m.cfg.classes * s * s);
    tape_init(&tape, 0);
    EvalOptions eo = {.task = c->model.task, .labelled = data.labelled, .batch = c->batch,
                      .split_over_ranks = dp};
    if (!quiet) {
        fprintf(stderr, "training %s on %s: %d train / %d val slices, %d epochs x %d steps, "
                "%d threads", model_arch_name(m.cfg.arch), c->data.dir, data.train.count,
                data.val.count, c->epochs, steps_per_epoch, engine_threads());
        if (dp) fprintf(stderr, " x %d ranks", ranks);
        fputc('\n', stderr);
    }

    for (int epoch = rs.epoch; epoch < c->epochs; epoch++) {
        double t0 = progress_now(), loss_sum = 0;
        char label[48], detail[96];
        snprintf(label, sizeof label, "epoch %d/%d", epoch + 1, c->epochs);
        Progress pr;
        if (!quiet) progress_begin(&pr, label, steps_per_epoch);
        batch_seek(&it, epoch, 0);
        dist_sum_seconds_take();
        int n, batch_n, step_in_epoch = 0;
        while ((n = dp ? batch_next_share(&it, rank, ranks, images, labels, &batch_n)
                       : (batch_n = batch_next(&it, images, labels))) > 0) {
            opt.lr = schedule_lr(&sched, rs.step);
            tape.global_batch = dp ? batch_n : 0;
            double loss = train_step(&m, &tape, c, images, labels, n, targets);
            if (dp) parallel_sum_step(&m.params, &loss);
            /* the same on every rank: the loss and gradients are the summed ones */
            const char *bad = !isfinite(loss) ? "the loss" : nonfinite_gradient(&m.params);
            if (bad) {
                if (!quiet) fputc('\n', stderr);
                error_set("step %lld (epoch %d): %s%s is not finite (lr %g); stopped, the last "
                          "good checkpoint is %s", (long long)rs.step + 1, epoch + 1,
                          isfinite(loss) ? "the gradient of " : "", bad, opt.lr,
                          rs.epoch ? last_path : "(none: no epoch finished)");
                goto done;
            }
            optimizer_step(&opt, &m.params);
            rs.step++;
            step_in_epoch++;
            loss_sum += loss;
            if (!quiet) {
                double el = progress_now() - t0;
                snprintf(detail, sizeof detail, "loss %.4f  %.1f img/s", loss,
                         el > 0 ? step_in_epoch * c->batch / el : 0.0);
                progress_update(&pr, step_in_epoch, detail);
            }
        }
        const double sum_seconds = dist_sum_seconds_take();
        EvalResult er;
        if (!quiet) {
            snprintf(detail, sizeof detail, "validating on %d slices", data.val.count);
            progress_update(&pr, step_in_epoch, detail);
        }
        const double t_val = progress_now();
        /* with ranks, each evaluates its share and every rank gets the whole set's numbers */
        evaluate_model(&m, &tape, &data.val, &eo, &er);
        const double t_end = progress_now();
        double score = score_of(&er, c->model.task);
        rs.epoch = epoch + 1;
        bool best = score > rs.best;
        if (best) rs.best = score;
        int written = 0;
        if (writer) {
            const double seconds[3] = {t_val - t0, t_end - t_val, sum_seconds};
            log_epoch(log, times, &m, c, &rs, opt.lr, loss_sum / step_in_epoch, &er, best,
                      seconds, detail, sizeof detail);
            if (!quiet) progress_end(&pr, detail);
            /* Models first, the resume point last: a kill between them resumes from the
             * previous epoch and redoes this one, reaching the same weights. */
            written = checkpoint_save(&m, last_path, meta, n_meta) ||
                      (best && checkpoint_save(&m, best_path, meta, n_meta)) ||
                      save_resume(&m, &opt, &rs, resume_path, origin) ? -1 : 0;
        }
        if (dp ? dist_agree(written) : written) goto done;
    }
    rc = 0;
    goto done;
setup_failed:
    if (dp) dist_agree(-1);
done:
    if (log) fclose(log);
    if (times) fclose(times);
    free(images);
    free(labels);
    free(targets);
    batch_free(&it);
    if (tape.entries || tape.arena.first) tape_free(&tape);
    if (opt.steps) optimizer_free(&opt);
    if (m.layers) model_free(&m);
    run_data_free(&data);
    free(resume_path);
    free(last_path);
    free(best_path);
    free(config_path);
    return rc;
}
