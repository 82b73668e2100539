#include <math.h>
#include <string.h>

#include "datasets/preprocess.h"
#include "engine/error.h"

void preprocess_defaults(PreprocessOptions *o)
{
    o->size = 128;
    o->spacing_mm = 0;
    o->zscore = 1;
}

int preprocess_check(const PreprocessOptions *o)
{
    if (o->size < 1) return error_set("size %d: a slice needs at least 1 pixel a side", o->size);
    if (!(o->spacing_mm >= 0 && o->spacing_mm < 1e6f))
        return error_set("spacing %g: not a pixel size in mm", (double)o->spacing_mm);
    return 0;
}

int preprocess_grid(int h, int w, const float spacing[2], float spacing_mm, int *rh, int *rw)
{
    const double y = fmax(1, round(h * (double)spacing[0] / spacing_mm));
    const double x = fmax(1, round(w * (double)spacing[1] / spacing_mm));
    if ((y > PREPROCESS_MAX_GROWN_SIDE && y > h) || (x > PREPROCESS_MAX_GROWN_SIDE && x > w))
        return error_set("a %dx%d slice of %gx%g mm pixels resampled to %g mm would be %.0fx%.0f "
                         "pixels (resampling grows a side to at most %d)", h, w,
                         (double)spacing[0], (double)spacing[1], (double)spacing_mm, y, x,
                         PREPROCESS_MAX_GROWN_SIDE);
    *rh = (int)y;
    *rw = (int)x;
    return 0;
}

/* Source coordinate of output pixel i when n_in pixels are resized to n_out, on the
 * align_corners=False grid (models.md): src = (dst + 0.5) * in / out - 0.5. */
static double source_coord(int i, int n_in, int n_out)
{
    return (i + 0.5) * (double)n_in / n_out - 0.5;
}

Slice preprocess_resample(const Slice *in, float spacing_mm)
{
    CHECK(spacing_mm > 0, "preprocess_resample: spacing %g", (double)spacing_mm);
    int h, w;
    CHECK(!preprocess_grid(in->height, in->width, in->spacing, spacing_mm, &h, &w),
          "preprocess_resample: %s", error_get());
    Slice out = slice_alloc(h, w);
    float *img = out.image;
    uint8_t *lab = out.label;
    out = *in;
    out.height = h;
    out.width = w;
    out.image = img;
    out.label = lab;
    out.spacing[0] = in->spacing[0] * (float)in->height / (float)h;
    out.spacing[1] = in->spacing[1] * (float)in->width / (float)w;
    for (int y = 0; y < h; y++) {
        double sy = source_coord(y, in->height, h);
        if (sy < 0) sy = 0;
        int y0 = (int)sy, y1 = y0 + 1 < in->height ? y0 + 1 : in->height - 1;
        double ty = sy - y0;
        /* Nearest neighbour picks the input pixel whose cell contains the output centre. */
        int ny = (int)floor((y + 0.5) * in->height / h);
        if (ny > in->height - 1) ny = in->height - 1;
        for (int x = 0; x < w; x++) {
            double sx = source_coord(x, in->width, w);
            if (sx < 0) sx = 0;
            int x0 = (int)sx, x1 = x0 + 1 < in->width ? x0 + 1 : in->width - 1;
            double tx = sx - x0;
            const float *r0 = in->image + (size_t)y0 * in->width, *r1 = in->image + (size_t)y1 * in->width;
            double top = r0[x0] + (r0[x1] - r0[x0]) * tx, bottom = r1[x0] + (r1[x1] - r1[x0]) * tx;
            img[(size_t)y * w + x] = (float)(top + (bottom - top) * ty);
            int nx = (int)floor((x + 0.5) * in->width / w);
            if (nx > in->width - 1) nx = in->width - 1;
            lab[(size_t)y * w + x] = in->label[(size_t)ny * in->width + nx];
        }
    }
    return out;
}

void preprocess_zscore(float *img, size_t n)
{
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++) sum += img[i];
    double mean = sum / n;
    for (size_t i = 0; i < n; i++) sq += (img[i] - mean) * (img[i] - mean);
    double sd = sqrt(sq / n);
    if (sd < 1e-6) sd = 1;
    for (size_t i = 0; i < n; i++) img[i] = (float)((img[i] - mean) / sd);
}

/* floor(a / 2) for any sign: where a centre crop (a >= 0) or pad (a < 0) starts. */
static int half_floor(int a) { return a >= 0 ? a / 2 : -((1 - a) / 2); }

Slice preprocess_slice(const Slice *in, const PreprocessOptions *o)
{
    CHECK(o->size > 0, "preprocess_slice: size %d", o->size);
    Slice resampled = {0};
    const Slice *src = in;
    if (o->spacing_mm > 0) {
        resampled = preprocess_resample(in, o->spacing_mm);
        src = &resampled;
    }
    int S = o->size;
    Slice out = slice_alloc(S, S);
    float *img = out.image;
    uint8_t *lab = out.label;
    out = *src;
    out.height = out.width = S;
    out.image = img;
    out.label = lab;
    int y0 = half_floor(src->height - S), x0 = half_floor(src->width - S);
    for (int y = 0; y < S; y++) {
        int sy = y + y0;
        if (sy < 0 || sy >= src->height) continue;          /* padding stays 0 */
        for (int x = 0; x < S; x++) {
            int sx = x + x0;
            if (sx < 0 || sx >= src->width) continue;
            img[(size_t)y * S + x] = src->image[(size_t)sy * src->width + sx];
            lab[(size_t)y * S + x] = src->label[(size_t)sy * src->width + sx];
        }
    }
    if (o->zscore) preprocess_zscore(img, (size_t)S * S);
    if (src == &resampled) slice_free(&resampled);
    return out;
}
