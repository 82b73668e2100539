/* Any dataset written out as the ACDC layout in NIfTI, for viewers and for tools that read
 * ACDC: OUT/<patient>/<frame>.nii.gz with its mask <frame>_gt.nii.gz, where <frame> is the
 * frame's own name when it is "<patient>_frameNN" (ACDC, SSL4MIS's ACDC) and
 * "<patient>_frameNN" numbered from 01 otherwise (a Left Atrium case, a PNG patient).
 * A frame of one-slice files (SSL4MIS slices, PNG) becomes one volume, its slices stacked in
 * order (they must agree in size). Images are float32 (ACDC NIfTI input: its own type),
 * masks uint8 with the label values as stored; each header's pixdim is the spacing used
 * (the files', or dataset.cfg's, or the 1 mm assumed). OUT/dataset.cfg carries the preset
 * and the classes or labels over, so that OUT loads as the input did, and the input's
 * lists (train.list, val.list, test.list) are copied. Every value is checked to be a
 * label before anything is written; OUT appears whole or not at all
 * (engine/staged_dir.h): it must not exist or be empty. */
#ifndef REUSENET_DATASET_IMPORT_H
#define REUSENET_DATASET_IMPORT_H

#include "datasets/dataset.h"

typedef struct ImportSummary {
    int patients, frames;
} ImportSummary;

/* 0, or -1 with a message naming the file or folder. progress: called after each patient
 * (may be NULL). */
int dataset_import(const Dataset *d, const char *out, ImportSummary *summary,
                   void (*progress)(int done, int total, void *ctx), void *ctx);

#endif
