/* A 2-D slice with its label mask, and a growable set of them.
 *
 * The unit the loaders produce and training consumes: image float32 and label uint8
 * (0 background, 1 RV, 2 myocardium, 3 LV), row-major, plus where it came from. */
#ifndef REUSENET_SLICE_H
#define REUSENET_SLICE_H

#include <stdint.h>

typedef struct Slice {
    int height, width;     /* rows, columns */
    float spacing[2];      /* mm between rows, mm between columns */
    float *image;          /* height*width intensities */
    uint8_t *label;        /* height*width labels 0..3 */
    int patient;           /* index into Dataset.patients */
    int item;              /* image file within the patient (ACDC frame file, PNG file) */
    int t, z;              /* time point (4-D volumes) and slice index in the volume */
} Slice;

typedef struct SliceSet {
    int count, capacity;
    Slice *slices;
} SliceSet;

/* A slice of the given size with zeroed image and label buffers. */
Slice slice_alloc(int height, int width);
void slice_free(Slice *s);

/* Append s (the set takes ownership of its buffers). */
void sliceset_push(SliceSet *set, Slice s);
/* Free every slice and the array; the set is empty afterwards. */
void sliceset_free(SliceSet *set);

#endif
