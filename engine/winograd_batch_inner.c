#include <stddef.h>
#include <string.h>

#include "polyphase.h"
#include "winograd_batch_inner.h"

/* The thread's buffer: a channel's plane of every sub-image (input or output, whichever is
 * larger), then NS floats that read as zeros (the padding) or take the outputs of tiles
 * past an odd edge. */
size_t winograd_batch_inner_buffer_floats(const Conv2dShape *sub)
{
    const size_t in = (size_t)sub->h * sub->w, out = (size_t)sub->oh * sub->ow;
    return ((in > out ? in : out) + 1) * sub->n;
}

static float *spare(const Conv2dShape *sub, float *buf)
{
    return buf + winograd_batch_inner_buffer_floats(sub) - sub->n;
}

/* B^T d B for NS tiles at once: d[i][j] is the run of NS inputs at row i, column j of
 * the tiles; output k = 4i + j goes to out[k * stride_k + m]. Spelled out in scalars (the
 * row transform's order: d B along each row, a_ij, then B^T down the columns) so that the
 * compiler keeps it in vector registers. */
static inline __attribute__((always_inline)) void
input_tile(const float *d[4][4], float *restrict out, size_t stride_k, int ns)
{
    const float *d00 = d[0][0], *d01 = d[0][1], *d02 = d[0][2], *d03 = d[0][3];
    const float *d10 = d[1][0], *d11 = d[1][1], *d12 = d[1][2], *d13 = d[1][3];
    const float *d20 = d[2][0], *d21 = d[2][1], *d22 = d[2][2], *d23 = d[2][3];
    const float *d30 = d[3][0], *d31 = d[3][1], *d32 = d[3][2], *d33 = d[3][3];
#define DB(i)                                                                           \
    const float a##i##0 = d##i##0[m] - d##i##2[m], a##i##1 = d##i##1[m] + d##i##2[m];  \
    const float a##i##2 = d##i##2[m] - d##i##1[m], a##i##3 = d##i##1[m] - d##i##3[m];
#define BT(j)                                                                           \
    out[(0 + j) * stride_k + m] = a0##j - a2##j;                                        \
    out[(4 + j) * stride_k + m] = a1##j + a2##j;                                        \
    out[(8 + j) * stride_k + m] = a2##j - a1##j;                                        \
    out[(12 + j) * stride_k + m] = a1##j - a3##j;
#pragma omp simd
    for (int m = 0; m < ns; m++) {
        DB(0) DB(1) DB(2) DB(3)
        BT(0) BT(1) BT(2) BT(3)
    }
#undef DB
#undef BT
}

/* V[4i+j][c][t] = (B^T d B)[i][j] for the 4x4 input tile d of each tile t, in the order of
 * winograd.c's row transform (d B along each row, then B^T down the columns), so that the
 * two give the same floats. */
void winograd_batch_inner_input(const Conv2dShape *s, const float *x, int c, float *v,
                                float *buf)
{
    const Conv2dShape sub = polyphase_conv_shape(s);
    const int ns = sub.n, th = (sub.oh + 1) / 2, tw = (sub.ow + 1) / 2;
    const size_t tiles = (size_t)th * tw * ns, stride_k = (size_t)sub.c * tiles;
    float *zeros = spare(&sub, buf);
    memset(zeros, 0, (size_t)ns * sizeof(float));
    polyphase_gather_channel(s->n, s->c, s->h, s->w, s->dilation, x, c, buf);
    for (int ty = 0; ty < th; ty++)
        for (int tx = 0; tx < tw; tx++) {
            const float *d[4][4];                 /* the tile's 16 inputs, each a run of NS */
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) {
                    const int iy = 2 * ty - sub.pad + i, ix = 2 * tx - sub.pad + j;
                    const bool inside = iy >= 0 && iy < sub.h && ix >= 0 && ix < sub.w;
                    d[i][j] = inside ? buf + ((size_t)iy * sub.w + ix) * ns : zeros;
                }
            float *out = v + (size_t)c * tiles + (size_t)(ty * tw + tx) * ns;
            input_tile(d, out, stride_k, ns);
        }
}

/* The 2x2 outputs of each tile, Y = A^T M A + bias, as winograd.c's output_tile_row, into
 * buf (OH/d, OW/d, NS), then scattered into y. */
void winograd_batch_inner_output(const Conv2dShape *s, const float *m, int o, const float *b,
                                 float *y, bool accumulate, float *buf)
{
    const Conv2dShape sub = polyphase_conv_shape(s);
    const int ns = sub.n, th = (sub.oh + 1) / 2, tw = (sub.ow + 1) / 2;
    const size_t tiles = (size_t)th * tw * ns, stride_k = (size_t)sub.o * tiles;
    const size_t row = (size_t)sub.ow * ns;
    const float bias = b ? b[o] : 0.0f;
    float *trash = spare(&sub, buf);              /* outputs past an odd edge */
    for (int ty = 0; ty < th; ty++)
        for (int tx = 0; tx < tw; tx++) {
            const float *q = m + (size_t)o * tiles + (size_t)(ty * tw + tx) * ns;
            float *y00 = buf + ((size_t)(2 * ty) * sub.ow + 2 * tx) * ns;
            const bool right = 2 * tx + 1 < sub.ow, below = 2 * ty + 1 < sub.oh;
            float *y01 = right ? y00 + ns : trash, *y10 = below ? y00 + row : trash;
            float *y11 = right && below ? y00 + row + ns : trash;
#define Q(k) q[(k) * stride_k + i]
#pragma omp simd
            for (int i = 0; i < ns; i++) {
                /* A^T M: row 0 = q0 + q1 + q2, row 1 = q1 - q2 - q3 (rows of 4), per column */
                const float a0 = Q(0) + Q(4) + Q(8), a1 = Q(1) + Q(5) + Q(9);
                const float a2 = Q(2) + Q(6) + Q(10), a3 = Q(3) + Q(7) + Q(11);
                const float b0 = Q(4) - Q(8) - Q(12), b1 = Q(5) - Q(9) - Q(13);
                const float b2 = Q(6) - Q(10) - Q(14), b3 = Q(7) - Q(11) - Q(15);
                y00[i] = a0 + a1 + a2 + bias;     /* (.) A */
                y01[i] = a1 - a2 - a3 + bias;
                y10[i] = b0 + b1 + b2 + bias;
                y11[i] = b1 - b2 - b3 + bias;
            }
#undef Q
        }
    polyphase_scatter_channel(s->n, s->o, s->oh, s->ow, s->dilation, buf, o, y, accumulate);
}

/* U''[k][o][t]: G' g G'^T of each tile's 2x2 output gradient g, signs of D folded in, as
 * winograd.c's winograd_dy (which states the method). */
void winograd_batch_inner_dy(const Conv2dShape *s, const float *dy, int o, float *u,
                             float *buf)
{
    const Conv2dShape sub = polyphase_conv_shape(s);
    const int ns = sub.n, th = (sub.oh + 1) / 2, tw = (sub.ow + 1) / 2;
    const size_t tiles = (size_t)th * tw * ns, stride_k = (size_t)sub.o * tiles;
    const size_t row = (size_t)sub.ow * ns;
    float *zeros = spare(&sub, buf);
    memset(zeros, 0, (size_t)ns * sizeof(float));
    polyphase_gather_channel(s->n, s->o, s->oh, s->ow, s->dilation, dy, o, buf);
    for (int ty = 0; ty < th; ty++)
        for (int tx = 0; tx < tw; tx++) {
            const float *g00 = buf + ((size_t)(2 * ty) * sub.ow + 2 * tx) * ns;
            const bool right = 2 * tx + 1 < sub.ow, below = 2 * ty + 1 < sub.oh;
            const float *g01 = right ? g00 + ns : zeros, *g10 = below ? g00 + row : zeros;
            const float *g11 = right && below ? g00 + row + ns : zeros;
            float *out = u + (size_t)o * tiles + (size_t)(ty * tw + tx) * ns;
#pragma omp simd
            for (int i = 0; i < ns; i++) {
                /* rows of G' g: (p_r, q_r) */
                const float p0 = g00[i], q0 = g01[i], p3 = g10[i], q3 = g11[i];
                const float p1 = 0.5f * (p0 + p3), q1 = 0.5f * (q0 + q3);
                const float p2 = 0.5f * (p0 - p3), q2 = 0.5f * (q0 - q3);
#define ROW(r, p, q, sign)                                                              \
    out[(4 * r + 0) * stride_k + i] = (sign) * (p);                                     \
    out[(4 * r + 1) * stride_k + i] = (sign) * 0.5f * ((p) + (q));                      \
    out[(4 * r + 2) * stride_k + i] = (sign) * 0.5f * ((p) - (q));                      \
    out[(4 * r + 3) * stride_k + i] = -(sign) * (q);
                ROW(0, p0, q0, 1.0f)
                ROW(1, p1, q1, 1.0f)
                ROW(2, p2, q2, 1.0f)
                ROW(3, p3, q3, -1.0f)
#undef ROW
            }
        }
}
