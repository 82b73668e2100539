#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/preprocess.h"
#include "engine/error.h"
#include "engine/resize.h"
#include "train/predict.h"

int predictor_init(Predictor *p, Model *m, int size, float spacing_mm)
{
    memset(p, 0, sizeof *p);
    if (m->cfg.task != TASK_SEG)
        return error_set("the checkpoint is an auto-encoder (task %s), not a segmentation model",
                         model_task_name(m->cfg.task));
    if (model_check_run(m, 1, size, size, false)) return error_prefix("window size %d", size);
    p->model = m;
    p->size = size;
    p->spacing_mm = spacing_mm;
    tape_init(&p->tape, 0);
    p->tape.recording = false;
    p->tape.training = false;
    return 0;
}

void predictor_free(Predictor *p)
{
    if (p->model) tape_free(&p->tape);
    memset(p, 0, sizeof *p);
}

int predict_grid(const Predictor *p, int h, int w, const float spacing[2], int *rh, int *rw)
{
    *rh = h;
    *rw = w;
    /* the size preprocess_resample gives, bounded as it bounds it */
    if (p->spacing_mm > 0 && preprocess_grid(h, w, spacing, p->spacing_mm, rh, rw)) return -1;
    if (*rh > PREDICT_MAX_SIDE || *rw > PREDICT_MAX_SIDE)
        return error_set("a %dx%d slice is larger than %d a side", h, w, PREDICT_MAX_SIDE);
    return 0;
}

/* Window starts along an axis of length len (predict.h, step 2); returns their count. */
static int window_starts(int len, int size, int **out)
{
    if (len <= size) {
        int a = len - size;                       /* floor(a / 2), a <= 0 */
        *out = xmalloc(sizeof **out);
        (*out)[0] = -((1 - a) / 2);
        return 1;
    }
    int stride = size / 2, n = (len - size + stride - 1) / stride + 1;
    *out = xmalloc(sizeof **out * (size_t)n);
    for (int i = 0; i < n; i++) (*out)[i] = (int)lround((double)i * (len - size) / (n - 1));
    return n;
}

/* Run one S x S window at (y0, x0) of img (h, w) and add its logits to acc (K, h, w). */
static void run_window(Predictor *p, const float *img, int h, int w, int y0, int x0, float *acc,
                       int *count)
{
    Model *m = p->model;
    const int s = p->size, k = m->cfg.classes;
    const size_t hw = (size_t)s * s;
    tape_reset(&p->tape);
    Tensor *x = tape_tensor4(&p->tape, 1, m->cfg.in_channels, s, s);
    memset(x->data, 0, hw * sizeof(float));
    for (int y = 0; y < s; y++) {
        int sy = y + y0;
        if (sy < 0 || sy >= h) continue;
        for (int xx = 0; xx < s; xx++) {
            int sx = xx + x0;
            if (sx >= 0 && sx < w) x->data[(size_t)y * s + xx] = img[(size_t)sy * w + sx];
        }
    }
    preprocess_zscore(x->data, hw);
    for (int c = 1; c < m->cfg.in_channels; c++)
        memcpy(x->data + (size_t)c * hw, x->data, hw * sizeof(float));
    Tensor *out = model_forward(m, &p->tape, x);
    for (int y = 0; y < s; y++) {
        int sy = y + y0;
        if (sy < 0 || sy >= h) continue;
        for (int xx = 0; xx < s; xx++) {
            int sx = xx + x0;
            if (sx < 0 || sx >= w) continue;
            size_t at = (size_t)sy * w + sx;
            count[at]++;
            for (int c = 0; c < k; c++)
                acc[(size_t)c * h * w + at] += out->data[(size_t)c * hw + (size_t)y * s + xx];
        }
    }
}

/* Mean logits (K, h, w) of img (h, w) over every window (steps 2-4). Caller frees. */
static float *window_logits(Predictor *p, const float *img, int h, int w)
{
    const int k = p->model->cfg.classes;
    float *acc = xcalloc((size_t)k * h * w, sizeof *acc);
    int *count = xcalloc((size_t)h * w, sizeof *count);
    int *ys, *xs;
    int ny = window_starts(h, p->size, &ys), nx = window_starts(w, p->size, &xs);
    for (int i = 0; i < ny; i++)
        for (int j = 0; j < nx; j++) run_window(p, img, h, w, ys[i], xs[j], acc, count);
    for (int c = 0; c < k; c++)
        for (size_t i = 0; i < (size_t)h * w; i++) acc[(size_t)c * h * w + i] /= (float)count[i];
    tape_reset(&p->tape);
    free(ys);
    free(xs);
    free(count);
    return acc;
}

int predict_slice(Predictor *p, const float *image, int h, int w, const float spacing[2],
                  float *prob, uint8_t *labels)
{
    int rh, rw;
    if (predict_grid(p, h, w, spacing, &rh, &rw)) return -1;
    const int k = p->model->cfg.classes;
    const size_t n = (size_t)h * w;
    float *logits;
    if (rh == h && rw == w) {
        logits = window_logits(p, image, h, w);
    } else {
        /* preprocess_resample reads a label plane too; a blank one is resampled and dropped. */
        Slice in = {h, w, {spacing[0], spacing[1]}, (float *)image, xcalloc(n, 1), 0, 0, 0, 0};
        Slice r = preprocess_resample(&in, p->spacing_mm);
        free(in.label);
        CHECK(r.height == rh && r.width == rw, "predict_slice: resampled to %dx%d, expected %dx%d",
              r.height, r.width, rh, rw);
        float *small = window_logits(p, r.image, rh, rw);
        slice_free(&r);
        logits = xmalloc(sizeof *logits * (size_t)k * n);
        resize_bilinear_forward(k, rh, rw, h, w, small, logits);
        free(small);
    }
    for (size_t i = 0; i < n; i++) {        /* softmax over classes, shifted by the maximum */
        int best = 0;
        for (int c = 1; c < k; c++)
            if (logits[(size_t)c * n + i] > logits[(size_t)best * n + i]) best = c;
        labels[i] = (uint8_t)best;
        if (!prob) continue;
        double mx = logits[(size_t)best * n + i], sum = 0;
        for (int c = 0; c < k; c++) sum += exp(logits[(size_t)c * n + i] - mx);
        for (int c = 0; c < k; c++)
            prob[(size_t)c * n + i] = (float)(exp(logits[(size_t)c * n + i] - mx) / sum);
    }
    free(logits);
    return 0;
}
