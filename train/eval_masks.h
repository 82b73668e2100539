/* `reusenet eval --pred DIR --gt DIR -o metrics.csv`: a folder of predicted label masks
 * scored against a folder of reference masks, case by case and class by class
 * (train/surface_metrics.h: Dice, hd95, assd in mm).
 *
 * Cases are matched by name (datasets/case_list.h: the path below the folder without the
 * extension and a trailing "_gt"), so predictions written by `reusenet predict` for an
 * ACDC or PNG dataset folder match that folder's masks. A case on one side only, masks of
 * different sizes or voxel spacings, or a mask value that is not a whole number 0..255 is
 * an error naming both files. Voxel spacing is the reference's (NIfTI pixdim; PNG: the
 * spacing of GT/dataset.cfg, else 1 mm).
 *
 * The CSV has one row per case and class: case,class,dice,hd95,assd (an empty field where
 * a distance is undefined). The summary gives per class the mean ± sample sd over cases
 * of each metric (distances over the cases where defined) and the Dice pooled over every
 * voxel of every case, which is what `reusenet eval --weights` reports. */
#ifndef REUSENET_EVAL_MASKS_H
#define REUSENET_EVAL_MASKS_H

#include <stdio.h>

typedef struct MaskEvalOptions {
    const char *pred_dir, *gt_dir, *csv_path;
    unsigned classes;        /* bit c: score class c (1..7); 0: GT/dataset.cfg's, else 1 2 3 */
} MaskEvalOptions;

/* Score every case, write the CSV atomically and the summary to `summary`. 0, or -1 with
 * the message set (nothing written then). */
int eval_masks(const MaskEvalOptions *o, FILE *summary);

#endif
