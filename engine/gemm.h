/* The engine's GEMM: C = alpha * op(A) op(B) + beta * C, row-major, split into tiles by the
 * engine so that its bits do not depend on the thread count.
 *
 * A BLAS that threads a GEMM itself decides how to share C among its threads, and with some
 * kernels (OpenBLAS's Haswell kernel, every AVX2 processor without AVX-512) the element
 * values depend on that split: another thread count, other bits. So the BLAS always runs
 * single-threaded (engine_set_threads), and the engine does the sharing: C is cut into
 * tiles that depend only on the shape (m, n, k), each tile one single-threaded BLAS call
 * over the whole depth, and the engine's threads take the tiles. Each tile's call, and so
 * each element, is then the same whatever the thread count or the schedule, for any BLAS
 * whose single-threaded result is a function of its inputs (README, "What the bits
 * depend on"). The plain definition, one BLAS call for the whole of C, is
 * sgemm_rowmajor_serial: the tests compare the two up to rounding.
 *
 * sgemm_rowmajor() may be called anywhere; inside a parallel region its tiles run one after
 * the other on the calling thread. sgemm_rowmajor_serial() is one single-threaded call: for
 * loops that run independent GEMMs on their own threads (per image, per Winograd
 * frequency), where the split would only repack operands. */
#ifndef REUSENET_GEMM_H
#define REUSENET_GEMM_H

#include <stdbool.h>

void sgemm_rowmajor(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                    const float *a, int lda, const float *b, int ldb, float beta, float *c,
                    int ldc);
void sgemm_rowmajor_serial(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                           const float *a, int lda, const float *b, int ldb, float beta,
                           float *c, int ldc);

/* The split of an m x n result: `count` tiles along the rows (by_rows) or the columns, tile
 * i covering [start(i), start(i+1)) with start(i) = gemm_tile_start(&split, dim, i). */
typedef struct GemmSplit {
    int count;
    bool by_rows;
} GemmSplit;

GemmSplit gemm_split(int m, int n, int k);
int gemm_tile_start(const GemmSplit *split, int dim, int i);

#endif
