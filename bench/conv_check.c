#include <math.h>

#include "bench/conv_check.h"
#include "engine/error.h"

#define CHECK_TOLERANCE 1e-4

/* Index helpers, NCHW and OIHW. */
static size_t at_x(const Conv2dShape *s, int n, int c, int iy, int ix)
{
    return (((size_t)n * s->c + c) * s->h + iy) * s->w + ix;
}
static size_t at_y(const Conv2dShape *s, int n, int o, int oy, int ox)
{
    return (((size_t)n * s->o + o) * s->oh + oy) * s->ow + ox;
}
static size_t at_w(const Conv2dShape *s, int o, int c, int ki, int kj)
{
    return (((size_t)o * s->c + c) * s->kh + ki) * s->kw + kj;
}

static int compare(const char *what, size_t index, double got, double ref, double mag)
{
    if (fabs(got - ref) <= CHECK_TOLERANCE * mag + 1e-6) return 0;
    return error_set("conv2d check failed: %s[%zu] = %.7g, the definition gives %.7g", what,
                     index, got, ref);
}

static int pick(Rng *r, int n) { return (int)rng_below(r, (uint32_t)n); }

int conv_check_forward(const Conv2dShape *s, const float *x, const float *w, const float *b,
                       const float *y, Rng *r, int count)
{
    for (int t = 0; t < count; t++) {
        int n = pick(r, s->n), o = pick(r, s->o), oy = pick(r, s->oh), ox = pick(r, s->ow);
        double sum = b ? b[o] : 0, mag = fabs(sum);
        for (int c = 0; c < s->c; c++)
            for (int ki = 0; ki < s->kh; ki++)
                for (int kj = 0; kj < s->kw; kj++) {
                    int iy = oy * s->stride - s->pad + ki * s->dilation;
                    int ix = ox * s->stride - s->pad + kj * s->dilation;
                    if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w) continue;
                    double term = (double)w[at_w(s, o, c, ki, kj)] * x[at_x(s, n, c, iy, ix)];
                    sum += term;
                    mag += fabs(term);
                }
        size_t i = at_y(s, n, o, oy, ox);
        if (compare("y", i, y[i], sum, mag)) return -1;
    }
    return 0;
}

/* dx[n,c,iy,ix]: the output pixels that read input pixel (iy, ix) through tap (ki, kj) are
 * those with oy*stride = iy + pad - ki*dilation (and likewise for x), when that divides. */
static int check_dx(const Conv2dShape *s, const float *w, const float *dy, const float *dx,
                    Rng *r)
{
    int n = pick(r, s->n), c = pick(r, s->c), iy = pick(r, s->h), ix = pick(r, s->w);
    double sum = 0, mag = 0;
    for (int o = 0; o < s->o; o++)
        for (int ki = 0; ki < s->kh; ki++)
            for (int kj = 0; kj < s->kw; kj++) {
                int ty = iy + s->pad - ki * s->dilation, tx = ix + s->pad - kj * s->dilation;
                if (ty < 0 || tx < 0 || ty % s->stride || tx % s->stride) continue;
                int oy = ty / s->stride, ox = tx / s->stride;
                if (oy >= s->oh || ox >= s->ow) continue;
                double term = (double)dy[at_y(s, n, o, oy, ox)] * w[at_w(s, o, c, ki, kj)];
                sum += term;
                mag += fabs(term);
            }
    size_t i = at_x(s, n, c, iy, ix);
    return compare("dx", i, dx[i], sum, mag);
}

static int check_dw(const Conv2dShape *s, const float *x, const float *dy, const float *dw,
                    Rng *r)
{
    int o = pick(r, s->o), c = pick(r, s->c), ki = pick(r, s->kh), kj = pick(r, s->kw);
    double sum = 0, mag = 0;
    for (int n = 0; n < s->n; n++)
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++) {
                int iy = oy * s->stride - s->pad + ki * s->dilation;
                int ix = ox * s->stride - s->pad + kj * s->dilation;
                if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w) continue;
                double term = (double)dy[at_y(s, n, o, oy, ox)] * x[at_x(s, n, c, iy, ix)];
                sum += term;
                mag += fabs(term);
            }
    size_t i = at_w(s, o, c, ki, kj);
    return compare("dw", i, dw[i], sum, mag);
}

static int check_db(const Conv2dShape *s, const float *dy, const float *db, Rng *r)
{
    int o = pick(r, s->o);
    double sum = 0, mag = 0;
    for (int n = 0; n < s->n; n++)
        for (int p = 0; p < s->oh * s->ow; p++) {
            double g = dy[((size_t)n * s->o + o) * s->oh * s->ow + p];
            sum += g;
            mag += fabs(g);
        }
    return compare("db", (size_t)o, db[o], sum, mag);
}

int conv_check_backward(const Conv2dShape *s, const float *x, const float *w, const float *dy,
                        const float *dx, const float *dw, const float *db, Rng *r, int count)
{
    for (int t = 0; t < count; t++) {
        if (check_dw(s, x, dy, dw, r)) return -1;
        if (dx && check_dx(s, w, dy, dx, r)) return -1;
        if (db && check_db(s, dy, db, r)) return -1;
    }
    return 0;
}
