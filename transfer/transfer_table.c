/* Table 1 from the runs' final Dice: runs.csv, table.csv and table.md (transfer.h).
 *
 * For each n and configuration, over its runs r = 1..R (seeds x subsets):
 *   mean, sd and the 95 % t-interval of the mean Dice (table_stats.h);
 *   d_r = Dice_r - Dice_r(random init), the paired difference to the random run with the
 *   same seed and training subset: its mean, 95 % t-interval and the two-sided Wilcoxon
 *   signed-rank p-value (docs/method.md, "Statistics").
 * A plan's rows (S freeze, S fine-tune) are also paired with S all fine-tune, plain
 * transfer learning, when the study has it: delta_all, its interval and p, the same way.
 * With one run there is no spread: the sd, interval and p cells are empty in the CSV and
 * "—" in the Markdown, never "± 0.00". table.md is table.csv as the report renders it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/atomic_file.h"
#include "engine/error.h"
#include "engine/fsutil.h"
#include "util/csv.h"
#include "report/report.h"
#include "util/table_stats.h"
#include "transfer/transfer.h"
#include "train/stats.h"

/* A number, or an empty cell when it is not finite. */
static void csv_cell(FILE *f, const char *fmt, double v)
{
    fputc(',', f);
    if (isfinite(v)) fprintf(f, fmt, v);
}

/* Value j (class j, or k for the mean) of run r of configuration c at n[a]. */
static double run_value(const TransferStudy *st, const double *dice, int a, int c, int r, int j)
{
    const int k = st->base.model.classes;
    return dice[((size_t)(a * st->config_count + c) * st->runs + r) * (k + 1) + j];
}

/* Column j (class j, or k for the mean Dice) of configuration c's runs at n[a]: x[r]. */
static void run_column(const TransferStudy *st, const double *dice, int a, int c, int j, double *x)
{
    for (int r = 0; r < st->runs; r++) x[r] = run_value(st, dice, a, c, r, j);
}

/* The statistics of one row of Table 1 (one n, one configuration) on its mean Dice. */
typedef struct RowStats {
    double lo, hi;                            /* 95 % interval of the mean Dice */
    double delta, delta_lo, delta_hi, p;      /* paired with random init; NaN on its row */
    double all, all_lo, all_hi, all_p;        /* paired with the source's all fine-tune */
} RowStats;

/* The configuration that loads every tensor of c's source, when c is one of its plan's
 * rows; -1 otherwise. */
static int all_finetune_of(const TransferStudy *st, int c)
{
    const TransferConfig *k = &st->configs[c];
    if (k->mode != MODE_FREEZE && k->mode != MODE_FINETUNE) return -1;
    for (int q = 0; q < st->config_count; q++)
        if (st->configs[q].mode == MODE_ALL_FINETUNE && st->configs[q].source == k->source) return q;
    return -1;
}

/* Mean of x[r] - value of configuration base on run r, its interval and p. */
static void paired(const TransferStudy *st, const double *dice, int a, int base, const double *x,
                   double *mean, double *lo, double *hi, double *p)
{
    const int k = st->base.model.classes, R = st->runs;
    double d[TRANSFER_MAX_RUNS];
    for (int r = 0; r < R; r++) d[r] = x[r] - run_value(st, dice, a, base, r, k);
    t_interval95(d, R, mean, lo, hi);
    *p = R >= 2 ? wilcoxon_signed_rank(d, R).p_value : NAN;
}

static void row_stats(const TransferStudy *st, const double *dice, int a, int c, RowStats *s)
{
    double x[TRANSFER_MAX_RUNS], m;
    run_column(st, dice, a, c, st->base.model.classes, x);
    t_interval95(x, st->runs, &m, &s->lo, &s->hi);
    s->delta = s->delta_lo = s->delta_hi = s->p = NAN;
    s->all = s->all_lo = s->all_hi = s->all_p = NAN;
    if (st->configs[c].mode != MODE_RANDOM)           /* configuration 0 is random init */
        paired(st, dice, a, 0, x, &s->delta, &s->delta_lo, &s->delta_hi, &s->p);
    const int all = all_finetune_of(st, c);
    if (all >= 0) paired(st, dice, a, all, x, &s->all, &s->all_lo, &s->all_hi, &s->all_p);
}

static void table1_csv_header(FILE *csv, int k)
{
    fprintf(csv, "n,configuration,runs");
    for (int j = 0; j < k; j++) fprintf(csv, ",class_%d,class_%d_sd", j, j);
    fprintf(csv, ",mean,mean_sd,mean_ci_lo,mean_ci_hi,delta_random,delta_ci_lo,delta_ci_hi,p_value,"
                 "delta_all,delta_all_ci_lo,delta_all_ci_hi,p_all\n");
}

static void table1_csv_row(FILE *csv, const TransferStudy *st, int a, int c, const double *dice)
{
    const int k = st->base.model.classes;
    char label[160];
    transfer_config_label(st, c, label, sizeof label);
    RowStats s;
    row_stats(st, dice, a, c, &s);
    fprintf(csv, "%d", st->n[a]);
    csv_put_text(csv, label, 0);                     /* quoted if a source's name needs it */
    fprintf(csv, ",%d", st->runs);
    for (int j = 0; j <= k; j++) {                   /* each class, then the mean */
        double x[TRANSFER_MAX_RUNS], m, sd;
        run_column(st, dice, a, c, j, x);
        stats_mean_sd(x, st->runs, &m, &sd);
        if (st->runs < 2) sd = NAN;                  /* one run: no spread */
        fprintf(csv, ",%.4f", m);
        csv_cell(csv, "%.4f", sd);
    }
    const double cells[10] = {s.lo, s.hi, s.delta, s.delta_lo, s.delta_hi, s.p,
                              s.all, s.all_lo, s.all_hi, s.all_p};
    for (int i = 0; i < 10; i++) csv_cell(csv, i == 5 || i == 9 ? "%.4g" : "%.4f", cells[i]);
    fprintf(csv, "\n");
}

/* runs.csv: every run's seed, subset draw, folder and final Dice (what the table and the
 * report's predictors resample). */
static void runs_csv(FILE *f, const TransferStudy *st, const double *dice)
{
    const int k = st->base.model.classes;
    fprintf(f, "n,configuration,seed,subset,run");
    for (int j = 0; j < k; j++) fprintf(f, ",dice_%d", j);
    fprintf(f, ",mean_dice\n");
    for (int a = 0; a < st->n_count; a++)
        for (int c = 0; c < st->config_count; c++)
            for (int r = 0; r < st->runs; r++) {
                char label[160], name[256];
                transfer_config_label(st, c, label, sizeof label);
                transfer_run_name(st, a, c, r, name, sizeof name);
                fprintf(f, "%d,%s,%d,", st->n[a], label, st->seeds[st->run_seed[r]]);
                if (st->run_subset[r] >= 0) fprintf(f, "%d", st->subsets[st->run_subset[r]]);
                fprintf(f, ",%s", name);
                for (int j = 0; j <= k; j++) fprintf(f, ",%.4f", run_value(st, dice, a, c, r, j));
                fputc('\n', f);
            }
}

/* table.csv, and table.md rendered from it as the report renders Table 1 (report.h), so
 * that the two show the same digits. 0, or -1 with the message set. */
static int table_files(const TransferStudy *st, const double *dice, const char *csv_path,
                       FILE *csv, FILE *md)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem) return error_set("%s: out of memory", csv_path);
    table1_csv_header(mem, st->base.model.classes);
    for (int a = 0; a < st->n_count; a++)
        for (int c = 0; c < st->config_count; c++) table1_csv_row(mem, st, a, c, dice);
    fclose(mem);
    fwrite(text, 1, len, csv);
    CsvTable t;
    const int rc = csv_parse(text, len, csv_path, &t);
    if (!rc) {
        report_table1(md, TABLE_MARKDOWN, &t);
        csv_free(&t);
    }
    free(text);
    return rc;
}

int transfer_write_tables(const TransferStudy *st, const double *dice, const char *study_dir,
                          bool quiet)
{
    static const char *const names[3] = {"transfer/runs.csv", "transfer/table.csv",
                                         "transfer/table.md"};
    char *paths[3];
    AtomicFile *files[3] = {NULL, NULL, NULL};
    int rc = 0;
    for (int i = 0; i < 3; i++) {
        paths[i] = fs_join(study_dir, names[i]);
        if (!rc && !(files[i] = atomic_open(paths[i]))) rc = -1;
    }
    if (!rc) {
        runs_csv(atomic_stream(files[0]), st, dice);
        rc = table_files(st, dice, paths[1], atomic_stream(files[1]), atomic_stream(files[2]));
    }
    for (int i = 0; i < 3; i++)
        if (files[i]) {
            if (!rc) rc = atomic_commit(files[i]);
            else atomic_abort(files[i]);
        }
    if (!rc && !quiet) fprintf(stderr, "Table 1: %s and %s (runs: %s)\n", paths[1], paths[2], paths[0]);
    for (int i = 0; i < 3; i++) free(paths[i]);
    return rc;
}
