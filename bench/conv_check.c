#include <math.h>

#include "bench/conv_check.h"
#include "engine/conv2d_direct.h"
#include "engine/error.h"

#define CHECK_TOLERANCE 1e-4

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
        double mag, ref = conv2d_direct_y_at(s, x, w, b, n, o, oy, ox, &mag);
        size_t i = (((size_t)n * s->o + o) * s->oh + oy) * s->ow + ox;
        if (compare("y", i, y[i], ref, mag)) return -1;
    }
    return 0;
}

static int check_dx(const Conv2dShape *s, const float *w, const float *dy, const float *dx,
                    Rng *r)
{
    int n = pick(r, s->n), c = pick(r, s->c), iy = pick(r, s->h), ix = pick(r, s->w);
    double mag, ref = conv2d_direct_dx_at(s, w, dy, n, c, iy, ix, &mag);
    size_t i = (((size_t)n * s->c + c) * s->h + iy) * s->w + ix;
    return compare("dx", i, dx[i], ref, mag);
}

static int check_dw(const Conv2dShape *s, const float *x, const float *dy, const float *dw,
                    Rng *r)
{
    int o = pick(r, s->o), c = pick(r, s->c), ki = pick(r, s->kh), kj = pick(r, s->kw);
    double mag, ref = conv2d_direct_dw_at(s, x, dy, o, c, ki, kj, &mag);
    size_t i = (((size_t)o * s->c + c) * s->kh + ki) * s->kw + kj;
    return compare("dw", i, dw[i], ref, mag);
}

static int check_db(const Conv2dShape *s, const float *dy, const float *db, Rng *r)
{
    int o = pick(r, s->o);
    double mag, ref = conv2d_direct_db_at(s, dy, o, &mag);
    return compare("db", (size_t)o, db[o], ref, mag);
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
