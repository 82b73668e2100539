/* The transfer experiment (paper Table 1; spec/reuse.md section 5).
 *
 * For a target dataset, training subsets of n patients (the same subset for every
 * configuration, drawn with split_seed) and R seeds, train with identical settings:
 *   random      nothing loaded;
 *   S freeze    the plan's reusable tensors loaded from source S and kept fixed;
 *   S finetune  the same tensors loaded and trained with the rest.
 * Each run is STUDY_DIR/transfer/runs/n<N>-<config>-s<seed>/ (a normal training run);
 * finished runs are skipped and interrupted ones resumed when the command is run again.
 * The per-class and mean Dice of each run's final epoch on the fixed validation set,
 * mean ± sd over seeds, go to STUDY_DIR/transfer/table.csv and table.md.
 *
 * study.cfg ("key: value" lines, '#' comments):
 *   target: DIR               target dataset (required)
 *   arch: pspnet|unet         width: F (unet)
 *   n: 10 50                  training patients per subset
 *   seeds: 3                  R seeds (1..R), or a list "seeds: 4 7 9"
 *   epochs: 30   batch: 8   lr: 0.001   optimizer: adam   schedule: poly   size: 128
 *   split_seed: 0
 *   source: NAME | CHECKPOINT | PLAN.json      one line per source model */
#ifndef REUSENET_TRANSFER_H
#define REUSENET_TRANSFER_H

#include <stdbool.h>

#include "datasets/cfgfile.h"
#include "train/trainer.h"

#define TRANSFER_MAX_SOURCES 16
#define TRANSFER_MAX_LIST 16

typedef struct TransferSource {
    char name[64];
    char checkpoint[1024];
    char plan[1024];
} TransferSource;

/* study.cfg, parsed: the training settings shared by every run, the subset sizes, the
 * seeds and the source models. */
typedef struct TransferStudy {
    TrainConfig base;                          /* base.data.dir is owned */
    int n[TRANSFER_MAX_LIST], n_count;
    int seeds[TRANSFER_MAX_LIST], seed_count;
    TransferSource sources[TRANSFER_MAX_SOURCES];
    int source_count;
} TransferStudy;

/* Interpret a study.cfg read with cfgfile_read (path names it in messages). 0 (then
 * transfer_study_free(st)), or -1 with the error set and nothing to free. */
int transfer_study_parse(const CfgFile *cfg, const char *path, TransferStudy *st);
void transfer_study_free(TransferStudy *st);

int transfer_run(const char *config_path, const char *study_dir, int threads, bool quiet);

#endif
