#include <math.h>
#include <stddef.h>

#include "conv2d_direct.h"

/* Flat offsets, NCHW for x, y, dy and OIHW for w. */
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

/* Adds one term to a sum and its magnitude to the sum of |terms|. */
static void add_term(double term, double *sum, double *mag)
{
    *sum += term;
    *mag += fabs(term);
}

double conv2d_direct_y_at(const Conv2dShape *s, const float *x, const float *w,
                          const float *b, int n, int o, int oy, int ox, double *abs_sum)
{
    double sum = b ? b[o] : 0, mag = fabs(sum);
    for (int c = 0; c < s->c; c++)
        for (int ki = 0; ki < s->kh; ki++)
            for (int kj = 0; kj < s->kw; kj++) {
                int iy = oy * s->stride - s->pad + ki * s->dilation;
                int ix = ox * s->stride - s->pad + kj * s->dilation;
                if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w) continue;
                add_term((double)w[at_w(s, o, c, ki, kj)] * x[at_x(s, n, c, iy, ix)], &sum,
                         &mag);
            }
    if (abs_sum) *abs_sum = mag;
    return sum;
}

/* Input pixel (iy, ix) is read through tap (ki, kj) by the output pixel with
 * oy*stride = iy + pad - ki*dilation (and likewise for x), when that divides. */
double conv2d_direct_dx_at(const Conv2dShape *s, const float *w, const float *dy, int n,
                           int c, int iy, int ix, double *abs_sum)
{
    double sum = 0, mag = 0;
    for (int o = 0; o < s->o; o++)
        for (int ki = 0; ki < s->kh; ki++)
            for (int kj = 0; kj < s->kw; kj++) {
                int ty = iy + s->pad - ki * s->dilation, tx = ix + s->pad - kj * s->dilation;
                if (ty < 0 || tx < 0 || ty % s->stride || tx % s->stride) continue;
                int oy = ty / s->stride, ox = tx / s->stride;
                if (oy >= s->oh || ox >= s->ow) continue;
                add_term((double)dy[at_y(s, n, o, oy, ox)] * w[at_w(s, o, c, ki, kj)], &sum,
                         &mag);
            }
    if (abs_sum) *abs_sum = mag;
    return sum;
}

double conv2d_direct_dw_at(const Conv2dShape *s, const float *x, const float *dy, int o,
                           int c, int ki, int kj, double *abs_sum)
{
    double sum = 0, mag = 0;
    for (int n = 0; n < s->n; n++)
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++) {
                int iy = oy * s->stride - s->pad + ki * s->dilation;
                int ix = ox * s->stride - s->pad + kj * s->dilation;
                if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w) continue;
                add_term((double)dy[at_y(s, n, o, oy, ox)] * x[at_x(s, n, c, iy, ix)], &sum,
                         &mag);
            }
    if (abs_sum) *abs_sum = mag;
    return sum;
}

double conv2d_direct_db_at(const Conv2dShape *s, const float *dy, int o, double *abs_sum)
{
    double sum = 0, mag = 0;
    for (int n = 0; n < s->n; n++)
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++) add_term(dy[at_y(s, n, o, oy, ox)], &sum, &mag);
    if (abs_sum) *abs_sum = mag;
    return sum;
}

void conv2d_direct_forward(const Conv2dShape *s, const float *x, const float *w,
                           const float *b, double *y)
{
    for (int n = 0; n < s->n; n++)
        for (int o = 0; o < s->o; o++)
            for (int oy = 0; oy < s->oh; oy++)
                for (int ox = 0; ox < s->ow; ox++)
                    y[at_y(s, n, o, oy, ox)] = conv2d_direct_y_at(s, x, w, b, n, o, oy, ox, NULL);
}

void conv2d_direct_backward(const Conv2dShape *s, const float *x, const float *w,
                            const float *dy, double *dx, double *dw, double *db)
{
    if (dx)
        for (int n = 0; n < s->n; n++)
            for (int c = 0; c < s->c; c++)
                for (int iy = 0; iy < s->h; iy++)
                    for (int ix = 0; ix < s->w; ix++)
                        dx[at_x(s, n, c, iy, ix)] +=
                            conv2d_direct_dx_at(s, w, dy, n, c, iy, ix, NULL);
    if (dw)
        for (int o = 0; o < s->o; o++)
            for (int c = 0; c < s->c; c++)
                for (int ki = 0; ki < s->kh; ki++)
                    for (int kj = 0; kj < s->kw; kj++)
                        dw[at_w(s, o, c, ki, kj)] +=
                            conv2d_direct_dw_at(s, x, dy, o, c, ki, kj, NULL);
    if (db)
        for (int o = 0; o < s->o; o++) db[o] += conv2d_direct_db_at(s, dy, o, NULL);
}
