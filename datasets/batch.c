#include <stdlib.h>
#include <string.h>

#include "datasets/batch.h"
#include "engine/error.h"

/* RNG streams: epoch e draws its order from stream (e << 32) and the augmentation of its
 * k-th slice from stream (e << 32) + 1 + k, so no two draws share a stream. */
static uint64_t stream_of(int epoch, int k) { return ((uint64_t)(uint32_t)epoch << 32) + (uint64_t)k; }

void batch_defaults(BatchOptions *o)
{
    memset(o, 0, sizeof *o);
    o->batch_size = 8;
    o->shuffle = 1;
    augment_defaults(&o->aug);
}

void batch_init(BatchIterator *it, const SliceSet *set, const BatchOptions *o)
{
    CHECK(set->count > 0, "batch_init: empty slice set");
    CHECK(o->batch_size > 0, "batch_init: batch size %d", o->batch_size);
    memset(it, 0, sizeof *it);
    it->set = set;
    it->size = set->slices[0].width;
    for (int i = 0; i < set->count; i++)
        CHECK(set->slices[i].width == it->size && set->slices[i].height == it->size,
              "batch_init: slice %d is %dx%d, expected %dx%d (preprocess first)", i,
              set->slices[i].height, set->slices[i].width, it->size, it->size);
    it->opt = *o;
    it->order = xmalloc((size_t)set->count * sizeof *it->order);
    batch_seek(it, 0, 0);
}

void batch_seek(BatchIterator *it, int epoch, int position)
{
    CHECK(epoch >= 0 && position >= 0 && position <= it->set->count,
          "batch_seek: epoch %d position %d", epoch, position);
    it->epoch = epoch;
    it->position = position;
    for (int i = 0; i < it->set->count; i++) it->order[i] = i;
    if (it->opt.shuffle) {
        Rng r;
        rng_seed(&r, it->opt.seed, stream_of(epoch, 0));
        rng_shuffle(&r, it->order, it->set->count);
    }
}

int batch_count(const BatchIterator *it)
{
    int n = it->set->count, b = it->opt.batch_size;
    return it->opt.drop_last ? n / b : (n + b - 1) / b;
}

/* Slices [from, to) of the batch starting at it->position into images and labels. */
static void fill_range(BatchIterator *it, int from, int to, float *images, int64_t *labels)
{
    size_t plane = (size_t)it->size * it->size;
    uint8_t *aug_label = it->opt.augment && labels ? xmalloc(plane) : NULL;
    for (int b = from; b < to; b++) {
        int k = it->position + b;
        const Slice *s = &it->set->slices[it->order[k]];
        float *img = images + (size_t)(b - from) * plane;
        int64_t *lab_out = labels ? labels + (size_t)(b - from) * plane : NULL;
        const uint8_t *lab = s->label;
        if (it->opt.augment) {
            Rng r;
            rng_seed(&r, it->opt.seed, stream_of(it->epoch, 1 + k));
            augment_slice(s->image, s->label, it->size, &it->opt.aug, &r, img, aug_label);
            lab = aug_label;
        } else {
            memcpy(img, s->image, plane * sizeof *img);
        }
        if (lab_out)
            for (size_t i = 0; i < plane; i++) lab_out[i] = lab[i];
    }
    free(aug_label);
}

/* The size of the next batch, 0 at the end of the epoch. */
static int next_size(const BatchIterator *it)
{
    int left = it->set->count - it->position;
    int n = left < it->opt.batch_size ? left : it->opt.batch_size;
    return n <= 0 || (it->opt.drop_last && n < it->opt.batch_size) ? 0 : n;
}

int batch_next(BatchIterator *it, float *images, int64_t *labels)
{
    int n = next_size(it);
    if (n) fill_range(it, 0, n, images, labels);
    it->position += n;
    return n;
}

int batch_next_share(BatchIterator *it, int part, int parts, float *images, int64_t *labels,
                     int *batch_n)
{
    CHECK(parts >= 1 && part >= 0 && part < parts, "batch_next_share: part %d of %d", part, parts);
    int n = next_size(it);
    *batch_n = n;
    if (!n) return 0;
    const int from = (int)((int64_t)n * part / parts), to = (int)((int64_t)n * (part + 1) / parts);
    fill_range(it, from, to, images, labels);
    it->position += n;
    return to - from;
}

void batch_free(BatchIterator *it)
{
    free(it->order);
    it->order = NULL;
}
