/* BatchNorm2d, as PyTorch defines it (spec models.md, "Shared semantics").
 *
 * Per channel j over the N*H*W values of a batch (M = N*H*W):
 *   train:  mean_j = sum x / M,  var_j = sum (x - mean_j)^2 / M          (biased)
 *           y = (x - mean_j) / sqrt(var_j + eps) * w_j + b_j
 *           running_mean = 0.9 running_mean + 0.1 mean_j
 *           running_var  = 0.9 running_var  + 0.1 var_j * M / (M - 1)    (unbiased)
 *           num_batches_tracked += 1
 *   eval:   y = (x - running_mean_j) / sqrt(running_var_j + eps) * w_j + b_j
 * eps = 1e-5, momentum = 0.1.
 *
 * Backward in train mode goes through the batch statistics (with xh = (x-mean)*invstd):
 *   db_j += sum dy,   dw_j += sum dy * xh
 *   dx = w_j * invstd_j / M * (M dy - sum dy - xh * sum(dy * xh))
 * In eval mode the statistics are constants: dx = dy * w_j * invstd_j. */
#ifndef REUSENET_BATCHNORM_H
#define REUSENET_BATCHNORM_H

#include <stdint.h>

#include "tape.h"

/* The one BN epsilon: the engine's normalisation and the BN statistics (reuse/bnstats.c).
 * A float, added in double: the bits of every trained model depend on it. */
#define BATCHNORM_EPS 1e-5f
#define BATCHNORM_MOMENTUM 0.1f

/* x (N,C,HW) -> y (N,C,HW), followed by a ReLU when relu; mean, invstd (C) receive the
 * batch statistics and var (C) the biased batch variance. */
void batchnorm2d_forward_train(int n, int c, int hw, const float *x, const float *w,
                               const float *b, bool relu, float *y, float *mean,
                               float *invstd, float *var);
/* x (N,C,HW) -> y (N,C,HW) with fixed statistics mean and invstd (C), then a ReLU when
 * relu. */
void batchnorm2d_forward_fixed(int n, int c, int hw, const float *x, const float *w,
                               const float *b, const float *mean, const float *invstd,
                               bool relu, float *y);
/* dy (N,C,HW) -> dx += ..., dw += ..., db += ... (any may be NULL).
 * batch_stats: true when mean/invstd were the batch's own (train mode).
 * relu_y: NULL, or the output of a ReLU that followed the BN (the fused op): the gradient
 * reaching the BN is then dy where relu_y > 0 and 0 elsewhere. */
void batchnorm2d_backward(int n, int c, int hw, const float *x, const float *w,
                          const float *mean, const float *invstd, bool batch_stats,
                          const float *relu_y, const float *dy, float *dx, float *dw,
                          float *db);
/* invstd_j = 1 / sqrt(var_j + eps) */
void batchnorm2d_invstd(int c, const float *var, float *invstd);

/* The tensors of one BN layer and which of them training may change. */
typedef struct BatchNorm2dArgs {
    Tensor *weight, *bias;                 /* (C) trainable (requires_grad false if frozen) */
    Tensor *running_mean, *running_var;    /* (C) buffers */
    int64_t *num_batches_tracked;          /* may be NULL */
    bool update_mean, update_var;          /* false when that buffer is frozen */
} BatchNorm2dArgs;

/* Taped op. In train mode (tape->training) it uses batch statistics and updates the running
 * ones it may update; but when neither running statistic may be updated (both frozen), the
 * layer normalises with its running statistics in training too, as a frozen BatchNorm
 * should: it then computes in training exactly what it computes at evaluation. */
Tensor *batchnorm2d(Tape *t, Tensor *x, const BatchNorm2dArgs *a);
/* relu(batchnorm2d(x)) as one op: the same numbers, without the BN output and its
 * gradient as separate tensors, and one pass over the memory fewer each way. */
Tensor *batchnorm2d_relu(Tape *t, Tensor *x, const BatchNorm2dArgs *a);

#endif
