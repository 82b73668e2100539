/* The BLAS kernel: reusenet never runs OpenBLAS's generic kernel silently. On a processor
 * that OpenBLAS does not recognise it chooses a kernel by the instruction set features
 * (engine/blas.c), a kernel the user names in OPENBLAS_CORETYPE is kept and reported, and
 * a generic one is warned about. Also: sgemm_rowmajor, under the kernel this test program
 * runs (the one reusenet runs, see testutil.c), against a direct product in double. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/blas.h"
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

/* The GEMM's result and the thread count it runs with. OpenBLAS shares out blocks of C's
 * rows and columns among the threads, each block summed over the whole depth k by one
 * thread with the same kernel, so every element is the same sum in the same order: the
 * engine's bits rest on this (README "What the bits depend on"), and this test fails if a
 * library splits the depth. BLIS 0.9's small-matrix path does not keep that order for
 * every shape: there the test measures and prints which shapes differ and by how much,
 * and checks that the difference is float rounding and that a repetition at the same
 * count gives the same bits. Shapes: those of the convolutions' GEMMs (forward
 * O x P x C*k*k, dx, dw with a deep k), odd sizes, and small ones under the library's
 * threading threshold, in every transposition, beta 0 and 1. */
static void test_sgemm_bits_and_thread_count(void **state)
{
    (void)state;
    if (!test_may_use_threads()) skip();
    static const int shapes[][3] = {
        {64, 16384, 9}, {64, 4096, 576}, {128, 1152, 1024}, {512, 512, 8192},
        {256, 64, 20000}, {37, 53, 71}, {7, 9, 11}, {1000, 3, 129}, {96, 2304, 864},
    };
    const bool invariant = strstr(blas_library(), "OpenBLAS") != NULL;
    const int saved = engine_threads();
    int differing = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int t = 0; t < 4; t++) {
            const int m = shapes[i][0], n = shapes[i][1], k = shapes[i][2];
            const bool ta = t & 1, tb = t & 2;
            const float beta = i % 2 ? 1.0f : 0.0f;
            float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n);
            float *c[5];
            fill_uniform(a, (size_t)m * k, -1, 1, 11 + i);
            fill_uniform(b, (size_t)k * n, -1, 1, 12 + i);
            for (int run = 1; run <= 4; run++) {     /* 1, 2, 3 threads, 2 again */
                c[run] = malloc(sizeof(float) * m * n);
                fill_uniform(c[run], (size_t)m * n, -1, 1, 13);
                engine_set_threads(run == 4 ? 2 : run);
                sgemm_rowmajor(ta, tb, m, n, k, 1.0f, a, ta ? m : k, b, tb ? k : n, beta,
                               c[run], n);
            }
            assert_memory_equal(c[2], c[4], sizeof(float) * m * n);
            for (int threads = 2; threads <= 3; threads++) {
                if (!memcmp(c[1], c[threads], sizeof(float) * m * n)) continue;
                const double rel = max_rel_diff(c[threads], c[1], (size_t)m * n);
                print_message("%s: sgemm %c%c %d x %d x %d at %d threads differs from 1 thread "
                              "by %.1e (relative to the largest |C|)\n", blas_library(),
                              ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, threads, rel);
                assert_true(rel < 1e-5);
                differing++;
            }
            free(a), free(b), free(c[1]), free(c[2]), free(c[3]), free(c[4]);
        }
    engine_set_threads(saved);
    if (invariant) assert_int_equal(differing, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernel_chosen_by_features),
        cmocka_unit_test(test_user_kernel_kept),
        cmocka_unit_test(test_sgemm_against_direct),
        cmocka_unit_test(test_sgemm_bits_and_thread_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
