/* Prediction overlays: what a person looks at to see whether a Dice number is believable. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "datasets/dataset.h"
#include "datasets/pngio.h"
#include "datasets/preview.h"
#include "engine/error.h"
#include "engine/fsutil.h"
#include "train/evaluate.h"

void overlay_pixel(float g, int label, uint8_t rgb[3])
{
    float v = g < 0 ? 0 : g > 1 ? 1 : g;
    for (int c = 0; c < 3; c++) {
        float x = label > 0 && label < 4 ? 0.45f * v + 0.55f * preview_class_rgb[label][c] / 255.0f : v;
        rgb[c] = (uint8_t)(x * 255.0f + 0.5f);
    }
}

int eval_write_overlays(Model *m, Tape *tape, const SliceSet *set, const char *dir)
{
    if (make_dirs(dir)) return -1;
    if (!set->count) return 0;
    const int s = set->slices[0].height, hw = s * s, k = m->cfg.classes;
    uint8_t *rgb = xmalloc((size_t)3 * hw * 3);
    bool rec = tape->recording, tr = tape->training;
    tape->recording = tape->training = false;
    int rc = 0;
    for (int i = 0; i < set->count && !rc; i++) {
        const Slice *sl = &set->slices[i];
        tape_reset(tape);
        Tensor *x = tape_tensor4(tape, 1, m->cfg.in_channels, s, s);
        for (int c = 0; c < m->cfg.in_channels; c++)
            memcpy(x->data + (size_t)c * hw, sl->image, (size_t)hw * sizeof(float));
        Tensor *y = model_forward(m, tape, x);
        float lo = sl->image[0], hi = sl->image[0];
        for (int p = 0; p < hw; p++) {
            lo = sl->image[p] < lo ? sl->image[p] : lo;
            hi = sl->image[p] > hi ? sl->image[p] : hi;
        }
        for (int yy = 0; yy < s; yy++)
            for (int xx = 0; xx < s; xx++) {
                int p = yy * s + xx, best = 0;
                for (int c = 1; c < k; c++)
                    if (y->data[(size_t)c * hw + p] > y->data[(size_t)best * hw + p]) best = c;
                float g = hi > lo ? (sl->image[p] - lo) / (hi - lo) : 0;
                uint8_t *row = rgb + ((size_t)yy * 3 * s) * 3;
                overlay_pixel(g, 0, row + (size_t)xx * 3);
                overlay_pixel(g, sl->label[p], row + (size_t)(s + xx) * 3);
                overlay_pixel(g, best, row + (size_t)(2 * s + xx) * 3);
            }
        char path[4096];
        snprintf(path, sizeof path, "%s/slice_%04d_p%03d.png", dir, i, sl->patient);
        rc = pngio_write_rgb(path, rgb, 3 * s, s, 0);
    }
    tape_reset(tape);
    tape->recording = rec;
    tape->training = tr;
    free(rgb);
    return rc;
}
