/* Contact sheets: a grid of slices from a dataset with coloured mask overlays, as a PNG
 * (`reusenet data preview`). Tiles go through the dataset's patients evenly, cycling
 * through frames and base/mid/apex slices; each tile is the slice (optionally its centre
 * crop) scaled to tile x tile, displayed between the 1st and 99.5th intensity percentile,
 * with labels filled at 40% opacity and outlined: RV blue, myocardium green, LV red. */
#ifndef REUSENET_PREVIEW_H
#define REUSENET_PREVIEW_H

#include "datasets/dataset.h"

typedef struct PreviewOptions {
    int columns, rows;   /* grid, default 4 x 3 */
    int tile;            /* pixels per tile side, default 160 */
    int crop;            /* > 0: show only the centre crop x crop pixels of each slice */
} PreviewOptions;

void preview_defaults(PreviewOptions *o);
/* Write the contact sheet of d to path (atomically). Returns 0 or -1 with a message. */
int preview_write(const Dataset *d, const char *path, const PreviewOptions *o);

/* Overlay colour of each label (0 unused): RV blue, myocardium green, LV red. Shared by
 * contact sheets and prediction overlays. */
extern const uint8_t preview_class_rgb[4][3];

#endif
