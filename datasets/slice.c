#include <stdlib.h>
#include <string.h>

#include "datasets/slice.h"
#include "engine/error.h"

Slice slice_alloc(int height, int width)
{
    CHECK(height > 0 && width > 0, "slice_alloc: size %dx%d", height, width);
    Slice s;
    memset(&s, 0, sizeof s);
    s.height = height;
    s.width = width;
    s.spacing[0] = s.spacing[1] = 1.0f;
    size_t n = (size_t)height * (size_t)width;
    s.image = xcalloc(n, sizeof *s.image);
    s.label = xcalloc(n, sizeof *s.label);
    return s;
}

void slice_free(Slice *s)
{
    free(s->image);
    free(s->label);
    s->image = NULL;
    s->label = NULL;
}

void sliceset_push(SliceSet *set, Slice s)
{
    if (set->count == set->capacity) {
        set->capacity = set->capacity ? 2 * set->capacity : 64;
        set->slices = xrealloc(set->slices, (size_t)set->capacity * sizeof *set->slices);
    }
    set->slices[set->count++] = s;
}

void sliceset_free(SliceSet *set)
{
    for (int i = 0; i < set->count; i++) slice_free(&set->slices[i]);
    free(set->slices);
    memset(set, 0, sizeof *set);
}
