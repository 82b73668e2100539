/* Kernel RMSE between models (docs/method.md, "Kernel RMSE"; paper Figures 6, 10, 11, 12):
 * for conv layer k, RMSE(W, W') = sqrt(mean((W - W')^2)) over all elements of the conv
 * weight, and the same for the conv bias where the layer has one. Computed for every pair
 * of a set of models of one configuration, every numbered layer and the head.
 *
 * RMSE between weights is only meaningful when the models started from the same place;
 * each pair records whether both checkpoints carry the same "init" metadata. */
#ifndef REUSENET_RMSE_H
#define REUSENET_RMSE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "reuse/reuse_model.h"

/* sqrt(mean((a - b)^2)) in double precision; 0 for n = 0. */
double rmse_of(const float *a, const float *b, size_t n);

typedef struct RmseRow {
    int a, b;                     /* indices of the models in the pair (a < b) */
    int layer;                    /* 1..L, 0 = head */
    char label[12];               /* "1".."L", "head" (as the layer table) */
    char conv[LAYER_NAME_MAX];
    double rmse_w, rmse_b;        /* rmse_b NAN when the conv has no bias */
    double rmse_w_aligned, rmse_b_aligned;   /* after weight matching (NAN: not aligned) */
} RmseRow;

/* All pairs (i < j) of models[0..n-1], each over every conv layer in table order
 * (numbered layers, then the head). The models must be pairwise compatible (checked by
 * the caller). Returns the row count; *rows is malloc'ed. */
int rmse_compute(ReuseModel *models, int n, RmseRow **rows);

/* The same RMSE after permuting model b's hidden channels to match model a (weight
 * matching, reuse/align.h; model b itself is left unchanged): fills rmse_w_aligned and
 * rmse_b_aligned of every row. Seeded (the order of the coordinate descent). */
void rmse_compute_aligned(ReuseModel *models, RmseRow *rows, int n, uint64_t seed);

/* CSV, long format, one line per pair and layer:
 *   pair,model_a,model_b,layer,conv,rmse_w,rmse_b[,rmse_w_aligned,rmse_b_aligned],
 *   init_a,init_b,shared_init
 * pair is "a vs b"; rmse_b is empty where the conv has no bias; shared_init is yes/no;
 * the aligned columns when `aligned`. 0 or -1 (error set). Atomic. */
int rmse_write_csv(const char *path, const ReuseModel *models, const RmseRow *rows, int n,
                   bool aligned);
/* A readable table: one column pair (W, B) per model pair, one line per layer, then the
 * starting point of every pair. */
void rmse_print(FILE *out, const ReuseModel *models, int n_models, const RmseRow *rows, int n);
/* A warning line on stderr for every pair without a shared initialisation; returns how
 * many pairs that is. */
int rmse_warn_unshared(const ReuseModel *models, int n_models);

#endif
