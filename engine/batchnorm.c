#include <math.h>

#include <stdlib.h>

#include "batchnorm.h"
#include "dist.h"
#include "error.h"

void batchnorm2d_invstd(int c, const float *var, float *invstd)
{
    for (int j = 0; j < c; j++) invstd[j] = (float)(1.0 / sqrt((double)var[j] + BATCHNORM_EPS));
}

/* Sums over a channel's M = N*H*W values run in float over chunks of ROW_CHUNK values,
 * which the compiler vectorises, and in double across chunks: a channel can hold 10^6
 * values, and one float sum over all of them would lose digits that PyTorch (which
 * accumulates in double on the CPU) keeps. Every loop is parallel over channels, so the
 * result does not depend on the thread count. */
enum { ROW_CHUNK = 512 };

/* sum of xp[0..len) */
static double chunked_sum(const float *xp, int len)
{
    double total = 0;
    for (int start = 0; start < len; start += ROW_CHUNK) {
        const int end = start + ROW_CHUNK < len ? start + ROW_CHUNK : len;
        float part = 0;
#pragma omp simd reduction(+ : part)
        for (int p = start; p < end; p++) part += xp[p];
        total += part;
    }
    return total;
}

/* sum of (xp - mu)^2 over xp[0..len) */
static double chunked_sum_sq(const float *xp, int len, float mu)
{
    double total = 0;
    for (int start = 0; start < len; start += ROW_CHUNK) {
        const int end = start + ROW_CHUNK < len ? start + ROW_CHUNK : len;
        float part = 0;
#pragma omp simd reduction(+ : part)
        for (int p = start; p < end; p++) part += (xp[p] - mu) * (xp[p] - mu);
        total += part;
    }
    return total;
}

static double channel_sum(int n, int c, int hw, const float *x, int j)
{
    double sum = 0;
    for (int i = 0; i < n; i++) sum += chunked_sum(x + ((size_t)i * c + j) * hw, hw);
    return sum;
}

static double channel_sum_sq(int n, int c, int hw, const float *x, int j, float mu)
{
    double sq = 0;
    for (int i = 0; i < n; i++) sq += chunked_sum_sq(x + ((size_t)i * c + j) * hw, hw, mu);
    return sq;
}

/* The batch statistics of x (N,C,HW) in two passes: the mean, then the centred sum of
 * squares. Alone, both passes over a channel run back to back (its values still in
 * cache). With sync (data-parallel training) each pass's per-channel sums are summed over
 * the ranks (dist.h) before use, and count is the values per channel over all ranks. */
static void batch_stats_of(int n, int c, int hw, const float *x, bool sync, double count,
                           float *mean, float *invstd, float *var)
{
    double *sq = xmalloc(sizeof(double) * 2 * (size_t)c), *sum = sq + c;
#pragma omp parallel for schedule(static)
    for (int j = 0; j < c; j++) {
        sum[j] = channel_sum(n, c, hw, x, j);
        if (sync) continue;
        mean[j] = (float)(sum[j] / count);
        sq[j] = channel_sum_sq(n, c, hw, x, j, mean[j]);
    }
    if (sync) {
        dist_sum_doubles(sum, (size_t)c);
        for (int j = 0; j < c; j++) mean[j] = (float)(sum[j] / count);
#pragma omp parallel for schedule(static)
        for (int j = 0; j < c; j++) sq[j] = channel_sum_sq(n, c, hw, x, j, mean[j]);
        dist_sum_doubles(sq, (size_t)c);
    }
    for (int j = 0; j < c; j++) {
        const double v = sq[j] / count;
        var[j] = (float)v;
        invstd[j] = (float)(1.0 / sqrt(v + BATCHNORM_EPS));
    }
    free(sq);
}

void batchnorm2d_forward_train(int n, int c, int hw, const float *x, const float *w,
                               const float *b, bool relu, float *y, float *mean,
                               float *invstd, float *var)
{
    batch_stats_of(n, c, hw, x, false, (double)n * hw, mean, invstd, var);
    batchnorm2d_forward_fixed(n, c, hw, x, w, b, mean, invstd, relu, y);
}

void batchnorm2d_forward_fixed(int n, int c, int hw, const float *x, const float *w,
                               const float *b, const float *mean, const float *invstd,
                               bool relu, float *y)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++) {
            /* y = (x - mean) * invstd * w + b, as one multiply-add per element */
            const float scale = invstd[j] * w[j], shift = b[j] - mean[j] * scale;
            const float *xp = x + ((size_t)i * c + j) * hw;
            float *yp = y + ((size_t)i * c + j) * hw;
            if (relu) {
                /* the ReLU in the same pass; v != v keeps a NaN a NaN, as relu_forward */
#pragma omp simd
                for (int p = 0; p < hw; p++) {
                    const float v = xp[p] * scale + shift;
                    yp[p] = (v > 0.0f || v != v) ? v : 0.0f;
                }
            } else {
#pragma omp simd
                for (int p = 0; p < hw; p++) yp[p] = xp[p] * scale + shift;
            }
        }
}

/* sum g and sum g * (x - mu) over one row, where g, the gradient reaching the BN, is dy,
 * or with a fused ReLU dy where relu_y > 0 and 0 elsewhere. The loads stay unconditional
 * and the mask a select, so that both loops vectorise. */
static void chunked_grad_sums(const float *xp, const float *dy, const float *relu_y, int len,
                              float mu, double *sum_g, double *sum_g_xc)
{
    for (int start = 0; start < len; start += ROW_CHUNK) {
        const int end = start + ROW_CHUNK < len ? start + ROW_CHUNK : len;
        float sg = 0, sgx = 0;
        if (relu_y) {
#pragma omp simd reduction(+ : sg, sgx)
            for (int p = start; p < end; p++) {
                const float d = dy[p], g = relu_y[p] > 0.0f ? d : 0.0f;
                sg += g;
                sgx += g * (xp[p] - mu);
            }
        } else {
#pragma omp simd reduction(+ : sg, sgx)
            for (int p = start; p < end; p++) {
                sg += dy[p];
                sgx += dy[p] * (xp[p] - mu);
            }
        }
        *sum_g += sg;
        *sum_g_xc += sgx;
    }
}

/* sums[0] = sum g, sums[1] = sum g * (x - mean) over channel j's values on this rank (g
 * as in chunked_grad_sums). */
static void channel_grad_sums(int n, int c, int hw, const float *x, float mu,
                              const float *relu_y, const float *dy, int j, double *sums)
{
    double sum_dy = 0, sum_dy_xc = 0;
    for (int i = 0; i < n; i++) {
        const size_t base = ((size_t)i * c + j) * hw;
        chunked_grad_sums(x + base, dy + base, relu_y ? relu_y + base : NULL, hw, mu,
                          &sum_dy, &sum_dy_xc);
    }
    sums[0] = sum_dy;
    sums[1] = sum_dy_xc;
}

/* dx of channel j from its sums over the whole batch of `count` values per channel. */
static void channel_grad_input(int n, int c, int hw, const float *x, const float *w,
                               const float *mean, const float *invstd, bool batch_stats,
                               const float *relu_y, const float *dy, int j,
                               const double *sums, double count, float *dx)
{
    const float mu = mean[j];
    const double is = invstd[j], sum_dy = sums[0], sum_dy_xh = sums[1] * is;
    /* train: dx = w*invstd/M * (M dy - sum dy - xh * sum(dy xh))
     *           = k dy - k_x (x - mean) - k_0,  k = w*invstd,
     *        k_x = k * invstd * sum(dy xh) / M,  k_0 = k * sum(dy) / M
     * eval:  dx = k dy */
    const double k = w[j] * is;
    const float kf = (float)k;
    const float kx = batch_stats ? (float)(k * is * sum_dy_xh / count) : 0.0f;
    const float k0 = batch_stats ? (float)(k * sum_dy / count) : 0.0f;
    for (int i = 0; i < n; i++) {
        const size_t base = ((size_t)i * c + j) * hw;
        const float *xp = x + base, *dyp = dy + base;
        const float *ry = relu_y ? relu_y + base : NULL;
        float *dp = dx + base;
        if (ry) {
#pragma omp simd
            for (int p = 0; p < hw; p++) {
                const float d = dyp[p], g = ry[p] > 0.0f ? d : 0.0f;
                dp[p] += kf * g - kx * (xp[p] - mu) - k0;
            }
        } else {
#pragma omp simd
            for (int p = 0; p < hw; p++) dp[p] += kf * dyp[p] - kx * (xp[p] - mu) - k0;
        }
    }
}

/* Backward. Alone, a channel's sums and its dx run back to back (its values still in
 * cache); with sync (data-parallel batch statistics) the sums are summed over the ranks
 * first. dw and db receive this rank's part either way (the gradient sum over the ranks
 * adds the rest); dx needs the whole batch's sums. */
static void backward(int n, int c, int hw, const float *x, const float *w, const float *mean,
                     const float *invstd, bool batch_stats, bool sync, double count,
                     const float *relu_y, const float *dy, float *dx, float *dw, float *db)
{
    double *sums = xmalloc(sizeof(double) * 2 * (size_t)c);
    const bool fused = dx && !sync;
#pragma omp parallel for schedule(static)
    for (int j = 0; j < c; j++) {
        channel_grad_sums(n, c, hw, x, mean[j], relu_y, dy, j, sums + 2 * j);
        if (db) db[j] += (float)sums[2 * j];
        if (dw) dw[j] += (float)(sums[2 * j + 1] * (double)invstd[j]);
        if (fused)
            channel_grad_input(n, c, hw, x, w, mean, invstd, batch_stats, relu_y, dy, j,
                               sums + 2 * j, count, dx);
    }
    if (dx && sync) {
        dist_sum_doubles(sums, 2 * (size_t)c);
#pragma omp parallel for schedule(static)
        for (int j = 0; j < c; j++)
            channel_grad_input(n, c, hw, x, w, mean, invstd, batch_stats, relu_y, dy, j,
                               sums + 2 * j, count, dx);
    }
    free(sums);
}

void batchnorm2d_backward(int n, int c, int hw, const float *x, const float *w,
                          const float *mean, const float *invstd, bool batch_stats,
                          const float *relu_y, const float *dy, float *dx, float *dw,
                          float *db)
{
    backward(n, c, hw, x, w, mean, invstd, batch_stats, false, (double)n * hw, relu_y, dy, dx,
             dw, db);
}

/* ---- taped op ------------------------------------------------------------------------ */

typedef struct BatchNormCtx {
    Tensor *x, *y, *weight, *bias;
    float *mean, *invstd;
    bool batch_stats;
    bool sync;               /* statistics over the batch on all ranks (tape.global_batch) */
    double count;            /* values per channel in those statistics */
    bool relu;               /* fused: y = relu(bn(x)) */
} BatchNormCtx;

static void batchnorm2d_tape_backward(Tape *t, void *ctx_)
{
    BatchNormCtx *ctx = ctx_;
    if (!ctx->y->grad) return;
    Tensor *x = ctx->x;
    backward(x->shape[0], x->shape[1], x->shape[2] * x->shape[3], x->data, ctx->weight->data,
             ctx->mean, ctx->invstd, ctx->batch_stats, ctx->sync, ctx->count,
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
    const bool sync = batch_stats && t->global_batch > 0;
    const double m = (double)(sync ? t->global_batch : n) * hw;
    CHECK(!batch_stats || m > 1, "batchnorm2d: training needs more than one value per channel, "
          "got input %s", tensor_shape_str(x, sx, sizeof sx));

    Tensor *y = tape_tensor(t, 4, x->shape);
    float *mean = arena_floats(&t->arena, (size_t)c), *invstd = arena_floats(&t->arena, (size_t)c);
    if (batch_stats) {
        float *var = arena_floats(&t->arena, (size_t)c);
        batch_stats_of(n, c, hw, x->data, sync, m, mean, invstd, var);
        batchnorm2d_forward_fixed(n, c, hw, x->data, a->weight->data, a->bias->data, mean,
                                  invstd, relu, y->data);
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
                                  invstd, relu, y->data);
    }
    if (tape_needs_grad(t, y, (Tensor *[]){x, a->weight, a->bias}, 3)) {
        BatchNormCtx *ctx = tape_alloc(t, sizeof *ctx);
        *ctx = (BatchNormCtx){x, y, a->weight, a->bias, mean, invstd, batch_stats, sync, m, relu};
        tape_record(t, relu ? "batchnorm2d_relu" : "batchnorm2d", batchnorm2d_tape_backward, ctx,
                    y);
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
