#include <string.h>

#include "datasets/dataset_lists.h"
#include "engine/error.h"
#include "train/data.h"

void data_options_defaults(DataOptions *o)
{
    memset(o, 0, sizeof *o);
    o->size = 128;
    o->train_count = o->val_count = -1;
    o->subset_seed = -1;
}

int run_data_load(const DataOptions *o, int which, RunData *d)
{
    memset(d, 0, sizeof *d);
    d->dataset = dataset_open(o->dir);
    if (!d->dataset) return -1;
    d->labelled = d->dataset->classmap.labelled;
    SplitOptions so;
    split_defaults(&so);
    so.seed = o->split_seed;
    so.train_count = o->train_count;
    so.val_count = o->val_count;
    if (o->list_split && (o->train_count >= 0 || o->val_count >= 0)) {
        error_set("the lists give the split: no training or validation counts with them");
        goto fail;
    }
    if (o->list_split ? dataset_list_split(d->dataset, o->list_split, &d->split)
                      : split_make(d->dataset->preset, d->dataset->patient_count, &so, &d->split))
        goto fail;
    const uint64_t draw = o->subset_seed >= 0 ? (uint64_t)o->subset_seed : o->split_seed;
    if (o->n_train > 0 && split_choose_train(&d->split, o->n_train, draw)) goto fail;
    PreprocessOptions pp;
    preprocess_defaults(&pp);
    pp.size = o->size;
    pp.spacing_mm = o->spacing_mm;
    if ((which & RUN_DATA_TRAIN) &&
        dataset_load(d->dataset, d->split.train, d->split.train_count, &pp, &d->train))
        goto fail;
    if ((which & RUN_DATA_VAL) &&
        dataset_load(d->dataset, d->split.val, d->split.val_count, &pp, &d->val))
        goto fail;
    return 0;
fail:
    error_prefix("%s", o->dir);
    run_data_free(d);
    return -1;
}

void run_data_free(RunData *d)
{
    sliceset_free(&d->train);
    sliceset_free(&d->val);
    if (d->dataset) {
        split_free(&d->split);
        dataset_close(d->dataset);
    }
    memset(d, 0, sizeof *d);
}
