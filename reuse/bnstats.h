/* BN scale and shift statistics between a target T and a source S (docs/method.md, "BN
 * scale and shift statistics"; paper Figures 5 and 9). For BN layer k with m channels,
 * target running mean mu, running variance var, weight w, bias b, and the source's mu',
 * var', w', b':
 *
 *   MRM = (1/m) sum_j w_j |mu_j - mu'_j| / sqrt(var_j + eps)
 *   MRV = (1/m) sum_j sqrt(var_j + eps) / sqrt(var'_j + eps)
 *   MRW = (1/m') sum_j w'_j / w_j     over the m' channels with w_j != 0
 *   MRB = (1/m) sum_j |b_j - b'_j|
 *
 * eps = BATCHNORM_EPS (engine/batchnorm.h: BatchNorm2d's 1e-5, the one the engine
 * normalises with). Channels with w_j = 0 are skipped in MRW and counted; the
 * mean is over the channels used, so T against itself gives MRW = 1 exactly (NAN when
 * every channel is skipped). T against itself: MRM = MRB = 0, MRV = MRW = 1. */
#ifndef REUSENET_BNSTATS_H
#define REUSENET_BNSTATS_H

#include <stdio.h>

#include "models/model.h"

typedef struct BnStatsRow {
    int layer;                       /* 1..L */
    char bn[LAYER_NAME_MAX];
    int channels;
    double mrm, mrv, mrw, mrb;
    int skipped;                     /* channels with w_j = 0, left out of MRW */
} BnStatsRow;

/* One row per numbered layer (the head has no BN). t and s must have the same
 * configuration (reuse_models_compatible). Returns the row count; *rows is malloc'ed. */
int bnstats_compute(Model *t, Model *s, BnStatsRow **rows);

/* CSV: layer,bn,channels,MRM,MRV,MRW,MRB,skipped. 0 or -1 (error set). Atomic. */
int bnstats_write_csv(const char *path, const BnStatsRow *rows, int n);
/* A readable table, and a line on the skipped channels if any. */
void bnstats_print(FILE *out, const BnStatsRow *rows, int n);

#endif
