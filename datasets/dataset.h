/* A segmentation dataset on disk: which patients it has, which files hold their images and
 * masks, and which classes it labels. Two layouts, detected from the folder:
 *
 *   ACDC   DIR/<patient>/<patient>_frameXX.nii[.gz] with masks <patient>_frameXX_gt.nii[.gz]
 *          and an optional DIR/<patient>/Info.cfg (its "Group" is shown by `data info`).
 *          Every 2-D plane of every volume is a slice; a 4-D image pairs with a 4-D mask
 *          frame by frame, or with a 3-D mask used for every frame.
 *   PNG    DIR/images/<patient>/<slice>.png with DIR/masks/<patient>/<slice>.png
 *          (8- or 16-bit gray images; masks hold the label values 0..3).
 *
 * Patients and files are in natural order ("P2" before "P10"). An optional DIR/dataset.cfg
 * ("key: value" lines) says what the data is:
 *   preset: acdc|t1|rvsc|custom   which default split applies (split.h); default acdc for
 *                                  the ACDC layout, custom for PNG folders
 *   classes: 1 2 3                 the labelled classes (1 RV, 2 myocardium, 3 LV); default:
 *                                  the preset's (acdc/custom 1 2 3, t1 2, rvsc 1). Labels of
 *                                  other classes are read as background.
 *   spacing: 1.0                   mm per pixel of PNG slices (default 1.0)
 * The synthetic generator writes it; a real ACDC folder without it is treated as acdc. */
#ifndef REUSENET_DATASET_H
#define REUSENET_DATASET_H

#include "datasets/cfgfile.h"
#include "datasets/preprocess.h"
#include "datasets/slice.h"

enum { DATASET_CLASSES = 4 };     /* 0 background, 1 RV, 2 myocardium, 3 LV */

typedef enum DatasetLayout { DATASET_LAYOUT_ACDC, DATASET_LAYOUT_PNG } DatasetLayout;

typedef struct DatasetItem {      /* one image file and its mask file */
    char *image;
    char *mask;
} DatasetItem;

typedef struct DatasetPatient {
    char *id;                     /* folder name, e.g. "patient001" */
    char group[32];               /* Info.cfg "Group" (ACDC), "" when unknown */
    int item_count;
    DatasetItem *items;           /* ACDC: one per frame file; PNG: one per slice file */
} DatasetPatient;

typedef struct Dataset {
    char *path;
    DatasetLayout layout;
    char preset[16];              /* acdc, t1, rvsc or custom */
    unsigned classes;             /* bit c set when class c (1..3) is labelled */
    float png_spacing;            /* mm per pixel for the PNG layout */
    int patient_count;
    DatasetPatient *patients;
} Dataset;

/* Detect the layout of dir, read dataset.cfg, list patients and pair every image with its
 * mask (a missing mask is an error naming both files). No pixel data is read. */
Dataset *dataset_open(const char *dir);
void dataset_close(Dataset *d);

/* Append patient p's slices, at their native size and intensities, to set. Errors (a file
 * that cannot be read, an image and mask of different sizes, a label outside 0..3) name
 * both files. Non-finite intensities become 0. */
int dataset_load_patient(const Dataset *d, int p, SliceSet *set);
/* Load the given patients and preprocess every slice (preprocess.h) into set. */
int dataset_load(const Dataset *d, const int *patients, int count, const PreprocessOptions *pp,
                 SliceSet *set);

/* What DIR/dataset.cfg says of a folder of masks or images: spacing (mm per pixel of PNG
 * slices; 1.0 without the file or the key) and the labelled classes (without the file:
 * 1, 2 and 3). 0, or -1 with a message when the file is bad. */
int dataset_cfg_describe(const char *dir, float *spacing, unsigned *classes);
/* Apply a parsed dataset.cfg (path names it in messages) to d: preset, classes and
 * spacing as described above; d->preset holds the layout's default before. 0, or -1. */
int dataset_apply_cfg(Dataset *d, const CfgFile *cfg, const char *path);

/* Index of the patient with this id, or -1. */
int dataset_find_patient(const Dataset *d, const char *id);

/* Class helpers. */
const char *dataset_class_name(int c);                   /* "RV", "myocardium", ... */
unsigned dataset_preset_classes(const char *preset);     /* 0 for an unknown preset */
/* "RV, myocardium, LV" into buf; returns buf. */
char *dataset_classes_str(unsigned classes, char *buf, size_t len);
/* Parse "1 2 3" (spaces or commas) into a class mask; -1 on a bad list (message set). */
int dataset_parse_classes(const char *text, unsigned *classes);

#endif
