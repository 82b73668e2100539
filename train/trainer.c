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
#include "util/progress.h"
#include "train/resume.h"
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
    if (c->data.list_split) cJSON_AddStringToObject(j, "list_split", c->data.list_split);
    if (c->data.subset_seed >= 0)
        cJSON_AddNumberToObject(j, "subset_seed", (double)c->data.subset_seed);
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
    cJSON_AddBoolToObject(j, "freeze_encoder", c->freeze_encoder);
    cJSON_AddNumberToObject(j, "val_every", c->val_every > 1 ? c->val_every : 1);
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

static int write_config_json(const TrainConfig *c, const char *path, const char *origin,
                             const ClassMap *classes)
{
    cJSON *j = config_json(c, origin, true);
    /* what the data calls its classes (output channel c is class_names[c]) */
    cJSON *names = cJSON_AddArrayToObject(j, "class_names"), *labelled = cJSON_AddArrayToObject(j, "labelled");
    for (int k = 0; k < DATASET_CLASSES; k++) {
        cJSON_AddItemToArray(names, cJSON_CreateString(classmap_name(classes, k)));
        if (k && classes->labelled & 1u << k)
            cJSON_AddItemToArray(labelled, cJSON_CreateString(classmap_name(classes, k)));
    }
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
    int rc = fs_write_text(path, text, 1);     /* adds the final newline */
    free(text);
    return rc;
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

/* The row of one finished epoch in log.csv and times.csv, and its progress line. */
static void log_epoch(FILE *log, FILE *times, const Model *m, const TrainConfig *c,
                      const RunState *rs, double lr, double train_loss, const EvalResult *er,
                      bool best, const double seconds[3], char *detail, size_t detail_len)
{
    /* an evaluation-only run (nothing trainable) has no training loss: its cell is empty */
    char trained[48] = "evaluated only";
    fprintf(log, "%d,%lld,%.6g,", rs->epoch, (long long)rs->step, lr);
    if (!isnan(train_loss)) {
        fprintf(log, "%.6f", train_loss);
        snprintf(trained, sizeof trained, "train loss %.4f", train_loss);
    }
    fputc(',', log);
    if (!er) {                     /* not validated (val_every): the validation cells empty */
        const int cells = c->model.task == TASK_SEG ? m->cfg.classes + 3 : 2;
        for (int k = 0; k < cells; k++) fputc(',', log);
        snprintf(detail, detail_len, "%s  (not validated)", trained);
    } else if (c->model.task == TASK_SEG) {
        fprintf(log, "%.6f", er->loss);
        for (int k = 0; k < m->cfg.classes; k++) fprintf(log, ",%.4f", er->dice[k]);
        fprintf(log, ",%.4f,%.4f,%.4f", er->mean_dice, er->patient_mean_mean, er->patient_mean_sd);
        snprintf(detail, detail_len, "%s  val loss %.4f  mean Dice %.4f%s", trained, er->loss,
                 er->mean_dice, best ? " *" : "");
    } else {
        fprintf(log, "%.6f,%.6f,%.3f", er->loss, er->mse, er->psnr);
        snprintf(detail, detail_len, "%s  val MSE %.4f  PSNR %.2f dB%s", trained, er->mse,
                 er->psnr, best ? " *" : "");
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
/* Everything a run holds from its setup to its last epoch. */
typedef struct Run {
    const TrainConfig *c;
    /* data-parallel: rank `rank` of `ranks` takes its part of every batch; rank 0 writes */
    bool dp, writer, quiet;
    int rank, ranks;
    char *resume_path, *last_path, *best_path, *config_path;
    bool resuming;
    bool eval_only;                /* nothing trainable: the loaded model is evaluated once */
    RunData data;
    Model m;
    Optimizer opt;
    BatchIterator it;
    int steps_per_epoch;
    Schedule sched;
    RunState rs;
    FILE *log, *times;             /* rank 0's */
    char origin[512];              /* where the weights came from (checkpoint metadata) */
    char size_text[16], spacing_text[32];
    MetaPair meta[3];
    int n_meta;
    Tape tape;
    float *images, *targets;
    int64_t *labels;
    EvalOptions eo;
} Run;

static void run_init(Run *r, const TrainConfig *c)
{
    memset(r, 0, sizeof *r);
    r->c = c;
    r->dp = c->data_parallel && dist_size() > 1;
    r->rank = r->dp ? dist_rank() : 0;
    r->ranks = r->dp ? dist_size() : 1;
    r->writer = r->rank == 0;
    r->quiet = c->quiet || !r->writer;
    r->rs = (RunState){0, 0, -INFINITY};
}

static void run_free(Run *r)
{
    if (r->log) fclose(r->log);
    if (r->times) fclose(r->times);
    free(r->images);
    free(r->labels);
    free(r->targets);
    batch_free(&r->it);
    if (r->tape.entries || r->tape.arena.first) tape_free(&r->tape);
    if (r->opt.steps) optimizer_free(&r->opt);
    if (r->m.layers) model_free(&r->m);
    run_data_free(&r->data);
    free(r->resume_path);
    free(r->last_path);
    free(r->best_path);
    free(r->config_path);
}

/* The run directory, new (refused if it holds a run and --resume is not given) or
 * resumed. 0, or -1 with the message set. */
static int open_run(Run *r)
{
    const TrainConfig *c = r->c;
    r->resume_path = fs_join(c->out_dir, "resume.safetensors");
    r->last_path = fs_join(c->out_dir, "last.safetensors");
    r->best_path = fs_join(c->out_dir, "best.safetensors");
    r->config_path = fs_join(c->out_dir, "config.json");
    struct stat sb;
    const bool has_run = stat(r->resume_path, &sb) == 0;
    if (has_run && !c->resume)
        return error_set("%s already holds a run (use --resume to continue it, or another -o)",
                         c->out_dir);
    r->resuming = has_run;
    const char *inputs[] = {c->init_from, c->plan};
    if (fs_check_output(r->last_path, inputs, 2) || fs_check_output(r->best_path, inputs, 2) ||
        fs_check_output(r->resume_path, inputs, 2))
        return -1;
    return 0;
}

/* The training and validation slices (after the model: a bad --init-from or --plan is
 * found before the data is read), then the run directory: bad data leaves none behind, and
 * a resumed one loses a killed run's temporaries (.last.safetensors.tmp.PID.N: a whole model
 * each). 0, or -1 with the message set. */
static int load_data(Run *r)
{
    const TrainConfig *c = r->c;
    if (run_data_load(&c->data, RUN_DATA_TRAIN | RUN_DATA_VAL, &r->data)) return -1;
    if (!r->data.train.count || !r->data.val.count)
        return error_set("%s: no training or validation slices", c->data.dir);
    if (r->writer && make_dirs(c->out_dir)) return -1;
    int stale = r->writer && r->resuming ? atomic_remove_stale(c->out_dir) : 0;
    if (stale < 0) return -1;
    if (stale > 0 && !r->quiet)
        fprintf(stderr, "removed %d temporary file%s left by a killed run in %s\n", stale,
                stale == 1 ? "" : "s", c->out_dir);
    return 0;
}

/* The model (seeded weights, then --init-from's tensors) and its optimizer. */
static int setup_model(Run *r)
{
    const TrainConfig *c = r->c;
    if (model_create(&r->m, &c->model)) return -1;
    if (model_check_run(&r->m, c->batch, c->data.size, c->data.size, true)) return -1;
    model_init_weights(&r->m, c->seed);
    snprintf(r->origin, sizeof r->origin, "seed %llu", (unsigned long long)c->seed);
    if (c->init_from) {
        int loaded = init_from_checkpoint(&r->m, c->init_from, c->params_list, c->plan,
                                          c->freeze, r->origin, sizeof r->origin);
        if (loaded < 0) return -1;
        if (!r->quiet)
            fprintf(stderr, "loaded %d tensors from %s%s\n", loaded, c->init_from,
                    c->freeze ? " (frozen)" : "");
    }
    if (c->freeze_encoder) {
        /* the learned tensors of layers 1..encoder_rows (conv W, B; BN weight, bias) stay
         * at their random initialisation, as requires_grad = False does in PyTorch
         * (Karimi et al. 2021). The BN running statistics are not learned: they keep
         * following the data, and training normalises with the batch's (frozen at their
         * initial 0 and 1, every BN of the encoder would normalise with them, batchnorm.h,
         * and pass unnormalised features on: not what the experiment asks). */
        static const ParamRole learned[4] = {ROLE_W, ROLE_B, ROLE_RW, ROLE_RB};
        const int rows = model_arch_info(c->model.arch)->encoder_rows;
        for (int k = 1; k <= rows; k++)
            for (int i = 0; i < 4; i++) {
                Param *p = model_param(&r->m, model_layer(&r->m, k), learned[i]);
                if (p) params_set_frozen(p, true);
            }
        if (!r->quiet) fprintf(stderr, "encoder (layers 1-%d) frozen\n", rows);
    }
    int trainable = 0;
    for (int i = 0; i < r->m.params.count; i++)
        trainable += r->m.params.items[i].kind == PARAM_TRAINABLE && !r->m.params.items[i].frozen;
    /* Freezing everything that was loaded is a legitimate experiment (a plan that covers
     * every tensor): with nothing left to train, the run is the loaded model's evaluation. */
    r->eval_only = trainable == 0;
    if (r->eval_only && !r->quiet)
        fprintf(stderr, "nothing to train: every learned tensor is loaded and frozen; the loaded "
                "model is evaluated, not trained\n");
    if (c->optimizer == OPTIMIZER_SGD)
        optimizer_init_sgd(&r->opt, &r->m.params, c->lr, c->momentum, c->weight_decay);
    else
        optimizer_init_adam(&r->opt, &r->m.params, c->lr, 0.9, 0.999, 1e-8, c->weight_decay);
    return 0;
}

/* The batch order of every epoch and the learning-rate schedule over all its steps. */
static int setup_batches(Run *r)
{
    const TrainConfig *c = r->c;
    BatchOptions bo;
    batch_defaults(&bo);
    bo.batch_size = c->batch;
    bo.seed = c->seed;
    bo.drop_last = 1;          /* a batch of 1 gives BN a single value per 1x1 channel */
    bo.augment = c->augment;
    batch_init(&r->it, &r->data.train, &bo);
    r->steps_per_epoch = batch_count(&r->it);
    if (r->steps_per_epoch < 1)
        return error_set("%s: %d training slices make no full batch of %d", c->data.dir,
                         r->data.train.count, c->batch);
    r->sched = (Schedule){c->schedule, c->lr, 0, SCHEDULE_POLY_POWER,
                          (int64_t)r->steps_per_epoch * c->epochs};
    return 0;
}

/* A resumed run: weights, optimizer state and progress from resume.safetensors. A new
 * one: config.json. Then log.csv and times.csv, kept to the finished epochs or created. */
static int resume_or_start(Run *r)
{
    const TrainConfig *c = r->c;
    if (r->resuming) {
        if (resume_load(r->resume_path, &r->m, &r->opt, c->epochs,
                        r->eval_only ? 0 : r->steps_per_epoch, &r->rs, r->origin,
                        sizeof r->origin))
            return -1;
        if (!r->quiet) fprintf(stderr, "resuming %s after epoch %d\n", c->out_dir, r->rs.epoch);
    } else if (r->writer && write_config_json(c, r->config_path, r->origin,
                                              &r->data.dataset->classmap)) {
        return -1;
    }
    char header[1024];
    log_header(header, sizeof header, &r->m, c->model.task);
    /* an evaluation-only run's logs hold its one evaluation: left alone when it is done,
     * redone (header kept) when the run has been given more epochs */
    const int kept = r->eval_only ? 0 : r->rs.epoch;
    if (r->writer && !(r->eval_only && r->rs.epoch >= c->epochs) &&
        (!(r->log = resume_open_log(c->out_dir, "log.csv", r->resuming, kept, header)) ||
         !(r->times = resume_open_log(c->out_dir, "times.csv", r->resuming, kept,
                                      TIMES_HEADER))))
        return -1;
    return 0;
}

/* The checkpoints' metadata, the batch buffers and the tape; the run's first line. */
static void prepare_epochs(Run *r)
{
    const TrainConfig *c = r->c;
    /* What predict must repeat on new scans: the crop/pad size and the resampling. */
    snprintf(r->size_text, sizeof r->size_text, "%d", c->data.size);
    snprintf(r->spacing_text, sizeof r->spacing_text, "%.9g", (double)c->data.spacing_mm);
    r->meta[0] = (MetaPair){"init", r->origin};
    r->meta[1] = (MetaPair){"size", r->size_text};
    r->meta[2] = (MetaPair){"spacing", r->spacing_text};
    r->n_meta = c->data.spacing_mm > 0 ? 3 : 2;

    const int s = c->data.size;
    r->images = xmalloc_floats((size_t)c->batch * s * s);
    r->labels = xmalloc(sizeof(int64_t) * (size_t)c->batch * s * s);
    r->targets = xmalloc(sizeof(float) * (size_t)c->batch * r->m.cfg.classes * s * s);
    tape_init(&r->tape, 0);
    r->eo = (EvalOptions){.task = c->model.task, .labelled = r->data.labelled,
                          .batch = c->batch, .split_over_ranks = r->dp};
    if (!r->quiet) {
        fprintf(stderr, "training %s on %s: %d train / %d val slices, %d epochs x %d steps, "
                "%d threads", model_arch_name(r->m.cfg.arch), c->data.dir, r->data.train.count,
                r->data.val.count, c->epochs, r->steps_per_epoch, engine_threads());
        if (r->dp) fprintf(stderr, " x %d ranks", r->ranks);
        fputc('\n', stderr);
    }
}

/* The optimizer steps of one epoch (this rank's share of each batch, the gradients
 * summed over the ranks). Returns the number of steps, adding their losses to *loss_sum,
 * or -1 with the message set when a loss or gradient is not finite (on every rank). */
static int train_batches(Run *r, int epoch, Progress *pr, double t0, double *loss_sum)
{
    const TrainConfig *c = r->c;
    char detail[96];
    batch_seek(&r->it, epoch, 0);
    int n, batch_n, steps = 0;
    while ((n = r->dp ? batch_next_share(&r->it, r->rank, r->ranks, r->images, r->labels,
                                         &batch_n)
                      : (batch_n = batch_next(&r->it, r->images, r->labels))) > 0) {
        r->opt.lr = schedule_lr(&r->sched, r->rs.step);
        r->tape.global_batch = r->dp ? batch_n : 0;
        double loss = train_step(&r->m, &r->tape, c, r->images, r->labels, n, r->targets);
        if (r->dp) parallel_sum_step(&r->m.params, &loss);
        /* the same on every rank: the loss and gradients are the summed ones */
        const char *bad = !isfinite(loss) ? "the loss" : nonfinite_gradient(&r->m.params);
        if (bad) {
            if (!r->quiet) fputc('\n', stderr);
            return error_set("step %lld (epoch %d): %s%s is not finite (lr %g); stopped, the "
                             "last good checkpoint is %s", (long long)r->rs.step + 1, epoch + 1,
                             isfinite(loss) ? "the gradient of " : "", bad, r->opt.lr,
                             r->rs.epoch ? r->last_path : "(none: no epoch finished)");
        }
        optimizer_step(&r->opt, &r->m.params);
        r->rs.step++;
        steps++;
        *loss_sum += loss;
        if (!r->quiet) {
            double el = progress_now() - t0;
            snprintf(detail, sizeof detail, "loss %.4f  %.1f img/s", loss,
                     el > 0 ? steps * c->batch / el : 0.0);
            progress_update(pr, steps, detail);
        }
    }
    return steps;
}

/* Rank 0's files for a finished epoch: its rows of log.csv and times.csv, then the
 * models, and the resume point last: a kill between them resumes from the previous epoch
 * and redoes this one, reaching the same weights. 0, or -1 with the message set. */
static int write_epoch(Run *r, Progress *pr, double train_loss, const EvalResult *er,
                       bool best, const double seconds[3])
{
    char detail[96];
    log_epoch(r->log, r->times, &r->m, r->c, &r->rs, r->opt.lr, train_loss, er, best, seconds,
              detail, sizeof detail);
    if (!r->quiet) progress_end(pr, detail);
    return checkpoint_save(&r->m, r->last_path, r->meta, r->n_meta) ||
           (best && checkpoint_save(&r->m, r->best_path, r->meta, r->n_meta)) ||
           resume_save(&r->m, &r->opt, &r->rs, r->resume_path, r->origin) ? -1 : 0;
}

/* The last validation's Dice of each evaluated class, by the data's class names. */
static void print_class_dice(const Run *r, const EvalResult *er)
{
    fprintf(stderr, "validation Dice:");
    for (int k = 0; k < er->classes; k++)
        if (er->evaluated & 1u << k)
            fprintf(stderr, "  %s %.4f", classmap_name(&r->data.dataset->classmap, k), er->dice[k]);
    fprintf(stderr, "  (mean %.4f)\n", er->mean_dice);
}

/* One epoch: its steps, validation, and rank 0's log rows and checkpoints. 0, or -1
 * (on every rank of a data-parallel run) with the message set. */
static int run_epoch(Run *r, int epoch)
{
    const TrainConfig *c = r->c;
    double t0 = progress_now(), loss_sum = 0;
    char label[48], detail[96];
    snprintf(label, sizeof label, "epoch %d/%d", epoch + 1, c->epochs);
    Progress pr;
    if (!r->quiet) progress_begin(&pr, label, r->steps_per_epoch);
    dist_sum_seconds_take();
    const int steps = r->eval_only ? 0 : train_batches(r, epoch, &pr, t0, &loss_sum);
    if (steps < 0) return -1;
    const double sum_seconds = dist_sum_seconds_take();
    /* every K-th epoch and the last: Table 1 and best.safetensors read validated epochs */
    const bool validate = c->val_every <= 1 || (epoch + 1) % c->val_every == 0 ||
                          epoch + 1 == c->epochs || r->eval_only;
    if (!r->quiet && validate) {
        snprintf(detail, sizeof detail, "validating on %d slices", r->data.val.count);
        progress_update(&pr, steps, detail);
    }
    const double t_val = progress_now();
    /* with ranks, each evaluates its share and every rank gets the whole set's numbers */
    EvalResult er;
    if (validate) evaluate_model(&r->m, &r->tape, &r->data.val, &r->eo, &er);
    const double t_end = progress_now();
    r->rs.epoch = epoch + 1;
    const double score = validate ? score_of(&er, c->model.task) : -INFINITY;
    if (validate && !isfinite(er.loss))     /* e.g. a NaN in the BN statistics */
        return error_set("epoch %d: the validation loss is not finite; stopped, the last good "
                         "checkpoint is %s", epoch + 1,
                         r->rs.epoch > 1 ? r->last_path : "(none: no epoch finished)");
    bool best = score > r->rs.best;
    if (best) r->rs.best = score;
    int written = 0;
    if (r->writer) {
        const double seconds[3] = {t_val - t0, t_end - t_val, sum_seconds};
        written = write_epoch(r, &pr, steps ? loss_sum / steps : NAN, validate ? &er : NULL,
                              best, seconds);
        if (!written && !r->quiet && validate && epoch + 1 == c->epochs && c->model.task == TASK_SEG)
            print_class_dice(r, &er);
    }
    return r->dp ? dist_agree(written) : written;
}

int train_run(const TrainConfig *c)
{
    engine_set_threads(c->threads);
    if (c->epochs < 1 || c->batch < 1 || !(c->lr > 0))
        return error_set("%s must be positive, got %g", c->epochs < 1 ? "epochs" : c->batch < 1 ?
                         "batch" : "lr", c->epochs < 1 ? c->epochs : c->batch < 1 ? c->batch : c->lr);
    Run r;
    run_init(&r, c);
    if (r.dp && check_ranks(c)) return -1;
    int rc = -1;
    /* Setup. In a data-parallel run a rank that fails goes to setup_failed, which meets
     * the others at their next dist_agree: every rank then stops, and rank 0 reports. */
    if (open_run(&r) || setup_model(&r) || load_data(&r)) goto setup_failed;
    if (r.dp && (dist_agree(0) || dist_same(parallel_data_fingerprint(&r.data),
                                            "data (training and validation slices)")))
        goto done;
    if (setup_batches(&r) || resume_or_start(&r)) goto setup_failed;
    if (r.dp && dist_agree(0)) goto done;
    prepare_epochs(&r);
    /* an evaluation-only run evaluates once, as its last epoch */
    for (int epoch = r.eval_only && r.rs.epoch < c->epochs ? c->epochs - 1 : r.rs.epoch;
         epoch < c->epochs; epoch++)
        if (run_epoch(&r, epoch)) goto done;
    rc = r.eval_only ? 1 : 0;
    goto done;
setup_failed:
    if (r.dp) dist_agree(-1);
done:
    run_free(&r);
    return rc;
}
