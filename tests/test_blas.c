/* The BLAS kernel: reusenet never runs OpenBLAS's generic kernel silently. On a processor
 * that OpenBLAS does not recognise it chooses a kernel by the instruction set features
 * (engine/blas.c), a kernel the user names in OPENBLAS_CORETYPE is kept and reported, and
 * a generic one is warned about. Also the engine's GEMM (engine/gemm.h), under the kernel
 * this test program runs (the one reusenet runs, see testutil.c; `make test` runs this
 * program under every kernel the processor can run): against a direct product in double,
 * against one BLAS call, its split, and its bits at 1, 2 and 3 threads and under load. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/blas.h"
#include "engine/gemm.h"
#include "tests/testutil.h"

static int version_of(const char *env, char *out, size_t len)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "env -u OPENBLAS_CORETYPE %s '%s' --version", env,
             reusenet_program());
    return run_command(cmd, out, len);
}

static bool built_with_openblas(void)
{
    if (strstr(blas_library(), "OpenBLAS")) return true;
    print_message("skipped: this build uses %s\n", blas_library());
    return false;
}

/* With no choice made by the user, the kernel is never a generic one on a processor with
 * AVX2 and FMA (every x86-64 processor since 2013). */
static void test_kernel_chosen_by_features(void **state)
{
    (void)state;
    if (!built_with_openblas()) skip();
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        print_message("skipped: this processor has no AVX2+FMA\n");
        skip();
    }
    char out[4096];
    assert_int_equal(version_of("", out, sizeof out), 0);
    print_message("%s", out);
    assert_non_null(strstr(out, "blas: OpenBLAS"));
    assert_null(strstr(out, "warning:"));
    for (const char *g = "Prescott\0Core2\0Nehalem\0Barcelona\0generic\0"; *g; g += strlen(g) + 1)
        assert_null(strstr(out, g));
}

/* The user's OPENBLAS_CORETYPE is kept, named as the origin, and a generic one warned of. */
static void test_user_kernel_kept(void **state)
{
    (void)state;
    if (!built_with_openblas()) skip();
    char out[4096];
    assert_int_equal(version_of("OPENBLAS_CORETYPE=Prescott", out, sizeof out), 0);
    assert_non_null(strstr(out, "kernel Prescott (OPENBLAS_CORETYPE)"));
    assert_non_null(strstr(out, "warning: the BLAS runs its generic kernel 'Prescott'"));
}

/* C = alpha op(A) op(B) + beta C for all four transpositions, odd sizes, leading
 * dimensions larger than the rows, against a double-precision product. */
static void test_sgemm_against_direct(void **state)
{
    (void)state;
    const int m = 37, n = 53, k = 71, pad = 3;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
            int arows = ta ? k : m, brows = tb ? n : k;
            float *a = malloc(sizeof(float) * arows * lda);
            float *b = malloc(sizeof(float) * brows * ldb);
            float *c = malloc(sizeof(float) * m * ldc);
            fill_uniform(a, (size_t)arows * lda, -1, 1, 1);
            fill_uniform(b, (size_t)brows * ldb, -1, 1, 2);
            fill_uniform(c, (size_t)m * ldc, -1, 1, 3);
            double *want = malloc(sizeof(double) * m * n);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++)
                        s += (double)(ta ? a[p * lda + i] : a[i * lda + p]) *
                             (tb ? b[j * ldb + p] : b[p * ldb + j]);
                    want[i * n + j] = 0.5 * s - 2.0 * c[i * ldc + j];
                }
            sgemm_rowmajor(ta, tb, m, n, k, 0.5f, a, lda, b, ldb, -2.0f, c, ldc);
            double worst = 0;
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double d = c[i * ldc + j] - want[i * n + j];
                    if (d < 0) d = -d;
                    if (d > worst) worst = d;
                }
            if (worst > 1e-5) print_message("trans %d%d: error %.2e\n", ta, tb, worst);
            assert_true(worst <= 1e-5);
            free(a), free(b), free(c), free(want);
        }
}

/* The split depends on the shape alone (it has no other input) and covers C exactly: tiles
 * in order, each at least 48 wide, in a count that 2 and 3 threads share evenly, small
 * GEMMs in one piece. */
static void test_gemm_split(void **state)
{
    (void)state;
    static const int shapes[][3] = {
        {64, 16384, 9}, {64, 4096, 576}, {128, 1152, 1024}, {512, 512, 8192}, {7, 9, 11},
        {256, 64, 20000}, {1000, 3, 129}, {96, 2304, 864}, {390, 50, 4000}, {16, 16, 16},
    };
    int split = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const int m = shapes[i][0], n = shapes[i][1], k = shapes[i][2];
        const GemmSplit sp = gemm_split(m, n, k);
        const int dim = sp.by_rows ? m : n;
        assert_true(sp.count == 1 || sp.count == 2 || sp.count == 4 || sp.count == 6 ||
                    sp.count == 12);
        assert_int_equal(sp.by_rows, m > n);
        if ((double)m * n * k < 4.0 * 1024 * 1024) assert_int_equal(sp.count, 1);
        assert_int_equal(gemm_tile_start(&sp, dim, 0), 0);
        assert_int_equal(gemm_tile_start(&sp, dim, sp.count), dim);
        for (int t = 0; t < sp.count; t++) {
            const int w = gemm_tile_start(&sp, dim, t + 1) - gemm_tile_start(&sp, dim, t);
            assert_true(sp.count == 1 || w >= 48);
        }
        split += sp.count > 1;
    }
    assert_true(split >= 5);       /* the shapes below do exercise the split */
}

/* The GEMM's bits and the thread count: the same at 1, 2 and 3 threads, and at 2 threads
 * while another thread keeps a core busy (which thread takes which tile changes), for every
 * BLAS library and kernel (engine/gemm.h says why). The split result equals one BLAS call
 * up to rounding. Shapes: those of the convolutions' GEMMs (forward O x P x C*k*k, dx, dw
 * with a deep k), odd sizes, and small ones kept in one piece, in every transposition,
 * beta 0 and 1. */
static void test_sgemm_bits_and_thread_count(void **state)
{
    (void)state;
    if (!test_may_use_threads()) skip();
    static const int shapes[][3] = {
        {64, 16384, 9}, {64, 4096, 576}, {128, 1152, 1024}, {512, 512, 8192},
        {256, 64, 20000}, {37, 53, 71}, {7, 9, 11}, {1000, 3, 129}, {96, 2304, 864},
        {12, 384, 72}, {128, 256, 96},  /* one tile, but large enough for OpenBLAS to thread */
    };
    const int saved = engine_threads();
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int t = 0; t < 4; t++) {
            const int m = shapes[i][0], n = shapes[i][1], k = shapes[i][2];
            const bool ta = t & 1, tb = t & 2;
            const float beta = i % 2 ? 1.0f : 0.0f;
            const size_t nc = (size_t)m * n;
            float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n);
            float *c[6];
            fill_uniform(a, (size_t)m * k, -1, 1, 11 + i);
            fill_uniform(b, (size_t)k * n, -1, 1, 12 + i);
            for (int run = 0; run < 6; run++) {  /* one call; 1, 2, 3 threads; 2 loaded, 2 */
                c[run] = malloc(sizeof(float) * nc);
                fill_uniform(c[run], nc, -1, 1, 13);
                if (run == 4) busy_core_start();
                engine_set_threads(run == 0 ? saved : run <= 3 ? run : 2);
                (run == 0 ? sgemm_rowmajor_serial : sgemm_rowmajor)(
                    ta, tb, m, n, k, 1.0f, a, ta ? m : k, b, tb ? k : n, beta, c[run], n);
                if (run == 4) busy_core_stop();
            }
            for (int run = 2; run < 6; run++) {
                if (memcmp(c[1], c[run], sizeof(float) * nc))
                    print_message("%s, kernel %s: sgemm %c%c %d x %d x %d, run %d differs from "
                                  "1 thread by %.1e\n", blas_library(), blas_kernel(),
                                  ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, run,
                                  max_rel_diff(c[run], c[1], nc));
                assert_memory_equal(c[1], c[run], sizeof(float) * nc);
            }
            assert_true(max_rel_diff(c[1], c[0], nc) < 1e-5);
            for (int run = 0; run < 6; run++) free(c[run]);
            free(a), free(b);
        }
    engine_set_threads(saved);
}

TEST_MAIN("blas", NULL, NULL,
          test_kernel_chosen_by_features, test_user_kernel_kept, test_sgemm_against_direct,
          test_gemm_split, test_sgemm_bits_and_thread_count)
