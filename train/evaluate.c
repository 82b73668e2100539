#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "engine/dist.h"
#include "engine/error.h"
#include "engine/loss.h"
#include "engine/tape.h"
#include "train/evaluate.h"

void eval_fill_input(Tensor *x, const SliceSet *set, int start, int n)
{
    const int c = x->shape[1];
    const size_t hw = (size_t)x->shape[2] * x->shape[3];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++)
            memcpy(x->data + ((size_t)i * c + j) * hw, set->slices[start + i].image,
                   sizeof(float) * hw);
}

/* Sum over the batch's pixels of the cross-entropy (engine/loss.h), labels outside
 * 0..K-1 counted as background as the Dice counts them. */
static double cross_entropy_sum(const Tensor *y, const SliceSet *set, int start)
{
    const int n = y->shape[0], k = y->shape[1], hw = y->shape[2] * y->shape[3];
    const size_t pixels = (size_t)n * hw;
    int64_t *labels = xmalloc(sizeof *labels * pixels);
    double *partial = xmalloc(sizeof *partial * loss_block_count(pixels));
    for (int i = 0; i < n; i++) {
        const uint8_t *g = set->slices[start + i].label;
        for (int p = 0; p < hw; p++) labels[(size_t)i * hw + p] = g[p] < k ? g[p] : 0;
    }
    double loss = cross_entropy_forward(n, k, hw, y->data, labels, partial) * (double)pixels;
    free(labels);
    free(partial);
    return loss;
}

/* MSE sum and PSNR of each slice of an auto-encoder's batch. */
static void reconstruction_sums(const Tensor *y, const SliceSet *set, int start, double *se_sum,
                                double *psnr_sum)
{
    const int n = y->shape[0], k = y->shape[1], hw = y->shape[2] * y->shape[3];
    for (int i = 0; i < n; i++) {
        const Slice *s = &set->slices[start + i];
        const float *z = y->data + (size_t)i * k * hw;
        double se = 0, lo = s->image[0], hi = s->image[0];
        for (int p = 0; p < hw; p++) {
            lo = fmin(lo, s->image[p]);
            hi = fmax(hi, s->image[p]);
            for (int c = 0; c < k; c++) {
                double d = z[(size_t)c * hw + p] - s->image[p];
                se += d * d;
            }
        }
        *se_sum += se;
        double mse = se / ((double)k * hw);
        *psnr_sum += 10.0 * log10(((hi - lo) * (hi - lo) + 1e-12) / (mse + 1e-12));
    }
}

/* eval_batches over the slices [first, end) of the set. */
static void eval_batches_range(Model *m, Tape *tape, const SliceSet *set, int first, int end,
                               int batch, EvalVisit visit, void *ctx)
{
    if (batch < 1) batch = 8;
    bool saved_recording = tape->recording, saved_training = tape->training;
    tape->recording = false;
    tape->training = false;
    for (int start = first; start < end; start += batch) {
        const Slice *s = &set->slices[start];
        int n = end - start < batch ? end - start : batch;
        tape_reset(tape);
        Tensor *x = tape_tensor4(tape, n, m->cfg.in_channels, s->height, s->width);
        eval_fill_input(x, set, start, n);
        visit(model_forward(m, tape, x), start, ctx);
    }
    tape_reset(tape);
    tape->recording = saved_recording;
    tape->training = saved_training;
}

void eval_batches(Model *m, Tape *tape, const SliceSet *set, int batch, EvalVisit visit,
                  void *ctx)
{
    eval_batches_range(m, tape, set, 0, set->count, batch, visit, ctx);
}

typedef struct DiceVisit {
    const SliceSet *set;
    DiceTally *tally;
} DiceVisit;

static void visit_dice(const Tensor *y, int start, void *ctx)
{
    DiceVisit *v = ctx;
    dice_tally_add(v->tally, y->data, v->set, start, y->shape[0]);
}

void eval_dice(Model *m, Tape *tape, const SliceSet *set, int batch, DiceTally *d)
{
    DiceVisit v = {set, d};
    eval_batches(m, tape, set, batch, visit_dice, &v);
}

/* What evaluate_model adds up over the batches. */
typedef struct EvalSums {
    const SliceSet *set;
    ModelTask task;
    DiceTally tally;
    double loss, psnr;
} EvalSums;

static void visit_eval(const Tensor *y, int start, void *ctx)
{
    EvalSums *e = ctx;
    if (e->task == TASK_SEG) {
        dice_tally_add(&e->tally, y->data, e->set, start, y->shape[0]);
        e->loss += cross_entropy_sum(y, e->set, start);
    } else {
        reconstruction_sums(y, e->set, start, &e->loss, &e->psnr);
    }
}

/* The ranks' sums added over the ranks (split_over_ranks): the Dice counts, pooled and
 * per patient, travel as doubles, exact below 2^53 pixels; then the loss and PSNR sums. */
static void eval_sums_over_ranks(EvalSums *e)
{
    DiceTally *t = &e->tally;
    const bool seg = e->task == TASK_SEG;
    const size_t per = 3 * EVAL_MAX_CLASSES, counts = seg ? per * (size_t)(1 + t->patients) : 0;
    double *x = xmalloc(sizeof *x * (counts + 2));
    for (int p = -1; seg && p < t->patients; p++) {
        const DiceCounts *c = p < 0 ? &t->total : &t->per_patient[p];
        double *row = x + per * (size_t)(p + 1);
        for (int j = 0; j < EVAL_MAX_CLASSES; j++) {
            row[j] = (double)c->inter[j];
            row[EVAL_MAX_CLASSES + j] = (double)c->pred[j];
            row[2 * EVAL_MAX_CLASSES + j] = (double)c->truth[j];
        }
    }
    x[counts] = e->loss;
    x[counts + 1] = e->psnr;
    dist_sum_doubles(x, counts + 2);
    for (int p = -1; seg && p < t->patients; p++) {
        DiceCounts *c = p < 0 ? &t->total : &t->per_patient[p];
        const double *row = x + per * (size_t)(p + 1);
        for (int j = 0; j < EVAL_MAX_CLASSES; j++) {
            c->inter[j] = llround(row[j]);
            c->pred[j] = llround(row[EVAL_MAX_CLASSES + j]);
            c->truth[j] = llround(row[2 * EVAL_MAX_CLASSES + j]);
        }
    }
    e->loss = x[counts];
    e->psnr = x[counts + 1];
    free(x);
}

void evaluate_model(Model *m, Tape *tape, const SliceSet *set, const EvalOptions *o,
                    EvalResult *out)
{
    const int k = m->cfg.classes;
    memset(out, 0, sizeof *out);
    out->classes = k;
    out->evaluated = eval_classes(o->labelled, k);
    if (!set->count) return;
    const int hw = set->slices[0].height * set->slices[0].width;
    EvalSums e = {.set = set, .task = o->task};
    if (o->task == TASK_SEG) dice_tally_init(&e.tally, k, sliceset_patients(set));
    /* Split over the ranks by whole batches of one process's batching, so that every batch,
     * and with it every slice's logits, is bitwise the one a single process computes: a
     * conv's GEMM is split by its shape, which includes the batch (engine/gemm.h). */
    const bool split = o->split_over_ranks && dist_size() > 1;
    const int r = dist_rank(), ranks = dist_size();
    const long long batches = (set->count + o->batch - 1) / o->batch;
    const long long b0 = split ? r * batches / ranks : 0;
    const long long b1 = split ? (r + 1) * batches / ranks : batches;
    const int first = (int)(b0 * o->batch);
    const int end = b1 * o->batch < set->count ? (int)(b1 * o->batch) : set->count;
    eval_batches_range(m, tape, set, first, end, o->batch, visit_eval, &e);
    if (split) eval_sums_over_ranks(&e);
    if (o->task == TASK_SEG) {
        out->loss = e.loss / ((double)set->count * hw);
        DiceSummary sum;
        dice_tally_summary(&e.tally, out->evaluated, &sum);
        out->mean_dice = sum.mean;
        memcpy(out->dice, sum.dice, sizeof out->dice);
        memcpy(out->patient_dice_mean, sum.patient_dice_mean, sizeof out->patient_dice_mean);
        memcpy(out->patient_dice_sd, sum.patient_dice_sd, sizeof out->patient_dice_sd);
        out->patient_mean_mean = sum.patient_mean;
        out->patient_mean_sd = sum.patient_sd;
        out->patients = sum.patients;
        dice_tally_free(&e.tally);
    } else {
        out->mse = out->loss = e.loss / ((double)set->count * k * hw);
        out->psnr = e.psnr / set->count;
    }
}
