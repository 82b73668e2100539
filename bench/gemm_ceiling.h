/* The sgemm ceiling of a convolution: the GEMMs conv2d issues, recorded as it runs, and
 * the time the BLAS alone needs for exactly those calls.
 *
 * Recording works at link time: the benchmark is linked with -Wl,--wrap=sgemm_rowmajor and
 * --wrap=sgemm_rowmajor_serial, so every call the engine makes to either (engine/gemm.h)
 * reaches its __wrap_ twin here, which notes its shape and passes it on. The shapes are therefore those the
 * engine really uses (per image or batched, transposes, leading dimensions, beta), not
 * a copy of conv2d.c's logic that could drift from it.
 *
 * A GEMM C (m x n) = alpha * op(A) (m x k) @ op(B) (k x n) + beta * C costs 2*m*n*k FLOP.
 *
 * The engine issues some GEMMs from inside a parallel region, one single-threaded GEMM per
 * thread on its own image (engine/conv2d.c); the record notes the team that issued each
 * call, and the ceiling runs those calls the same way: `team` at a time, side by side. */
#ifndef REUSENET_GEMM_CEILING_H
#define REUSENET_GEMM_CEILING_H

#include <stdbool.h>
#include <stddef.h>

#include "bench/bench_time.h"

typedef struct GemmCall {
    bool trans_a, trans_b;
    int m, n, k, lda, ldb, ldc;
    float alpha, beta;
    int team;                /* threads of the parallel region that issued it (1: none) */
    int count;               /* identical calls merged */
    bool serial;             /* sgemm_rowmajor_serial: one BLAS call, not split by the engine */
} GemmCall;

typedef struct GemmList {
    GemmCall *calls;
    int count, cap;
} GemmList;

/* Append every sgemm_rowmajor() call to `into` until gemm_record_stop(). */
void gemm_record_start(GemmList *into);
void gemm_record_stop(void);
void gemm_list_free(GemmList *l);
/* Sum of 2*m*n*k over all calls. */
double gemm_list_flops(const GemmList *l);
/* "NN 64x16384x576 x8, TN ..." (op(A) op(B), M x N x K, number of calls; "x8 by 2" when
 * they ran 2 at a time, one per thread) into buf. */
void gemm_list_format(const GemmList *l, char *buf, size_t len);

/* Milliseconds the BLAS alone takes for all of l's calls: each distinct call is checked
 * (a few elements of C against a dot product in double) and timed on random data of its
 * exact shape, median per call x count; calls issued by a team of T threads are timed T
 * at a time, each thread on its own data, median per round x count / T. 0, or -1 with
 * error_set() if a check fails. */
int gemm_list_time(const GemmList *l, const BenchTiming *t, double *ms);

/* What the BLAS's own threading was worth, on the calls the engine splits itself
 * (sgemm_rowmajor outside a parallel region), each timed two ways at `threads` threads:
 *   engine: as the engine runs it, tiles fixed by the shape (gemm.h), one single-threaded
 *           BLAS call each, shared by the engine's threads;
 *   blas:   one BLAS call for the whole of C, threaded by the BLAS itself, as the engine
 *           ran it before it owned the split (its bits then depended on the thread count).
 * Index 0 holds the calls the split leaves whole (one tile: too small to pay for a split,
 * so the engine runs them on one thread), index 1 those it cuts into tiles. Milliseconds
 * are medians per call x count, as gemm_list_time's. */
typedef struct GemmThreading {
    double engine_ms[2], blas_ms[2], flops[2];
    int calls[2];
} GemmThreading;
int gemm_list_time_threading(const GemmList *l, const BenchTiming *t, int threads,
                             GemmThreading *out);
/* The Markdown table of th[i] for the models names[i] that were measured, with its
 * explanation, on stdout. */
void gemm_threading_print(const char *const *names, const GemmThreading *th,
                          const bool *measured, int n_models, int threads);
/* Every call of `from` added to `into` (identical calls merged). */
void gemm_list_append(GemmList *into, const GemmList *from);

#endif
