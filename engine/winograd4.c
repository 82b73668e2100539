#include <stddef.h>
#include <string.h>

#include "blas.h"
#include "gemm.h"
#include "polyphase.h"
#include "winograd.h"
#include "winograd4.h"

/* The shape in tiles: sub = the conv on the NS = N*d*d sub-images (polyphase.h), whose
 * TH x TW tiles of 4x4 outputs each sub-image has; T = TH*TW*NS tiles in all, tile
 * t = (ty*TW + tx)*NS + m for sub-image m. The 36 matrices of U or M (O, C), V (C, T)
 * and M or U'' (O, T) lie pairs_stride, in_stride and out_stride floats apart
 * (winograd_matrix_stride). */
typedef struct Tiles {
    Conv2dShape sub;
    int ns, th, tw;
    size_t t, pairs_stride, in_stride, out_stride;
} Tiles;

static Tiles tiles_of(const Conv2dShape *s)
{
    Tiles g = {polyphase_conv_shape(s), 0, 0, 0, 0, 0, 0, 0};
    g.ns = g.sub.n;
    g.th = (g.sub.oh + 3) / 4;
    g.tw = (g.sub.ow + 3) / 4;
    g.t = (size_t)g.th * g.tw * g.ns;
    g.pairs_stride = winograd_matrix_stride((size_t)g.sub.o * g.sub.c);
    g.in_stride = winograd_matrix_stride((size_t)g.sub.c * g.t);
    g.out_stride = winograd_matrix_stride((size_t)g.sub.o * g.t);
    return g;
}

/* Per slot (a processor, as winograd.c's): a channel's plane of every sub-image, NS
 * floats that read as zeros (padding) or take outputs past an odd edge, and 36*NS floats
 * of a tile's half-transformed values; rounded to cache lines. */
static size_t slot_floats(const Tiles *g)
{
    const size_t in = (size_t)g->sub.h * g->sub.w, out = (size_t)g->sub.oh * g->sub.ow;
    return ((in > out ? in : out) + 1 + 36) * g->ns / 16 * 16 + 16;
}

typedef struct Work {
    float *big, *slots, *v, *m;   /* U (forward) or M (dw); slot buffers; V; M or U'' */
} Work;

/* U or M (36, O, C); the slots; V (36, C, T); M (36, O, T) or U'' (36, O, T). */
static size_t work_floats(const Tiles *g, Work *w, float *base)
{
    const size_t big = 36 * g->pairs_stride;
    const size_t slots = (size_t)engine_processors() * slot_floats(g);
    const size_t v = 36 * g->in_stride, m = 36 * g->out_stride;
    if (w) *w = (Work){base, base + big, base + big + slots, base + big + slots + v};
    return big + slots + v + m;
}

size_t winograd4_workspace_floats(const Conv2dShape *s)
{
    const Tiles g = tiles_of(s);
    return work_floats(&g, NULL, NULL);
}

size_t winograd4_dw_workspace_floats(const Conv2dShape *s) { return winograd4_workspace_floats(s); }

static float *slot(const Tiles *g, const Work *w)
{
    return w->slots + slot_floats(g) * engine_thread_index();
}

/* ---- the weights: U (36, pairs) = G g G^T --------------------------------------------- */

enum { PAIR_BLOCK = 64 };

/* For every (o, c) pair of w in w's order, U[6a+b][pair] = (G g G^T)[a][b], g = w[pair]
 * (3x3), or g reversed along both axes when flipped; U's matrices `stride` floats apart.
 * In blocks of pairs transposed into a local buffer, as winograd.c's F(2x2, 3x3)
 * transform. */
static void weights_transform(size_t pairs, size_t stride, const float *w, bool flipped,
                              float *u)
{
    const size_t blocks = (pairs + PAIR_BLOCK - 1) / PAIR_BLOCK;
#pragma omp parallel for schedule(static) if (pairs > 4096)
    for (size_t blk = 0; blk < blocks; blk++) {
        const size_t i0 = blk * PAIR_BLOCK;
        const int nb = pairs - i0 < PAIR_BLOCK ? (int)(pairs - i0) : PAIR_BLOCK;
        float g[9][PAIR_BLOCK], t[6][3][PAIR_BLOCK];
        for (int k = 0; k < 9; k++)
#pragma omp simd
            for (int j = 0; j < nb; j++) g[k][j] = w[(i0 + j) * 9 + (flipped ? 8 - k : k)];
        for (int col = 0; col < 3; col++) {       /* G g: combinations of g's rows */
#pragma omp simd
            for (int j = 0; j < nb; j++) {
                const float r0 = g[col][j], r1 = g[3 + col][j], r2 = g[6 + col][j];
                t[0][col][j] = 0.25f * r0;
                t[1][col][j] = (-1.0f / 6) * (r0 + r1 + r2);
                t[2][col][j] = (-1.0f / 6) * (r0 - r1 + r2);
                t[3][col][j] = (1.0f / 24) * r0 + (1.0f / 12) * r1 + (1.0f / 6) * r2;
                t[4][col][j] = (1.0f / 24) * r0 - (1.0f / 12) * r1 + (1.0f / 6) * r2;
                t[5][col][j] = r2;
            }
        }
        for (int a = 0; a < 6; a++) {             /* (G g) G^T: the same along each row */
            float *ua = u + (size_t)(6 * a) * stride + i0;
#pragma omp simd
            for (int j = 0; j < nb; j++) {
                const float c0 = t[a][0][j], c1 = t[a][1][j], c2 = t[a][2][j];
                ua[j] = 0.25f * c0;
                ua[stride + j] = (-1.0f / 6) * (c0 + c1 + c2);
                ua[2 * stride + j] = (-1.0f / 6) * (c0 - c1 + c2);
                ua[3 * stride + j] = (1.0f / 24) * c0 + (1.0f / 12) * c1 + (1.0f / 6) * c2;
                ua[4 * stride + j] = (1.0f / 24) * c0 - (1.0f / 12) * c1 + (1.0f / 6) * c2;
                ua[5 * stride + j] = c2;
            }
        }
    }
}

/* dw[pair] += G^T M G for every pair, M (36, pairs) with its matrices `stride` floats
 * apart; in blocks, as above. */
static void dw_output_transform(size_t pairs, size_t stride, const float *m, float *dw)
{
    const size_t blocks = (pairs + PAIR_BLOCK - 1) / PAIR_BLOCK;
#pragma omp parallel for schedule(static) if (pairs > 4096)
    for (size_t blk = 0; blk < blocks; blk++) {
        const size_t i0 = blk * PAIR_BLOCK;
        const int nb = pairs - i0 < PAIR_BLOCK ? (int)(pairs - i0) : PAIR_BLOCK;
        float r[3][6][PAIR_BLOCK], g[9][PAIR_BLOCK];
        for (int col = 0; col < 6; col++) {       /* G^T M: combinations of M's rows */
            const float *q = m + (size_t)col * stride + i0;
            const size_t row = 6 * stride;
#pragma omp simd
            for (int j = 0; j < nb; j++) {
                const float m0 = q[j], m1 = q[row + j], m2 = q[2 * row + j];
                const float m3 = q[3 * row + j], m4 = q[4 * row + j], m5 = q[5 * row + j];
                r[0][col][j] = 0.25f * m0 - (1.0f / 6) * (m1 + m2) + (1.0f / 24) * (m3 + m4);
                r[1][col][j] = (1.0f / 6) * (m2 - m1) + (1.0f / 12) * (m3 - m4);
                r[2][col][j] = (1.0f / 6) * (m3 + m4 - m1 - m2) + m5;
            }
        }
        for (int a = 0; a < 3; a++) {             /* (G^T M) G: the same along each row */
#pragma omp simd
            for (int j = 0; j < nb; j++) {
                const float m0 = r[a][0][j], m1 = r[a][1][j], m2 = r[a][2][j];
                const float m3 = r[a][3][j], m4 = r[a][4][j], m5 = r[a][5][j];
                g[3 * a][j] = 0.25f * m0 - (1.0f / 6) * (m1 + m2) + (1.0f / 24) * (m3 + m4);
                g[3 * a + 1][j] = (1.0f / 6) * (m2 - m1) + (1.0f / 12) * (m3 - m4);
                g[3 * a + 2][j] = (1.0f / 6) * (m3 + m4 - m1 - m2) + m5;
            }
        }
        for (int j = 0; j < nb; j++)
            for (int k = 0; k < 9; k++) dw[(i0 + j) * 9 + k] += g[k][j];
    }
}

/* ---- per-channel transforms, SIMD over the sub-images --------------------------------- */

/* B^T applied to six runs of NS values: out[k][m] = (B^T (in[0..5][m]))[k]. */
static inline __attribute__((always_inline)) void
bt6(const float *const in[6], float *const out[6], int ns)
{
#pragma omp simd
    for (int m = 0; m < ns; m++) {
        const float d0 = in[0][m], d1 = in[1][m], d2 = in[2][m];
        const float d3 = in[3][m], d4 = in[4][m], d5 = in[5][m];
        out[0][m] = 4.0f * d0 - 5.0f * d2 + d4;
        out[1][m] = d3 + d4 - 4.0f * (d1 + d2);
        out[2][m] = d4 - d3 + 4.0f * (d1 - d2);
        out[3][m] = d4 - d2 + 2.0f * (d3 - d1);
        out[4][m] = d4 - d2 + 2.0f * (d1 - d3);
        out[5][m] = 4.0f * d1 - 5.0f * d3 + d5;
    }
}

/* V[6i+j][c][t] = (B^T d B)[i][j] for the 6x6 input tile d of every tile t: d B along the
 * six rows of the tile into the slot's scratch, then B^T down its six columns. */
static void input_channel(const Conv2dShape *s, const Tiles *g, const float *x, int c,
                          float *v, float *buf)
{
    const int ns = g->ns, pad = g->sub.pad;
    const size_t stride_k = g->in_stride;
    float *zeros = buf + (size_t)g->sub.h * g->sub.w * ns;
    float *half = zeros + (size_t)ns;
    memset(zeros, 0, (size_t)ns * sizeof(float));
    polyphase_gather_channel(s->n, s->c, s->h, s->w, s->dilation, x, c, buf);
    for (int ty = 0; ty < g->th; ty++)
        for (int tx = 0; tx < g->tw; tx++) {
            for (int i = 0; i < 6; i++) {         /* row i of the tile, times B */
                const int iy = 4 * ty - pad + i;
                const float *in[6];
                float *out[6];
                for (int j = 0; j < 6; j++) {
                    const int ix = 4 * tx - pad + j;
                    const bool inside = iy >= 0 && iy < g->sub.h && ix >= 0 && ix < g->sub.w;
                    in[j] = inside ? buf + ((size_t)iy * g->sub.w + ix) * ns : zeros;
                    out[j] = half + (size_t)(6 * i + j) * ns;
                }
                bt6(in, out, ns);
            }
            float *tile = v + (size_t)c * g->t + (size_t)(ty * g->tw + tx) * ns;
            for (int j = 0; j < 6; j++) {         /* column j, B^T times it */
                const float *in[6];
                float *out[6];
                for (int i = 0; i < 6; i++) {
                    in[i] = half + (size_t)(6 * i + j) * ns;
                    out[i] = tile + (size_t)(6 * i + j) * stride_k;
                }
                bt6(in, out, ns);
            }
        }
}

/* A^T applied to six runs: out[r][m] = (A^T (in[0..5][m]))[r], r = 0..3, plus `add`. */
static inline __attribute__((always_inline)) void
at6(const float *const in[6], float *const out[4], float add, int ns)
{
#pragma omp simd
    for (int m = 0; m < ns; m++) {
        const float m0 = in[0][m], m1 = in[1][m], m2 = in[2][m];
        const float m3 = in[3][m], m4 = in[4][m], m5 = in[5][m];
        const float p12 = m1 + m2, d12 = m1 - m2, p34 = m3 + m4, d34 = m3 - m4;
        out[0][m] = m0 + p12 + p34 + add;
        out[1][m] = d12 + 2.0f * d34 + add;
        out[2][m] = p12 + 4.0f * p34 + add;
        out[3][m] = d12 + 8.0f * d34 + m5 + add;
    }
}

/* Channel o of y = (or +=) A^T M A + b[o]: M A along the six rows of each tile into the
 * scratch, A^T down its four columns into the plane of outputs, which is then scattered. */
static void output_channel(const Conv2dShape *s, const Tiles *g, const float *m, int o,
                           const float *b, float *y, bool accumulate, float *buf)
{
    const int ns = g->ns, oh = g->sub.oh, ow = g->sub.ow;
    const size_t stride_k = g->out_stride;
    float *trash = buf + (size_t)oh * ow * ns, *half = trash + (size_t)ns;
    const float bias = b ? b[o] : 0.0f;
    for (int ty = 0; ty < g->th; ty++)
        for (int tx = 0; tx < g->tw; tx++) {
            const float *tile = m + (size_t)o * g->t + (size_t)(ty * g->tw + tx) * ns;
            for (int p = 0; p < 6; p++) {         /* row p of M, times A */
                const float *in[6];
                float *out[4];
                for (int q = 0; q < 6; q++) in[q] = tile + (size_t)(6 * p + q) * stride_k;
                for (int c = 0; c < 4; c++) out[c] = half + (size_t)(4 * p + c) * ns;
                at6(in, out, 0.0f, ns);
            }
            for (int c = 0; c < 4; c++) {         /* column c, A^T times it, + bias */
                const float *in[6];
                float *out[4];
                for (int p = 0; p < 6; p++) in[p] = half + (size_t)(4 * p + c) * ns;
                for (int r = 0; r < 4; r++) {
                    const int oy = 4 * ty + r, ox = 4 * tx + c;
                    out[r] = oy < oh && ox < ow ? buf + ((size_t)oy * ow + ox) * ns : trash;
                }
                at6(in, out, bias, ns);
            }
        }
    polyphase_scatter_channel(s->n, s->o, s->oh, s->ow, s->dilation, buf, o, y, accumulate);
}

/* A applied to four runs: out[k][m] = (A (in[0..3][m]))[k], k = 0..5. */
static inline __attribute__((always_inline)) void
a4(const float *const in[4], float *const out[6], int ns)
{
#pragma omp simd
    for (int m = 0; m < ns; m++) {
        const float g0 = in[0][m], g1 = in[1][m], g2 = in[2][m], g3 = in[3][m];
        const float p02 = g0 + g2, p13 = g1 + g3;
        const float q02 = g0 + 4.0f * g2, q13 = 2.0f * g1 + 8.0f * g3;
        out[0][m] = g0;
        out[1][m] = p02 + p13;
        out[2][m] = p02 - p13;
        out[3][m] = q02 + q13;
        out[4][m] = q02 - q13;
        out[5][m] = g3;
    }
}

/* U''[6i+j][o][t] = (A g A^T)[i][j] for the 4x4 tile g of dy (zero past the map). */
static void dy_channel(const Conv2dShape *s, const Tiles *g, const float *dy, int o, float *u,
                       float *buf)
{
    const int ns = g->ns, oh = g->sub.oh, ow = g->sub.ow;
    const size_t stride_k = g->out_stride;
    float *zeros = buf + (size_t)oh * ow * ns, *half = zeros + (size_t)ns;
    memset(zeros, 0, (size_t)ns * sizeof(float));
    polyphase_gather_channel(s->n, s->o, s->oh, s->ow, s->dilation, dy, o, buf);
    for (int ty = 0; ty < g->th; ty++)
        for (int tx = 0; tx < g->tw; tx++) {
            for (int r = 0; r < 4; r++) {         /* row r of g, times A^T */
                const float *in[4];
                float *out[6];
                for (int c = 0; c < 4; c++) {
                    const int oy = 4 * ty + r, ox = 4 * tx + c;
                    in[c] = oy < oh && ox < ow ? buf + ((size_t)oy * ow + ox) * ns : zeros;
                }
                for (int j = 0; j < 6; j++) out[j] = half + (size_t)(6 * r + j) * ns;
                a4(in, out, ns);
            }
            float *tile = u + (size_t)o * g->t + (size_t)(ty * g->tw + tx) * ns;
            for (int j = 0; j < 6; j++) {         /* column j, A times it */
                const float *in[4];
                float *out[6];
                for (int r = 0; r < 4; r++) in[r] = half + (size_t)(6 * r + j) * ns;
                for (int i = 0; i < 6; i++) out[i] = tile + (size_t)(6 * i + j) * stride_k;
                a4(in, out, ns);
            }
        }
}

/* ---- the convolutions ------------------------------------------------------------------ */

/* The 36 GEMMs M_k (O, T) = U_k (O, C) @ V_k (C, T), shared out among the threads, each
 * GEMM on one thread (the BLAS runs single-threaded inside a parallel region), as
 * winograd.c's whole-batch mode: a GEMM split between threads scales worse than whole
 * GEMMs do (PSPNet step at 2 threads 412 -> 360 ms), and each result is then the same
 * whatever the thread count. U_k is (C, O) when flipped (w's
 * pair order), read transposed. */
void winograd4_conv(const Conv2dShape *s, const float *x, const float *w, const float *b,
                    float *y, bool accumulate, bool flipped, float *work)
{
    const Tiles g = tiles_of(s);
    const int o = g.sub.o, c = g.sub.c;
    const size_t oc = (size_t)o * c;
    Work wk;
    work_floats(&g, &wk, work);
    weights_transform(oc, g.pairs_stride, w, flipped, wk.big);
    const int tc = engine_loop_threads((size_t)c), to = engine_loop_threads((size_t)o);
#pragma omp parallel for num_threads(tc) schedule(static) if (tc > 1)
    for (int ch = 0; ch < c; ch++) input_channel(s, &g, x, ch, wk.v, slot(&g, &wk));
    const int tk = engine_loop_threads(36);
#pragma omp parallel for num_threads(tk) schedule(static) if (tk > 1)
    for (int k = 0; k < 36; k++)
        sgemm_rowmajor_serial(flipped, false, o, (int)g.t, c, 1.0f, wk.big + k * g.pairs_stride,
                       flipped ? o : c, wk.v + k * g.in_stride, (int)g.t, 0.0f,
                       wk.m + k * g.out_stride, (int)g.t);
#pragma omp parallel for num_threads(to) schedule(static) if (to > 1)
    for (int ch = 0; ch < o; ch++)
        output_channel(s, &g, wk.m, ch, b, y, accumulate, slot(&g, &wk));
}

/* M_k (O, C) = U''_k (O, T) @ V_k (C, T)^T, summed over the tiles by the GEMM; the GEMMs
 * shared out among the threads as in winograd4_conv. */
void winograd4_conv_dw(const Conv2dShape *s, const float *x, const float *dy, float *dw,
                       float *work)
{
    const Tiles g = tiles_of(s);
    const int o = g.sub.o, c = g.sub.c;
    const size_t oc = (size_t)o * c;
    Work wk;
    work_floats(&g, &wk, work);
    const int tc = engine_loop_threads((size_t)c), to = engine_loop_threads((size_t)o);
#pragma omp parallel for num_threads(tc) schedule(static) if (tc > 1)
    for (int ch = 0; ch < c; ch++) input_channel(s, &g, x, ch, wk.v, slot(&g, &wk));
#pragma omp parallel for num_threads(to) schedule(static) if (to > 1)
    for (int ch = 0; ch < o; ch++) dy_channel(s, &g, dy, ch, wk.m, slot(&g, &wk));
    const int tk = engine_loop_threads(36);
#pragma omp parallel for num_threads(tk) schedule(static) if (tk > 1)
    for (int k = 0; k < 36; k++)
        sgemm_rowmajor_serial(false, true, o, c, (int)g.t, 1.0f, wk.m + k * g.out_stride, (int)g.t,
                       wk.v + k * g.in_stride, (int)g.t, 0.0f, wk.big + k * g.pairs_stride, c);
    dw_output_transform(oc, g.pairs_stride, wk.big, dw);
}
