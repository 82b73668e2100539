/* Patient-level training/validation splits (a patient's slices never straddle the two).
 *
 * Defaults follow the paper (docs/method.md, "Data splits"), per preset, for P patients
 * in natural order:
 *   acdc, custom  random: floor(P/2) training, the rest validation (100 -> 50/50), seeded;
 *   t1            ordered: first 60 training, last 30 validation when P >= 90 (the paper's
 *                 210-patient set uses the same numbers), else first round(2P/3), rest;
 *   rvsc          ordered: first 16 training, last 16 validation when P >= 32 (give it
 *                 TrainingSet + Test1Set only, as the paper did), else first floor(P/2), rest.
 * Options override the counts and the order. "Ordered" means training = the first
 * train_count patients, validation = the last val_count; "random" shuffles the patients
 * with the seed first, then takes train_count and the next val_count. Both lists are
 * returned sorted. */
#ifndef REUSENET_SPLIT_H
#define REUSENET_SPLIT_H

#include <stdint.h>

typedef struct SplitOptions {
    int train_count;     /* -1: the preset's default */
    int val_count;       /* -1: the preset's default (with train_count given: the rest) */
    int random;          /* -1: the preset's default, 0: ordered, 1: random */
    uint64_t seed;       /* for a random split */
} SplitOptions;

typedef struct Split {
    int train_count, val_count;
    int *train, *val;    /* patient indices, ascending */
} Split;

void split_defaults(SplitOptions *o);
/* Make the split of patient_count patients for preset. -1 (message set) when the counts do
 * not fit or the preset is unknown. */
int split_make(const char *preset, int patient_count, const SplitOptions *o, Split *s);
/* Keep n of the training patients, drawn with seed (paper Table 1: n = 10 and 50);
 * n = train_count keeps all. -1 (message set) for n < 1 or n > train_count. */
int split_choose_train(Split *s, int n, uint64_t seed);
void split_free(Split *s);

#endif
