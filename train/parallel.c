/* Data-parallel training: see parallel.h. */
#include "engine/dist.h"
#include "train/parallel.h"

void parallel_sum_step(ParamStore *ps, double *loss)
{
    dist_sum_floats(ps->grads, ps->n_values);
    dist_sum_doubles(loss, 1);
}

static uint64_t slices_fingerprint(const SliceSet *s, uint64_t h)
{
    h = dist_hash(h, &s->count, sizeof s->count);
    for (int i = 0; i < s->count; i++) {
        const Slice *sl = &s->slices[i];
        const size_t plane = (size_t)sl->height * sl->width;
        h = dist_hash(h, &sl->height, sizeof sl->height);
        h = dist_hash(h, &sl->width, sizeof sl->width);
        h = dist_hash(h, sl->image, plane * sizeof *sl->image);
        if (sl->label) h = dist_hash(h, sl->label, plane);
    }
    return h;
}

uint64_t parallel_data_fingerprint(const RunData *d)
{
    return slices_fingerprint(&d->val, slices_fingerprint(&d->train, DIST_HASH_INIT));
}
