#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "blas.h"

#ifdef USE_BLIS
#include <blis.h>
#else
#include <cblas.h>
#endif

static int thread_count = 0;    /* 0: not set yet */

/* BLIS 0.9 reads BLIS_ARCH_TYPE as a number (3 haswell, 6 zen3, ...): a name is taken as 0,
 * the AVX-512 kernel, which crashes on processors without AVX-512. Refuse it plainly. */
static void blas_check_environment(void)
{
#ifdef USE_BLIS
    static bool checked;
    if (checked) return;
    checked = true;
    const char *arch = getenv("BLIS_ARCH_TYPE");
    if (arch) {
        bool digits = *arch != '\0';
        for (const char *p = arch; *p; p++) digits = digits && *p >= '0' && *p <= '9';
        if (!digits) {
            fprintf(stderr, "reusenet: BLIS_ARCH_TYPE='%s': BLIS 0.9 takes a number "
                    "(0 skx, 3 haswell, 6 zen3, 7 zen2, 8 zen)\n", arch);
            exit(2);
        }
    }
    bli_init();
#endif
}

void engine_set_threads(int n)
{
    blas_check_environment();
    if (n <= 0) n = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 0) n = 1;
    thread_count = n;
    /* The BLAS never threads: the engine splits its GEMMs (gemm.h). OpenBLAS's OpenMP build
     * sets OpenMP's thread count along with its own, so ours is set after it; OpenBLAS then
     * keeps to one thread, since its count is 1, whatever OpenMP's is. */
#ifdef USE_BLIS
    bli_thread_set_num_threads(1);
#else
    openblas_set_num_threads(1);
#endif
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
}

int engine_threads(void)
{
    if (!thread_count) engine_set_threads(0);
    return thread_count;
}

int engine_thread_index(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

int engine_processors(void)
{
#ifdef _OPENMP
    return omp_get_num_procs();
#else
    return 1;
#endif
}

int engine_loop_threads(size_t most)
{
#ifdef _OPENMP
    size_t t = omp_in_parallel() ? 1 : (size_t)omp_get_max_threads();
    if (t > (size_t)engine_processors()) t = (size_t)engine_processors();
    return (int)(t < most ? t : most > 0 ? most : 1);
#else
    (void)most;
    return 1;
#endif
}

/* "OpenBLAS 0.3.21 (OpenMP)": the library, its version, and how it threads. */
const char *blas_library(void)
{
    static char name[80];
#ifdef USE_BLIS
    snprintf(name, sizeof name, "BLIS %s (%s)", bli_info_get_version_str(),
             bli_info_get_enable_openmp() ? "OpenMP" :
             bli_info_get_enable_pthreads() ? "pthreads" : "single-threaded");
#else
    const char *cfg = openblas_get_config();    /* "OpenBLAS 0.3.21 DYNAMIC_ARCH ..." */
    const char *space = strchr(cfg + 9, ' ');
    int len = space ? (int)(space - cfg) : (int)strlen(cfg);
    const int parallel = openblas_get_parallel();  /* 0 sequential, 1 pthreads, 2 OpenMP */
    snprintf(name, sizeof name, "%.*s (%s)", len, cfg,
             parallel == 2 ? "OpenMP" : parallel == 1 ? "pthreads" : "single-threaded");
#endif
    return name;
}

const char *blas_kernel(void)
{
    blas_check_environment();
#ifdef USE_BLIS
    return bli_arch_string(bli_arch_query_id());
#else
    return openblas_get_corename();
#endif
}

bool blas_kernel_is_generic(void)
{
    const char *k = blas_kernel();
    return !strcmp(k, "generic") || !strcmp(k, "Prescott") || !strcmp(k, "Core2") ||
           !strcmp(k, "Nehalem") || !strcmp(k, "Barcelona");
}

#ifndef REUSENET_BUILD_FLAGS
#define REUSENET_BUILD_FLAGS "unknown flags"
#endif

const char *engine_build(void)
{
#ifdef __clang__
    return "clang " __clang_version__ ", " REUSENET_BUILD_FLAGS;
#else
    return "gcc " __VERSION__ ", " REUSENET_BUILD_FLAGS;
#endif
}

const char *engine_cpu_name(void)
{
    static char name[128];
    if (name[0]) return name;
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        const char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) || !colon) continue;
        snprintf(name, sizeof name, "%s", colon + 1 + (colon[1] == ' '));
        name[strcspn(name, "\n")] = '\0';
        break;
    }
    if (f) fclose(f);
    return name;
}

void engine_print_config(FILE *out)
{
    fprintf(out, "blas: %s, kernel %s (%s)\n", blas_library(), blas_kernel(),
            blas_kernel_origin());
    fprintf(out, "build: %s\n", engine_build());
    fprintf(out, "threads: %d", engine_threads());
#ifdef _OPENMP
    fprintf(out, " (OpenMP; the BLAS runs one-threaded under the engine's GEMM split)\n");
#else
    fprintf(out, " (built with OMP=0: one thread)\n");
#endif
    if (blas_kernel_is_generic())
        fprintf(out, "warning: the BLAS runs its generic kernel '%s' on this processor; "
                     "convolutions will be slow (see README, \"Choosing the BLAS\")\n",
                blas_kernel());
}

/* OpenBLAS chooses its kernel from the processor's family and model number when the library
 * loads, and a release older than the processor falls back to a generic one: OpenBLAS
 * 0.3.21 on a Xeon of 2023 (model 207) runs "Prescott", SSE3, at 23 GFLOP/s on one core,
 * where its SkylakeX kernel runs 116 on the same core. What a kernel needs are instruction
 * set features, which the processor reports, so when OpenBLAS reports a generic kernel and
 * the user has not chosen one (OPENBLAS_CORETYPE), we choose by the features: the newest
 * kernel whose instructions this processor and its OS support. NULL: none better. */
static const char *openblas_kernel_for_features(void)
{
#if defined(USE_OPENBLAS) && (defined(__x86_64__) || defined(__i386__))
    if (!blas_kernel_is_generic()) return NULL;
    __builtin_cpu_init();   /* the checks below include the OS's saving of the registers */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
    if (__builtin_cpu_supports("avx")) return "Sandybridge";
#endif
    return NULL;
}

const char *blas_kernel_origin(void)
{
#ifdef USE_BLIS
    return getenv("BLIS_ARCH_TYPE") ? "BLIS_ARCH_TYPE" : "chosen by BLIS";
#else
    return getenv("OPENBLAS_CORETYPE") ? "OPENBLAS_CORETYPE" : "chosen by OpenBLAS";
#endif
}

/* Settings that libgomp and OpenBLAS read before main() runs; see engine_configure_process.
 *
 * OpenMP threads that wait for work by spinning (libgomp's default: 300000 spins) take a
 * core from whatever else wants it, and when another program holds a core a step can
 * take ten times as long (measured: 5.6 s instead of 0.36 s for a UNet step, when the
 * BLAS still had its own pthreads). Passive waiting costs a futex wake-up per parallel
 * loop, a few hundred per step; a short spin first (10000 rounds, microseconds) catches
 * the loops that follow each other closely. Measured on a PSPNet step at 2 threads:
 * idle machine 1.59 s passive, 1.48 s with the short spin, 1.46 s with 30000; with
 * another program busy on one core 2.96 s passive, 3.32 s with the short spin (libgomp's
 * default spin: 5.5 s). Returns true when it changed the environment. */
static bool set_process_environment(void)
{
    bool changed = false;
#ifdef _OPENMP
    if (!getenv("OMP_WAIT_POLICY")) {
        setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
        setenv("GOMP_SPINCOUNT", "10000", 0);   /* keep the user's, if set */
        changed = true;
    }
#endif
    const char *kernel = getenv("OPENBLAS_CORETYPE") ? NULL : openblas_kernel_for_features();
    if (kernel) {
        setenv("OPENBLAS_CORETYPE", kernel, 1);
        changed = true;
    }
    return changed;
}

void engine_configure_process(char **argv)
{
    if (!set_process_environment()) return;
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) return;
    self[len] = '\0';
    execv(self, argv);                  /* returns only on failure: carry on as we are */
}
