#include <math.h>

#include "batchnorm.h"
#include "error.h"
#include "relu.h"

void batchnorm2d_invstd(int c, const float *var, float *invstd)
{
    for (int j = 0; j < c; j++) invstd[j] = (float)(1.0 / sqrt((double)var[j] + BATCHNORM_EPS));
}

/* Statistics in double: a channel can hold 10^6 values, and float sums would lose digits
 * that PyTorch (which accumulates in higher precision) keeps. Parallel over channels, so
 * the result does not depend on the thread count. */
void batchnorm2d_forward_train(int n, int c, int hw, const float *x, const float *w,
                               const float *b, float *y, float *mean, float *invstd, float *var)
{
    const double m = (double)n * hw;
#pragma omp parallel for schedule(static)
    for (int j = 0; j < c; j++) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            const float *xp = x + ((size_t)i * c + j) * hw;
            for (int p = 0; p < hw; p++) sum += xp[p];
        }
        double mu = sum / m, sq = 0;
        for (int i = 0; i < n; i++) {
            const float *xp = x + ((size_t)i * c + j) * hw;
            for (int p = 0; p < hw; p++) {
                double d = xp[p] - mu;
                sq += d * d;
            }
        }
        double v = sq / m;
        mean[j] = (float)mu;
        var[j] = (float)v;
        invstd[j] = (float)(1.0 / sqrt(v + BATCHNORM_EPS));
    }
    batchnorm2d_forward_fixed(n, c, hw, x, w, b, mean, invstd, y);
}

void batchnorm2d_forward_fixed(int n, int c, int hw, const float *x, const float *w,
                               const float *b, const float *mean, const float *invstd, float *y)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++) {
            /* y = (x - mean) * invstd * w + b, as one multiply-add per element */
            const float scale = invstd[j] * w[j], shift = b[j] - mean[j] * scale;
            const float *xp = x + ((size_t)i * c + j) * hw;
            float *yp = y + ((size_t)i * c + j) * hw;
            for (int p = 0; p < hw; p++) yp[p] = xp[p] * scale + shift;
        }
}

/* The gradient reaching the BN: dy, masked by the fused ReLU when there is one. */
static inline float bn_grad_in(const float *relu_y, const float *dy, size_t i)
{
    return relu_y && !(relu_y[i] > 0.0f) ? 0.0f : dy[i];
}

void batchnorm2d_backward(int n, int c, int hw, const float *x, const float *w,
                          const float *mean, const float *invstd, bool batch_stats,
                          const float *relu_y, const float *dy, float *dx, float *dw,
                          float *db)
{
    const double m = (double)n * hw;
#pragma omp parallel for schedule(static)
    for (int j = 0; j < c; j++) {
        /* sum dy and sum dy * xh over the channel */
        double sum_dy = 0, sum_dy_xh = 0;
        const double mu = mean[j], is = invstd[j];
        for (int i = 0; i < n; i++) {
            const size_t base = ((size_t)i * c + j) * hw;
            const float *xp = x + base;
            for (int p = 0; p < hw; p++) {
                const float g = bn_grad_in(relu_y, dy, base + p);
                sum_dy += g;
                sum_dy_xh += g * ((xp[p] - mu) * is);
            }
        }
        if (db) db[j] += (float)sum_dy;
        if (dw) dw[j] += (float)sum_dy_xh;
        if (!dx) continue;
        const double k = w[j] * is;
        for (int i = 0; i < n; i++) {
            const size_t base = ((size_t)i * c + j) * hw;
            const float *xp = x + base;
            float *dp = dx + base;
            if (batch_stats) {
                /* dx = w*invstd/M * (M dy - sum dy - xh * sum(dy xh)) */
                const double a = sum_dy / m, bcoef = sum_dy_xh / m;
                for (int p = 0; p < hw; p++) {
                    double xh = (xp[p] - mu) * is;
                    dp[p] += (float)(k * (bn_grad_in(relu_y, dy, base + p) - a - xh * bcoef));
                }
            } else {
                for (int p = 0; p < hw; p++) dp[p] += (float)(k * bn_grad_in(relu_y, dy, base + p));
            }
        }
    }
}

/* ---- taped op ------------------------------------------------------------------------ */

typedef struct BatchNormCtx {
    Tensor *x, *y, *weight, *bias;
    float *mean, *invstd;
    bool batch_stats;
    bool relu;               /* fused: y = relu(bn(x)) */
} BatchNormCtx;

static void batchnorm2d_tape_backward(Tape *t, void *ctx_)
{
    BatchNormCtx *ctx = ctx_;
    if (!ctx->y->grad) return;
    Tensor *x = ctx->x;
    batchnorm2d_backward(x->shape[0], x->shape[1], x->shape[2] * x->shape[3], x->data,
                         ctx->weight->data, ctx->mean, ctx->invstd, ctx->batch_stats,
                         ctx->relu ? ctx->y->data : NULL, ctx->y->grad, tape_grad(t, x),
                         tape_grad(t, ctx->weight), tape_grad(t, ctx->bias));
}

static Tensor *batchnorm2d_op(Tape *t, Tensor *x, const BatchNorm2dArgs *a, bool relu)
{
    char sx[64], sp[64];
    tensor_check_4d("batchnorm2d", x);
    const int n = x->shape[0], c = x->shape[1], hw = x->shape[2] * x->shape[3];
    Tensor *const per_channel[] = {a->weight, a->bias, a->running_mean, a->running_var};
    for (int i = 0; i < 4; i++)
        CHECK(per_channel[i]->ndim == 1 && per_channel[i]->shape[0] == c,
              "batchnorm2d: input %s does not fit parameter %s",
              tensor_shape_str(x, sx, sizeof sx), tensor_shape_str(per_channel[i], sp, sizeof sp));
    const bool batch_stats = t->training && (a->update_mean || a->update_var);
    const double m = (double)n * hw;
    CHECK(!batch_stats || m > 1, "batchnorm2d: training needs more than one value per channel, "
          "got input %s", tensor_shape_str(x, sx, sizeof sx));

    Tensor *y = tape_tensor(t, 4, x->shape);
    float *mean = arena_floats(&t->arena, (size_t)c), *invstd = arena_floats(&t->arena, (size_t)c);
    if (batch_stats) {
        float *var = arena_floats(&t->arena, (size_t)c);
        batchnorm2d_forward_train(n, c, hw, x->data, a->weight->data, a->bias->data, y->data,
                                  mean, invstd, var);
        float *rm = a->running_mean->data, *rv = a->running_var->data;
        for (int j = 0; j < c; j++) {
            if (a->update_mean) rm[j] = (1 - BATCHNORM_MOMENTUM) * rm[j] + BATCHNORM_MOMENTUM * mean[j];
            if (a->update_var)
                rv[j] = (1 - BATCHNORM_MOMENTUM) * rv[j] +
                        BATCHNORM_MOMENTUM * (float)(var[j] * m / (m - 1));
        }
        if (a->num_batches_tracked) (*a->num_batches_tracked)++;
    } else {
        for (int j = 0; j < c; j++) mean[j] = a->running_mean->data[j];
        batchnorm2d_invstd(c, a->running_var->data, invstd);
        batchnorm2d_forward_fixed(n, c, hw, x->data, a->weight->data, a->bias->data, mean,
                                  invstd, y->data);
    }
    if (relu) relu_forward(y->size, y->data, y->data);      /* in place */
    if (tape_needs_grad(t, y, (Tensor *[]){x, a->weight, a->bias}, 3)) {
        BatchNormCtx *ctx = tape_alloc(t, sizeof *ctx);
        *ctx = (BatchNormCtx){x, y, a->weight, a->bias, mean, invstd, batch_stats, relu};
        tape_record(t, relu ? "batchnorm2d_relu" : "batchnorm2d", batchnorm2d_tape_backward, ctx);
    }
    return y;
}

Tensor *batchnorm2d(Tape *t, Tensor *x, const BatchNorm2dArgs *a)
{
    return batchnorm2d_op(t, x, a, false);
}

Tensor *batchnorm2d_relu(Tape *t, Tensor *x, const BatchNorm2dArgs *a)
{
    return batchnorm2d_op(t, x, a, true);
}
