#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "blas.h"
#include "gemm.h"
#include "polyphase.h"
#include "reduce.h"
#include "winograd.h"
#include "winograd4.h"
#include "winograd_layout.h"

/* Channel pairs per block of the weight transforms: a block's kernels (9 floats each,
 * consecutive in w) are turned into 9 rows of pairs in a local buffer, so that the
 * transform runs as contiguous SIMD arithmetic over the pairs of the block and writes
 * each of its 16 outputs as a contiguous run. */
enum { PAIR_BLOCK = 64 };

/* U (16, O, C): U[4a+b][o][c] = (G g G^T)[a][b] for g = w[o, c] (3x3). */
static void winograd_weights(const Conv2dShape *s, const float *w, float *u)
{
    const size_t oc = (size_t)s->o * s->c, blocks = (oc + PAIR_BLOCK - 1) / PAIR_BLOCK;
    const size_t us = winograd_pairs_stride(s);
#pragma omp parallel for schedule(static) if (oc > 4096)
    for (size_t blk = 0; blk < blocks; blk++) {
        const size_t i0 = blk * PAIR_BLOCK;
        const int nb = oc - i0 < PAIR_BLOCK ? (int)(oc - i0) : PAIR_BLOCK;
        float g[9][PAIR_BLOCK], t[4][3][PAIR_BLOCK];
        for (int k = 0; k < 9; k++)
#pragma omp simd
            for (int j = 0; j < nb; j++) g[k][j] = w[(i0 + j) * 9 + k];
        for (int col = 0; col < 3; col++) {       /* G g: combinations of g's rows */
#pragma omp simd
            for (int j = 0; j < nb; j++) {
                const float r0 = g[col][j], r1 = g[3 + col][j], r2 = g[6 + col][j];
                t[0][col][j] = r0;
                t[1][col][j] = 0.5f * (r0 + r1 + r2);
                t[2][col][j] = 0.5f * (r0 - r1 + r2);
                t[3][col][j] = r2;
            }
        }
        for (int a = 0; a < 4; a++) {             /* (G g) G^T: the same on each row */
            float *u0 = u + (4 * a) * us + i0, *u1 = u0 + us, *u2 = u1 + us, *u3 = u2 + us;
#pragma omp simd
            for (int j = 0; j < nb; j++) {
                const float c0 = t[a][0][j], c1 = t[a][1][j], c2 = t[a][2][j];
                u0[j] = c0;
                u1[j] = 0.5f * (c0 + c1 + c2);
                u2[j] = 0.5f * (c0 - c1 + c2);
                u3[j] = c2;
            }
        }
    }
}

/* Input row iy of plane, zero-padded, split into its even and odd columns as the tiles
 * of a row read them: ev[q] = x[iy][2q - pad], od[q] = x[iy][2q + 1 - pad], q = 0..TW. */
static void split_row(const Conv2dShape *s, const float *plane, int iy, float *ev, float *od)
{
    const int tw = tile_cols(s);
    if (iy < 0 || iy >= s->h) {
        for (int q = 0; q <= tw; q++) ev[q] = od[q] = 0.0f;
        return;
    }
    const float *row = plane + (size_t)iy * s->w;
    int q = 0;
    for (; q <= tw && 2 * q - s->pad < 0; q++) {                 /* left edge */
        ev[q] = 0.0f;
        od[q] = 2 * q + 1 - s->pad >= 0 && 2 * q + 1 - s->pad < s->w ? row[2 * q + 1 - s->pad] : 0.0f;
    }
    int inside = (s->w - 1 + s->pad - 1) / 2 + 1;                 /* first q with 2q+1-pad >= W */
    if (inside > tw + 1) inside = tw + 1;
    const float *src = row - s->pad;
#pragma omp simd
    for (int k = q; k < inside; k++) {
        ev[k] = src[2 * k];
        od[k] = src[2 * k + 1];
    }
    for (q = inside > q ? inside : q; q <= tw; q++) {            /* right edge */
        const int ix = 2 * q - s->pad;
        ev[q] = ix < s->w ? row[ix] : 0.0f;
        od[q] = 0.0f;
    }
}

/* V (16, C, np) for the panel's tile rows r0 .. r0 + rows - 1 (row r = n*TH + ty),
 * channels c0 .. c1-1:
 * V[4i+j][c][tt] = (B^T d B)[i][j] for d the 4x4 input tile of channel c.
 * Per row of tiles: a = d B along the columns of each of the 4 input rows, then B^T a
 * along the rows, all over the row's tiles at once. */
static void winograd_input(const Conv2dShape *s, const float *x, int r0, int rows, int c0,
                           int c1, float *v, float *rowbuf)
{
    const int tw = tile_cols(s), th = tile_rows(s);
    const size_t plane = (size_t)s->h * s->w, np = (size_t)rows * tw;
    const size_t stride_k = winograd_in_stride(s, np);
    float *ev[4], *od[4];
    for (int i = 0; i < 4; i++) {
        ev[i] = rowbuf + (2 * i) * ((size_t)tw + 1);
        od[i] = rowbuf + (2 * i + 1) * ((size_t)tw + 1);
    }
    for (int c = c0; c < c1; c++)
        for (int r = 0; r < rows; r++) {
            const int n = (r0 + r) / th, ty = (r0 + r) % th;
            const float *in = x + ((size_t)n * s->c + c) * plane;
            /* Tile rows overlap by two input rows: the last two of the row above, if it was
             * of the same image, are this one's first two. */
            int first = 0;
            if (r > 0 && ty > 0) {
                float *e0 = ev[0], *o0 = od[0], *e1 = ev[1], *o1 = od[1];
                ev[0] = ev[2], od[0] = od[2], ev[1] = ev[3], od[1] = od[3];
                ev[2] = e0, od[2] = o0, ev[3] = e1, od[3] = o1;
                first = 2;
            }
            for (int i = first; i < 4; i++) split_row(s, in, 2 * ty - s->pad + i, ev[i], od[i]);
            /* Fetch the next channel's rows of this tile row ahead: a panel reads a few rows
             * from each of C planes, streams too short and too many for the hardware
             * prefetcher (UNet's 96-channel 128 x 128 layer: this transform 17 % faster,
             * a UNet F=32 training step 2 %). */
            if (c + 1 < c1)
                for (int i = first; i < 4; i++) {
                    const int iy = 2 * ty - s->pad + i;
                    if (iy < 0 || iy >= s->h) continue;
                    const float *next = in + plane + (size_t)iy * s->w;
                    for (int k = 0; k < s->w; k += 16) __builtin_prefetch(next + k);
                }
            float *out = v + (size_t)c * np + (size_t)r * tw;
            /* d B on row i: columns d0..d3 = ev[tx], od[tx], ev[tx+1], od[tx+1] */
#define DB0(i) (ev[i][tx] - ev[i][tx + 1])
#define DB1(i) (od[i][tx] + ev[i][tx + 1])
#define DB2(i) (ev[i][tx + 1] - od[i][tx])
#define DB3(i) (od[i][tx] - od[i][tx + 1])
#define BT_ROWS(j, DB)                                                                  \
    _Pragma("omp simd") for (int tx = 0; tx < tw; tx++) {                               \
        const float a0 = DB(0), a1 = DB(1), a2 = DB(2), a3 = DB(3);                     \
        out[(0 + j) * stride_k + tx] = a0 - a2;                                         \
        out[(4 + j) * stride_k + tx] = a1 + a2;                                         \
        out[(8 + j) * stride_k + tx] = a2 - a1;                                         \
        out[(12 + j) * stride_k + tx] = a1 - a3;                                        \
    }
            BT_ROWS(0, DB0)
            BT_ROWS(1, DB1)
            BT_ROWS(2, DB2)
            BT_ROWS(3, DB3)
#undef BT_ROWS
#undef DB0
#undef DB1
#undef DB2
#undef DB3
        }
}

/* One row of tiles: the 2 x 2W outputs of tiles 0 .. tw-1 from q (16 rows of stride_k),
 * Y = A^T M A + bias, into rows y0 and y1 (written, or added when `accumulate`; the
 * compiler makes one copy of this function for each). Tiles whose second column is past
 * OW (odd widths) are the last one, done apart. */
static inline __attribute__((always_inline)) void
output_tile_row(const float *q, size_t stride_k, int tw, int pairs, float bias, float *y0,
                float *y1, const bool accumulate)
{
#define Q(k) q[(k) * stride_k + tx]
#pragma omp simd
    for (int tx = 0; tx < pairs; tx++) {
        /* A^T M: row 0 = q0 + q1 + q2, row 1 = q1 - q2 - q3 (rows of 4), per column */
        const float a0 = Q(0) + Q(4) + Q(8), a1 = Q(1) + Q(5) + Q(9);
        const float a2 = Q(2) + Q(6) + Q(10), a3 = Q(3) + Q(7) + Q(11);
        const float b0 = Q(4) - Q(8) - Q(12), b1 = Q(5) - Q(9) - Q(13);
        const float b2 = Q(6) - Q(10) - Q(14), b3 = Q(7) - Q(11) - Q(15);
        const float y00 = a0 + a1 + a2 + bias, y01 = a1 - a2 - a3 + bias;   /* (.) A */
        const float y10 = b0 + b1 + b2 + bias, y11 = b1 - b2 - b3 + bias;
        y0[2 * tx] = accumulate ? y0[2 * tx] + y00 : y00;
        y0[2 * tx + 1] = accumulate ? y0[2 * tx + 1] + y01 : y01;
        y1[2 * tx] = accumulate ? y1[2 * tx] + y10 : y10;
        y1[2 * tx + 1] = accumulate ? y1[2 * tx + 1] + y11 : y11;
    }
    if (pairs < tw) {                             /* the same sums, first column only */
        const int tx = pairs;
        const float a0 = Q(0) + Q(4) + Q(8), a1 = Q(1) + Q(5) + Q(9), a2 = Q(2) + Q(6) + Q(10);
        const float b0 = Q(4) - Q(8) - Q(12), b1 = Q(5) - Q(9) - Q(13);
        const float b2 = Q(6) - Q(10) - Q(14);
        const float y00 = a0 + a1 + a2 + bias, y10 = b0 + b1 + b2 + bias;
        y0[2 * tx] = accumulate ? y0[2 * tx] + y00 : y00;
        y1[2 * tx] = accumulate ? y1[2 * tx] + y10 : y10;
    }
#undef Q
}

/* y's outputs of the panel's tile rows from M (16, O, np), channels o0 .. o1-1, written
 * or added. A tile row
 * whose second output row is past OH (odd heights) writes that row into `spare`. */
static void winograd_output(const Conv2dShape *s, const float *m, int r0, int rows, int o0,
                            int o1, const float *b, float *y, bool accumulate, float *spare)
{
    const int tw = tile_cols(s), th = tile_rows(s);
    const size_t plane = (size_t)s->oh * s->ow, np = (size_t)rows * tw;
    const size_t stride_k = winograd_out_stride(s, np);
    const int pairs = s->ow / 2;                /* tiles whose two columns both exist */
    if (s->oh % 2) memset(spare, 0, 2 * (size_t)tw * sizeof(float));
    for (int o = o0; o < o1; o++) {
        const float bias = b ? b[o] : 0.0f;
        for (int r = 0; r < rows; r++) {
            const int n = (r0 + r) / th, ty = (r0 + r) % th;
            const float *q = m + (size_t)o * np + (size_t)r * tw;
            float *y0 = y + ((size_t)n * s->o + o) * plane + (size_t)(2 * ty) * s->ow;
            float *y1 = 2 * ty + 1 < s->oh ? y0 + s->ow : spare;
            if (accumulate) output_tile_row(q, stride_k, tw, pairs, bias, y0, y1, true);
            else output_tile_row(q, stride_k, tw, pairs, bias, y0, y1, false);
        }
    }
}

/* V (16, C, tiles) of the whole batch (forward and dw): channels shared out among the
 * threads, each with its own buffer. */
static void winograd_input_whole(const Conv2dShape *s, const float *x, const WinogradWork *ww,
                                 float *v)
{
    const int threads = engine_loop_threads((size_t)s->c), all_rows = s->n * tile_rows(s);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (int c = 0; c < s->c; c++) winograd_input(s, x, 0, all_rows, c, c + 1, v, thread_rowbuf(ww));
}

/* The 16 GEMMs of a panel of np tiles: M_k (O, np) = U_k (O, C) @ V_k (C, np).
 *
 * Flipped (winograd_conv_dx): the kernel is w' (O, C, 3, 3) with w'[o, c] = w[c, o]
 * reversed along both axes, for w (C, O, 3, 3) as given. Reversing g's rows is G J = P G,
 * P the permutation that swaps rows 0 and 3 (G's first and last rows are (1 0 0) and
 * (0 0 1), its middle ones symmetric), so G w'[o,c] G^T = P (G w[c,o] G^T) P^T: U'_k is
 * the transform of w itself, taken at k = 4a + b -> 4p(a) + p(b), p = (3 1 2 0), and
 * transposed, which the GEMM does by reading it as A^T. No flipped copy of w is made. */
static void winograd_gemms(const Conv2dShape *s, const float *u, const float *v, float *m,
                           int np, bool flipped)
{
    static const int p[4] = {3, 1, 2, 0};
    const size_t us = winograd_pairs_stride(s), vs = winograd_in_stride(s, np), ms = winograd_out_stride(s, np);
    /* 1 inside a panel's parallel loop; the BLAS runs one-threaded inside one too */
    const int tk = engine_loop_threads(16);
#pragma omp parallel for num_threads(tk) schedule(static) if (tk > 1)
    for (int k = 0; k < 16; k++) {
        const float *uk = flipped ? u + (4 * p[k / 4] + p[k % 4]) * us : u + k * us;
        sgemm_rowmajor_serial(flipped, false, s->o, np, s->c, 1.0f, uk, flipped ? s->o : s->c,
                       v + k * vs, np, 0.0f, m + k * ms, np);
    }
}

/* Panels of tile rows in parallel, each: input transform, 16 GEMMs, output transform; a
 * thread's GEMMs run single-threaded inside the parallel loop. Or, for wide layers, one
 * panel of the whole batch: the transforms in parallel by channel, then the GEMMs, each
 * on one thread. The weight transform reads w as (O, C) pairs, or (C, O) when flipped
 * (it only runs over the pairs: U_k comes out (C, O), winograd_gemms transposes it). */
static void winograd_conv_undilated(const Conv2dShape *s, const float *x, const float *w,
                                    const float *b, float *y, bool accumulate, bool flipped,
                                    float *work)
{
    const WinogradWork ww = winograd_work(s, work);
    const int all_rows = s->n * tile_rows(s), per_panel = winograd_panel_rows(s), tw = tile_cols(s);
    winograd_weights(s, w, ww.u);
    if (winograd_whole_batch(s)) {
        const int np = all_rows * tw;
        float *v = ww.panels, *m = v + 16 * winograd_in_stride(s, np);
        const int to = engine_loop_threads((size_t)s->o);
        winograd_input_whole(s, x, &ww, v);
        winograd_gemms(s, ww.u, v, m, np, flipped);
#pragma omp parallel for num_threads(to) schedule(static) if (to > 1)
        for (int o = 0; o < s->o; o++)
            winograd_output(s, m, 0, all_rows, o, o + 1, b, y, accumulate,
                            spare_row(s, thread_rowbuf(&ww)));
        return;
    }
    const int panels = winograd_panel_count(s);
    const int threads = engine_loop_threads((size_t)panels);
#pragma omp parallel for num_threads(threads) schedule(dynamic) if (threads > 1)
    for (int p = 0; p < panels; p++) {
        const int r0 = p * per_panel;
        const int rows = all_rows - r0 < per_panel ? all_rows - r0 : per_panel;
        const int np = rows * tw, t = engine_thread_index();
        float *v = ww.panels + ww.panel_floats * t, *m = v + 16 * winograd_in_stride(s, np);
        float *rowbuf = thread_rowbuf(&ww);
        winograd_input(s, x, r0, rows, 0, s->c, v, rowbuf);
        winograd_gemms(s, ww.u, v, m, np, flipped);
        winograd_output(s, m, r0, rows, 0, s->o, b, y, accumulate, spare_row(s, rowbuf));
    }
}

/* ---- the weight gradient: F(3x3, 2x2) ------------------------------------------------------
 *
 * dw[o, c] (3x3) = sum over images and output tiles of the correlation of the tile's 4x4
 * input d (as in the forward pass) with its 2x2 output gradient g: in one dimension
 * f_k = g_0 d_k + g_1 d_(k+1), k = 0..2, Winograd's F(3, 2):
 *   f = A'^T [(G' g) . (B'^T d)]
 *   B'^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 -1 0 1]   (F(2, 3)'s B^T, last row negated)
 *   G'   = [1 0; 1/2 1/2; 1/2 -1/2; 0 1]
 *   A'^T = [1 1 1 0; 0 1 -1 0; 0 1 1 1]
 * In two dimensions, and summed over tiles before the (linear) output transform:
 *   M_k (O, C) = sum over tiles of U'_k (O, tiles) V'_k (C, tiles)^T,  dw = A'^T M A'.
 * V' = D V D with D = diag(1, 1, 1, -1) and V the forward input transform, so the
 * forward's transform is reused and the signs go into U' (U'' = D U' D). */

/* U'' (16, O, np) for the panel's tile rows, channels o0 .. o1-1: the 2x2 output
 * gradient g of each tile, G' g G'^T, signs of D folded in. */
static void winograd_dy(const Conv2dShape *s, const float *dy, int r0, int rows, int o0,
                        int o1, float *u, float *rowbuf)
{
    const int tw = tile_cols(s), th = tile_rows(s);
    const size_t plane = (size_t)s->oh * s->ow, np = (size_t)rows * tw;
    const size_t stride_k = winograd_out_stride(s, np);
    float *e0 = rowbuf, *d0 = rowbuf + tw, *e1 = rowbuf + 2 * tw, *d1 = rowbuf + 3 * tw;
    for (int o = o0; o < o1; o++)
        for (int r = 0; r < rows; r++) {
            const int n = (r0 + r) / th, ty = (r0 + r) % th;
            const float *g = dy + ((size_t)n * s->o + o) * plane;
            for (int i = 0; i < 2; i++) {         /* the tile row's 2 rows, even/odd columns */
                float *ev = i ? e1 : e0, *od = i ? d1 : d0;
                const int oy = 2 * ty + i, pairs = s->ow / 2;
                if (oy >= s->oh) {                /* odd OH: the last tile row's second row */
                    for (int tx = 0; tx < tw; tx++) ev[tx] = od[tx] = 0.0f;
                    continue;
                }
                const float *row = g + (size_t)oy * s->ow;
#pragma omp simd
                for (int tx = 0; tx < pairs; tx++) {
                    ev[tx] = row[2 * tx];
                    od[tx] = row[2 * tx + 1];
                }
                if (pairs < tw) ev[pairs] = row[2 * pairs], od[pairs] = 0.0f;   /* odd OW */
            }
            float *out = u + (size_t)o * np + (size_t)r * tw;
#pragma omp simd
            for (int tx = 0; tx < tw; tx++) {
                /* rows of G' g: (p_i, q_i) */
                const float p0 = e0[tx], q0 = d0[tx], p3 = e1[tx], q3 = d1[tx];
                const float p1 = 0.5f * (p0 + p3), q1 = 0.5f * (q0 + q3);
                const float p2 = 0.5f * (p0 - p3), q2 = 0.5f * (q0 - q3);
                /* each row times G'^T: (p, q) -> (p, (p+q)/2, (p-q)/2, q); D on both sides
                 * negates the entries with exactly one index 3 */
#define ROW(i, p, q, sign)                                                              \
    out[(4 * i + 0) * stride_k + tx] = (sign) * (p);                                    \
    out[(4 * i + 1) * stride_k + tx] = (sign) * 0.5f * ((p) + (q));                     \
    out[(4 * i + 2) * stride_k + tx] = (sign) * 0.5f * ((p) - (q));                     \
    out[(4 * i + 3) * stride_k + tx] = -(sign) * (q);
                ROW(0, p0, q0, 1.0f)
                ROW(1, p1, q1, 1.0f)
                ROW(2, p2, q2, 1.0f)
                ROW(3, p3, q3, -1.0f)
#undef ROW
            }
        }
}

/* dw[o, c] += A'^T M A' for every (o, c), M (16, O, C); in blocks of pairs, as the
 * weight transform. */
static void winograd_dw_output(const Conv2dShape *s, const float *m, float *dw)
{
    const size_t oc = (size_t)s->o * s->c, blocks = (oc + PAIR_BLOCK - 1) / PAIR_BLOCK;
    const size_t ms = winograd_pairs_stride(s);
#pragma omp parallel for schedule(static) if (oc > 4096)
    for (size_t blk = 0; blk < blocks; blk++) {
        const size_t i0 = blk * PAIR_BLOCK;
        const int nb = oc - i0 < PAIR_BLOCK ? (int)(oc - i0) : PAIR_BLOCK;
        float r[3][4][PAIR_BLOCK], g[9][PAIR_BLOCK];
        for (int col = 0; col < 4; col++) {       /* A'^T M */
            const float *q0 = m + col * ms + i0, *q1 = q0 + 4 * ms, *q2 = q1 + 4 * ms,
                        *q3 = q2 + 4 * ms;
#pragma omp simd
            for (int j = 0; j < nb; j++) {
                r[0][col][j] = q0[j] + q1[j] + q2[j];
                r[1][col][j] = q1[j] - q2[j];
                r[2][col][j] = q1[j] + q2[j] + q3[j];
            }
        }
        for (int a = 0; a < 3; a++) {             /* (A'^T M) A' */
#pragma omp simd
            for (int j = 0; j < nb; j++) {
                g[3 * a + 0][j] = r[a][0][j] + r[a][1][j] + r[a][2][j];
                g[3 * a + 1][j] = r[a][1][j] - r[a][2][j];
                g[3 * a + 2][j] = r[a][1][j] + r[a][2][j] + r[a][3][j];
            }
        }
        for (int j = 0; j < nb; j++)
            for (int k = 0; k < 9; k++) dw[(i0 + j) * 9 + k] += g[k][j];
    }
}

/* The workspace: M (16, O, C); per slot a row buffer; the panels' V (16, C, tiles) and
 * U'' (16, O, tiles), one per slot or one for the whole batch; per slot a partial M
 * (panels only: each thread sums its own panels). */
static WinogradWork winograd_dw_work(const Conv2dShape *s, float *work, float **parts)
{
    WinogradWork ww = winograd_work(s, work);   /* same panels and row buffers; u = M */
    const size_t m = 16 * winograd_pairs_stride(s);
    const size_t part_slots = winograd_whole_batch(s) ? 0 : (size_t)reduce_pieces(winograd_panel_count(s));
    if (parts) *parts = work ? work + ww.total : NULL;
    ww.total += part_slots * m;
    return ww;
}

size_t winograd_dw_workspace_floats(const Conv2dShape *s)
{
    if (winograd_uses_f4x4(s)) return winograd4_dw_workspace_floats(s);
    const Conv2dShape sub = polyphase_conv_shape(s);
    return winograd_polyphase_floats(s) + winograd_dw_work(&sub, NULL, NULL).total;
}

static void winograd_conv_dw_undilated(const Conv2dShape *s, const float *x, const float *dy,
                                       float *dw, float *work)
{
    float *parts;
    const WinogradWork ww = winograd_dw_work(s, work, &parts);
    const size_t ms = winograd_pairs_stride(s), mfloats = 16 * ms;
    const int all_rows = s->n * tile_rows(s), per_panel = winograd_panel_rows(s), tw = tile_cols(s);
    float *m = ww.u;
    if (winograd_whole_batch(s)) {
        const int np = all_rows * tw;
        const size_t vs = winograd_in_stride(s, np), us = winograd_out_stride(s, np);
        float *v = ww.panels, *u = v + 16 * vs;
        const int to = engine_loop_threads((size_t)s->o);
        winograd_input_whole(s, x, &ww, v);
#pragma omp parallel for num_threads(to) schedule(static) if (to > 1)
        for (int o = 0; o < s->o; o++) winograd_dy(s, dy, 0, all_rows, o, o + 1, u, thread_rowbuf(&ww));
        const int tk = engine_loop_threads(16);
#pragma omp parallel for num_threads(tk) schedule(static) if (tk > 1)
        for (int k = 0; k < 16; k++)             /* M_k (O, C) = U''_k (O, np) @ V_k^T */
            sgemm_rowmajor_serial(false, true, s->o, s->c, np, 1.0f, u + k * us, np, v + k * vs, np,
                           0.0f, m + k * ms, s->c);
    } else {
        /* M = the sum over the batch's panels, in pieces fixed by the panel count
         * (reduce.h): each piece's panels accumulate in order into its own part, whichever
         * thread takes it, and the parts are added in piece order */
        const int panels = winograd_panel_count(s), pieces = reduce_pieces(panels);
        const int threads = engine_loop_threads((size_t)pieces);
        memset(parts, 0, (size_t)pieces * mfloats * sizeof(float));
#pragma omp parallel for num_threads(threads) schedule(dynamic) if (threads > 1)
        for (int piece = 0; piece < pieces; piece++) {
            const int t = engine_thread_index();
            float *rowbuf = thread_rowbuf(&ww), *part = parts + mfloats * piece;
            int p0, p1;
            reduce_piece_range(panels, pieces, piece, &p0, &p1);
            for (int p = p0; p < p1; p++) {
                const int r0 = p * per_panel;
                const int rows = all_rows - r0 < per_panel ? all_rows - r0 : per_panel;
                const int np = rows * tw;
                const size_t vs = winograd_in_stride(s, np), us = winograd_out_stride(s, np);
                float *v = ww.panels + ww.panel_floats * t, *u = v + 16 * vs;
                winograd_input(s, x, r0, rows, 0, s->c, v, rowbuf);
                winograd_dy(s, dy, r0, rows, 0, s->o, u, rowbuf);
                for (int k = 0; k < 16; k++)
                    sgemm_rowmajor_serial(false, true, s->o, s->c, np, 1.0f, u + k * us, np,
                                   v + k * vs, np, 1.0f, part + k * ms, s->c);
            }
        }
        reduce_parts(m, parts, pieces, mfloats, mfloats, 0);
    }
    winograd_dw_output(s, m, dw);
}

/* ---- entry points: dilated convs through their polyphase sub-images (polyphase.h) -------- */

static void winograd_conv_any(const Conv2dShape *s, const float *x, const float *w,
                              const float *b, float *y, bool accumulate, bool flipped,
                              float *work)
{
    if (winograd_uses_f4x4(s)) {
        winograd4_conv(s, x, w, b, y, accumulate, flipped, work);
        return;
    }
    if (s->dilation == 1) {
        winograd_conv_undilated(s, x, w, b, y, accumulate, flipped, work);
        return;
    }
    const Conv2dShape sub = polyphase_conv_shape(s);
    float *xp = work, *yp = xp + (size_t)s->n * s->c * s->h * s->w;
    polyphase_gather(s->n, s->c, s->h, s->w, s->dilation, x, xp);
    winograd_conv_undilated(&sub, xp, w, b, yp, false, flipped, work + winograd_polyphase_floats(s));
    polyphase_scatter(s->n, s->o, s->oh, s->ow, s->dilation, yp, y, accumulate);
}

void winograd_conv(const Conv2dShape *s, const float *x, const float *w, const float *b,
                   float *y, bool accumulate, float *work)
{
    winograd_conv_any(s, x, w, b, y, accumulate, false, work);
}

void winograd_conv_dx(const Conv2dShape *s, const float *w, const float *dy, float *dx,
                      float *work)
{
    const Conv2dShape ts = conv2d_dx_shape(s);
    winograd_conv_any(&ts, dy, w, NULL, dx, true, true, work);
}

void winograd_conv_dw(const Conv2dShape *s, const float *x, const float *dy, float *dw,
                      float *work)
{
    if (winograd_uses_f4x4(s)) {
        winograd4_conv_dw(s, x, dy, dw, work);
        return;
    }
    if (s->dilation == 1) {
        winograd_conv_dw_undilated(s, x, dy, dw, work);
        return;
    }
    const Conv2dShape sub = polyphase_conv_shape(s);
    float *xp = work, *dyp = xp + (size_t)s->n * s->c * s->h * s->w;
    polyphase_gather(s->n, s->c, s->h, s->w, s->dilation, x, xp);
    polyphase_gather(s->n, s->o, s->oh, s->ow, s->dilation, dy, dyp);
    winograd_conv_dw_undilated(&sub, xp, dyp, dw, work + winograd_polyphase_floats(s));
}
