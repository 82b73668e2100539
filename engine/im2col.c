#include "im2col.h"

/* Row (c, ki, kj) of col holds, for every output pixel (oy, ox) with oy0 <= oy < oy1,
 * the input pixel x[c, oy*stride - pad + ki*dilation, ox*stride - pad + kj*dilation], or
 * 0 outside, at column (oy - oy0)*OW + ox. */
void im2col_rows(const Conv2dShape *s, const float *x, float *col, size_t ld, int oy0, int oy1)
{
    const int kk = s->kh * s->kw;
#pragma omp parallel for schedule(static)
    for (int row = 0; row < s->c * kk; row++) {
        int c = row / kk, ki = (row % kk) / s->kw, kj = row % s->kw;
        const float *plane = x + (size_t)c * s->h * s->w;
        float *out = col + (size_t)row * ld;
        for (int oy = oy0; oy < oy1; oy++) {
            int iy = oy * s->stride - s->pad + ki * s->dilation;
            float *o = out + (size_t)(oy - oy0) * s->ow;
            if (iy < 0 || iy >= s->h) {
                for (int ox = 0; ox < s->ow; ox++) o[ox] = 0.0f;
                continue;
            }
            const float *in = plane + (size_t)iy * s->w;
            int ix0 = -s->pad + kj * s->dilation;
            if (s->stride == 1) {
                /* Contiguous run: zeros, a copy, zeros. */
                int lo = ix0 < 0 ? -ix0 : 0;                      /* first ox inside */
                int hi = s->w - ix0;                              /* first ox past the end */
                if (hi > s->ow) hi = s->ow;
                if (lo > s->ow) lo = s->ow;
                if (hi < lo) hi = lo;
                /* plain loops: the runs are a few floats to a few hundred, too short
                 * for memset/memcpy calls to pay off */
                const float *src = in + ix0;
                for (int ox = 0; ox < lo; ox++) o[ox] = 0.0f;
#pragma omp simd
                for (int ox = lo; ox < hi; ox++) o[ox] = src[ox];
                for (int ox = hi; ox < s->ow; ox++) o[ox] = 0.0f;
            } else {
                for (int ox = 0; ox < s->ow; ox++) {
                    int ix = ix0 + ox * s->stride;
                    o[ox] = (ix >= 0 && ix < s->w) ? in[ix] : 0.0f;
                }
            }
        }
    }
}

void im2col(const Conv2dShape *s, const float *x, float *col, size_t ld)
{
    im2col_rows(s, x, col, ld, 0, s->oh);
}

/* The exact transpose of im2col_rows: each col entry is added back to the pixel it came
 * from. Parallel over channels, since rows of different channels never touch the same
 * plane. */
void col2im_rows(const Conv2dShape *s, const float *col, size_t ld, float *dx, int oy0,
                 int oy1)
{
    const int kk = s->kh * s->kw;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < s->c; c++) {
        float *plane = dx + (size_t)c * s->h * s->w;
        for (int k = 0; k < kk; k++) {
            int ki = k / s->kw, kj = k % s->kw;
            const float *in = col + ((size_t)c * kk + k) * ld;
            for (int oy = oy0; oy < oy1; oy++) {
                int iy = oy * s->stride - s->pad + ki * s->dilation;
                if (iy < 0 || iy >= s->h) continue;
                float *out = plane + (size_t)iy * s->w;
                const float *src = in + (size_t)(oy - oy0) * s->ow;
                for (int ox = 0; ox < s->ow; ox++) {
                    int ix = ox * s->stride - s->pad + kj * s->dilation;
                    if (ix >= 0 && ix < s->w) out[ix] += src[ox];
                }
            }
        }
    }
}

void col2im(const Conv2dShape *s, const float *col, size_t ld, float *dx)
{
    col2im_rows(s, col, ld, dx, 0, s->oh);
}
