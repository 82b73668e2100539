/* The transfer experiment (paper Table 1; docs/method.md, "The transfer experiment" and
 * "Statistics").
 *
 * For a target dataset, training subsets of n patients and repeated runs (seeds x subset
 * draws), train every configuration with identical settings:
 *   random init             nothing loaded (the baseline every difference is paired with);
 *   random frozen encoder   the encoder kept at its random initialisation (Karimi et al.
 *                           2021: what a frozen encoder gives by itself);
 *   S freeze                the plan's reusable tensors loaded from source S and kept fixed;
 *   S fine-tune             the same tensors loaded and trained with the rest;
 *   S all fine-tune         every tensor of S loaded and trained (plain transfer learning,
 *                           the baseline a plan must beat).
 * Run r of a configuration uses the same seed and training subset as run r of every other
 * configuration, so differences are paired. Each run is a normal training run in
 * STUDY_DIR/transfer/runs/NAME/ (transfer_run_name); finished runs are skipped and
 * interrupted ones resumed when the command is run again. Validation runs only after the
 * last epoch unless val_every asks (Table 1 reads the final epoch).
 *
 * Outputs, from the final epochs: transfer/runs.csv (one row per run), table.csv and
 * table.md (one row per n and configuration: mean, sd, 95 % t-interval, the paired
 * difference to random init with its interval and Wilcoxon signed-rank p; see
 * table_stats.h).
 *
 * study.cfg ("key: value" lines, '#' comments):
 *   target: DIR               target dataset (required)
 *   arch: pspnet|unet         width: F (unet)
 *   n: 10 50                  training patients per subset
 *   epochs: 30  or  30 12     one count, or one per n
 *   seeds: 3                  seeds 1..R, or a list "seeds: 4 7 9"
 *   subsets: 5                draws 1..K of the n patients (or a list, or "per-seed": run r
 *                             uses seed r and draw r); absent: one draw, made with split_seed
 *   configs: random, random frozen encoder, freeze, fine-tune, all fine-tune
 *                             (default: random, freeze, fine-tune)
 *   batch: 8   lr: 0.001   optimizer: adam   schedule: poly   size: 128   val_every: 0
 *   split_seed: 0
 *   source: NAME | CHECKPOINT | PLAN.json      one line per source model */
#ifndef REUSENET_TRANSFER_H
#define REUSENET_TRANSFER_H

#include <stdbool.h>

#include "datasets/cfgfile.h"
#include "train/trainer.h"

#define TRANSFER_MAX_SOURCES 16
#define TRANSFER_MAX_LIST 16
#define TRANSFER_MAX_RUNS 64              /* seeds x subsets */

typedef struct TransferSource {
    char name[64];
    char checkpoint[1024];
    char plan[1024];
} TransferSource;

/* How a configuration starts its weights. The first two use no source. */
typedef enum TransferMode {
    MODE_RANDOM, MODE_RANDOM_FROZEN_ENCODER, MODE_FREEZE, MODE_FINETUNE, MODE_ALL_FINETUNE,
    MODE_COUNT
} TransferMode;

/* One row of Table 1 per n: a mode, with its source for the modes that load one. */
typedef struct TransferConfig {
    TransferMode mode;
    int source;                           /* index into sources, -1 for the random modes */
} TransferConfig;

/* study.cfg, parsed. Run r (0..runs-1) of every configuration trains with seed
 * seeds[run_seed[r]] on training draw run_subset[r] (-1: the split_seed draw). */
typedef struct TransferStudy {
    TrainConfig base;                     /* base.data.dir is owned */
    int n[TRANSFER_MAX_LIST], n_count;
    int epochs[TRANSFER_MAX_LIST];        /* per n */
    int seeds[TRANSFER_MAX_LIST], seed_count;
    int subsets[TRANSFER_MAX_LIST], subset_count;   /* 0: no subsets line */
    int run_seed[TRANSFER_MAX_RUNS], run_subset[TRANSFER_MAX_RUNS], runs;
    TransferSource sources[TRANSFER_MAX_SOURCES];
    int source_count;
    TransferConfig configs[2 + 3 * TRANSFER_MAX_SOURCES];
    int config_count;
} TransferStudy;

/* Interpret a study.cfg read with cfgfile_read (path names it in messages). 0 (then
 * transfer_study_free(st)), or -1 with the error set and nothing to free. */
int transfer_study_parse(const CfgFile *cfg, const char *path, TransferStudy *st);
void transfer_study_free(TransferStudy *st);

/* "random init", "T1 freeze", "T1 all fine-tune": configuration c's row label. */
void transfer_config_label(const TransferStudy *st, int c, char *out, size_t len);
/* The folder name of run r of configuration c at n[a]: "n10-T1-freeze-s3", with "-d2"
 * when the study has a subsets line ("n10-random-s1-d2"). */
void transfer_run_name(const TransferStudy *st, int a, int c, int r, char *out, size_t len);

/* The final per-class and mean Dice of every run, k + 1 values per run, in grid order
 * (n, then configuration, then run): transfer/runs.csv, table.csv and table.md in
 * STUDY_DIR/transfer. 0, or -1 with the message set. */
int transfer_write_tables(const TransferStudy *st, const double *dice, const char *study_dir,
                          bool quiet);

int transfer_run(const char *config_path, const char *study_dir, int threads, bool quiet);

#endif
