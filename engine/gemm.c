#include "gemm.h"
#include "blas.h"

#ifdef USE_BLIS
#include <blis.h>
#else
#include <cblas.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

/* How C is split (gemm.h). A tile costs its operands' packing again (the other operand's
 * panel for each tile), so tiles are only made where they pay: at least GEMM_TILE_MACS
 * multiply-adds each (below that a GEMM runs on one thread, as OpenBLAS itself keeps small
 * GEMMs on one), at least GEMM_TILE_MIN rows or columns wide, along the longer side of C (the
 * repacked operand is then the smaller one), and in a count from GEMM_COUNTS, which 2 and 3
 * threads (and 4, 6, 12) share evenly. Tile edges fall on multiples of GEMM_TILE_ALIGN, the
 * widest register block of the BLAS kernels, so that only the last tile has a ragged edge. */
enum { GEMM_TILE_MIN = 64, GEMM_TILE_ALIGN = 16 };
#define GEMM_TILE_MACS (4.0 * 1024 * 1024)
static const int GEMM_COUNTS[] = {12, 6, 4, 2, 1};

GemmSplit gemm_split(int m, int n, int k)
{
    const bool by_rows = m > n;
    const int dim = by_rows ? m : n;
    const double macs = (double)m * n * k;
    double most = macs / GEMM_TILE_MACS;
    if (most > dim / GEMM_TILE_MIN) most = dim / GEMM_TILE_MIN;
    int count = 1;
    for (size_t i = 0; i < sizeof GEMM_COUNTS / sizeof GEMM_COUNTS[0]; i++)
        if (GEMM_COUNTS[i] <= most) {
            count = GEMM_COUNTS[i];
            break;
        }
    return (GemmSplit){count, by_rows};
}

/* start(i) = i*dim/count rounded down to GEMM_TILE_ALIGN; start(count) = dim. With
 * dim >= count * GEMM_TILE_MIN every tile is at least GEMM_TILE_MIN - GEMM_TILE_ALIGN wide. */
int gemm_tile_start(const GemmSplit *split, int dim, int i)
{
    if (i >= split->count) return dim;
    const long long start = (long long)i * dim / split->count;
    return (int)(start - start % GEMM_TILE_ALIGN);
}

/* One BLAS call on the calling thread. OpenBLAS's OpenMP build runs one thread inside a
 * parallel region, but outside one it takes OpenMP's thread count as its own at every call
 * (whatever openblas_set_num_threads said), so there the count is 1 for the call's length:
 * an OpenMP setting of the calling thread alone, and OpenBLAS's count then stays at 1. */
void sgemm_rowmajor_serial(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                           const float *a, int lda, const float *b, int ldb, float beta,
                           float *c, int ldc)
{
    engine_threads();           /* the BLAS's own count is 1 from the first call on */
#ifdef _OPENMP
    const int outside = !omp_in_parallel(), saved = omp_get_max_threads();
    if (outside) omp_set_num_threads(1);
#endif
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
#ifdef _OPENMP
    if (outside) omp_set_num_threads(saved);
#endif
}

/* Tile i: rows [r0, r1) of op(A) and C, or columns [r0, r1) of op(B) and C. Row r of op(A)
 * is row r of A, or column r of A when transposed; column j of op(B) likewise. */
static void gemm_tile(const GemmSplit *sp, int i, bool ta, bool tb, int m, int n, int k,
                      float alpha, const float *a, int lda, const float *b, int ldb,
                      float beta, float *c, int ldc)
{
    const int dim = sp->by_rows ? m : n;
    const int r0 = gemm_tile_start(sp, dim, i), r1 = gemm_tile_start(sp, dim, i + 1);
    if (r1 <= r0) return;
    if (sp->by_rows)
        sgemm_rowmajor_serial(ta, tb, r1 - r0, n, k, alpha, a + (ta ? (size_t)r0 : (size_t)r0 * lda),
                              lda, b, ldb, beta, c + (size_t)r0 * ldc, ldc);
    else
        sgemm_rowmajor_serial(ta, tb, m, r1 - r0, k, alpha, a, lda,
                              b + (tb ? (size_t)r0 * ldb : (size_t)r0), ldb, beta, c + r0, ldc);
}

void sgemm_rowmajor(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                    const float *a, int lda, const float *b, int ldb, float beta, float *c,
                    int ldc)
{
    const GemmSplit sp = gemm_split(m, n, k);
    const int threads = engine_loop_threads((size_t)sp.count);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (int i = 0; i < sp.count; i++)
        gemm_tile(&sp, i, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
