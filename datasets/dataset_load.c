/* Reading a dataset's pixels: volumes or PNG files into slices, with the image/mask checks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/dataset.h"
#include "datasets/nifti.h"
#include "datasets/pngio.h"
#include "engine/error.h"
#include "engine/memory.h"

/* A mask value must be a label 0..3 (stored as any type, possibly scaled, so allow float
 * rounding). Classes the dataset does not label become background (dataset.h). Returns
 * the label, or -1 when the value is not one. */
static int to_label(float value, unsigned classes)
{
    if (!(value > -0.01f && value < DATASET_CLASSES - 1 + 0.01f)) return -1;
    int c = (int)lrintf(value);
    if (fabsf(value - (float)c) > 0.01f) return -1;
    return c == 0 || (classes & 1u << c) ? c : 0;
}

static int acdc_load_item(const Dataset *d, int p, int item, SliceSet *set)
{
    const DatasetItem *it = &d->patients[p].items[item];
    NiftiVolume img, msk;
    if (nifti_read(it->image, &img) < 0) return -1;
    if (nifti_read(it->mask, &msk) < 0) {
        nifti_free(&img);
        return -1;
    }
    const int *a = img.dim, *b = msk.dim;
    if (a[0] != b[0] || a[1] != b[1] || a[2] != b[2] || (b[3] != 1 && b[3] != a[3])) {
        error_set("%s and its mask %s differ in size: image %dx%dx%dx%d, mask %dx%dx%dx%d",
                  it->image, it->mask, a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]);
        nifti_free(&img);
        nifti_free(&msk);
        return -1;
    }
    int nx = a[0], ny = a[1];
    size_t plane = (size_t)nx * (size_t)ny;
    int status = 0;
    for (int t = 0; t < a[3] && !status; t++) {
        for (int z = 0; z < a[2] && !status; z++) {
            Slice s = slice_alloc(ny, nx);
            s.spacing[0] = img.spacing[1];   /* rows run along y */
            s.spacing[1] = img.spacing[0];
            s.patient = p;
            s.item = item;
            s.t = t;
            s.z = z;
            const float *src = img.data + ((size_t)t * (size_t)a[2] + (size_t)z) * plane;
            const float *lab = msk.data + ((size_t)(b[3] == 1 ? 0 : t) * (size_t)a[2] + (size_t)z) * plane;
            for (size_t i = 0; i < plane && !status; i++) {
                s.image[i] = src[i];          /* finite: nifti_read refuses others */
                int c = to_label(lab[i], d->classes);
                if (c < 0)
                    status = error_set("%s (mask of %s): value %g at x=%zu y=%zu z=%d t=%d is "
                                       "not a label 0..3", it->mask, it->image, (double)lab[i],
                                       i % (size_t)nx, i / (size_t)nx, z, b[3] == 1 ? 0 : t);
                else
                    s.label[i] = (uint8_t)c;
            }
            if (status) slice_free(&s);
            else sliceset_push(set, s);
        }
    }
    nifti_free(&img);
    nifti_free(&msk);
    return status;
}

static int png_load_item(const Dataset *d, int p, int item, SliceSet *set)
{
    const DatasetItem *it = &d->patients[p].items[item];
    GrayImage img, msk;
    if (pngio_read_gray(it->image, &img) < 0) return -1;
    if (pngio_read_gray(it->mask, &msk) < 0) {
        pngio_free(&img);
        return -1;
    }
    int status = 0;
    if (img.width != msk.width || img.height != msk.height) {
        status = error_set("%s and its mask %s differ in size: image %dx%d, mask %dx%d",
                           it->image, it->mask, img.width, img.height, msk.width, msk.height);
    } else {
        Slice s = slice_alloc(img.height, img.width);
        s.spacing[0] = s.spacing[1] = d->png_spacing;
        s.patient = p;
        s.item = item;
        size_t n = (size_t)img.width * (size_t)img.height;
        for (size_t i = 0; i < n && !status; i++) {
            s.image[i] = img.pixels[i];
            int c = to_label(msk.pixels[i], d->classes);
            if (c < 0)
                status = error_set("%s (mask of %s): value %d at x=%zu y=%zu is not a label 0..3",
                                   it->mask, it->image, msk.pixels[i], i % (size_t)img.width,
                                   i / (size_t)img.width);
            else
                s.label[i] = (uint8_t)c;
        }
        if (status) slice_free(&s);
        else sliceset_push(set, s);
    }
    pngio_free(&img);
    pngio_free(&msk);
    return status;
}

int dataset_load_patient(const Dataset *d, int p, SliceSet *set)
{
    CHECK(p >= 0 && p < d->patient_count, "dataset_load_patient: patient %d of %d", p,
          d->patient_count);
    for (int i = 0; i < d->patients[p].item_count; i++) {
        int status = d->layout == DATASET_LAYOUT_ACDC ? acdc_load_item(d, p, i, set)
                                                      : png_load_item(d, p, i, set);
        if (status < 0) return -1;
    }
    return 0;
}

/* Before a patient's slices are preprocessed: each one's resampled grid is within bounds,
 * and the set with them fits in memory. 0, or -1 naming the file or the sizes. */
static int check_preprocess(const Dataset *d, const SliceSet *raw, const SliceSet *set,
                            const PreprocessOptions *pp)
{
    for (int i = 0; pp->spacing_mm > 0 && i < raw->count; i++) {
        const Slice *s = &raw->slices[i];
        int rh, rw;
        if (preprocess_grid(s->height, s->width, s->spacing, pp->spacing_mm, &rh, &rw))
            return error_prefix("%s", d->patients[s->patient].items[s->item].image);
    }
    const double per_slice = (double)pp->size * pp->size * (sizeof(float) + sizeof(uint8_t));
    char what[96];
    snprintf(what, sizeof what, "%d slices of %dx%d", set->count + raw->count, pp->size, pp->size);
    return memory_check(per_slice * (set->count + raw->count), what);
}

int dataset_load(const Dataset *d, const int *patients, int count, const PreprocessOptions *pp,
                 SliceSet *set)
{
    if (preprocess_check(pp)) return -1;
    /* One patient at a time, so only that patient's native-size slices are held at once. */
    for (int k = 0; k < count; k++) {
        SliceSet raw = {0};
        if (dataset_load_patient(d, patients[k], &raw) < 0 || check_preprocess(d, &raw, set, pp)) {
            sliceset_free(&raw);
            return -1;
        }
        for (int i = 0; i < raw.count; i++) sliceset_push(set, preprocess_slice(&raw.slices[i], pp));
        sliceset_free(&raw);
    }
    return 0;
}
