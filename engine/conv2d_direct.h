/* The definition of a 2-D convolution (PyTorch Conv2d: cross-correlation, zero padding,
 * stride, dilation), written as plain loops and summed in double: what a student reads to
 * learn what conv2d.c computes fast, and the oracle every fast path is tested against
 * (tests/test_conv2d.c, tests/test_winograd.c, bench/conv_check.c).
 *
 *   y[n,o,oy,ox]  = b[o] + sum_{c,ki,kj} w[o,c,ki,kj] x[n,c,iy,ix]
 *   dw[o,c,ki,kj] = sum_{n,oy,ox} dy[n,o,oy,ox] x[n,c,iy,ix]
 *   dx[n,c,iy,ix] = sum_{o,ki,kj} dy[n,o,oy,ox] w[o,c,ki,kj]
 *   db[o]         = sum_{n,oy,ox} dy[n,o,oy,ox]
 *   with iy = oy*stride - pad + ki*dilation, ix = ox*stride - pad + kj*dilation,
 *   terms whose (iy, ix) falls outside the input being zero (padding).
 *
 * Shapes as in conv2d.h: x (N,C,H,W), w (O,C,KH,KW), b (O) or NULL, y and dy (N,O,OH,OW).
 * The *_at functions give one element and, through abs_sum (may be NULL), the sum of
 * |terms|, the scale a float32 result can be compared at. Slow (no blocking, no BLAS). */
#ifndef REUSENET_CONV2D_DIRECT_H
#define REUSENET_CONV2D_DIRECT_H

#include "conv2d.h"

double conv2d_direct_y_at(const Conv2dShape *s, const float *x, const float *w,
                          const float *b, int n, int o, int oy, int ox, double *abs_sum);
double conv2d_direct_dx_at(const Conv2dShape *s, const float *w, const float *dy, int n,
                           int c, int iy, int ix, double *abs_sum);
double conv2d_direct_dw_at(const Conv2dShape *s, const float *x, const float *dy, int o,
                           int c, int ki, int kj, double *abs_sum);
double conv2d_direct_db_at(const Conv2dShape *s, const float *dy, int o, double *abs_sum);

/* Every element: y = conv(x, w) + b (b may be NULL). */
void conv2d_direct_forward(const Conv2dShape *s, const float *x, const float *w,
                           const float *b, double *y);
/* Accumulate dx += dL/dx, dw += dL/dw, db += dL/db from dy; NULL for a gradient that is
 * not wanted (then x may be NULL when dw is, w when dx is). */
void conv2d_direct_backward(const Conv2dShape *s, const float *x, const float *w,
                            const float *dy, double *dx, double *dw, double *db);

#endif
