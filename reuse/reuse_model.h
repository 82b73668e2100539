/* A checkpoint loaded for the reuse analyses (docs/method.md): the model, a short name for
 * tables and legends, and its starting point.
 *
 * The starting point is the checkpoint's "init" metadata ("seed 1" from `reusenet init`;
 * training copies it from the checkpoint it started from). Weight RMSE between two models
 * only means something when both started from the same place (issue "Shared
 * initialization"), so the analyses report it and warn when two models do not share one. */
#ifndef REUSENET_REUSE_MODEL_H
#define REUSENET_REUSE_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "models/model.h"

#define REUSE_NAME_MAX 64
#define REUSE_INIT_MAX 128

typedef struct ReuseModel {
    Model model;
    char *path;
    char name[REUSE_NAME_MAX];    /* the file name without directory and .safetensors */
    char init[REUSE_INIT_MAX];    /* "init" metadata, "" when the file does not record it */
} ReuseModel;

/* Load a checkpoint (configuration, tensors and its "init" metadata). name: NULL for the
 * file's stem. 0, or -1 with a message naming the file. */
int reuse_model_load(ReuseModel *rm, const char *path, const char *name);
void reuse_model_free(ReuseModel *rm);

/* 0 when both have the same architecture and configuration (the task may differ: the
 * paper compares segmentation and auto-encoder models); -1 with a message naming both. */
int reuse_models_compatible(const ReuseModel *a, const ReuseModel *b);
/* True when both record an initialisation and it is the same one. */
bool reuse_models_share_init(const ReuseModel *a, const ReuseModel *b);


#endif
