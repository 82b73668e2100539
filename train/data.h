/* From a dataset folder to the preprocessed training and validation slices a run uses:
 * open (layout detected), split by patient (the preset's paper split unless overridden, or
 * the dataset's own lists), optionally keep n training patients drawn with a seed, load
 * and preprocess to S x S. */
#ifndef REUSENET_TRAIN_DATA_H
#define REUSENET_TRAIN_DATA_H

#include <stdint.h>

#include "datasets/dataset.h"
#include "datasets/split.h"

typedef struct DataOptions {
    const char *dir;
    int size;                 /* S (default 128) */
    float spacing_mm;         /* 0: keep the native spacing */
    int n_train;              /* 0: every training patient of the split */
    uint64_t split_seed;      /* random splits and the choice of n_train patients */
    int64_t subset_seed;      /* >= 0: the choice of n_train patients instead (a new draw
                                 of the training subset, same validation patients) */
    int train_count, val_count;   /* -1: the preset's default split */
    const char *list_split;   /* "val" or "test": training patients from DIR/train.list,
                                 validation from DIR/val.list or test.list
                                 (datasets/dataset_lists.h); NULL: the preset's split */
} DataOptions;

typedef struct RunData {
    Dataset *dataset;
    Split split;
    SliceSet train, val;
    unsigned labelled;        /* classes the dataset labels (bit c for class c); their
                                 names: dataset->classmap */
} RunData;

void data_options_defaults(DataOptions *o);
/* 0, or -1 with a message naming the folder or file. which: bit 0 load train, bit 1 val. */
int run_data_load(const DataOptions *o, int which, RunData *d);
void run_data_free(RunData *d);

#define RUN_DATA_TRAIN 1
#define RUN_DATA_VAL 2

#endif
