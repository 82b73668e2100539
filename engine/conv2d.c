#include <string.h>

#include "blas.h"
#include "conv2d.h"
#include "gemm.h"
#include "im2col.h"
#include "reduce.h"
#include "error.h"
#include "winograd.h"

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
 * need N times the im2col memory. 1x1 convs stay per image whatever their map: there the
 * stacking is all the work im2col does, plus a scatter of the result, and it cost more
 * than the wider GEMM gains (batch 8, 2 threads: PSPNet's layer4 downsample, 256 -> 512
 * on 16 x 16, forward 2.30 -> 1.87 ms, backward 4.58 -> 3.79 ms; its 256 -> 4
 * classifier 0.36 -> 0.06 ms; within 10 % either way on PSPNet's 1 x 1 to 6 x 6 pooled
 * maps). */
bool conv2d_batches_images(const Conv2dShape *s)
{
    const size_t opix = (size_t)s->oh * s->ow;
    const size_t col = (size_t)s->c * s->kh * s->kw * opix * s->n;
    return s->n > 1 && s->kh * s->kw > 1 && opix < 2048 &&
           col + (size_t)s->o * opix * s->n <= ((size_t)64 << 20);
}

/* Winograd (engine/winograd.h) for the 3x3, stride-1 convs whose maps are at least 8 x 8
 * and whose GEMMs are not degenerate (C, O >= 8), dilated ones included (PSPNet's layer3
 * and layer4, through their polyphase sub-images). Measured on a training batch of 8 at 2
 * threads, forward: 1.5x (16 x 16, 256 channels) to 2.4x (128 x 128, 32 to 96 channels)
 * faster than im2col + GEMM, 1.1-1.2x on 8 x 8 maps, 1.05-1.35x for the dilated 16 x 16
 * maps, but 0.65x on 4 x 4 maps, whose few tiles do not pay for the weight transform
 * (16*O*C floats per call). */
bool conv2d_uses_winograd(const Conv2dShape *s)
{
    return winograd_applies(s) && s->oh * s->ow >= 64 && s->c >= 8 && s->o >= 8;
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
Conv2dShape conv2d_dx_shape(const Conv2dShape *s)
{
    return conv2d_shape(s->n, s->o, s->oh, s->ow, s->c, s->kh, s->kw, 1,
                        s->dilation * (s->kh - 1) - s->pad, s->dilation);
}

/* wt (C, O*KH*KW) with wt[c, (o, k)] = w[o, c, KK-1-k], k = ki*KW + kj: reversing the
 * flattened kernel index flips both axes at once. */
static void conv2d_flip_weight(const Conv2dShape *s, const float *w, float *wt)
{
    const int kk = s->kh * s->kw;
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)s->c * s->o * kk > 65536)
    for (int c = 0; c < s->c; c++)
        for (int o = 0; o < s->o; o++) {
            const float *src = w + ((size_t)o * s->c + c) * kk;
            float *dst = wt + ((size_t)c * s->o + o) * kk;
            for (int k = 0; k < kk; k++) dst[k] = src[kk - 1 - k];
        }
}

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

/* Per image, the im2col matrix of a large map is far bigger than the caches (37 MB for
 * a 64-channel 3x3 conv at 128x128), and writing it whole, then reading it back in the
 * GEMM, makes im2col a memory-bound pass as long as the GEMM. So the per-image path
 * works in panels of whole output rows, each panel's columns small enough
 * (PANEL_FLOATS, 1 MB) to be still in cache when the GEMM packs them, and large enough
 * (hundreds of columns) that the GEMM's fixed costs, packing the weights among them, stay
 * small. The scratch shrinks from a whole image's columns to a panel's. */
enum { PANEL_FLOATS = 1 << 18 };

/* Output rows per panel for a column matrix of k_rows rows and ow columns per output row;
 * at least 256 columns, below which the GEMM is too thin to run near its peak. */
static int conv2d_panel_rows(size_t k_rows, int oh, int ow)
{
    size_t rows = PANEL_FLOATS / (k_rows * (size_t)ow);
    if (rows * ow < 256) rows = (256 + ow - 1) / ow;
    return rows < 1 ? 1 : rows > (size_t)oh ? oh : (int)rows;
}

/* Floats of one panel of columns: x's patches (forward pass, dw, col2im) or dy's (dx as
 * a convolution), whichever is larger. */
static size_t conv2d_panel_floats(const Conv2dShape *s)
{
    const size_t ckk = (size_t)s->c * s->kh * s->kw, okk = (size_t)s->o * s->kh * s->kw;
    size_t col = 0;
    if (!conv2d_is_pointwise(s))
        col = ckk * s->ow * conv2d_panel_rows(ckk, s->oh, s->ow);
    if (conv2d_dx_is_conv(s))
        col = max_size(col, okk * s->w * conv2d_panel_rows(okk, s->h, s->w));
    return col;
}

/* Large maps make GEMMs wide enough for one thread each: the batch's images are shared
 * out among the threads, each running im2col and single-threaded GEMMs on its own
 * images, in place of every thread working on every image in turn. A thread on its
 * own image keeps its columns in its own cache, and one-thread GEMMs reach a higher
 * fraction of the core's peak than a GEMM split across threads (the bench shows both).
 * A single image's GEMMs are split among the threads instead (image_gemm).
 *
 * The workspace has a slot for each processor (conv2d_image_slots), not for the current
 * thread count, so that a workspace sized before engine_set_threads() changes the count
 * still fits; more threads than processors share out the images among as many threads
 * as there are processors. */
static int conv2d_image_slots(const Conv2dShape *s)
{
    const int procs = engine_processors();
    return s->n > 1 && procs > 1 ? procs : 1;
}

static int conv2d_image_threads(const Conv2dShape *s)
{
    return engine_loop_threads((size_t)(s->n < conv2d_image_slots(s) ? s->n
                                                                       : conv2d_image_slots(s)));
}

/* The GEMMs of the per-image path: one single-threaded call each when the batch's images
 * are shared out among the threads, the engine's split (gemm.h) when there is one image.
 * Chosen by the shape alone, so that the bits do not depend on how many threads there are
 * or which of them took which image. */
static void image_gemm(const Conv2dShape *s, bool trans_a, bool trans_b, int m, int n, int k,
                       const float *a, int lda, const float *b, int ldb, float beta, float *c,
                       int ldc)
{
    if (s->n == 1) sgemm_rowmajor(trans_a, trans_b, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
    else sgemm_rowmajor_serial(trans_a, trans_b, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
}

/* The per-image workspace: the flipped kernel (C, O*KH*KW) when dx is a convolution,
 * then for each piece of the batch's images (reduce.h) a private dw (O, C*KH*KW) to
 * accumulate into, then for each of conv2d_image_slots() threads one panel of columns.
 * work = NULL only sizes it. */
typedef struct ImageWork {
    float *wt, *dw_parts, *cols;
    size_t dw_floats, col_floats, total;
} ImageWork;

static ImageWork conv2d_image_work(const Conv2dShape *s, float *work)
{
    const int slots = conv2d_image_slots(s);
    const size_t wt = conv2d_dx_is_conv(s) ? (size_t)s->c * s->o * s->kh * s->kw : 0;
    ImageWork iw = {NULL, NULL, NULL, (size_t)s->o * s->c * s->kh * s->kw,
                    conv2d_panel_floats(s), 0};
    const size_t pieces = (size_t)reduce_pieces(s->n);
    iw.total = wt + iw.dw_floats * pieces + iw.col_floats * slots;
    if (work) {
        iw.wt = work;
        iw.dw_parts = work + wt;
        iw.cols = iw.dw_parts + iw.dw_floats * pieces;
    }
    return iw;
}

size_t conv2d_workspace_floats_per_image(const Conv2dShape *s)
{
    return conv2d_image_work(s, NULL).total;
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

/* True when dx, the stride-1 conv of dy with the flipped kernel, is itself a Winograd
 * conv (winograd_conv_dx, which reads the kernel unflipped). */
bool conv2d_dx_uses_winograd(const Conv2dShape *s)
{
    if (!conv2d_dx_is_conv(s)) return false;
    const Conv2dShape ts = conv2d_dx_shape(s);
    return conv2d_uses_winograd(&ts);
}

size_t conv2d_workspace_floats(const Conv2dShape *s)
{
    size_t floats = conv2d_batches_images(s) ? conv2d_workspace_floats_batched(s)
                                             : conv2d_workspace_floats_per_image(s);
    if (conv2d_uses_winograd(s))
        floats = max_size(floats, max_size(winograd_workspace_floats(s),
                                           winograd_dw_workspace_floats(s)));
    if (conv2d_dx_uses_winograd(s)) {
        const Conv2dShape ts = conv2d_dx_shape(s);
        floats = max_size(floats, winograd_workspace_floats(&ts));
    }
    return floats;
}

double conv2d_macs(const Conv2dShape *s)
{
    return (double)s->n * s->o * s->oh * s->ow * s->c * s->kh * s->kw;
}

/* One GEMM per image and panel of output rows [oy0, oy1), P = (oy1 - oy0)*OW pixels:
 *   y_n[:, oy0*OW ...] (O, P) = w (O, C*KH*KW) @ col (C*KH*KW, P)
 * A pointwise conv needs no columns: one GEMM on x_n itself. Images run in parallel
 * (conv2d_image_threads), each thread in its own panel of work (conv2d_image_work). */
void conv2d_forward_per_image(const Conv2dShape *s, const float *x, const float *w,
                              const float *b, float *y, float *work)
{
    const int ckk = s->c * s->kh * s->kw, opix = s->oh * s->ow;
    const int threads = conv2d_image_threads(s);
    const int rows = conv2d_is_pointwise(s) ? s->oh : conv2d_panel_rows(ckk, s->oh, s->ow);
    const ImageWork iw = conv2d_image_work(s, work);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (int n = 0; n < s->n; n++) {
        float *col = iw.cols + iw.col_floats * engine_thread_index();
        const float *xn = x + (size_t)n * s->c * s->h * s->w;
        float *yn = y + (size_t)n * s->o * opix;
        float beta = 0.0f;
        if (b) {                       /* bias broadcast first, then accumulate the GEMMs */
            for (int o = 0; o < s->o; o++)
                for (int p = 0; p < opix; p++) yn[(size_t)o * opix + p] = b[o];
            beta = 1.0f;
        }
        for (int oy0 = 0; oy0 < s->oh; oy0 += rows) {
            const int oy1 = oy0 + rows < s->oh ? oy0 + rows : s->oh, np = (oy1 - oy0) * s->ow;
            const float *cols = xn;
            if (!conv2d_is_pointwise(s)) {
                im2col_rows(s, xn, col, (size_t)np, oy0, oy1);
                cols = col;
            }
            image_gemm(s, false, false, s->o, np, ckk, w, ckk, cols, np, beta,
                       yn + (size_t)oy0 * s->ow, opix);
        }
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

void conv2d_forward_gemm(const Conv2dShape *s, const float *x, const float *w, const float *b,
                         float *y, float *work)
{
    if (conv2d_batches_images(s)) conv2d_forward_batched(s, x, w, b, y, work);
    else conv2d_forward_per_image(s, x, w, b, y, work);
}

void conv2d_forward(const Conv2dShape *s, const float *x, const float *w, const float *b,
                    float *y, float *work)
{
    if (conv2d_uses_winograd(s)) winograd_conv(s, x, w, b, y, false, work);
    else conv2d_forward_gemm(s, x, w, b, y, work);
}

/* db[o] += sum over images and pixels of dy[n, o] */
static void conv2d_bias_backward(const Conv2dShape *s, const float *dy, float *db)
{
    const int opix = s->oh * s->ow;
#pragma omp parallel for schedule(static)
    for (int o = 0; o < s->o; o++) {
        double sum = 0;            /* float within an image's row (vectorised), double across */
        for (int n = 0; n < s->n; n++) {
            const float *row = dy + ((size_t)n * s->o + o) * opix;
            float part = 0;
#pragma omp simd reduction(+ : part)
            for (int p = 0; p < opix; p++) part += row[p];
            sum += part;
        }
        db[o] += (float)sum;
    }
}

/* The gradients from image n: dw_part += its dw; dx_n += its dx (a convolution of dy_n
 * with the flipped kernel wt in panels of input rows, or col2im of w^T dy_n in panels of
 * output rows, or for a pointwise conv w^T dy_n itself). col: one panel of columns. */
static void conv2d_backward_image(const Conv2dShape *s, int n, const float *x, const float *w,
                                  const float *wt, const float *dy, float *dx, float *dw_part,
                                  float *col)
{
    const int ckk = s->c * s->kh * s->kw, okk = s->o * s->kh * s->kw, opix = s->oh * s->ow;
    const int hw = s->h * s->w;
    const bool pointwise = conv2d_is_pointwise(s), dx_conv = dx && conv2d_dx_is_conv(s);
    const int rows = pointwise ? s->oh : conv2d_panel_rows(ckk, s->oh, s->ow);
    const float *xn = x + (size_t)n * s->c * hw, *dyn = dy + (size_t)n * s->o * opix;
    float *dxn = dx ? dx + (size_t)n * s->c * hw : NULL;
    if (dw_part || (dx && !dx_conv && !pointwise))
        for (int oy0 = 0; oy0 < s->oh; oy0 += rows) {
            const int oy1 = oy0 + rows < s->oh ? oy0 + rows : s->oh;
            const int np = (oy1 - oy0) * s->ow;
            const float *dyp = dyn + (size_t)oy0 * s->ow;       /* (O, P), row stride opix */
            if (dw_part) {
                /* dw (O, C*KH*KW) += dy_n[:, panel] (O, P) @ col^T (P, C*KH*KW) */
                const float *cols = xn;
                if (!pointwise) {
                    im2col_rows(s, xn, col, (size_t)np, oy0, oy1);
                    cols = col;
                }
                image_gemm(s, false, true, s->o, ckk, np, dyp, opix, cols, np, 1.0f, dw_part,
                           ckk);
            }
            if (dx && !dx_conv && !pointwise) {
                /* dcol (C*KH*KW, P) = w^T (C*KH*KW, O) @ dy_n[:, panel]; dx_n += col2im */
                image_gemm(s, true, false, ckk, np, s->o, w, ckk, dyp, opix, 0.0f, col, np);
                col2im_rows(s, col, (size_t)np, dxn, oy0, oy1);
            }
        }
    if (dx && pointwise) {
        /* dx_n (C, H*W) += w^T (C, O) @ dy_n (O, H*W): the columns are dx_n itself */
        image_gemm(s, true, false, ckk, opix, s->o, w, ckk, dyn, opix, 1.0f, dxn, opix);
    }
    if (dx_conv) {
        const Conv2dShape ts = conv2d_dx_shape(s);
        const int dx_rows = conv2d_panel_rows(okk, s->h, s->w);
        for (int iy0 = 0; iy0 < s->h; iy0 += dx_rows) {
            /* dx_n[:, panel] (C, P) += wt (C, O*KH*KW) @ im2col(dy_n)[:, panel] */
            const int iy1 = iy0 + dx_rows < s->h ? iy0 + dx_rows : s->h;
            const int np = (iy1 - iy0) * s->w;
            im2col_rows(&ts, dyn, col, (size_t)np, iy0, iy1);
            image_gemm(s, false, false, s->c, np, okk, wt, okk, col, np, 1.0f,
                       dxn + (size_t)iy0 * s->w, hw);
        }
    }
}

/* Images in parallel as in the forward pass. dw is a sum over the images: the batch is
 * cut into pieces fixed by its size (reduce.h), each piece's images add their dw in order
 * into the piece's part, and the parts are added into dw in piece order, so that dw's
 * bits do not depend on which thread took which image. */
void conv2d_backward_per_image(const Conv2dShape *s, const float *x, const float *w,
                               const float *dy, float *dx, float *dw, float *db, float *work)
{
    const int threads = conv2d_image_threads(s), pieces = reduce_pieces(s->n);
    const ImageWork iw = conv2d_image_work(s, work);
    if (dx && conv2d_dx_is_conv(s)) conv2d_flip_weight(s, w, iw.wt);
    if (db) conv2d_bias_backward(s, dy, db);
    if (dw) memset(iw.dw_parts, 0, iw.dw_floats * pieces * sizeof(float));
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (int piece = 0; piece < pieces; piece++) {
        float *col = iw.cols + iw.col_floats * engine_thread_index();
        float *dw_part = dw ? iw.dw_parts + iw.dw_floats * piece : NULL;
        int n0, n1;
        reduce_piece_range(s->n, pieces, piece, &n0, &n1);
        for (int n = n0; n < n1; n++)
            conv2d_backward_image(s, n, x, w, iw.wt, dy, dx, dw_part, col);
    }
    if (dw) reduce_parts(dw, iw.dw_parts, pieces, iw.dw_floats, iw.dw_floats, 1);
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

void conv2d_backward_gemm(const Conv2dShape *s, const float *x, const float *w,
                          const float *dy, float *dx, float *dw, float *db, float *work)
{
    if (conv2d_batches_images(s)) conv2d_backward_batched(s, x, w, dy, dx, dw, db, work);
    else conv2d_backward_per_image(s, x, w, dy, dx, dw, db, work);
}

/* The GEMM path of the shape computes what Winograd does not: dw when the conv itself is
 * a Winograd one (winograd_conv_dw, F(3x3, 2x2)), dx when the conv that dx is qualifies
 * (conv2d_dx_uses_winograd: winograd_conv_dx, the conv of dy with the flipped kernel),
 * each then run on its own, accumulating. */
void conv2d_backward(const Conv2dShape *s, const float *x, const float *w, const float *dy,
                     float *dx, float *dw, float *db, float *work)
{
    const bool winograd_dx = dx && conv2d_dx_uses_winograd(s);
    const bool winograd_dw = dw && conv2d_uses_winograd(s);
    float *gemm_dx = winograd_dx ? NULL : dx, *gemm_dw = winograd_dw ? NULL : dw;
    if (gemm_dw || gemm_dx) {
        conv2d_backward_gemm(s, x, w, dy, gemm_dx, gemm_dw, db, work);
    } else if (db) {
        conv2d_bias_backward(s, dy, db);
    }
    if (winograd_dw) winograd_conv_dw(s, x, dy, dw, work);
    if (winograd_dx) winograd_conv_dx(s, w, dy, dx, work);
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
        tape_record(t, "conv2d", conv2d_tape_backward, ctx, y);
    }
    return y;
}
