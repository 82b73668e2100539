/* Training runs: segmentation (softmax cross-entropy, optionally + soft Dice) or the
 * paper's auto-encoder (K outputs each reproducing the normalised input, MSE), with
 * checkpoints that let a killed run resume to exactly the weights an uninterrupted run
 * would have produced (same thread count).
 *
 * RUN_DIR holds:
 *   config.json              the run's full configuration
 *   log.csv                  one row per epoch: losses, per-class Dice, mean (or MSE, PSNR);
 *                            an epoch not validated (val_every) leaves the validation cells empty
 *   last.safetensors         the model after the last finished epoch (PyTorch-loadable)
 *   best.safetensors         the model with the best validation score so far
 *   resume.safetensors       model + optimizer state + progress, for --resume
 * Every file is written atomically. */
#ifndef REUSENET_TRAINER_H
#define REUSENET_TRAINER_H

#include <stdint.h>

#include "engine/optimizer.h"
#include "engine/safetensors.h"
#include "engine/schedule.h"
#include "models/model.h"
#include "train/data.h"

typedef struct TrainConfig {
    ModelConfig model;
    DataOptions data;
    int epochs, batch;
    double lr, momentum, weight_decay;
    OptimizerKind optimizer;
    ScheduleKind schedule;
    bool dice_loss;               /* seg: add soft Dice to the cross-entropy */
    bool augment;
    uint64_t seed;                /* weights, batch order, augmentation */
    int threads;
    const char *out_dir;
    const char *init_from;        /* checkpoint (or torchvision resnet18 state_dict) */
    const char *params_list;      /* comma-separated tensor names to load, or NULL = all */
    const char *plan;             /* plan.json: load its "tensors" */
    bool freeze;                  /* keep every loaded tensor fixed */
    bool freeze_encoder;          /* keep the encoder's learned tensors (ModelArchInfo.
                                     encoder_rows; BN running statistics still follow the
                                     data) at their initialisation: Karimi et al. 2021 */
    int val_every;                /* validate after every K-th epoch and the last (0, 1: all) */
    bool resume;
    bool quiet;                   /* no progress line */
    bool data_parallel;           /* spread each batch over the ranks of the MPI job
                                     (train/parallel.h); rank 0 writes RUN_DIR */
} TrainConfig;

void train_config_defaults(TrainConfig *c);
/* Run (or resume) a training run. 0; 1 when nothing was trainable (every learned tensor
 * loaded and frozen): the loaded model was evaluated once, as the last epoch, and its row
 * in log.csv has no training loss; or -1 with the message set. */
int train_run(const TrainConfig *c);

/* Load tensors from `path` into m as --init-from does: all tensors, a list, or a plan's;
 * torchvision ResNet-18 state_dicts map onto the PSPNet backbone (conv1 summed over its
 * RGB inputs). Loaded tensors are frozen when freeze. Writes a description of the origin
 * into `origin` (for the checkpoint metadata). Returns the number of tensors loaded, or -1. */
int init_from_checkpoint(Model *m, const char *path, const char *params_list,
                         const char *plan, bool freeze, char *origin, size_t origin_len);
/* The same from a file already read (st->path names it). */
int init_from_tensors(Model *m, SafeTensors *st, const char *params_list, const char *plan,
                      bool freeze, char *origin, size_t origin_len);

#endif
