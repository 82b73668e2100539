#include <stdbool.h>
#include <stddef.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "blas.h"
#include "winograd.h"

/* A panel is a run of whole tile rows (rows of 2x2 output tiles, over the batch), so
 * that the transforms run along rows: each input row is split once into its even and odd
 * columns, after which every transform is contiguous SIMD arithmetic over the tiles of a
 * row (a tile's columns are 2*tx - pad .. 2*tx - pad + 3). Its input and output
 * transforms (16*(C+O) floats per tile) are sized to stay in the core's cache between the
 * transform that writes them and the GEMMs that read them. */
enum { WINOGRAD_PANEL_FLOATS = 1 << 18, WINOGRAD_MIN_TILES = 64 };

bool winograd_applies(const Conv2dShape *s)
{
    return s->kh == 3 && s->kw == 3 && s->stride == 1 && s->dilation == 1 && s->pad <= 2;
}

static int tile_rows(const Conv2dShape *s) { return (s->oh + 1) / 2; }
static int tile_cols(const Conv2dShape *s) { return (s->ow + 1) / 2; }

/* Tile rows per panel. */
static int panel_rows(const Conv2dShape *s)
{
    const size_t row = (size_t)tile_cols(s), rows = (size_t)s->n * tile_rows(s);
    size_t tiles = WINOGRAD_PANEL_FLOATS / (16 * (size_t)(s->c + s->o));
    if (tiles < WINOGRAD_MIN_TILES) tiles = WINOGRAD_MIN_TILES;
    size_t r = tiles / row;
    if (r < 1) r = 1;
    return (int)(r < rows ? r : rows);
}

/* A workspace slot per processor, not per current thread count: sized once, it fits
 * whatever engine_set_threads() says later (as conv2d's per-image slots). */
static int winograd_slots(void)
{
#ifdef _OPENMP
    return omp_get_num_procs();
#else
    return 1;
#endif
}

static int winograd_threads(size_t panels)
{
#ifdef _OPENMP
    size_t t = omp_in_parallel() ? 1 : (size_t)omp_get_max_threads();
    if (t > (size_t)winograd_slots()) t = (size_t)winograd_slots();
    return (int)(t < panels ? t : panels);
#else
    (void)panels;
    return 1;
#endif
}

static int thread_index(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* A thread's slot: V (16, C, tiles), M (16, O, tiles), and the even and odd columns of
 * the four input rows of a tile row. */
static size_t slot_floats(const Conv2dShape *s)
{
    const size_t tiles = (size_t)panel_rows(s) * tile_cols(s);
    return 16 * (size_t)(s->c + s->o) * tiles + 8 * ((size_t)tile_cols(s) + 1);
}

size_t winograd_workspace_floats(const Conv2dShape *s)
{
    return 16 * (size_t)s->o * s->c + (size_t)winograd_slots() * slot_floats(s);
}

/* U (16, O, C): U[4a+b][o][c] = (G g G^T)[a][b] for g = w[o, c] (3x3). */
static void winograd_weights(const Conv2dShape *s, const float *w, float *u)
{
    const size_t oc = (size_t)s->o * s->c;
#pragma omp parallel for schedule(static) if (oc > 4096)
    for (size_t i = 0; i < oc; i++) {            /* i = o*C + c */
        const float *g = w + i * 9;
        float t[4][3];                            /* G g: combinations of g's rows */
        for (int j = 0; j < 3; j++) {
            t[0][j] = g[j];
            t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
            t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
            t[3][j] = g[6 + j];
        }
        for (int a = 0; a < 4; a++) {             /* (G g) G^T: the same on each row */
            u[(4 * a + 0) * oc + i] = t[a][0];
            u[(4 * a + 1) * oc + i] = 0.5f * (t[a][0] + t[a][1] + t[a][2]);
            u[(4 * a + 2) * oc + i] = 0.5f * (t[a][0] - t[a][1] + t[a][2]);
            u[(4 * a + 3) * oc + i] = t[a][2];
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

/* V (16, C, np) for the panel's tile rows r0 .. r0 + rows - 1 (row r = n*TH + ty):
 * V[4i+j][c][tt] = (B^T d B)[i][j] for d the 4x4 input tile of channel c.
 * Per row of tiles: a = d B along the columns of each of the 4 input rows, then B^T a
 * along the rows, all over the row's tiles at once. */
static void winograd_input(const Conv2dShape *s, const float *x, int r0, int rows, float *v,
                           float *rowbuf)
{
    const int tw = tile_cols(s), th = tile_rows(s);
    const size_t plane = (size_t)s->h * s->w, np = (size_t)rows * tw, stride_k = s->c * np;
    float *ev[4], *od[4];
    for (int i = 0; i < 4; i++) {
        ev[i] = rowbuf + (2 * i) * ((size_t)tw + 1);
        od[i] = rowbuf + (2 * i + 1) * ((size_t)tw + 1);
    }
    for (int c = 0; c < s->c; c++)
        for (int r = 0; r < rows; r++) {
            const int n = (r0 + r) / th, ty = (r0 + r) % th;
            const float *in = x + ((size_t)n * s->c + c) * plane;
            for (int i = 0; i < 4; i++) split_row(s, in, 2 * ty - s->pad + i, ev[i], od[i]);
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

/* y's outputs of the panel's tile rows from M (16, O, np): Y = A^T M A (+ b), written or
 * added; outputs past OH or OW (odd sizes) are dropped. Per row of tiles, the two output
 * rows, over the row's tiles at once. */
static void winograd_output(const Conv2dShape *s, const float *m, int r0, int rows,
                            const float *b, float *y, bool accumulate)
{
    const int tw = tile_cols(s), th = tile_rows(s);
    const size_t plane = (size_t)s->oh * s->ow, np = (size_t)rows * tw, stride_k = s->o * np;
    const int pairs = s->ow / 2;                /* tiles whose two columns both exist */
    for (int o = 0; o < s->o; o++) {
        const float bias = b ? b[o] : 0.0f;
        for (int r = 0; r < rows; r++) {
            const int n = (r0 + r) / th, ty = (r0 + r) % th;
            const float *q = m + (size_t)o * np + (size_t)r * tw;
            for (int i = 0; i < 2 && 2 * ty + i < s->oh; i++) {
                float *yrow = y + ((size_t)n * s->o + o) * plane + (size_t)(2 * ty + i) * s->ow;
                /* row i of A^T M: q0 + q1 + q2 (i = 0) or q1 - q2 - q3 (i = 1), per column j */
#define ATM(j) (i == 0 ? q[(j) * stride_k + tx] + q[(4 + j) * stride_k + tx] +             \
                             q[(8 + j) * stride_k + tx]                                     \
                       : q[(4 + j) * stride_k + tx] - q[(8 + j) * stride_k + tx] -          \
                             q[(12 + j) * stride_k + tx])
#pragma omp simd
                for (int tx = 0; tx < pairs; tx++) {
                    const float t0 = ATM(0), t1 = ATM(1), t2 = ATM(2), t3 = ATM(3);
                    const float y0 = t0 + t1 + t2 + bias, y1 = t1 - t2 - t3 + bias;
                    yrow[2 * tx] = accumulate ? yrow[2 * tx] + y0 : y0;
                    yrow[2 * tx + 1] = accumulate ? yrow[2 * tx + 1] + y1 : y1;
                }
                if (pairs < tw) {                 /* odd OW: the last tile's first column */
                    const int tx = pairs;
                    const float y0 = ATM(0) + ATM(1) + ATM(2) + bias;
                    yrow[2 * tx] = accumulate ? yrow[2 * tx] + y0 : y0;
                }
#undef ATM
            }
        }
    }
}

/* Panels of tile rows in parallel, each: input transform, 16 GEMMs
 *   M_k (O, np) = U_k (O, C) @ V_k (C, np),
 * output transform; a thread's GEMMs run single-threaded inside the parallel loop. */
void winograd_conv(const Conv2dShape *s, const float *x, const float *w, const float *b,
                   float *y, bool accumulate, float *work)
{
    const size_t oc = (size_t)s->o * s->c;
    const int all_rows = s->n * tile_rows(s), per_panel = panel_rows(s), tw = tile_cols(s);
    const int panels = (all_rows + per_panel - 1) / per_panel;
    const size_t slot = slot_floats(s);
    float *u = work, *scratch = work + 16 * oc;
    winograd_weights(s, w, u);
    const int threads = winograd_threads((size_t)panels);
#pragma omp parallel for num_threads(threads) schedule(dynamic) if (threads > 1)
    for (int p = 0; p < panels; p++) {
        const int r0 = p * per_panel;
        const int rows = all_rows - r0 < per_panel ? all_rows - r0 : per_panel;
        const int np = rows * tw;
        float *v = scratch + slot * thread_index();
        float *m = v + 16 * (size_t)s->c * np;
        float *rowbuf = v + 16 * (size_t)(s->c + s->o) * per_panel * tw;
        winograd_input(s, x, r0, rows, v, rowbuf);
        for (int k = 0; k < 16; k++)
            sgemm_rowmajor(false, false, s->o, np, s->c, 1.0f, u + k * oc, s->c,
                           v + (size_t)k * s->c * np, np, 0.0f, m + (size_t)k * s->o * np, np);
        winograd_output(s, m, r0, rows, b, y, accumulate);
    }
}
