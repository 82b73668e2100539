/* A dataset's own split lists, as the SSL4MIS family of repositories keeps them beside the
 * data: DIR/train.list, DIR/val.list, DIR/test.list (the Left Atrium set: train.list and
 * test.list), one name per line: a case ("patient001_frame01") or a patient ("06SR5RB...").
 * A split is by patient: a patient named on a list (by any of its frames) is on that side
 * with all its frames, and a patient named on both sides is an error. Blank lines and lines
 * starting with '#' are skipped. */
#ifndef REUSENET_DATASET_LISTS_H
#define REUSENET_DATASET_LISTS_H

#include <stdbool.h>

#include "datasets/dataset.h"
#include "datasets/split.h"

/* Whether DIR/<name>.list exists ("train", "val", "test"). */
bool dataset_has_list(const Dataset *d, const char *name);
/* The patients DIR/<name>.list names, ascending and once each, into *patients (malloc'd)
 * and their count; *lines the names it holds. 0, or -1 with a message naming the file
 * and line (a name that is neither a case nor a patient of the dataset, an unreadable or
 * empty list). */
int dataset_read_list(const Dataset *d, const char *name, int **patients, int *count, int *lines);
/* The split the lists give: training = train.list, validation = <val>.list (val or test).
 * 0, or -1 with the message set. */
int dataset_list_split(const Dataset *d, const char *val, Split *s);

#endif
