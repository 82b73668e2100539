#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/split.h"
#include "engine/error.h"
#include "engine/rng.h"

/* RNG streams, so the split and the choice of n patients never share random numbers. */
enum { STREAM_SPLIT = 0x5b117, STREAM_CHOOSE = 0xc4005e };

void split_defaults(SplitOptions *o)
{
    o->train_count = -1;
    o->val_count = -1;
    o->random = -1;
    o->seed = 0;
}

static int compare_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* The paper's split scaled to P patients (see split.h). */
static int preset_defaults(const char *preset, int P, int *train, int *val, int *shuffled)
{
    if (!strcmp(preset, "acdc") || !strcmp(preset, "custom")) {
        *train = P / 2;
        *shuffled = 1;
    } else if (!strcmp(preset, "t1")) {
        *train = P >= 90 ? 60 : (int)lround(2.0 * P / 3.0);
        *shuffled = 0;
    } else if (!strcmp(preset, "rvsc")) {
        *train = P >= 32 ? 16 : P / 2;
        *shuffled = 0;
    } else {
        return error_set("unknown preset '%s' (acdc, t1, rvsc or custom)", preset);
    }
    *val = !strcmp(preset, "t1") && P >= 90 ? 30 : !strcmp(preset, "rvsc") && P >= 32 ? 16 : P - *train;
    return 0;
}

int split_make(const char *preset, int P, const SplitOptions *o, Split *s)
{
    memset(s, 0, sizeof *s);
    int train = 0, val = 0, shuffled = 0;
    if (preset_defaults(preset, P, &train, &val, &shuffled) < 0) return -1;
    if (o->train_count >= 0) {
        train = o->train_count;
        val = P - train;
    }
    if (o->val_count >= 0) val = o->val_count;
    if (o->random >= 0) shuffled = o->random;
    if (train < 1 || val < 1 || train + val > P)
        return error_set("cannot split %d patients into %d training and %d validation patients",
                         P, train, val);
    int *order = xmalloc((size_t)P * sizeof *order);
    for (int i = 0; i < P; i++) order[i] = i;
    s->train = xmalloc((size_t)train * sizeof *s->train);
    s->val = xmalloc((size_t)val * sizeof *s->val);
    if (shuffled) {
        Rng r;
        rng_seed(&r, o->seed, STREAM_SPLIT);
        rng_shuffle(&r, order, P);
        memcpy(s->train, order, (size_t)train * sizeof *order);
        memcpy(s->val, order + train, (size_t)val * sizeof *order);
    } else {
        memcpy(s->train, order, (size_t)train * sizeof *order);
        memcpy(s->val, order + P - val, (size_t)val * sizeof *order);
    }
    free(order);
    s->train_count = train;
    s->val_count = val;
    qsort(s->train, (size_t)train, sizeof *s->train, compare_int);
    qsort(s->val, (size_t)val, sizeof *s->val, compare_int);
    return 0;
}

int split_choose_train(Split *s, int n, uint64_t seed)
{
    if (n < 1) return error_set("number of training patients must be at least 1 (got %d)", n);
    if (n > s->train_count)
        return error_set("asked for %d training patients, but the split has only %d", n,
                         s->train_count);
    Rng r;
    rng_seed(&r, seed, STREAM_CHOOSE);
    rng_shuffle(&r, s->train, s->train_count);
    s->train_count = n;
    qsort(s->train, (size_t)n, sizeof *s->train, compare_int);
    return 0;
}

void split_free(Split *s)
{
    free(s->train);
    free(s->val);
    memset(s, 0, sizeof *s);
}
