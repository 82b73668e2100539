/* Optimizers over a ParamStore: SGD with momentum and Adam, each computing exactly what
 * torch.optim.SGD / torch.optim.Adam (PyTorch 1.13, single-tensor path) compute, in
 * float32 like PyTorch.
 *
 * For every trainable, unfrozen parameter p with gradient g (frozen ones are skipped
 * entirely: value and state stay bitwise unchanged):
 *
 *   SGD   g <- g + weight_decay * p
 *         buf <- momentum * buf + g            (buf starts at 0, so the first step is g;
 *         p <- p - lr * buf                      dampening 0, no Nesterov; momentum 0: p -= lr*g)
 *
 *   Adam  g <- g + weight_decay * p            (L2 added to the gradient, not AdamW)
 *         step_p <- step_p + 1
 *         m <- beta1 * m + (1 - beta1) * g
 *         v <- beta2 * v + (1 - beta2) * g * g
 *         p <- p - lr / (1 - beta1^step_p) * m / (sqrt(v) / sqrt(1 - beta2^step_p) + eps)
 *
 * State: m (SGD's momentum buffer, Adam's first moment) and v (Adam's second moment) are
 * flat arrays of store->n_values floats at the same offsets as the store's values, and
 * steps[i] counts the updates of parameter i (PyTorch keeps a step per parameter: one
 * frozen at first and unfrozen later starts its bias correction at step 1). Saving m, v
 * and steps and loading them into a fresh optimizer resumes bit for bit.
 *
 * `lr` is read at every step: a learning-rate schedule (schedule.h) sets it before
 * optimizer_step(). */
#ifndef REUSENET_OPTIMIZER_H
#define REUSENET_OPTIMIZER_H

#include <stdint.h>

#include "params.h"

typedef enum OptimizerKind { OPTIMIZER_SGD, OPTIMIZER_ADAM } OptimizerKind;

typedef struct Optimizer {
    OptimizerKind kind;
    /* Hyper-parameters are doubles, like the Python floats PyTorch gets: derived constants
     * (1 - beta1, lr / (1 - beta1^t)) are formed in double and rounded to float once, where
     * they meet the float32 tensors. */
    double lr;
    double weight_decay;
    double momentum;         /* SGD */
    double beta1, beta2, eps;/* Adam */
    size_t n_values;         /* length of m and v: the store's n_values */
    int n_params;            /* length of steps: the store's count */
    float *m;                /* SGD momentum buffer / Adam first moment (NULL: SGD, momentum 0) */
    float *v;                /* Adam second moment (NULL for SGD) */
    int64_t *steps;          /* updates taken, per parameter */
} Optimizer;

/* State zeroed; the store must be finalized. */
void optimizer_init_sgd(Optimizer *o, const ParamStore *s, double lr, double momentum,
                        double weight_decay);
/* PyTorch's defaults: beta1 0.9, beta2 0.999, eps 1e-8. */
void optimizer_init_adam(Optimizer *o, const ParamStore *s, double lr, double beta1,
                         double beta2, double eps, double weight_decay);
void optimizer_free(Optimizer *o);
/* One update of every trainable, unfrozen parameter from the gradients in s->grads.
 * Does not zero the gradients (params_zero_grad). */
void optimizer_step(Optimizer *o, ParamStore *s);
/* Copy all state (m, v, steps) from src to dst: same kind, same store layout. */
void optimizer_copy_state(Optimizer *dst, const Optimizer *src);
const char *optimizer_kind_name(OptimizerKind kind);

#endif
