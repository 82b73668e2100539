#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "datasets/cfgfile.h"
#include "engine/atomic_file.h"
#include "engine/dist.h"
#include "engine/error.h"
#include "engine/fsutil.h"
#include "engine/safetensors.h"
#include "reuse/csv.h"
#include "reuse/transfer.h"
#include "train/stats.h"
#include "train/trainer.h"


/* "10 50" -> {10, 50} */
static int parse_ints(const char *path, const char *key, const char *text, int *out, int max)
{
    int count = 0;
    char *copy = xstrdup(text), *save = NULL;
    for (char *tok = strtok_r(copy, " ,", &save); tok; tok = strtok_r(NULL, " ,", &save)) {
        char *end;
        long v = strtol(tok, &end, 10);
        if (*end || v < 0 || v > 1000000 || count == max) {
            free(copy);
            return error_set("%s: %s: '%s' is not a list of at most %d numbers", path, key, text, max);
        }
        out[count++] = (int)v;
    }
    free(copy);
    if (!count) return error_set("%s: %s is empty", path, key);
    return count;
}

static int parse_source(const char *path, const char *text, TransferSource *s)
{
    char buf[3000];
    snprintf(buf, sizeof buf, "%s", text);
    char *parts[3] = {buf, NULL, NULL};
    for (int i = 1; i < 3; i++) {
        char *bar = parts[i - 1] ? strchr(parts[i - 1], '|') : NULL;
        if (!bar) return error_set("%s: source '%s' must be 'NAME | CHECKPOINT | PLAN.json'", path, text);
        *bar = '\0';
        parts[i] = bar + 1;
    }
    char *fields[3];
    for (int i = 0; i < 3; i++) {
        char *p = parts[i], *e = p + strlen(p);
        while (*p == ' ' || *p == '\t') p++;
        while (e > p && (e[-1] == ' ' || e[-1] == '\t')) *--e = '\0';
        fields[i] = p;
        if (!*p) return error_set("%s: source '%s' has an empty field", path, text);
    }
    snprintf(s->name, sizeof s->name, "%s", fields[0]);
    snprintf(s->checkpoint, sizeof s->checkpoint, "%s", fields[1]);
    snprintf(s->plan, sizeof s->plan, "%s", fields[2]);
    return 0;
}

int transfer_study_parse(const CfgFile *cfg, const char *path, TransferStudy *st)
{
    memset(st, 0, sizeof *st);
    train_config_defaults(&st->base);
    st->base.epochs = 30;
    st->base.quiet = true;
    int rc = 0;
    const char *v;
    if (!(v = cfgfile_get(cfg, "target"))) rc = error_set("%s: no 'target: DIR'", path);
    else st->base.data.dir = xstrdup(v);
    if (!rc && (v = cfgfile_get(cfg, "arch")) && model_arch_parse(v, &st->base.model.arch))
        rc = error_prefix("%s", path);
    struct { const char *key; int *dest; } ints[] = {
        {"width", &st->base.model.width}, {"epochs", &st->base.epochs},
        {"batch", &st->base.batch}, {"size", &st->base.data.size}};
    for (int i = 0; !rc && i < 4; i++)
        if ((v = cfgfile_get(cfg, ints[i].key)) && parse_ints(path, ints[i].key, v, ints[i].dest, 1) < 0)
            rc = -1;
    if (!rc && (v = cfgfile_get(cfg, "lr"))) st->base.lr = strtod(v, NULL);
    if (!rc && (v = cfgfile_get(cfg, "split_seed"))) st->base.data.split_seed = strtoull(v, NULL, 10);
    if (!rc && (v = cfgfile_get(cfg, "optimizer"))) {
        if (!strcmp(v, "sgd")) st->base.optimizer = OPTIMIZER_SGD;
        else if (strcmp(v, "adam")) rc = error_set("%s: optimizer must be adam or sgd", path);
    }
    if (!rc && (v = cfgfile_get(cfg, "schedule")) && schedule_parse(v, &st->base.schedule))
        rc = error_prefix("%s", path);
    if (!rc) {
        v = cfgfile_get(cfg, "n");
        st->n_count = parse_ints(path, "n", v ? v : "10 50", st->n, TRANSFER_MAX_LIST);
        if (st->n_count < 0) rc = -1;
    }
    if (!rc) {
        v = cfgfile_get(cfg, "seeds");
        int list[TRANSFER_MAX_LIST];
        int count = parse_ints(path, "seeds", v ? v : "1", list, TRANSFER_MAX_LIST);
        if (count < 0) rc = -1;
        else if (count == 1) {            /* "seeds: R" means seeds 1..R */
            st->seed_count = list[0] < TRANSFER_MAX_LIST ? list[0] : TRANSFER_MAX_LIST;
            for (int i = 0; i < st->seed_count; i++) st->seeds[i] = i + 1;
        } else {
            st->seed_count = count;
            memcpy(st->seeds, list, sizeof(int) * (size_t)count);
        }
        if (!rc && st->seed_count < 1) rc = error_set("%s: seeds must be at least 1", path);
    }
    for (int i = 0; !rc && i < cfg->count; i++) {
        if (strcmp(cfg->keys[i], "source")) continue;
        if (st->source_count == TRANSFER_MAX_SOURCES)
            rc = error_set("%s: more than %d sources", path, TRANSFER_MAX_SOURCES);
        else rc = parse_source(path, cfg->values[i], &st->sources[st->source_count++]);
    }
    if (rc) transfer_study_free(st);
    return rc;
}

void transfer_study_free(TransferStudy *st)
{
    free((char *)st->base.data.dir);
    memset(st, 0, sizeof *st);
}

static int study_read(const char *path, TransferStudy *st)
{
    CfgFile cfg;
    if (cfgfile_read(path, &cfg)) return -1;
    int rc = transfer_study_parse(&cfg, path, st);
    cfgfile_free(&cfg);
    return rc;
}

/* A run is finished when its resume point has reached the last epoch. */
static bool run_finished(const char *dir, int epochs)
{
    char *path = fs_join(dir, "resume.safetensors");
    SafeTensors st;
    bool done = false;
    if (safetensors_read(path, &st) == 0) {
        const char *e = safetensors_meta(&st, "epoch");
        done = e && atoi(e) >= epochs;
        safetensors_free(&st);
    }
    free(path);
    return done;
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

/* Run i of the grid (n-major, then configuration, then seed): its name and settings.
 * Returns its folder, RUNS_DIR/NAME, which tc->out_dir points to; the caller frees it. */
static char *grid_run(const TransferStudy *st, int i, int threads, const char *runs_dir, char *name,
                      size_t name_len, TrainConfig *tc)
{
    const int n_configs = 1 + 2 * st->source_count;
    const int r = i % st->seed_count, c = i / st->seed_count % n_configs;
    const int a = i / st->seed_count / n_configs;
    *tc = st->base;
    tc->threads = threads;
    tc->data.n_train = st->n[a];
    tc->seed = (uint64_t)st->seeds[r];
    if (c == 0) {
        snprintf(name, name_len, "n%d-random-s%d", st->n[a], st->seeds[r]);
    } else {
        const TransferSource *s = &st->sources[(c - 1) / 2];
        bool freeze = (c - 1) % 2 == 0;
        snprintf(name, name_len, "n%d-%s-%s-s%d", st->n[a], s->name,
                 freeze ? "freeze" : "finetune", st->seeds[r]);
        for (char *q = name; *q; q++)
            if (*q == ' ' || *q == '/') *q = '_';
        tc->init_from = s->checkpoint;
        tc->plan = s->plan;
        tc->freeze = freeze;
    }
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
        rc = train_run(&tc) ? error_prefix("%s", name) : 0;
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

/* The tables' header lines: n, configuration, then per class and the mean. */
static void table_header(FILE *csv, FILE *md, int k)
{
    fprintf(csv, "n,configuration,seeds");
    fprintf(md, "| n | configuration |");
    for (int j = 0; j < k; j++) {
        fprintf(csv, ",class_%d,class_%d_sd", j, j);
        fprintf(md, " class-%d |", j);
    }
    fprintf(csv, ",mean,mean_sd\n");
    fprintf(md, " mean |\n|---|---|");
    for (int j = 0; j <= k; j++) fprintf(md, "---|");
    fprintf(md, "\n");
}

/* The row of subset size n[a] and configuration c (random, then freeze / fine-tune per
 * source): each class's and the mean's Dice, mean and sd over the seeds. */
static void table_row(FILE *csv, FILE *md, const TransferStudy *st, int a, int c, const double *dice)
{
    const int k = st->base.model.classes, n_configs = 1 + 2 * st->source_count;
    char label[160];
    if (c == 0) snprintf(label, sizeof label, "random init");
    else snprintf(label, sizeof label, "%s %s", st->sources[(c - 1) / 2].name,
                  (c - 1) % 2 == 0 ? "freeze" : "fine-tune");
    fprintf(csv, "%d,%s,%d", st->n[a], label, st->seed_count);
    fprintf(md, "| %d | %s |", st->n[a], label);
    for (int j = 0; j <= k; j++) {
        double x[TRANSFER_MAX_LIST], m, sd;
        for (int r = 0; r < st->seed_count; r++)
            x[r] = dice[((size_t)(a * n_configs + c) * st->seed_count + r) * (k + 1) + j];
        stats_mean_sd(x, st->seed_count, &m, &sd);
        fprintf(csv, ",%.4f,%.4f", m, sd);
        fprintf(md, " %.2f ± %.2f |", m, sd);
    }
    fprintf(csv, "\n");
    fprintf(md, "\n");
}

/* STUDY_DIR/transfer/table.csv and table.md (Table 1): one row per (n, configuration),
 * mean ± sd over seeds. 0, or -1 with the message set. */
static int write_tables(const TransferStudy *st, const double *dice, const char *study_dir, bool quiet)
{
    char *csv_path = fs_join(study_dir, "transfer/table.csv");
    char *md_path = fs_join(study_dir, "transfer/table.md");
    AtomicFile *fc = atomic_open(csv_path), *fm = fc ? atomic_open(md_path) : NULL;
    int rc = -1;
    if (!fm) {
        if (fc) atomic_abort(fc);
    } else {
        FILE *c_out = atomic_stream(fc), *m_out = atomic_stream(fm);
        table_header(c_out, m_out, st->base.model.classes);
        for (int a = 0; a < st->n_count; a++)
            for (int c = 0; c < 1 + 2 * st->source_count; c++)
                table_row(c_out, m_out, st, a, c, dice);
        rc = atomic_commit(fc);
        if (rc) atomic_abort(fm);
        else rc = atomic_commit(fm);
        if (!rc && !quiet) fprintf(stderr, "Table 1: %s and %s\n", csv_path, md_path);
    }
    free(csv_path);
    free(md_path);
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
    /* configurations: random, then freeze / fine-tune per source */
    const int total = st.n_count * (1 + 2 * st.source_count) * st.seed_count;
    if (!rc) rc = grid_train_all(&st, total, threads, runs_dir, quiet);
    /* rank 0 reads every run's final Dice and writes the tables, once */
    if (writer && !rc) {
        double *dice = xcalloc((size_t)total * (st.base.model.classes + 1), sizeof(double));
        rc = read_grid_dice(&st, total, threads, runs_dir, dice);
        if (!rc) rc = write_tables(&st, dice, study_dir, quiet);
        free(dice);
    }
    free(runs_dir);
    transfer_study_free(&st);
    return dist_agree(rc);
}
