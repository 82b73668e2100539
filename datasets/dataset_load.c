/* Reading a dataset's pixels: volumes (NIfTI, HDF5) or PNG files into slices, with the
 * image/mask checks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/dataset.h"
#include "datasets/hdf5io.h"
#include "datasets/nifti.h"
#include "datasets/pngio.h"
#include "engine/error.h"
#include "engine/memory.h"

/* The file that holds an item's mask, and how a message names it. */
static void mask_names(const DatasetItem *it, char *buf, size_t len)
{
    if (it->mask) snprintf(buf, len, "%s (mask of %s)", it->mask, it->image);
    else snprintf(buf, len, "%s: 'label'", it->image);
}

static int bad_label(const Dataset *d, const DatasetItem *it, double value, const char *where)
{
    char names[8300], values[200];
    mask_names(it, names, sizeof names);
    classmap_values_str(&d->classmap, values, sizeof values);
    return error_set("%s: value %g at %s is not a label %s%s", names, value, where, values,
                     d->classmap.by_value ? " (the labels: of dataset.cfg)" : "");
}

/* An item's image and mask as volumes (NIfTI order), the sizes checked. */
static int read_item(const Dataset *d, const DatasetItem *it, NiftiVolume *img, NiftiVolume *msk)
{
    if (d->layout == DATASET_LAYOUT_HDF5) {
        if (hdf5_read_case(it->image, d->axes, img, msk) < 0) return -1;
        for (int k = 0; k < 3; k++) img->spacing[k] = msk->spacing[k] = d->spacing[k];
        return 0;
    }
    if (nifti_read(it->image, img) < 0) return -1;
    if (nifti_read(it->mask, msk) < 0) {
        nifti_free(img);
        return -1;
    }
    const int *a = img->dim, *b = msk->dim;
    if (a[0] != b[0] || a[1] != b[1] || a[2] != b[2] || (b[3] != 1 && b[3] != a[3])) {
        error_set("%s and its mask %s differ in size: image %dx%dx%dx%d, mask %dx%dx%dx%d",
                  it->image, it->mask, a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]);
        nifti_free(img);
        nifti_free(msk);
        return -1;
    }
    return 0;
}

/* Every plane of a volume item as a slice (a 4-D image: every frame, with a 3-D mask used
 * for each). */
static int volume_load_item(const Dataset *d, int p, int item, SliceSet *set)
{
    const DatasetItem *it = &d->patients[p].items[item];
    NiftiVolume img, msk;
    if (read_item(d, it, &img, &msk) < 0) return -1;
    const int *a = img.dim, *b = msk.dim;
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
            s.z = it->slice >= 0 ? it->slice : z;
            const float *src = img.data + ((size_t)t * (size_t)a[2] + (size_t)z) * plane;
            const float *lab = msk.data + ((size_t)(b[3] == 1 ? 0 : t) * (size_t)a[2] + (size_t)z) * plane;
            for (size_t i = 0; i < plane && !status; i++) {
                s.image[i] = src[i];
                int c = classmap_label(&d->classmap, lab[i]);
                char where[96];
                int n = snprintf(where, sizeof where, "x=%zu y=%zu z=%d", i % (size_t)nx,
                                 i / (size_t)nx, z);
                if (d->layout == DATASET_LAYOUT_ACDC)     /* NIfTI's 4th axis */
                    snprintf(where + n, sizeof where - (size_t)n, " t=%d", b[3] == 1 ? 0 : t);
                if (!isfinite(src[i])) {      /* NIfTI refuses them on reading; HDF5 here */
                    status = error_set("%s: value %g at %s is not a finite number", it->image,
                                       (double)src[i], where);
                } else if (c < 0) {
                    status = bad_label(d, it, lab[i], where);
                } else {
                    s.label[i] = (uint8_t)c;
                }
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
        s.spacing[0] = d->spacing[1];
        s.spacing[1] = d->spacing[0];
        s.patient = p;
        s.item = item;
        size_t n = (size_t)img.width * (size_t)img.height;
        for (size_t i = 0; i < n && !status; i++) {
            s.image[i] = img.pixels[i];
            int c = classmap_label(&d->classmap, msk.pixels[i]);
            char where[64];
            if (c < 0) {
                snprintf(where, sizeof where, "x=%zu y=%zu", i % (size_t)img.width,
                         i / (size_t)img.width);
                status = bad_label(d, it, msk.pixels[i], where);
            } else {
                s.label[i] = (uint8_t)c;
            }
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
        int status = d->layout == DATASET_LAYOUT_PNG ? png_load_item(d, p, i, set)
                                                     : volume_load_item(d, p, i, set);
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

/* ---- whole frames, for writing them elsewhere */

/* A PNG item as two 2-D volumes. */
static int png_read_item(const Dataset *d, const DatasetItem *it, NiftiVolume *img, NiftiVolume *msk)
{
    GrayImage gi, gm;
    if (pngio_read_gray(it->image, &gi) < 0) return -1;
    if (pngio_read_gray(it->mask, &gm) < 0) {
        pngio_free(&gi);
        return -1;
    }
    int status = gi.width != gm.width || gi.height != gm.height
                     ? error_set("%s and its mask %s differ in size: image %dx%d, mask %dx%d",
                                 it->image, it->mask, gi.width, gi.height, gm.width, gm.height)
                     : 0;
    if (!status) {
        size_t n = (size_t)gi.width * (size_t)gi.height;
        NiftiVolume *v[2] = {img, msk};
        const GrayImage *g[2] = {&gi, &gm};
        for (int k = 0; k < 2; k++) {
            *v[k] = (NiftiVolume){{gi.width, gi.height, 1, 1}, {d->spacing[0], d->spacing[1],
                                  d->spacing[2], 1}, NIFTI_FLOAT32, 0, xmalloc_floats(n)};
            for (size_t i = 0; i < n; i++) v[k]->data[i] = (float)g[k]->pixels[i];
        }
    }
    pngio_free(&gi);
    pngio_free(&gm);
    return status;
}

/* Append the planes of src (nx, ny as dst's) to dst, which holds z planes so far. */
static void append_planes(NiftiVolume *dst, const NiftiVolume *src, int z)
{
    size_t plane = (size_t)src->dim[0] * (size_t)src->dim[1];
    memcpy(dst->data + (size_t)z * plane, src->data, plane * (size_t)src->dim[2] * sizeof(float));
}

/* The items of a frame made of one-slice files, stacked in slice order. */
static int stack_slices(const Dataset *d, int p, int f, NiftiVolume *image, NiftiVolume *label)
{
    const DatasetPatient *pat = &d->patients[p];
    int count = 0, z = 0, status = 0;
    for (int i = 0; i < pat->item_count; i++) count += pat->items[i].frame == f;
    for (int i = 0; i < pat->item_count && !status; i++) {
        const DatasetItem *it = &pat->items[i];
        if (it->frame != f) continue;
        NiftiVolume a, b;
        status = d->layout == DATASET_LAYOUT_PNG ? png_read_item(d, it, &a, &b)
                                                 : read_item(d, it, &a, &b);
        if (status) break;
        if (z == 0) {
            for (int k = 0; k < 2; k++) {
                NiftiVolume *v = k ? label : image;
                *v = k ? b : a;
                v->dim[2] = count;
                v->data = xmalloc_floats((size_t)a.dim[0] * (size_t)a.dim[1] * (size_t)count);
            }
        } else if (a.dim[0] != image->dim[0] || a.dim[1] != image->dim[1] || a.dim[2] != 1) {
            status = error_set("%s is %dx%d, but the first slice of %s is %dx%d: the slices of a "
                               "frame must agree in size to make a volume", it->image, a.dim[0],
                               a.dim[1], pat->frames[f], image->dim[0], image->dim[1]);
        }
        if (!status) {
            append_planes(image, &a, z);
            append_planes(label, &b, z);
            z++;
        }
        nifti_free(&a);
        nifti_free(&b);
    }
    return status;
}

int dataset_load_frame(const Dataset *d, int p, int f, NiftiVolume *image, NiftiVolume *label)
{
    const DatasetPatient *pat = &d->patients[p];
    CHECK(f >= 0 && f < pat->frame_count, "dataset_load_frame: frame %d of %d", f, pat->frame_count);
    memset(image, 0, sizeof *image);
    memset(label, 0, sizeof *label);
    int item = 0;
    while (item < pat->item_count && pat->items[item].frame != f) item++;
    CHECK(item < pat->item_count, "dataset_load_frame: frame %d has no file", f);
    int status = pat->items[item].slice < 0 ? read_item(d, &pat->items[item], image, label)
                                            : stack_slices(d, p, f, image, label);
    /* every value a label: a frame written elsewhere must load here the same way */
    for (size_t i = 0, n = status ? 0 : nifti_voxel_count(label); i < n && !status; i++)
        if (classmap_label(&d->classmap, label->data[i]) < 0) {
            size_t plane = (size_t)label->dim[0] * (size_t)label->dim[1];
            char where[96];
            snprintf(where, sizeof where, "x=%zu y=%zu z=%zu", i % plane % (size_t)label->dim[0],
                     i % plane / (size_t)label->dim[0], i / plane);
            status = bad_label(d, &pat->items[item], label->data[i], where);
        }
    if (status) {
        nifti_free(image);
        nifti_free(label);
    }
    return status;
}
