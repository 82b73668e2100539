/* The data options of the commands that read a split of a dataset (train, eval, swap, cka,
 * transferability), declared once, so that each takes them alike and a model is evaluated
 * on the patients of the split it was trained with:
 *
 *   DATA_OPTION_ROWS   --data DIR --split-seed S --train-count N --val-count N
 *                      --list-split val|test --size S, into a DataOptions (train/data.h)
 *   DATA_SPLIT_ROW     --split val|train (|all), parsed by data_split_parse
 *
 * The rows go into a command's Option table (cli/options.h). */
#ifndef REUSENET_CLI_DATA_ARGS_H
#define REUSENET_CLI_DATA_ARGS_H

#include <stdbool.h>

#include "cli/options.h"
#include "train/data.h"

/* d: a DataOptions; data_required: whether --data must be given; size_help: the --size
 * line (its default differs: 128, or the checkpoint's training size for eval). */
#define DATA_OPTION_ROWS(d, data_required, size_help)                                        \
    {"--data", OPT_STRING, &(d).dir, "DIR  dataset (ACDC layout, PNG folders or SSL4MIS HDF5)",              \
     data_required},                                                                           \
    {"--split-seed", OPT_U64, &(d).split_seed, "S  seed of a random split (default 0)", false}, \
    {"--train-count", OPT_INT, &(d).train_count, "N  training patients of the split "        \
     "(default: the preset's)", false},                                                        \
    {"--val-count", OPT_INT, &(d).val_count, "N  validation patients (default: the preset's)", \
     false},                                                                                   \
    {"--list-split", OPT_STRING, &(d).list_split, "val|test  the dataset's own split: training " \
     "patients from DIR/train.list, validation from DIR/val.list or test.list", false},          \
    {"--size", OPT_INT, &(d).size, size_help, false}

#define DATA_SIZE_HELP "S  crop/pad slices to SxS (default 128)"

/* split: a const char * ("val" by default); with_all: whether "all" is accepted. */
#define DATA_SPLIT_ROW(split, with_all)                                                      \
    {"--split", OPT_STRING, &(split), (with_all) ? "val|train|all  which patients (default val)" \
                                                 : "val|train  which patients (default val)",  \
     false}

/* --split as RUN_DATA_* bits (train/data.h; "all": both, where allowed), or 0 after printing
 * "reusenet COMMAND: --split must be val or train, got 'x'" (or "val, train or all"). */
int data_split_parse(const char *split, bool allow_all, const char *command);

#endif
