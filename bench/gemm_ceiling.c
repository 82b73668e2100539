#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef USE_BLIS
#include <blis.h>
#else
#include <cblas.h>
#endif

#include "bench/gemm_ceiling.h"
#include "engine/blas.h"
#include "engine/error.h"
#include "engine/gemm.h"
#include "engine/rng.h"

/* ---- recording (see the header: the link wraps both GEMM entry points) ---------------- */

void __real_sgemm_rowmajor(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                           const float *a, int lda, const float *b, int ldb, float beta,
                           float *c, int ldc);
void __real_sgemm_rowmajor_serial(bool trans_a, bool trans_b, int m, int n, int k,
                                  float alpha, const float *a, int lda, const float *b,
                                  int ldb, float beta, float *c, int ldc);

static GemmList *recording;

/* Threads of the parallel region around the caller (1 outside one). */
static int gemm_team(void)
{
#ifdef _OPENMP
    return omp_in_parallel() ? omp_get_num_threads() : 1;
#else
    return 1;
#endif
}

static void gemm_list_add(GemmList *l, const GemmCall *g)
{
    for (int i = 0; i < l->count; i++) {
        GemmCall *e = &l->calls[i];
        if (e->trans_a == g->trans_a && e->trans_b == g->trans_b && e->m == g->m &&
            e->n == g->n && e->k == g->k && e->lda == g->lda && e->ldb == g->ldb &&
            e->ldc == g->ldc && e->alpha == g->alpha && e->beta == g->beta &&
            e->team == g->team && e->serial == g->serial) {
            e->count += g->count;
            return;
        }
    }
    if (l->count == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 4;
        l->calls = xrealloc(l->calls, sizeof *l->calls * (size_t)l->cap);
    }
    l->calls[l->count++] = *g;
}

static void gemm_record(bool trans_a, bool trans_b, int m, int n, int k, float alpha, int lda,
                        int ldb, float beta, int ldc, bool serial)
{
    if (!recording) return;
    GemmCall g = {trans_a, trans_b, m, n, k, lda, ldb, ldc, alpha, beta, gemm_team(), 1, serial};
#pragma omp critical(gemm_record)
    gemm_list_add(recording, &g);
}

void __wrap_sgemm_rowmajor(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                           const float *a, int lda, const float *b, int ldb, float beta,
                           float *c, int ldc)
{
    gemm_record(trans_a, trans_b, m, n, k, alpha, lda, ldb, beta, ldc, false);
    __real_sgemm_rowmajor(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void __wrap_sgemm_rowmajor_serial(bool trans_a, bool trans_b, int m, int n, int k,
                                  float alpha, const float *a, int lda, const float *b,
                                  int ldb, float beta, float *c, int ldc)
{
    gemm_record(trans_a, trans_b, m, n, k, alpha, lda, ldb, beta, ldc, true);
    __real_sgemm_rowmajor_serial(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c,
                                 ldc);
}

void gemm_list_append(GemmList *into, const GemmList *from)
{
    for (int i = 0; i < from->count; i++) gemm_list_add(into, &from->calls[i]);
}

void gemm_record_start(GemmList *into) { recording = into; }
void gemm_record_stop(void) { recording = NULL; }

void gemm_list_free(GemmList *l)
{
    free(l->calls);
    *l = (GemmList){0};
}

double gemm_list_flops(const GemmList *l)
{
    double f = 0;
    for (int i = 0; i < l->count; i++)
        f += 2.0 * l->calls[i].m * l->calls[i].n * l->calls[i].k * l->calls[i].count;
    return f;
}

void gemm_list_format(const GemmList *l, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < l->count && used < len; i++) {
        const GemmCall *g = &l->calls[i];
        char team[16] = "";
        if (g->team > 1) snprintf(team, sizeof team, " by %d", g->team);
        int w = snprintf(buf + used, len - used, "%s%c%c %dx%dx%d x%d%s", i ? ", " : "",
                         g->trans_a ? 'T' : 'N', g->trans_b ? 'T' : 'N', g->m, g->n, g->k,
                         g->count, team);
        if (w < 0) break;
        used += (size_t)w;
    }
}

/* ---- the ceiling ---------------------------------------------------------------------- */

/* One call's operands; a team's runs are `team` of these side by side. */
typedef struct GemmRun {
    const GemmCall *g;
    float *a, *b, *c;
} GemmRun;

static void gemm_run(void *ctx)
{
    GemmRun *r = ctx;
    const GemmCall *g = r->g;
    (g->serial ? __real_sgemm_rowmajor_serial : __real_sgemm_rowmajor)(
        g->trans_a, g->trans_b, g->m, g->n, g->k, g->alpha, r->a, g->lda, r->b, g->ldb, g->beta,
        r->c, g->ldc);
}

/* One round of a team's calls: each thread its own GEMM, as the engine issues them (the
 * BLAS runs single-threaded inside a parallel region). */
static void gemm_run_team(void *ctx)
{
    GemmRun *runs = ctx;
#pragma omp parallel num_threads(runs[0].g->team)
    gemm_run(&runs[engine_thread_index()]);
}

/* Row-major storage: A is m x k (k x m when transposed) with row stride lda, and so on. */
static size_t rows_a(const GemmCall *g) { return (size_t)(g->trans_a ? g->k : g->m); }
static size_t rows_b(const GemmCall *g) { return (size_t)(g->trans_b ? g->n : g->k); }
static float a_at(const GemmCall *g, const float *a, int i, int p)
{
    return g->trans_a ? a[(size_t)p * g->lda + i] : a[(size_t)i * g->lda + p];
}
static float b_at(const GemmCall *g, const float *b, int p, int j)
{
    return g->trans_b ? b[(size_t)j * g->ldb + p] : b[(size_t)p * g->ldb + j];
}

/* C = alpha * op(A) op(B) + beta * C0, checked at a few (i, j) against a double sum;
 * the tolerance (1e-4 of the sum of |terms|) is far above float rounding and far below
 * the error of a wrong index (about sqrt(K) times the rounding). */
static int gemm_check(GemmRun *r, Rng *rng)
{
    const GemmCall *g = r->g;
    size_t nc = (size_t)g->m * g->ldc;
    float *c0 = xmalloc(sizeof *c0 * nc);
    memcpy(c0, r->c, sizeof *c0 * nc);
    gemm_run(r);
    int rc = 0;
    for (int t = 0; t < 4 && !rc; t++) {
        int i = (int)rng_below(rng, (uint32_t)g->m), j = (int)rng_below(rng, (uint32_t)g->n);
        double sum = 0, mag = 0;
        for (int p = 0; p < g->k; p++) {
            double term = (double)a_at(g, r->a, i, p) * b_at(g, r->b, p, j);
            sum += term;
            mag += fabs(term);
        }
        double before = c0[(size_t)i * g->ldc + j], got = r->c[(size_t)i * g->ldc + j];
        double ref = g->alpha * sum + g->beta * before;
        if (fabs(got - ref) > 1e-4 * (fabs(g->alpha) * mag + fabs(g->beta * before)) + 1e-6)
            rc = error_set("sgemm %c%c %dx%dx%d: C[%d,%d] = %.6g, expected %.6g",
                           g->trans_a ? 'T' : 'N', g->trans_b ? 'T' : 'N', g->m, g->n, g->k, i,
                           j, got, ref);
    }
    free(c0);
    return rc;
}

int gemm_list_time(const GemmList *l, const BenchTiming *t, double *ms)
{
    Rng rng;
    rng_seed(&rng, 7, 0);
    *ms = 0;
    for (int i = 0; i < l->count; i++) {
        const GemmCall *g = &l->calls[i];
        const int team = g->team > 1 ? g->team : 1;
        GemmRun *runs = xmalloc(sizeof *runs * (size_t)team);
        for (int j = 0; j < team; j++)
            runs[j] = (GemmRun){g, bench_random_floats(rows_a(g) * g->lda, &rng),
                                bench_random_floats(rows_b(g) * g->ldb, &rng),
                                bench_random_floats((size_t)g->m * g->ldc, &rng)};
        int rc = gemm_check(&runs[0], &rng);
        if (!rc && team == 1) *ms += bench_time(t, gemm_run, runs).median_ms * g->count;
        else if (!rc) *ms += bench_time(t, gemm_run_team, runs).median_ms * g->count / team;
        for (int j = 0; j < team; j++) {
            free(runs[j].a);
            free(runs[j].b);
            free(runs[j].c);
        }
        free(runs);
        if (rc) return -1;
    }
    return 0;
}

/* ---- the engine's split against the BLAS's own threading ------------------------------ */

/* The BLAS threading a call itself over n threads, as engine_set_threads once set it; the
 * OpenMP count goes along, since OpenBLAS's OpenMP build takes it at every call. */
static void blas_allow_threads(int n)
{
#ifdef USE_BLIS
    bli_thread_set_num_threads(n);
#else
    openblas_set_num_threads(n);
#endif
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
}

static void gemm_run_blas_threaded(void *ctx)
{
    const GemmRun *r = ctx;
    const GemmCall *g = r->g;
    cblas_sgemm(CblasRowMajor, g->trans_a ? CblasTrans : CblasNoTrans,
                g->trans_b ? CblasTrans : CblasNoTrans, g->m, g->n, g->k, g->alpha, r->a,
                g->lda, r->b, g->ldb, g->beta, r->c, g->ldc);
}

int gemm_list_time_threading(const GemmList *l, const BenchTiming *t, int threads,
                             GemmThreading *out)
{
    Rng rng;
    rng_seed(&rng, 7, 1);
    *out = (GemmThreading){0};
    int rc = 0;
    for (int i = 0; i < l->count && !rc; i++) {
        const GemmCall *g = &l->calls[i];
        if (g->serial || g->team > 1) continue;      /* not split by the engine */
        const int split = gemm_split(g->m, g->n, g->k).count > 1;
        GemmRun r = {g, bench_random_floats(rows_a(g) * g->lda, &rng),
                     bench_random_floats(rows_b(g) * g->ldb, &rng),
                     bench_random_floats((size_t)g->m * g->ldc, &rng)};
        engine_set_threads(threads);
        rc = gemm_check(&r, &rng);
        if (!rc) {
            out->engine_ms[split] += bench_time(t, gemm_run, &r).median_ms * g->count;
            blas_allow_threads(threads);
            out->blas_ms[split] += bench_time(t, gemm_run_blas_threaded, &r).median_ms * g->count;
            out->flops[split] += 2.0 * g->m * g->n * g->k * g->count;
            out->calls[split] += g->count;
        }
        free(r.a);
        free(r.b);
        free(r.c);
    }
    engine_set_threads(threads);         /* the BLAS one-threaded again */
    return rc ? -1 : 0;
}

void gemm_threading_print(const char *const *names, const GemmThreading *th,
                          const bool *measured, int n_models, int threads)
{
    printf("\n### The engine's GEMM split against the BLAS's own threading, %d threads\n\n"
           "The GEMMs the engine splits itself (`sgemm_rowmajor`, engine/gemm.h) in every "
           "layer, forward and backward, timed alone two ways: \"engine\" as they run now "
           "(tiles fixed by the shape, one single-threaded BLAS call each, shared by the "
           "engine's threads; a call too small to pay for a split runs whole on one thread), "
           "\"BLAS threads\" as one BLAS call threaded by the BLAS itself, as before the "
           "engine owned the split (its bits then depended on the thread count). Per-image "
           "and Winograd GEMMs, one single-threaded call per thread either way, are not in "
           "it. engine / BLAS above 1: the BLAS's own threading was faster.\n\n"
           "| model | GEMMs | calls | GFLOP | engine ms | BLAS threads ms | engine / BLAS |\n"
           "|---|---|---:|---:|---:|---:|---:|\n", threads);
    static const char *kind[2] = {"whole (one tile)", "split into tiles"};
    for (int mi = 0; mi < n_models; mi++)
        for (int k = 0; k < 2 && measured[mi]; k++)
            if (th[mi].calls[k])
                printf("| %s | %s | %d | %.2f | %.2f | %.2f | %.2f |\n", names[mi],
                       kind[k], th[mi].calls[k], th[mi].flops[k] / 1e9, th[mi].engine_ms[k],
                       th[mi].blas_ms[k], th[mi].engine_ms[k] / th[mi].blas_ms[k]);
}
