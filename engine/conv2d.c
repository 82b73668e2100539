#include <string.h>

#include "blas.h"
#include "conv2d.h"
#include "error.h"

Conv2dShape conv2d_shape(int n, int c, int h, int w, int o, int kh, int kw, int stride,
                         int pad, int dilation)
{
    Conv2dShape s = {n, c, h, w, o, kh, kw, stride, pad, dilation, 0, 0};
    s.oh = (h + 2 * pad - dilation * (kh - 1) - 1) / stride + 1;
    s.ow = (w + 2 * pad - dilation * (kw - 1) - 1) / stride + 1;
    return s;
}

/* A 1x1 conv with stride 1 and no padding is a plain GEMM on the input itself. */
static bool conv2d_is_pointwise(const Conv2dShape *s)
{
    return s->kh == 1 && s->kw == 1 && s->stride == 1 && s->pad == 0;
}

/* Small feature maps make thin GEMMs (PSPNet's layer4 at 64x64 input: 64 columns per
 * image) that run far below the BLAS's peak; stacking the batch's columns side by side
 * makes one GEMM with N times as many. Large maps are wide enough already and would
 * need N times the im2col memory. */
bool conv2d_batches_images(const Conv2dShape *s)
{
    const size_t opix = (size_t)s->oh * s->ow;
    const size_t col = (size_t)s->c * s->kh * s->kw * opix * s->n;
    return s->n > 1 && opix < 2048 && col + (size_t)s->o * opix * s->n <= ((size_t)64 << 20);
}

/* For stride 1, dx is itself a convolution: dL/dx[c, iy, ix] = sum over (o, ki, kj) of
 *   w[o, c, ki, kj] * dy[o, iy + pad - ki*d, ix + pad - kj*d],
 * which is a forward conv of dy with the kernel flipped (ki -> KH-1-ki, kj alike), input
 * and output channels swapped, and padding d*(KH-1) - pad. Its im2col has O*KH*KW rows
 * where col2im's has C*KH*KW, and its GEMM has depth O*KH*KW where the col2im route's has
 * only O: for UNet's 128x128 layers (O = 32) that route writes and re-reads a 37 MB
 * column matrix per image at 32 multiply-adds per element, this one does a plain GEMM. */
static bool conv2d_dx_is_conv(const Conv2dShape *s)
{
    return s->stride == 1 && s->kh == s->kw && !conv2d_is_pointwise(s) &&
           s->pad <= s->dilation * (s->kh - 1);
}

/* The shape of that convolution: dy (N, O, OH, OW) -> dx (N, C, H, W). */
static Conv2dShape conv2d_dx_shape(const Conv2dShape *s)
{
    return conv2d_shape(s->n, s->o, s->oh, s->ow, s->c, s->kh, s->kw, 1,
                        s->dilation * (s->kh - 1) - s->pad, s->dilation);
}

/* wt (C, O*KH*KW) with wt[c, (o, k)] = w[o, c, KK-1-k], k = ki*KW + kj: reversing the
 * flattened kernel index flips both axes at once. */
static void conv2d_flip_weight(const Conv2dShape *s, const float *w, float *wt)
{
    const int kk = s->kh * s->kw;
    for (int c = 0; c < s->c; c++)
        for (int o = 0; o < s->o; o++) {
            const float *src = w + ((size_t)o * s->c + c) * kk;
            float *dst = wt + ((size_t)c * s->o + o) * kk;
            for (int k = 0; k < kk; k++) dst[k] = src[kk - 1 - k];
        }
}

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

/* Per image: one image's column matrix, for x's patches (forward, dw) or dy's (dx). */
size_t conv2d_workspace_floats_per_image(const Conv2dShape *s)
{
    const size_t ckk = (size_t)s->c * s->kh * s->kw, okk = (size_t)s->o * s->kh * s->kw;
    size_t col = conv2d_is_pointwise(s) ? 0 : ckk * s->oh * s->ow;
    if (conv2d_dx_is_conv(s)) col = max_size(col, okk * s->h * s->w) + (size_t)s->c * okk;
    return col;
}

/* Batched: region A holds the batch's columns (x's, or dy's for dx), region B the GEMM's
 * (O or C, N*pixels) result or operand, then the flipped kernel. */
size_t conv2d_workspace_floats_batched(const Conv2dShape *s)
{
    const size_t ckk = (size_t)s->c * s->kh * s->kw, okk = (size_t)s->o * s->kh * s->kw;
    const size_t np = (size_t)s->n * s->oh * s->ow, nhw = (size_t)s->n * s->h * s->w;
    if (!conv2d_dx_is_conv(s)) return (ckk + s->o) * np;
    return max_size(ckk * np, okk * nhw) + max_size(s->o * np, s->c * nhw) + s->c * okk;
}

size_t conv2d_workspace_floats(const Conv2dShape *s)
{
    return conv2d_batches_images(s) ? conv2d_workspace_floats_batched(s)
                                    : conv2d_workspace_floats_per_image(s);
}

double conv2d_macs(const Conv2dShape *s)
{
    return (double)s->n * s->o * s->oh * s->ow * s->c * s->kh * s->kw;
}

/* Row (c, ki, kj) of col holds, for every output pixel (oy, ox), the input pixel
 * x[c, oy*stride - pad + ki*dilation, ox*stride - pad + kj*dilation], or 0 outside. */
void im2col(const Conv2dShape *s, const float *x, float *col, size_t ld)
{
    const int kk = s->kh * s->kw;
#pragma omp parallel for schedule(static)
    for (int row = 0; row < s->c * kk; row++) {
        int c = row / kk, ki = (row % kk) / s->kw, kj = row % s->kw;
        const float *plane = x + (size_t)c * s->h * s->w;
        float *out = col + (size_t)row * ld;
        for (int oy = 0; oy < s->oh; oy++) {
            int iy = oy * s->stride - s->pad + ki * s->dilation;
            float *o = out + (size_t)oy * s->ow;
            if (iy < 0 || iy >= s->h) {
                memset(o, 0, (size_t)s->ow * sizeof(float));
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
                memset(o, 0, (size_t)lo * sizeof(float));
                memcpy(o + lo, in + ix0 + lo, (size_t)(hi - lo) * sizeof(float));
                memset(o + hi, 0, (size_t)(s->ow - hi) * sizeof(float));
            } else {
                for (int ox = 0; ox < s->ow; ox++) {
                    int ix = ix0 + ox * s->stride;
                    o[ox] = (ix >= 0 && ix < s->w) ? in[ix] : 0.0f;
                }
            }
        }
    }
}

/* The exact transpose of im2col: each col entry is added back to the pixel it came from.
 * Parallel over channels, since rows of different channels never touch the same plane. */
void col2im(const Conv2dShape *s, const float *col, size_t ld, float *dx)
{
    const int kk = s->kh * s->kw;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < s->c; c++) {
        float *plane = dx + (size_t)c * s->h * s->w;
        for (int k = 0; k < kk; k++) {
            int ki = k / s->kw, kj = k % s->kw;
            const float *in = col + ((size_t)c * kk + k) * ld;
            for (int oy = 0; oy < s->oh; oy++) {
                int iy = oy * s->stride - s->pad + ki * s->dilation;
                if (iy < 0 || iy >= s->h) continue;
                float *out = plane + (size_t)iy * s->w;
                const float *src = in + (size_t)oy * s->ow;
                for (int ox = 0; ox < s->ow; ox++) {
                    int ix = ox * s->stride - s->pad + kj * s->dilation;
                    if (ix >= 0 && ix < s->w) out[ix] += src[ox];
                }
            }
        }
    }
}

/* One GEMM per image: y_n (O, OH*OW) = w (O, C*KH*KW) @ col_n (C*KH*KW, OH*OW). */
void conv2d_forward_per_image(const Conv2dShape *s, const float *x, const float *w,
                              const float *b, float *y, float *col)
{
    const int ckk = s->c * s->kh * s->kw, opix = s->oh * s->ow;
    for (int n = 0; n < s->n; n++) {
        const float *xn = x + (size_t)n * s->c * s->h * s->w;
        float *yn = y + (size_t)n * s->o * opix;
        const float *cols = xn;
        if (!conv2d_is_pointwise(s)) {
            im2col(s, xn, col, (size_t)opix);
            cols = col;
        }
        float beta = 0.0f;
        if (b) {                       /* bias broadcast first, then accumulate the GEMM */
            for (int o = 0; o < s->o; o++)
                for (int p = 0; p < opix; p++) yn[(size_t)o * opix + p] = b[o];
            beta = 1.0f;
        }
        sgemm_rowmajor(false, false, s->o, opix, ckk, 1.0f, w, ckk, cols, opix, beta, yn, opix);
    }
}

/* One GEMM for the batch: Y (O, N*P) = w (O, C*KH*KW) @ col (C*KH*KW, N*P), where image n
 * fills columns [n*P, (n+1)*P) of col; then Y's blocks go to y (N, O, P) with the bias. */
void conv2d_forward_batched(const Conv2dShape *s, const float *x, const float *w,
                            const float *b, float *y, float *work)
{
    const int ckk = s->c * s->kh * s->kw, opix = s->oh * s->ow, np = s->n * opix;
    float *col = work, *ycol = work + (size_t)ckk * np;
    for (int n = 0; n < s->n; n++)
        im2col(s, x + (size_t)n * s->c * s->h * s->w, col + (size_t)n * opix, (size_t)np);
    sgemm_rowmajor(false, false, s->o, np, ckk, 1.0f, w, ckk, col, np, 0.0f, ycol, np);
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < s->n; n++)
        for (int o = 0; o < s->o; o++) {
            const float *src = ycol + (size_t)o * np + (size_t)n * opix;
            float *dst = y + ((size_t)n * s->o + o) * opix;
            const float bias = b ? b[o] : 0.0f;
            for (int p = 0; p < opix; p++) dst[p] = src[p] + bias;
        }
}

void conv2d_forward(const Conv2dShape *s, const float *x, const float *w, const float *b,
                    float *y, float *work)
{
    if (conv2d_batches_images(s)) conv2d_forward_batched(s, x, w, b, y, work);
    else conv2d_forward_per_image(s, x, w, b, y, work);
}

/* db[o] += sum over images and pixels of dy[n, o] */
static void conv2d_bias_backward(const Conv2dShape *s, const float *dy, float *db)
{
    const int opix = s->oh * s->ow;
    for (int o = 0; o < s->o; o++) {
        double sum = 0;
        for (int n = 0; n < s->n; n++) {
            const float *row = dy + ((size_t)n * s->o + o) * opix;
            for (int p = 0; p < opix; p++) sum += row[p];
        }
        db[o] += (float)sum;
    }
}

void conv2d_backward_per_image(const Conv2dShape *s, const float *x, const float *w,
                               const float *dy, float *dx, float *dw, float *db, float *col)
{
    const int ckk = s->c * s->kh * s->kw, okk = s->o * s->kh * s->kw, opix = s->oh * s->ow;
    const bool pointwise = conv2d_is_pointwise(s), dx_conv = dx && conv2d_dx_is_conv(s);
    const Conv2dShape ts = conv2d_dx_shape(s);
    float *wt = NULL;
    if (dx_conv) {
        wt = col + max_size(pointwise ? 0 : (size_t)ckk * opix, (size_t)okk * s->h * s->w);
        conv2d_flip_weight(s, w, wt);
    }
    if (db) conv2d_bias_backward(s, dy, db);
    for (int n = 0; n < s->n; n++) {
        const float *dyn = dy + (size_t)n * s->o * opix;
        if (dw) {
            /* dw (O, C*KH*KW) += dy_n (O, OH*OW) @ col_n^T (OH*OW, C*KH*KW) */
            const float *xn = x + (size_t)n * s->c * s->h * s->w;
            const float *cols = xn;
            if (!pointwise) {
                im2col(s, xn, col, (size_t)opix);
                cols = col;
            }
            sgemm_rowmajor(false, true, s->o, ckk, opix, 1.0f, dyn, opix, cols, opix, 1.0f, dw,
                           ckk);
        }
        if (dx && dx_conv) {
            /* dx_n (C, H*W) += wt (C, O*KH*KW) @ im2col(dy_n) (O*KH*KW, H*W) */
            const int hw = s->h * s->w;
            float *dxn = dx + (size_t)n * s->c * hw;
            im2col(&ts, dyn, col, (size_t)hw);
            sgemm_rowmajor(false, false, s->c, hw, okk, 1.0f, wt, okk, col, hw, 1.0f, dxn, hw);
        } else if (dx) {
            /* dcol (C*KH*KW, OH*OW) = w^T (C*KH*KW, O) @ dy_n (O, OH*OW); dx_n += col2im(dcol).
             * For a pointwise conv dcol is dx_n itself, so accumulate straight into it. */
            float *dxn = dx + (size_t)n * s->c * s->h * s->w;
            if (pointwise) {
                sgemm_rowmajor(true, false, ckk, opix, s->o, 1.0f, w, ckk, dyn, opix, 1.0f, dxn,
                               opix);
            } else {
                sgemm_rowmajor(true, false, ckk, opix, s->o, 1.0f, w, ckk, dyn, opix, 0.0f, col,
                               opix);
                col2im(s, col, (size_t)opix, dxn);
            }
        }
    }
}

/* The batched twin of the above: dy gathered into DY (O, N*P); dw += DY @ col^T in one
 * GEMM; dx by one GEMM over the batch's columns of dy (stride 1) and scattered back, or
 * dcol = w^T @ DY in one GEMM and col2im image by image. */
void conv2d_backward_batched(const Conv2dShape *s, const float *x, const float *w,
                             const float *dy, float *dx, float *dw, float *db, float *work)
{
    const int ckk = s->c * s->kh * s->kw, okk = s->o * s->kh * s->kw, opix = s->oh * s->ow;
    const int np = s->n * opix, hw = s->h * s->w, nhw = s->n * hw;
    const bool dx_conv = dx && conv2d_dx_is_conv(s);
    float *col = work, *dycol = work + (size_t)ckk * np;
    if (dx_conv) dycol = work + max_size((size_t)ckk * np, (size_t)okk * nhw);
    if (db) conv2d_bias_backward(s, dy, db);
    if (dw || !dx_conv) {
#pragma omp parallel for collapse(2) schedule(static)
        for (int n = 0; n < s->n; n++)
            for (int o = 0; o < s->o; o++)
                memcpy(dycol + (size_t)o * np + (size_t)n * opix,
                       dy + ((size_t)n * s->o + o) * opix, (size_t)opix * sizeof(float));
    }
    if (dw) {
        for (int n = 0; n < s->n; n++)
            im2col(s, x + (size_t)n * s->c * s->h * s->w, col + (size_t)n * opix, (size_t)np);
        sgemm_rowmajor(false, true, s->o, ckk, np, 1.0f, dycol, np, col, np, 1.0f, dw, ckk);
    }
    if (dx_conv) {
        /* DX (C, N*H*W) = wt (C, O*KH*KW) @ im2col(dy) (O*KH*KW, N*H*W); dx += DX's blocks */
        const Conv2dShape ts = conv2d_dx_shape(s);
        float *dxcol = dycol;
        float *wt = dycol + max_size((size_t)s->o * np, (size_t)s->c * nhw);
        conv2d_flip_weight(s, w, wt);
        for (int n = 0; n < s->n; n++)
            im2col(&ts, dy + (size_t)n * s->o * opix, col + (size_t)n * hw, (size_t)nhw);
        sgemm_rowmajor(false, false, s->c, nhw, okk, 1.0f, wt, okk, col, nhw, 0.0f, dxcol, nhw);
#pragma omp parallel for collapse(2) schedule(static)
        for (int n = 0; n < s->n; n++)
            for (int c = 0; c < s->c; c++) {
                const float *src = dxcol + (size_t)c * nhw + (size_t)n * hw;
                float *dst = dx + ((size_t)n * s->c + c) * hw;
                for (int p = 0; p < hw; p++) dst[p] += src[p];
            }
    } else if (dx) {
        sgemm_rowmajor(true, false, ckk, np, s->o, 1.0f, w, ckk, dycol, np, 0.0f, col, np);
        for (int n = 0; n < s->n; n++)
            col2im(s, col + (size_t)n * opix, (size_t)np, dx + (size_t)n * s->c * s->h * s->w);
    }
}

void conv2d_backward(const Conv2dShape *s, const float *x, const float *w, const float *dy,
                     float *dx, float *dw, float *db, float *work)
{
    if (conv2d_batches_images(s)) conv2d_backward_batched(s, x, w, dy, dx, dw, db, work);
    else conv2d_backward_per_image(s, x, w, dy, dx, dw, db, work);
}

/* ---- taped op ------------------------------------------------------------------------ */

typedef struct Conv2dCtx {
    Conv2dShape s;
    Tensor *x, *w, *b, *y;
} Conv2dCtx;

static void conv2d_tape_backward(Tape *t, void *ctx_)
{
    Conv2dCtx *ctx = ctx_;
    if (!ctx->y->grad) return;              /* nothing flowed back to this op */
    /* Gradient buffers first: they must outlive the scratch released below. */
    float *dx = tape_grad(t, ctx->x), *dw = tape_grad(t, ctx->w);
    float *db = ctx->b ? tape_grad(t, ctx->b) : NULL;
    ArenaMark mark = arena_mark(&t->arena);
    float *col = arena_floats(&t->arena, conv2d_workspace_floats(&ctx->s));
    conv2d_backward(&ctx->s, ctx->x->data, ctx->w->data, ctx->y->grad, dx, dw, db, col);
    arena_release(&t->arena, mark);
}

Tensor *conv2d(Tape *t, Tensor *x, Tensor *w, Tensor *b, int stride, int pad, int dilation)
{
    char sx[64], sw[64], sb[64];
    tensor_check_4d("conv2d", x);
    CHECK(w->ndim == 4 && w->shape[1] == x->shape[1],
          "conv2d: input %s does not fit weight %s", tensor_shape_str(x, sx, sizeof sx),
          tensor_shape_str(w, sw, sizeof sw));
    CHECK(!b || (b->ndim == 1 && b->shape[0] == w->shape[0]),
          "conv2d: bias %s does not fit weight %s", b ? tensor_shape_str(b, sb, sizeof sb) : "",
          tensor_shape_str(w, sw, sizeof sw));
    CHECK(stride >= 1 && dilation >= 1 && pad >= 0, "conv2d: stride %d, pad %d, dilation %d",
          stride, pad, dilation);
    Conv2dShape s = conv2d_shape(x->shape[0], x->shape[1], x->shape[2], x->shape[3],
                                 w->shape[0], w->shape[2], w->shape[3], stride, pad, dilation);
    CHECK(s.oh > 0 && s.ow > 0, "conv2d: input %s too small for kernel %s",
          tensor_shape_str(x, sx, sizeof sx), tensor_shape_str(w, sw, sizeof sw));
    Tensor *y = tape_tensor4(t, s.n, s.o, s.oh, s.ow);
    ArenaMark mark = arena_mark(&t->arena);
    float *col = arena_floats(&t->arena, conv2d_workspace_floats(&s));
    conv2d_forward(&s, x->data, w->data, b ? b->data : NULL, y->data, col);
    arena_release(&t->arena, mark);
    if (tape_needs_grad(t, y, (Tensor *[]){x, w, b}, 3)) {
        Conv2dCtx *ctx = tape_alloc(t, sizeof *ctx);
        *ctx = (Conv2dCtx){s, x, w, b, y};
        tape_record(t, "conv2d", conv2d_tape_backward, ctx);
    }
    return y;
}
