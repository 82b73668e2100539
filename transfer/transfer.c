/* The transfer experiment's grid of runs, trained or resumed, spread over MPI ranks, and
 * Table 1 written from their final epochs (transfer.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "datasets/cfgfile.h"
#include "engine/dist.h"
#include "engine/error.h"
#include "engine/fsutil.h"
#include "engine/safetensors.h"
#include "util/csv.h"
#include "transfer/transfer.h"
#include "train/trainer.h"

static int study_read(const char *path, TransferStudy *st)
{
    CfgFile cfg;
    if (cfgfile_read(path, &cfg)) return -1;
    int rc = transfer_study_parse(&cfg, path, st);
    cfgfile_free(&cfg);
    return rc;
}

/* True when RUN/log.csv's last row is epoch `epochs` or later with a validated mean Dice:
 * a run folder kept without its checkpoints (a study committed in parts keeps log.csv and
 * config.json of each finished run, README "make study-real"). */
static bool log_finished(const char *dir, int epochs)
{
    char *path = fs_join(dir, "log.csv");
    CsvTable t;
    bool done = false;
    if (fs_is_file(path) && csv_read(path, &t) == 0) {
        const int e = csv_column(&t, "epoch"), d = csv_column(&t, "mean_dice");
        done = t.n_rows && e >= 0 && d >= 0 && csv_number(&t, t.n_rows - 1, e) >= epochs &&
               csv_number(&t, t.n_rows - 1, d) == csv_number(&t, t.n_rows - 1, d);
        csv_free(&t);
    }
    error_clear();
    free(path);
    return done;
}

/* A run is finished when its resume point has reached the last epoch, or, without one,
 * when its log has (log_finished). */
static bool run_finished(const char *dir, int epochs)
{
    char *path = fs_join(dir, "resume.safetensors");
    SafeTensors st;
    bool done = false, resume = fs_is_file(path);
    if (resume && safetensors_read_header(path, &st) == 0) {
        const char *e = safetensors_meta(&st, "epoch");
        done = e && atoi(e) >= epochs;
        safetensors_free(&st);
    }
    free(path);
    return resume ? done : log_finished(dir, epochs);
}

/* Per-class and mean Dice of the last row of RUN/log.csv (the final epoch), by column name. */
static int read_final_dice(const char *dir, int classes, double *dice, double *mean)
{
    char *path = fs_join(dir, "log.csv"), name[32];
    CsvTable t;
    if (csv_read(path, &t)) {
        free(path);
        return -1;
    }
    int rc = t.n_rows ? 0 : error_set("%s: no finished epoch", path);
    for (int c = 0; c <= classes && !rc; c++) {
        if (c < classes) snprintf(name, sizeof name, "dice_%d", c);
        else snprintf(name, sizeof name, "mean_dice");
        int col = csv_column(&t, name);
        if (col < 0) rc = error_set("%s: no '%s' column", path, name);
        else *(c < classes ? &dice[c] : mean) = csv_number(&t, t.n_rows - 1, col);
    }
    csv_free(&t);
    free(path);
    return rc;
}

/* Run i of the grid (n-major, then configuration, then run): its name and settings.
 * Returns its folder, RUNS_DIR/NAME, which tc->out_dir points to; the caller frees it. */
static char *grid_run(const TransferStudy *st, int i, int threads, const char *runs_dir, char *name,
                      size_t name_len, TrainConfig *tc)
{
    const int r = i % st->runs, c = i / st->runs % st->config_count;
    const int a = i / st->runs / st->config_count;
    const TransferConfig *k = &st->configs[c];
    *tc = st->base;
    tc->threads = threads;
    tc->epochs = st->epochs[a];
    /* Table 1 reads the final epoch: validate only there unless val_every asks */
    tc->val_every = st->base.val_every > 0 ? st->base.val_every : tc->epochs;
    tc->data.n_train = st->n[a];
    tc->data.subset_seed = st->run_subset[r] >= 0 ? st->subsets[st->run_subset[r]] : -1;
    tc->seed = (uint64_t)st->seeds[st->run_seed[r]];
    tc->freeze_encoder = k->mode == MODE_RANDOM_FROZEN_ENCODER;
    if (k->source >= 0) {
        tc->init_from = st->sources[k->source].checkpoint;
        tc->plan = k->mode == MODE_ALL_FINETUNE ? NULL : st->sources[k->source].plan;
        tc->freeze = k->mode == MODE_FREEZE;
    }
    transfer_run_name(st, a, c, r, name, name_len);
    char *run_dir = fs_join(runs_dir, name);
    tc->out_dir = run_dir;
    return run_dir;
}

/* Train (or resume) run i unless it is finished; 0, or -1 with the message set. */
static int grid_train(const TransferStudy *st, int i, int total, int threads, const char *runs_dir,
                      bool quiet)
{
    char name[256], who[32] = "";
    TrainConfig tc;
    char *run_dir = grid_run(st, i, threads, runs_dir, name, sizeof name, &tc);
    if (dist_size() > 1) snprintf(who, sizeof who, "rank %d: ", dist_rank());
    int rc = 0;
    if (run_finished(run_dir, tc.epochs)) {
        if (!quiet) fprintf(stderr, "[%d/%d] %s%s: finished, skipped\n", i + 1, total, who, name);
    } else {
        char *resume = fs_join(run_dir, "resume.safetensors");
        struct stat sb;
        tc.resume = stat(resume, &sb) == 0;
        free(resume);
        if (!quiet)
            fprintf(stderr, "[%d/%d] %s%s%s\n", i + 1, total, who, name,
                    tc.resume ? " (resuming)" : "");
        rc = train_run(&tc);
        if (rc < 0) error_prefix("%s", name);
        else if (rc > 0 && !quiet)
            fprintf(stderr, "[%d/%d] %s%s: nothing to train (every tensor loaded and frozen): "
                    "the source evaluated as it is\n", i + 1, total, who, name);
        rc = rc < 0 ? -1 : 0;
    }
    free(run_dir);
    return rc;
}

/* Every run of the grid, spread over the ranks: each rank takes the next unstarted run
 * from a shared counter when it has finished one (dist.h), so a slow run holds up no
 * other. A rank whose run fails pushes the counter past the end, so that no rank starts
 * another, and the ranks agree on the failure (dist_agree). */
static int grid_train_all(const TransferStudy *st, int total, int threads, const char *runs_dir,
                          bool quiet)
{
    DistCounter *next = dist_counter_open();
    int rc = 0;
    for (int64_t i; !rc && (i = dist_counter_add(next, 1)) < total;)
        if ((rc = grid_train(st, (int)i, total, threads, runs_dir, quiet)))
            dist_counter_add(next, total);
    dist_counter_close(next);
    return dist_agree(rc);
}

/* True when every run of configuration c is finished. */
static bool config_finished(const TransferStudy *st, int c, int threads, const char *runs_dir)
{
    bool done = true;
    for (int a = 0; a < st->n_count && done; a++)
        for (int r = 0; r < st->runs && done; r++) {
            char name[256];
            TrainConfig tc;
            char *run_dir = grid_run(st, (a * st->config_count + c) * st->runs + r, threads,
                                     runs_dir, name, sizeof name, &tc);
            done = run_finished(run_dir, tc.epochs);
            free(run_dir);
        }
    return done;
}

/* Every input of the grid before its first run trains: the target folder, and each
 * source loaded as its configurations load it (its plan's tensors, or all of them) into
 * the study's model, on a throwaway copy: a source of another architecture or a plan
 * naming a tensor the model lacks is found here, not after hours of training. A source
 * whose configurations have all finished is not needed (a study run in parts may no
 * longer have its checkpoint: README, "make study-real"). */
static int check_inputs(const TransferStudy *st, int threads, const char *runs_dir)
{
    if (!fs_is_dir(st->base.data.dir))
        return error_set("target %s: not a folder", st->base.data.dir);
    bool checked[TRANSFER_MAX_SOURCES][2] = {{false}};    /* [source][whole model] */
    for (int c = 0; c < st->config_count; c++) {
        const TransferConfig *k = &st->configs[c];
        const int whole = k->mode == MODE_ALL_FINETUNE;
        if (k->source < 0 || checked[k->source][whole]) continue;
        if (config_finished(st, c, threads, runs_dir)) continue;
        checked[k->source][whole] = true;
        const TransferSource *src = &st->sources[k->source];
        Model m;
        if (model_create(&m, &st->base.model)) return -1;
        char origin[512];
        int loaded = init_from_checkpoint(&m, src->checkpoint, NULL, whole ? NULL : src->plan,
                                          false, origin, sizeof origin);
        model_free(&m);
        if (loaded < 0) return error_prefix("source %s", src->name);
    }
    return 0;
}

/* Ranks started on another study file, study folder or thread count refuse to start. */
static uint64_t study_fingerprint(const char *config_path, const char *study_dir, int threads)
{
    uint64_t h = dist_hash(DIST_HASH_INIT, study_dir, strlen(study_dir) + 1);
    h = dist_hash(h, &threads, sizeof threads);
    FILE *f = fopen(config_path, "rb");
    if (!f) return h;                       /* study_parse has already read it */
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) h = dist_hash(h, buf, got);
    fclose(f);
    return h;
}

/* Every run's final per-class and mean Dice, k + 1 values per run in grid order. 0, or
 * -1 with the message set. */
static int read_grid_dice(const TransferStudy *st, int total, int threads, const char *runs_dir,
                          double *dice)
{
    const int k = st->base.model.classes;
    int rc = 0;
    for (int i = 0; !rc && i < total; i++) {
        char name[256];
        TrainConfig tc;
        char *run_dir = grid_run(st, i, threads, runs_dir, name, sizeof name, &tc);
        double *row = dice + (size_t)i * (k + 1);
        rc = read_final_dice(run_dir, k, row, row + k);
        free(run_dir);
    }
    return rc;
}

int transfer_run(const char *config_path, const char *study_dir, int threads, bool quiet)
{
    TransferStudy st;
    const bool writer = dist_rank() == 0;
    const int parsed = study_read(config_path, &st);
    if (dist_agree(parsed)) {
        if (parsed == 0) transfer_study_free(&st);
        return -1;
    }
    char *runs_dir = fs_join(study_dir, "transfer/runs");
    int rc = dist_same(study_fingerprint(config_path, study_dir, threads),
                       "study (file, folder or --threads)");
    if (!rc) rc = dist_agree(writer ? make_dirs(runs_dir) : 0);
    const int total = st.n_count * st.config_count * st.runs;
    if (!rc) rc = dist_agree(check_inputs(&st, threads, runs_dir));
    if (!rc) rc = grid_train_all(&st, total, threads, runs_dir, quiet);
    /* rank 0 reads every run's final Dice and writes the tables, once */
    if (writer && !rc) {
        double *dice = xcalloc((size_t)total * (st.base.model.classes + 1), sizeof(double));
        rc = read_grid_dice(&st, total, threads, runs_dir, dice);
        if (!rc) rc = transfer_write_tables(&st, dice, study_dir, quiet);
        free(dice);
    }
    free(runs_dir);
    transfer_study_free(&st);
    return dist_agree(rc);
}
