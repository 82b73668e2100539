#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/tape.h"
#include "train/evaluate.h"

unsigned eval_classes(unsigned labelled, int k)
{
    unsigned mask = 1u | labelled;
    if (k < 32) mask &= (1u << k) - 1;
    return mask;
}

void dice_accumulate(const float *logits, int n, int k, int hw, const uint8_t *const *labels,
                     DiceCounts *counts)
{
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * k * hw;
        const uint8_t *g = labels[i];
        for (int p = 0; p < hw; p++) {
            int best = 0;                 /* argmax; ties go to the lower class, as torch */
            for (int c = 1; c < k; c++)
                if (z[(size_t)c * hw + p] > z[(size_t)best * hw + p]) best = c;
            int truth = g[p] < k ? g[p] : 0;
            counts->pred[best]++;
            counts->truth[truth]++;
            if (best == truth) counts->inter[best]++;
        }
    }
}

double dice_from_counts(const DiceCounts *c, int k, unsigned evaluated, double *dice)
{
    double sum = 0;
    int used = 0;
    for (int j = 0; j < k && j < EVAL_MAX_CLASSES; j++) {
        int64_t denom = c->pred[j] + c->truth[j];
        double d = denom ? 2.0 * (double)c->inter[j] / (double)denom : 1.0;
        if (dice) dice[j] = d;
        if (evaluated & (1u << j)) {
            sum += d;
            used++;
        }
    }
    return used ? sum / used : 0;
}

/* mean and sample standard deviation */
static void mean_sd(const double *x, int n, double *mean, double *sd)
{
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++) s += x[i];
    *mean = n ? s / n : 0;
    for (int i = 0; i < n; i++) ss += (x[i] - *mean) * (x[i] - *mean);
    *sd = n > 1 ? sqrt(ss / (n - 1)) : 0;
}

void evaluate_model(Model *m, Tape *tape, const SliceSet *set, const EvalOptions *o,
                    EvalResult *out)
{
    const int k = m->cfg.classes, batch = o->batch > 0 ? o->batch : 8;
    memset(out, 0, sizeof *out);
    out->classes = k;
    out->evaluated = eval_classes(o->labelled, k);
    if (!set->count) return;
    const int size = set->slices[0].height, hw = size * size;

    /* Per-patient counts: patients are identified by Slice.patient. */
    int max_patient = 0;
    for (int i = 0; i < set->count; i++)
        if (set->slices[i].patient > max_patient) max_patient = set->slices[i].patient;
    DiceCounts total = {0}, *per_patient = calloc((size_t)max_patient + 1, sizeof *per_patient);

    bool saved_recording = tape->recording, saved_training = tape->training;
    tape->recording = false;
    tape->training = false;
    double loss_sum = 0, psnr_sum = 0;
    for (int start = 0; start < set->count; start += batch) {
        int n = set->count - start < batch ? set->count - start : batch;
        tape_reset(tape);
        Tensor *x = tape_tensor4(tape, n, m->cfg.in_channels, size, size);
        for (int i = 0; i < n; i++)
            for (int c = 0; c < m->cfg.in_channels; c++)
                memcpy(x->data + ((size_t)i * m->cfg.in_channels + c) * hw,
                       set->slices[start + i].image, (size_t)hw * sizeof(float));
        Tensor *y = model_forward(m, tape, x);
        for (int i = 0; i < n; i++) {
            const Slice *s = &set->slices[start + i];
            const float *z = y->data + (size_t)i * k * hw;
            if (o->task == TASK_SEG) {
                const uint8_t *labels[1] = {s->label};
                dice_accumulate(z, 1, k, hw, labels, &total);
                dice_accumulate(z, 1, k, hw, labels, &per_patient[s->patient]);
                /* cross-entropy of this slice, log-sum-exp per pixel */
                for (int p = 0; p < hw; p++) {
                    double mx = z[p];
                    for (int c = 1; c < k; c++) mx = fmax(mx, z[(size_t)c * hw + p]);
                    double se = 0;
                    for (int c = 0; c < k; c++) se += exp(z[(size_t)c * hw + p] - mx);
                    int g = s->label[p] < k ? s->label[p] : 0;
                    loss_sum += mx + log(se) - z[(size_t)g * hw + p];
                }
            } else {
                double se = 0, lo = s->image[0], hi = s->image[0];
                for (int p = 0; p < hw; p++) {
                    lo = fmin(lo, s->image[p]);
                    hi = fmax(hi, s->image[p]);
                    for (int c = 0; c < k; c++) {
                        double d = z[(size_t)c * hw + p] - s->image[p];
                        se += d * d;
                    }
                }
                loss_sum += se;
                double mse = se / ((double)k * hw);
                psnr_sum += 10.0 * log10(((hi - lo) * (hi - lo) + 1e-12) / (mse + 1e-12));
            }
        }
    }
    tape_reset(tape);
    tape->recording = saved_recording;
    tape->training = saved_training;

    if (o->task == TASK_SEG) {
        out->loss = loss_sum / ((double)set->count * hw);
        out->mean_dice = dice_from_counts(&total, k, out->evaluated, out->dice);
        double *per_class = malloc(sizeof(double) * (size_t)(max_patient + 1));
        double *means = malloc(sizeof(double) * (size_t)(max_patient + 1));
        int np = 0;
        double dice[EVAL_MAX_CLASSES];
        for (int p = 0; p <= max_patient; p++) {
            int64_t px = 0;
            for (int c = 0; c < k; c++) px += per_patient[p].truth[c];
            if (!px) continue;
            means[np++] = dice_from_counts(&per_patient[p], k, out->evaluated, dice);
        }
        out->patients = np;
        mean_sd(means, np, &out->patient_mean_mean, &out->patient_mean_sd);
        for (int c = 0; c < k && c < EVAL_MAX_CLASSES; c++) {
            int j = 0;
            for (int p = 0; p <= max_patient; p++) {
                int64_t px = 0;
                for (int q = 0; q < k; q++) px += per_patient[p].truth[q];
                if (!px) continue;
                dice_from_counts(&per_patient[p], k, out->evaluated, dice);
                per_class[j++] = dice[c];
            }
            mean_sd(per_class, j, &out->patient_dice_mean[c], &out->patient_dice_sd[c]);
        }
        free(per_class);
        free(means);
    } else {
        out->mse = out->loss = loss_sum / ((double)set->count * k * hw);
        out->psnr = psnr_sum / set->count;
    }
    free(per_patient);
}
