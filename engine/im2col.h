/* im2col: the patches of a convolution's input laid out as the columns of a matrix, so
 * that the convolution becomes one GEMM (conv2d.h); col2im is its adjoint, used for the
 * input gradient of convs that are not stride 1.
 *
 *   x (C,H,W) -> col (C*KH*KW, OH*OW): col[(c,ki,kj), (oy,ox)] =
 *       x[c, oy*stride - pad + ki*dilation, ox*stride - pad + kj*dilation], 0 outside.
 *
 * The _rows forms fill (or read) only output rows oy0 <= oy < oy1, as a matrix of
 * (oy1 - oy0)*OW columns: a panel small enough to stay in cache until the GEMM reads it. */
#ifndef REUSENET_IM2COL_H
#define REUSENET_IM2COL_H

#include <stddef.h>

#include "conv2d.h"

/* col (C*KH*KW rows, row stride ld) <- patches of one image x (C,H,W); zeros where padding.
 * ld = OH*OW for one image alone, N*OH*OW for columns of a batch. */
void im2col(const Conv2dShape *s, const float *x, float *col, size_t ld);
void im2col_rows(const Conv2dShape *s, const float *x, float *col, size_t ld, int oy0,
                 int oy1);
/* dx (C,H,W) += col scattered back (same layout): the adjoint of im2col. */
void col2im(const Conv2dShape *s, const float *col, size_t ld, float *dx);
void col2im_rows(const Conv2dShape *s, const float *col, size_t ld, float *dx, int oy0,
                 int oy1);

#endif
