#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "train/surface_metrics.h"

/* One line of the transform: d[q] = min_p w (q - p)^2 + f[p] over the sites p with finite
 * f[p], by the lower envelope of their parabolas (FH 2012, algorithm 1). v: the envelope's
 * sites, z[k]: where parabola k starts to be the lowest. Sites at INFINITY (no feature on
 * the lines seen so far) are left out, so no INF - INF arithmetic happens. */
static void edt_line(const double *f, int n, double w, double *d, int *v, double *z)
{
    int k = -1;
    for (int q = 0; q < n; q++) {
        if (isinf(f[q])) continue;
        double fq = f[q] + w * (double)q * q, s = -INFINITY;
        while (k >= 0) {
            int p = v[k];
            s = (fq - (f[p] + w * (double)p * p)) / (2 * w * (q - p));
            if (s > z[k]) break;
            k--;                            /* parabola p is nowhere the lowest: drop it */
        }
        if (k < 0) s = -INFINITY;
        v[++k] = q;
        z[k] = s;
    }
    for (int q = 0, j = 0; q < n; q++) {
        if (k < 0) {
            d[q] = INFINITY;
            continue;
        }
        while (j < k && z[j + 1] < q) j++;
        d[q] = w * (double)(q - v[j]) * (q - v[j]) + f[v[j]];
    }
}

void edt_squared(const uint8_t *feature, const int dim[3], const double spacing[3], double *out)
{
    const size_t n = (size_t)dim[0] * dim[1] * dim[2];
    for (size_t i = 0; i < n; i++) out[i] = feature[i] ? 0 : INFINITY;
    int longest = dim[0] > dim[1] ? dim[0] : dim[1];
    longest = longest > dim[2] ? longest : dim[2];
    double *f = xmalloc(sizeof *f * (size_t)longest), *d = xmalloc(sizeof *d * (size_t)longest);
    double *z = xmalloc(sizeof *z * (size_t)longest);
    int *v = xmalloc(sizeof *v * (size_t)longest);
    const size_t stride[3] = {1, (size_t)dim[0], (size_t)dim[0] * dim[1]};
    for (int a = 0; a < 3; a++) {           /* one axis after the other: separable */
        if (dim[a] == 1) continue;
        const double w = spacing[a] * spacing[a];
        for (size_t start = 0; start < n; start++) {
            /* start is a line's first voxel when its coordinate along a is 0 */
            if ((start / stride[a]) % (size_t)dim[a]) continue;
            for (int q = 0; q < dim[a]; q++) f[q] = out[start + q * stride[a]];
            edt_line(f, dim[a], w, d, v, z);
            for (int q = 0; q < dim[a]; q++) out[start + q * stride[a]] = d[q];
        }
    }
    free(f);
    free(d);
    free(z);
    free(v);
}

void surface_of(const uint8_t *mask, uint8_t label, const int dim[3], uint8_t *border)
{
    const int nx = dim[0], ny = dim[1], nz = dim[2];
    for (int z = 0; z < nz; z++)
        for (int y = 0; y < ny; y++)
            for (int x = 0; x < nx; x++) {
                size_t i = ((size_t)z * ny + y) * nx + x;
                if (mask[i] != label) {
                    border[i] = 0;
                    continue;
                }
                /* kept by the erosion only when all 6 (2-D: 4) neighbours are inside and set */
                int inner = x > 0 && x < nx - 1 && y > 0 && y < ny - 1 &&
                            mask[i - 1] == label && mask[i + 1] == label &&
                            mask[i - nx] == label && mask[i + nx] == label;
                if (inner && nz > 1) {
                    size_t plane = (size_t)nx * ny;
                    inner = z > 0 && z < nz - 1 && mask[i - plane] == label &&
                            mask[i + plane] == label;
                }
                border[i] = !inner;
            }
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double percentile_linear(double *x, int64_t n, double q)
{
    CHECK(n >= 1, "percentile_linear: no values");
    qsort(x, (size_t)n, sizeof *x, compare_double);
    double pos = q / 100.0 * (double)(n - 1);
    int64_t lo = (int64_t)floor(pos), hi = lo + 1 < n ? lo + 1 : n - 1;
    return x[lo] + (x[hi] - x[lo]) * (pos - (double)lo);
}

/* Append the distances (mm) from the surface voxels `from` to the nearest of `to`. */
static void add_distances(const uint8_t *from, const uint8_t *to, const int dim[3],
                          const double spacing[3], double *dt, double *dist, int64_t *count)
{
    const size_t n = (size_t)dim[0] * dim[1] * dim[2];
    edt_squared(to, dim, spacing, dt);
    for (size_t i = 0; i < n; i++)
        if (from[i]) dist[(*count)++] = sqrt(dt[i]);
}

void surface_score(const uint8_t *pred, const uint8_t *truth, const int dim[4],
                   const double spacing[3], uint8_t label, SurfaceScore *out)
{
    memset(out, 0, sizeof *out);
    const size_t frame = (size_t)dim[0] * dim[1] * dim[2];
    int undefined = 0;
    for (size_t i = 0; i < frame * (size_t)dim[3]; i++) {
        int p = pred[i] == label, g = truth[i] == label;
        out->pred += p;
        out->truth += g;
        out->inter += p && g;
    }
    out->dice = out->pred + out->truth ? 2.0 * out->inter / (double)(out->pred + out->truth) : 1;
    uint8_t *bp = xmalloc(frame), *bg = xmalloc(frame);
    double *dt = xmalloc(sizeof *dt * frame);
    double *ab = xmalloc(sizeof *ab * frame * dim[3]), *ba = xmalloc(sizeof *ba * frame * dim[3]);
    int64_t n_ab = 0, n_ba = 0;
    for (int t = 0; t < dim[3] && !undefined; t++) {
        const uint8_t *p = pred + (size_t)t * frame, *g = truth + (size_t)t * frame;
        surface_of(p, label, dim, bp);
        surface_of(g, label, dim, bg);
        int any_p = 0, any_g = 0;
        for (size_t i = 0; i < frame; i++) {
            any_p |= bp[i];
            any_g |= bg[i];
        }
        if (any_p != any_g) undefined = 1;   /* one side empty in this frame */
        else if (any_p) {
            add_distances(bp, bg, dim, spacing, dt, ab, &n_ab);
            add_distances(bg, bp, dim, spacing, dt, ba, &n_ba);
        }
    }
    if (undefined) {
        out->hd95 = out->assd = NAN;
    } else if (n_ab) {
        double sa = 0, sb = 0;
        for (int64_t i = 0; i < n_ab; i++) sa += ab[i];
        for (int64_t i = 0; i < n_ba; i++) sb += ba[i];
        out->assd = (sa / (double)n_ab + sb / (double)n_ba) / 2;
        double *all = xmalloc(sizeof *all * (size_t)(n_ab + n_ba));
        memcpy(all, ab, sizeof *all * (size_t)n_ab);
        memcpy(all + n_ab, ba, sizeof *all * (size_t)n_ba);
        out->hd95 = percentile_linear(all, n_ab + n_ba, 95);
        free(all);
    }                                        /* else both empty: 0 and 0 */
    free(bp);
    free(bg);
    free(dt);
    free(ab);
    free(ba);
}
