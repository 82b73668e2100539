#include <math.h>

#include "dist.h"
#include "error.h"
#include "loss.h"

/* Below this many elements a parallel loop costs more than it saves. */
enum { LOSS_PARALLEL_MIN = 1 << 14 };

size_t loss_block_count(size_t count) { return (count + LOSS_BLOCK - 1) / LOSS_BLOCK; }

/* The logits of one pixel are K floats `stride` (= H*W) apart. */
static double pixel_max(const float *z, size_t stride, int k)
{
    double m = z[0];
    for (int c = 1; c < k; c++)
        if (z[c * stride] > m) m = z[c * stride];
    return m;
}

/* sum_c exp(z_c - m): the softmax denominator, shifted by the maximum m so that no exp
 * overflows (the largest term is exp(0) = 1). */
static double pixel_exp_sum(const float *z, size_t stride, int k, double m)
{
    double s = 0;
    for (int c = 0; c < k; c++) s += exp(z[c * stride] - m);
    return s;
}

/* Pixel p of logits (N, K, H*W = hw) as its softmax needs it: the offset of its first logit
 * (its K logits are hw apart), and the shift m and denominator s of
 * softmax(z)_c = exp(z_c - m) / s. */
static size_t pixel_softmax(const float *logits, size_t p, int hw, int k, double *m, double *s)
{
    const size_t at = (p / hw) * k * hw + p % hw;
    *m = pixel_max(logits + at, hw, k);
    *s = pixel_exp_sum(logits + at, hw, k, *m);
    return at;
}

/* ---- softmax cross-entropy --------------------------------------------------------------- */

double cross_entropy_forward(int n, int k, int hw, const float *logits, const int64_t *labels,
                             double *partial)
{
    const size_t pixels = (size_t)n * hw, blocks = loss_block_count(pixels);
#pragma omp parallel for schedule(static) if (pixels * k >= LOSS_PARALLEL_MIN)
    for (size_t b = 0; b < blocks; b++) {
        size_t p1 = (b + 1) * LOSS_BLOCK < pixels ? (b + 1) * LOSS_BLOCK : pixels;
        double sum = 0;
        for (size_t p = b * LOSS_BLOCK; p < p1; p++) {
            double m, s;
            const float *z = logits + pixel_softmax(logits, p, hw, k, &m, &s);
            /* -log softmax(z)_label = log(sum exp(z_c - m)) + m - z_label */
            sum += log(s) + m - z[labels[p] * hw];
        }
        partial[b] = sum;
    }
    double total = 0;
    for (size_t b = 0; b < blocks; b++) total += partial[b];
    return total / (double)pixels;
}

void cross_entropy_backward(int n, int k, int hw, const float *logits, const int64_t *labels,
                            float dloss, float *dlogits)
{
    const size_t pixels = (size_t)n * hw;
    const double scale = (double)dloss / (double)pixels;
#pragma omp parallel for schedule(static) if (pixels * k >= LOSS_PARALLEL_MIN)
    for (size_t p = 0; p < pixels; p++) {
        double m, s;
        const size_t at = pixel_softmax(logits, p, hw, k, &m, &s);
        const float *z = logits + at;
        float *dz = dlogits + at;
        for (int c = 0; c < k; c++) {
            double prob = exp(z[c * hw] - m) / s;
            dz[c * hw] += (float)(scale * (prob - (c == labels[p])));
        }
    }
}

/* ---- mean squared error -------------------------------------------------------------- */

double mse_forward(size_t count, const float *pred, const float *target, double *partial)
{
    const size_t blocks = loss_block_count(count);
#pragma omp parallel for schedule(static) if (count >= LOSS_PARALLEL_MIN)
    for (size_t b = 0; b < blocks; b++) {
        size_t i1 = (b + 1) * LOSS_BLOCK < count ? (b + 1) * LOSS_BLOCK : count;
        double sum = 0;
        for (size_t i = b * LOSS_BLOCK; i < i1; i++) {
            double d = (double)pred[i] - target[i];
            sum += d * d;
        }
        partial[b] = sum;
    }
    double total = 0;
    for (size_t b = 0; b < blocks; b++) total += partial[b];
    return total / (double)count;
}

void mse_backward(size_t count, const float *pred, const float *target, float dloss,
                  float *dpred, float *dtarget)
{
    const double scale = 2.0 * dloss / (double)count;
#pragma omp parallel for schedule(static) if (count >= LOSS_PARALLEL_MIN)
    for (size_t i = 0; i < count; i++) {
        double g = scale * ((double)pred[i] - target[i]);
        if (dpred) dpred[i] += (float)g;
        if (dtarget) dtarget[i] -= (float)g;
    }
}

/* ---- soft Dice -------------------------------------------------------------------------- */

/* Rows of the (3, K) sums array. */
enum { DICE_I = 0, DICE_P = 1, DICE_G = 2 };

/* L from the (3, K) sums I, P, G. */
static double dice_from_sums(const double *sums, int k, float eps, bool include_background)
{
    const int first = include_background ? 0 : 1;
    double score = 0;
    for (int c = first; c < k; c++)
        score += (2 * sums[DICE_I * k + c] + eps) /
                 (sums[DICE_P * k + c] + sums[DICE_G * k + c] + eps);
    return 1.0 - score / (k - first);
}

double dice_forward(int n, int k, int hw, const float *logits, const int64_t *labels,
                    float eps, bool include_background, double *sums, double *partial)
{
    const size_t pixels = (size_t)n * hw, blocks = loss_block_count(pixels);
#pragma omp parallel for schedule(static) if (pixels * k >= LOSS_PARALLEL_MIN)
    for (size_t b = 0; b < blocks; b++) {
        double *part = partial + b * 3 * k;
        for (int j = 0; j < 3 * k; j++) part[j] = 0;
        size_t p1 = (b + 1) * LOSS_BLOCK < pixels ? (b + 1) * LOSS_BLOCK : pixels;
        for (size_t p = b * LOSS_BLOCK; p < p1; p++) {
            const float *z = logits + (p / hw) * k * hw + p % hw;
            double m = pixel_max(z, hw, k), s = pixel_exp_sum(z, hw, k, m);
            for (int c = 0; c < k; c++) part[DICE_P * k + c] += exp(z[c * hw] - m) / s;
            int64_t label = labels[p];
            part[DICE_I * k + label] += exp(z[label * hw] - m) / s;
            part[DICE_G * k + label] += 1;
        }
    }
    for (int j = 0; j < 3 * k; j++) sums[j] = 0;
    for (size_t b = 0; b < blocks; b++)
        for (int j = 0; j < 3 * k; j++) sums[j] += partial[b * 3 * k + j];
    return dice_from_sums(sums, k, eps, include_background);
}

/* dL/dp_c at a pixel whose label is `label` (see loss.h): 0 outside the scored classes,
 * else -(2 [c == label] / D_c - (2 I_c + eps) / D_c^2) / |C|. */
static double dice_dprob(const double *sums, int k, int c, int64_t label, double eps,
                         int first)
{
    if (c < first) return 0.0;
    double d = sums[DICE_P * k + c] + sums[DICE_G * k + c] + eps;
    double dp = (2 * sums[DICE_I * k + c] + eps) / (d * d) - (c == label ? 2.0 / d : 0.0);
    return dp / (k - first);
}

void dice_backward(int n, int k, int hw, const float *logits, const int64_t *labels,
                   const double *sums, float eps, bool include_background, float dloss,
                   float *dlogits)
{
    const size_t pixels = (size_t)n * hw;
    const int first = include_background ? 0 : 1;
#pragma omp parallel for schedule(static) if (pixels * k >= LOSS_PARALLEL_MIN)
    for (size_t p = 0; p < pixels; p++) {
        double m, s;
        const size_t at = pixel_softmax(logits, p, hw, k, &m, &s);
        const float *z = logits + at;
        float *dz = dlogits + at;
        double dot = 0;                     /* sum_j p_j dL/dp_j */
        for (int c = 0; c < k; c++)
            dot += exp(z[c * hw] - m) / s * dice_dprob(sums, k, c, labels[p], eps, first);
        for (int c = 0; c < k; c++) {
            double prob = exp(z[c * hw] - m) / s;
            double dp = dice_dprob(sums, k, c, labels[p], eps, first);
            dz[c * hw] += (float)(dloss * prob * (dp - dot));
        }
    }
}

/* ---- taped losses ------------------------------------------------------------------------ */

/* Stop unless labels fit logits (N,K,H,W) and every label is a class 0..K-1. */
static void check_labels(const char *op, const Tensor *logits, const LabelMap *labels)
{
    char sz[64];
    tensor_check_4d(op, logits);
    const int n = logits->shape[0], k = logits->shape[1], h = logits->shape[2],
              w = logits->shape[3];
    CHECK(labels->n == n && labels->h == h && labels->w == w,
          "%s: logits %s do not fit labels [%d, %d, %d]", op,
          tensor_shape_str(logits, sz, sizeof sz), labels->n, labels->h, labels->w);
    const size_t pixels = (size_t)n * h * w;
    CHECK(pixels > 0 && k > 0, "%s: empty logits %s", op, tensor_shape_str(logits, sz, sizeof sz));
    for (size_t p = 0; p < pixels; p++) {
        int64_t label = labels->data[p];
        CHECK(label >= 0 && label < k,
              "%s: label %lld at (n=%zu, y=%zu, x=%zu) is not a class 0..%d", op,
              (long long)label, p / ((size_t)h * w), p / w % h, p % w, k - 1);
    }
}

/* A scalar tensor holding `value`. */
static Tensor *loss_scalar(Tape *t, double value)
{
    Tensor *l = tape_tensor(t, 0, NULL);
    l->data[0] = (float)value;
    return l;
}

/* Data-parallel training (tape.h, global_batch): this rank's share n / G of the whole
 * batch's loss; 1 when the batch is all here. A mean over the batch's pixels is the
 * shares' sum, and its gradient with respect to this rank's logits is share times the
 * gradient of this rank's own mean. */
static double batch_share(const Tape *t, int n)
{
    return t->global_batch > 0 ? (double)n / t->global_batch : 1.0;
}

typedef struct ClassLossCtx {
    Tensor *logits, *loss;
    double share;            /* batch_share: scales a mean's gradient */
    const int64_t *labels;
    double *sums;            /* Dice: the (3, K) sums of the forward pass */
    float eps;
    bool include_background;
} ClassLossCtx;

static void cross_entropy_tape_backward(Tape *t, void *ctx_)
{
    ClassLossCtx *ctx = ctx_;
    const Tensor *z = ctx->logits;
    if (!ctx->loss->grad) return;           /* nothing flowed back to this op */
    cross_entropy_backward(z->shape[0], z->shape[1], z->shape[2] * z->shape[3], z->data,
                           ctx->labels, (float)(ctx->loss->grad[0] * ctx->share),
                           tape_grad(t, ctx->logits));
}

Tensor *loss_cross_entropy(Tape *t, Tensor *logits, const LabelMap *labels)
{
    check_labels("cross_entropy", logits, labels);
    const int n = logits->shape[0], k = logits->shape[1], hw = logits->shape[2] * logits->shape[3];
    ArenaMark mark = arena_mark(&t->arena);
    double *partial = arena_alloc(&t->arena, loss_block_count((size_t)n * hw) * sizeof(double));
    const double share = batch_share(t, n);
    double value = cross_entropy_forward(n, k, hw, logits->data, labels->data, partial);
    arena_release(&t->arena, mark);
    Tensor *loss = loss_scalar(t, t->global_batch > 0 ? value * share : value);
    if (tape_needs_grad(t, loss, (Tensor *[]){logits}, 1)) {
        ClassLossCtx *ctx = tape_alloc(t, sizeof *ctx);
        *ctx = (ClassLossCtx){.logits = logits, .loss = loss, .share = share,
                              .labels = labels->data};
        tape_record(t, "cross_entropy", cross_entropy_tape_backward, ctx, loss);
    }
    return loss;
}

static void dice_tape_backward(Tape *t, void *ctx_)
{
    ClassLossCtx *ctx = ctx_;
    const Tensor *z = ctx->logits;
    if (!ctx->loss->grad) return;           /* nothing flowed back to this op */
    dice_backward(z->shape[0], z->shape[1], z->shape[2] * z->shape[3], z->data, ctx->labels,
                  ctx->sums, ctx->eps, ctx->include_background, ctx->loss->grad[0],
                  tape_grad(t, ctx->logits));
}

Tensor *loss_dice(Tape *t, Tensor *logits, const LabelMap *labels, float eps,
                  bool include_background)
{
    check_labels("dice_loss", logits, labels);
    const int n = logits->shape[0], k = logits->shape[1], hw = logits->shape[2] * logits->shape[3];
    CHECK(k >= (include_background ? 1 : 2) && eps >= 0,
          "dice_loss: %d classes%s, eps %g: no class to score", k,
          include_background ? "" : " without background", eps);
    /* The sums outlive the forward pass (backward needs them); the partials do not. */
    double *sums = tape_alloc(t, 3 * (size_t)k * sizeof *sums);
    ArenaMark mark = arena_mark(&t->arena);
    double *partial =
        arena_alloc(&t->arena, 3 * (size_t)k * loss_block_count((size_t)n * hw) * sizeof(double));
    double value = dice_forward(n, k, hw, logits->data, labels->data, eps, include_background,
                                sums, partial);
    arena_release(&t->arena, mark);
    if (t->global_batch > 0) {
        /* the whole batch's I, P, G; this rank's gradient is that of the whole batch's
         * Dice (no share: the sums are already the batch's), its value a share of it */
        dist_sum_doubles(sums, 3 * (size_t)k);
        value = dice_from_sums(sums, k, eps, include_background) * batch_share(t, n);
    }
    Tensor *loss = loss_scalar(t, value);
    if (tape_needs_grad(t, loss, (Tensor *[]){logits}, 1)) {
        ClassLossCtx *ctx = tape_alloc(t, sizeof *ctx);
        *ctx = (ClassLossCtx){logits, loss, 1.0, labels->data, sums, eps, include_background};
        tape_record(t, "dice_loss", dice_tape_backward, ctx, loss);
    }
    return loss;
}

typedef struct MseCtx {
    Tensor *pred, *target, *loss;
    double share;            /* batch_share */
} MseCtx;

static void mse_tape_backward(Tape *t, void *ctx_)
{
    MseCtx *ctx = ctx_;
    if (!ctx->loss->grad) return;           /* nothing flowed back to this op */
    float *dpred = tape_grad(t, ctx->pred), *dtarget = tape_grad(t, ctx->target);
    mse_backward(ctx->pred->size, ctx->pred->data, ctx->target->data,
                 (float)(ctx->loss->grad[0] * ctx->share), dpred, dtarget);
}

Tensor *loss_mse(Tape *t, Tensor *pred, Tensor *target)
{
    tensor_check_same_shape("mse_loss", pred, target);
    CHECK(pred->size > 0, "mse_loss: empty tensors");
    ArenaMark mark = arena_mark(&t->arena);
    double *partial = arena_alloc(&t->arena, loss_block_count(pred->size) * sizeof(double));
    const double share = batch_share(t, pred->shape[0]);
    double value = mse_forward(pred->size, pred->data, target->data, partial);
    arena_release(&t->arena, mark);
    Tensor *loss = loss_scalar(t, t->global_batch > 0 ? value * share : value);
    if (tape_needs_grad(t, loss, (Tensor *[]){pred, target}, 2)) {
        MseCtx *ctx = tape_alloc(t, sizeof *ctx);
        *ctx = (MseCtx){pred, target, loss, share};
        tape_record(t, "mse_loss", mse_tape_backward, ctx, loss);
    }
    return loss;
}
