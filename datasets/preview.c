#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/pngio.h"
#include "datasets/preview.h"
#include "engine/error.h"

const uint8_t preview_class_rgb[DATASET_CLASSES][3] = {
    {0, 0, 0}, {66, 133, 244}, {52, 199, 89}, {234, 67, 53}};

void preview_defaults(PreviewOptions *o)
{
    o->columns = 4;
    o->rows = 3;
    o->tile = 160;
    o->crop = 0;
}

static int compare_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Display window: the 1st and 99.5th percentiles, so a few bright pixels do not darken all. */
static void percentile_window(const float *v, size_t n, float *lo, float *hi)
{
    float *s = xmalloc(n * sizeof *s);
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, compare_float);
    *lo = s[(size_t)(0.01 * (n - 1))];
    *hi = s[(size_t)(0.995 * (n - 1))];
    if (*hi <= *lo) *hi = *lo + 1;
    free(s);
}

/* Draw slice s into the tile at (ox, oy) of the sheet (width sheet_w, RGB). The square
 * region shown is the centre crop (or the whole slice padded to a square), scaled with
 * nearest neighbour so that labels and outlines stay crisp. */
static void draw_tile(const Slice *s, const PreviewOptions *o, uint8_t *sheet, int sheet_w, int ox, int oy)
{
    int side = o->crop > 0 ? o->crop : (s->height > s->width ? s->height : s->width);
    int y0 = (s->height - side) / 2, x0 = (s->width - side) / 2;
    float lo, hi;
    percentile_window(s->image, (size_t)s->height * s->width, &lo, &hi);
    int T = o->tile;
    uint8_t *lab = xcalloc((size_t)T * T, 1);
    float *gray = xcalloc((size_t)T * T, sizeof *gray);
    for (int y = 0; y < T; y++) {
        int sy = y0 + (int)((y + 0.5) * side / T);
        for (int x = 0; x < T; x++) {
            int sx = x0 + (int)((x + 0.5) * side / T);
            if (sy < 0 || sy >= s->height || sx < 0 || sx >= s->width) continue;
            float v = (s->image[(size_t)sy * s->width + sx] - lo) / (hi - lo);
            gray[(size_t)y * T + x] = v < 0 ? 0 : v > 1 ? 1 : v;
            lab[(size_t)y * T + x] = s->label[(size_t)sy * s->width + sx];
        }
    }
    for (int y = 0; y < T; y++) {
        for (int x = 0; x < T; x++) {
            int c = lab[(size_t)y * T + x];
            double g = 255.0 * gray[(size_t)y * T + x], rgb[3] = {g, g, g};
            if (c > 0) {
                /* outline where a 4-neighbour has another label, else a translucent fill */
                int edge = (x > 0 && lab[(size_t)y * T + x - 1] != c) ||
                           (x + 1 < T && lab[(size_t)y * T + x + 1] != c) ||
                           (y > 0 && lab[(size_t)(y - 1) * T + x] != c) ||
                           (y + 1 < T && lab[(size_t)(y + 1) * T + x] != c);
                double alpha = edge ? 1.0 : 0.4;
                for (int k = 0; k < 3; k++) rgb[k] = (1 - alpha) * rgb[k] + alpha * preview_class_rgb[c][k];
            }
            uint8_t *px = sheet + ((size_t)(oy + y) * sheet_w + (ox + x)) * 3;
            for (int k = 0; k < 3; k++) px[k] = (uint8_t)lrint(rgb[k]);
        }
    }
    free(lab);
    free(gray);
}

int preview_write(const Dataset *d, const char *path, const PreviewOptions *o)
{
    if (o->columns < 1 || o->rows < 1 || o->columns * o->rows > 400)
        return error_set("preview grid %dx%d: need 1..400 tiles", o->columns, o->rows);
    if (o->tile < 16 || o->tile > 1024) return error_set("preview tile %d: must be 16..1024", o->tile);
    if (o->crop < 0) return error_set("preview crop %d: must be >= 0", o->crop);
    enum { GAP = 2 };
    int n = o->columns * o->rows;
    int W = o->columns * (o->tile + GAP) + GAP, H = o->rows * (o->tile + GAP) + GAP;
    uint8_t *sheet = xmalloc((size_t)W * H * 3);
    memset(sheet, 24, (size_t)W * H * 3);          /* dark gray between tiles */

    SliceSet cache = {0};
    int cached = -1, status = 0;
    for (int j = 0; j < n && !status; j++) {
        int p = (int)((long long)j * d->patient_count / n);
        if (p != cached) {
            sliceset_free(&cache);
            cached = p;
            if (dataset_load_patient(d, p, &cache) < 0) {
                status = -1;
                break;
            }
        }
        if (cache.count == 0) continue;
        /* which frame (item) and which slice of it: cycle so the sheet shows variety */
        int items = d->patients[p].item_count, item = j % items;
        int first = -1, count = 0;
        for (int i = 0; i < cache.count; i++)
            if (cache.slices[i].item == item && cache.slices[i].t == 0) {
                if (first < 0) first = i;
                count++;
            }
        if (first < 0) { first = 0; count = cache.count; }
        static const double where[3] = {0.5, 0.25, 0.75};
        int k = first + (int)(where[(j / items) % 3] * (count - 1) + 0.5);
        draw_tile(&cache.slices[k], o, sheet, W, GAP + (j % o->columns) * (o->tile + GAP),
                  GAP + (j / o->columns) * (o->tile + GAP));
    }
    sliceset_free(&cache);
    if (!status) status = pngio_write_rgb(path, sheet, W, H, 1);
    free(sheet);
    return status;
}
