/* A segmentation dataset on disk: which patients it has, which files hold their images and
 * masks, and which classes it labels. Three layouts, detected from the folder:
 *
 *   ACDC   DIR/<patient>/<patient>_frameXX.nii[.gz] with masks <patient>_frameXX_gt.nii[.gz]
 *          and an optional DIR/<patient>/Info.cfg (its "Group" is shown by `data info`).
 *          Every 2-D plane of every volume is a slice; a 4-D image pairs with a 4-D mask
 *          frame by frame, or with a 3-D mask used for every frame.
 *   PNG    DIR/images/<patient>/<slice>.png with DIR/masks/<patient>/<slice>.png
 *          (8- or 16-bit gray images; masks hold the label values).
 *   HDF5   files holding datasets "image" and "label" of one shape (datasets/hdf5io.h), in
 *          one of the two forms the SSL4MIS family of repositories keeps (dataset_hdf5.c):
 *            data/    DIR/data/<case>.h5 volumes (3-D) and <case>_slice_<K>.h5 slices (2-D)
 *                     in DIR/data/slices/ or DIR/data/; arrays (Z, Y, X)
 *            cases    DIR/<folder>/<case>/<name>.h5, one file per case folder (the Left
 *                     Atrium set: "2018LA_Seg_Training Set/<ID>/mri_norm2.h5"); arrays
 *                     (X, Y, Z)
 *          A case "<patient>_frameNN" is a frame of patient <patient>, any other case its
 *          own patient; a case held as a volume is read from it, not from its slices.
 *
 * Patients, frames and files are in natural order ("P2" before "P10"). DIR's lists
 * (train.list, val.list, test.list: one case or patient per line) may give the split
 * (dataset_lists.c). An optional DIR/dataset.cfg ("key: value" lines; an unknown key is an error)
 * says what the files do not:
 *   preset: acdc|t1|rvsc|custom   which default split applies (split.h); default acdc for
 *                                  the ACDC layout and HDF5's data/ form, else custom
 *   classes: 1 2 3                 the labelled classes (1 RV, 2 myocardium, 3 LV); default:
 *                                  the preset's (acdc/custom 1 2 3, t1 2, rvsc 1). Labels of
 *                                  other classes are read as background.
 *   labels: 1 left atrium          instead of classes: which class each label value is,
 *                                  and its name (classmap.h); default for HDF5's cases
 *                                  form: "1 foreground"
 *   spacing: 1.25 [1.25 10]        mm per pixel (x, y) and between slices (z) where the
 *                                  files hold none (PNG, HDF5); default 1 (assumed)
 *   axes: zyx|xyz                  the order of an HDF5 array's axes, slowest first (h5py's
 *                                  shape order); default: the form's
 * and, written by the generator for the record: patients, seed, size, noise. A real ACDC
 * folder without the file is acdc with RV, myocardium and LV labelled. */
#ifndef REUSENET_DATASET_H
#define REUSENET_DATASET_H

#include <stdbool.h>

#include "datasets/cfgfile.h"
#include "datasets/classmap.h"
#include "datasets/hdf5io.h"
#include "datasets/preprocess.h"
#include "datasets/slice.h"

typedef enum DatasetLayout { DATASET_LAYOUT_ACDC, DATASET_LAYOUT_PNG, DATASET_LAYOUT_HDF5 } DatasetLayout;
typedef enum DatasetHdf5Form { DATASET_HDF5_DATA, DATASET_HDF5_CASES } DatasetHdf5Form;

typedef struct DatasetItem {      /* one image file and its mask file */
    char *image;
    char *mask;                   /* HDF5: NULL (the file holds both) */
    int frame;                    /* index into the patient's frames */
    int slice;                    /* a file of one slice (PNG; HDF5: K of _slice_K): its
                                     number; a volume: -1 */
} DatasetItem;

typedef struct DatasetPatient {
    char *id;                     /* folder name, e.g. "patient001"; HDF5: from the case */
    char group[32];               /* Info.cfg "Group" (ACDC), "" when unknown */
    int item_count;
    DatasetItem *items;           /* ACDC: one per frame file; PNG: one per slice file;
                                     HDF5: one per file (volume or slice) */
    int frame_count;
    char **frames;                /* the frames' names: ACDC and HDF5 the case
                                     ("patient001_frame01"), PNG the patient's id */
} DatasetPatient;

typedef struct Dataset {
    char *path;
    DatasetLayout layout;
    DatasetHdf5Form hdf5_form;    /* HDF5: data/ or case folders */
    char *hdf5_root;              /* HDF5: the folder holding the files (DIR/data or
                                     DIR/<folder>) */
    Hdf5Axes axes;                /* HDF5: the arrays' axis order */
    int hdf5_skipped;             /* HDF5: slice files of cases read from their volume */
    char preset[16];              /* acdc, t1, rvsc or custom */
    ClassMap classmap;            /* labelled classes, label values, names */
    bool labels_given;            /* the map from dataset.cfg's labels: (else a default) */
    float spacing[3];             /* mm along x, y and between slices where the files hold
                                     none (PNG, HDF5) */
    bool spacing_given;           /* from dataset.cfg; else 1 mm is assumed */
    int patient_count;
    DatasetPatient *patients;
} Dataset;

/* Detect the layout of dir, read dataset.cfg, list patients and pair every image with its
 * mask (a missing mask is an error naming both files). No pixel data is read. */
Dataset *dataset_open(const char *dir);
void dataset_close(Dataset *d);

/* Append patient p's slices, at their native size and intensities, to set. Errors (a file
 * that cannot be read, an image and mask of different sizes, a value that is not a label)
 * name the files. Non-finite intensities become 0. */
int dataset_load_patient(const Dataset *d, int p, SliceSet *set);
/* Load the given patients and preprocess every slice (preprocess.h) into set. */
int dataset_load(const Dataset *d, const int *patients, int count, const PreprocessOptions *pp,
                 SliceSet *set);
/* Frame f of patient p as volumes in NIfTI order (x fastest; 2-D files stacked in slice
 * order, which must agree in size), label values as stored, spacing the files' or
 * d->spacing. 0, or -1 with the message set. */
int dataset_load_frame(const Dataset *d, int p, int f, NiftiVolume *image, NiftiVolume *label);

/* What DIR/dataset.cfg says of a folder of masks or images: spacing (mm per pixel of PNG
 * slices; 1.0 without the file or the key) and the classes (without the file: 1, 2 and 3,
 * ACDC's). 0, or -1 with a message when the file is bad. */
int dataset_cfg_describe(const char *dir, float *spacing, ClassMap *classes);
/* Apply a parsed dataset.cfg (path names it in messages) to d: preset, classes or labels,
 * spacing and axes as described above; d->preset and d->classmap hold the layout's
 * defaults before. 0, or -1. */
int dataset_apply_cfg(Dataset *d, const CfgFile *cfg, const char *path);

/* Index of the patient with this id, or -1. */
int dataset_find_patient(const Dataset *d, const char *id);
/* Patient and frame of a case or patient name (a list's line): 0, or -1 when there is
 * none. *frame is -1 for a patient's id. */
int dataset_find_case(const Dataset *d, const char *name, int *patient, int *frame);

/* Preset helpers. */
unsigned dataset_preset_classes(const char *preset);     /* 0 for an unknown preset */
/* Parse "1 2 3" (spaces or commas) into a class mask; -1 on a bad list (message set). */
int dataset_parse_classes(const char *text, unsigned *classes);

/* Layout internals shared by dataset.c and dataset_hdf5.c. */
int dataset_hdf5_detect(const char *dir, DatasetHdf5Form *form, char **root);
int dataset_hdf5_list(Dataset *d);
/* Append patient pat (taking its memory) to d. */
void dataset_add_patient(Dataset *d, const DatasetPatient *pat);
/* Add an item / a frame name to a patient. */
void dataset_patient_add_item(DatasetPatient *pat, char *image, char *mask, int frame, int slice);
int dataset_patient_add_frame(DatasetPatient *pat, const char *name);

#endif
