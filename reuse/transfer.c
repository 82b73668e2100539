#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "datasets/cfgfile.h"
#include "engine/atomic_file.h"
#include "engine/error.h"
#include "engine/fsutil.h"
#include "engine/safetensors.h"
#include "reuse/csv.h"
#include "reuse/transfer.h"
#include "train/trainer.h"

/* "10 50" -> {10, 50} */
static int parse_ints(const char *path, const char *key, const char *text, int *out, int max)
{
    int count = 0;
    char *copy = strdup(text), *save = NULL;
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
    else st->base.data.dir = strdup(v);
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
    char path[4096];
    snprintf(path, sizeof path, "%s/resume.safetensors", dir);
    SafeTensors st;
    if (safetensors_read(path, &st)) return false;
    const char *e = safetensors_meta(&st, "epoch");
    bool done = e && atoi(e) >= epochs;
    safetensors_free(&st);
    return done;
}

/* Per-class and mean Dice of the last row of RUN/log.csv (the final epoch): columns
 * dice_0..dice_{K-1} and mean_dice (train/trainer.c writes them). */
static int read_final_dice(const char *dir, int classes, double *dice, double *mean)
{
    char path[4096], name[32];
    snprintf(path, sizeof path, "%s/log.csv", dir);
    CsvTable t;
    if (csv_read(path, &t)) return -1;
    int rc = t.n_rows ? 0 : error_set("%s: no finished epoch", path);
    for (int c = 0; c <= classes && !rc; c++) {
        if (c < classes) snprintf(name, sizeof name, "dice_%d", c);
        else snprintf(name, sizeof name, "mean_dice");
        int col = csv_column(&t, name);
        if (col < 0) rc = error_set("%s: no '%s' column", path, name);
        else *(c < classes ? &dice[c] : mean) = csv_number(&t, t.n_rows - 1, col);
    }
    csv_free(&t);
    return rc;
}

static void mean_sd(const double *x, int n, double *m, double *sd)
{
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++) s += x[i];
    *m = s / n;
    for (int i = 0; i < n; i++) ss += (x[i] - *m) * (x[i] - *m);
    *sd = n > 1 ? sqrt(ss / (n - 1)) : 0;
}

int transfer_run(const char *config_path, const char *study_dir, int threads, bool quiet)
{
    TransferStudy st;
    if (study_read(config_path, &st)) return -1;
    const int k = st.base.model.classes;
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/transfer/runs", study_dir);
    if (make_dirs(dir)) {
        transfer_study_free(&st);
        return -1;
    }
    /* configurations: random, then freeze / fine-tune per source */
    const int n_configs = 1 + 2 * st.source_count;
    const int total = st.n_count * n_configs * st.seed_count;
    double *dice = calloc((size_t)total * (k + 1), sizeof(double));
    int done = 0, rc = 0;
    for (int a = 0; a < st.n_count && !rc; a++)
        for (int c = 0; c < n_configs && !rc; c++)
            for (int r = 0; r < st.seed_count && !rc; r++) {
                TrainConfig tc = st.base;
                tc.threads = threads;
                tc.data.n_train = st.n[a];
                tc.seed = (uint64_t)st.seeds[r];
                char name[256], run_dir[2400];
                if (c == 0) {
                    snprintf(name, sizeof name, "n%d-random-s%d", st.n[a], st.seeds[r]);
                } else {
                    const TransferSource *s = &st.sources[(c - 1) / 2];
                    bool freeze = (c - 1) % 2 == 0;
                    snprintf(name, sizeof name, "n%d-%s-%s-s%d", st.n[a], s->name,
                             freeze ? "freeze" : "finetune", st.seeds[r]);
                    for (char *q = name; *q; q++)
                        if (*q == ' ' || *q == '/') *q = '_';
                    tc.init_from = s->checkpoint;
                    tc.plan = s->plan;
                    tc.freeze = freeze;
                }
                snprintf(run_dir, sizeof run_dir, "%s/%s", dir, name);
                tc.out_dir = run_dir;
                done++;
                if (!run_finished(run_dir, tc.epochs)) {
                    struct stat sb;
                    char resume[2500];
                    snprintf(resume, sizeof resume, "%s/resume.safetensors", run_dir);
                    tc.resume = stat(resume, &sb) == 0;
                    if (!quiet)
                        fprintf(stderr, "[%d/%d] %s%s\n", done, total, name, tc.resume ? " (resuming)" : "");
                    rc = train_run(&tc);
                    if (rc) error_prefix("%s", name);
                } else if (!quiet) {
                    fprintf(stderr, "[%d/%d] %s: finished, skipped\n", done, total, name);
                }
                double *row = dice + (size_t)(done - 1) * (k + 1);
                if (!rc) rc = read_final_dice(run_dir, k, row, row + k);
            }
    if (!rc) {
        /* table.csv and table.md: one row per (n, configuration), mean ± sd over seeds */
        char csv_path[2100], md_path[2100];
        snprintf(csv_path, sizeof csv_path, "%s/transfer/table.csv", study_dir);
        snprintf(md_path, sizeof md_path, "%s/transfer/table.md", study_dir);
        AtomicFile *fc = atomic_open(csv_path), *fm = fc ? atomic_open(md_path) : NULL;
        if (!fc || !fm) {
            if (fc) atomic_abort(fc);
            rc = -1;
        } else {
            FILE *c_out = atomic_stream(fc), *m_out = atomic_stream(fm);
            fprintf(c_out, "n,configuration,seeds");
            fprintf(m_out, "| n | configuration |");
            for (int j = 0; j < k; j++) {
                fprintf(c_out, ",class_%d,class_%d_sd", j, j);
                fprintf(m_out, " class-%d |", j);
            }
            fprintf(c_out, ",mean,mean_sd\n");
            fprintf(m_out, " mean |\n|---|---|");
            for (int j = 0; j <= k; j++) fprintf(m_out, "---|");
            fprintf(m_out, "\n");
            for (int a = 0; a < st.n_count; a++)
                for (int c = 0; c < n_configs; c++) {
                    char label[160];
                    if (c == 0) snprintf(label, sizeof label, "random init");
                    else snprintf(label, sizeof label, "%s %s", st.sources[(c - 1) / 2].name,
                                  (c - 1) % 2 == 0 ? "freeze" : "fine-tune");
                    fprintf(c_out, "%d,%s,%d", st.n[a], label, st.seed_count);
                    fprintf(m_out, "| %d | %s |", st.n[a], label);
                    for (int j = 0; j <= k; j++) {
                        double x[TRANSFER_MAX_LIST], m, sd;
                        for (int r = 0; r < st.seed_count; r++)
                            x[r] = dice[((size_t)(a * n_configs + c) * st.seed_count + r) * (k + 1) + j];
                        mean_sd(x, st.seed_count, &m, &sd);
                        fprintf(c_out, ",%.4f,%.4f", m, sd);
                        fprintf(m_out, " %.2f ± %.2f |", m, sd);
                    }
                    fprintf(c_out, "\n");
                    fprintf(m_out, "\n");
                }
            rc = atomic_commit(fc);
            if (rc) atomic_abort(fm);
            else rc = atomic_commit(fm);
            if (!rc && !quiet) fprintf(stderr, "Table 1: %s and %s\n", csv_path, md_path);
        }
    }
    free(dice);
    transfer_study_free(&st);
    return rc;
}
