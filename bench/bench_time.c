#include <math.h>
#include <stdlib.h>

#include "bench/bench_time.h"
#include "engine/error.h"
#include "engine/rng.h"
#include "util/progress.h"

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, compare_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

float *bench_random_floats(size_t n, Rng *r)
{
    float *v = xmalloc_floats(n);
    for (size_t i = 0; i < n; i++) v[i] = 2.0f * rng_uniform(r) - 1.0f;
    return v;
}

BenchTime bench_time(const BenchTiming *t, BenchFn fn, void *ctx)
{
    for (int i = 0; i < t->warmup; i++) fn(ctx);
    /* Calibration: one call tells how many make a sample of min_sample_ms. */
    double t0 = progress_now();
    fn(ctx);
    double one_ms = (progress_now() - t0) * 1e3;
    int calls = 1;
    if (one_ms < t->min_sample_ms)
        calls = one_ms > 0 ? (int)fmin(ceil(t->min_sample_ms / one_ms), 10000) : 10000;
    int repeats = t->repeats > 0 ? t->repeats : 1;
    double *ms = xmalloc(sizeof *ms * (size_t)repeats);
    for (int r = 0; r < repeats; r++) {
        t0 = progress_now();
        for (int c = 0; c < calls; c++) fn(ctx);
        ms[r] = (progress_now() - t0) * 1e3 / calls;
    }
    BenchTime bt = {0, 0, 0, calls};
    bt.median_ms = bench_median(ms, repeats);
    bt.min_ms = ms[0];                     /* bench_median sorted them */
    bt.max_ms = ms[repeats - 1];
    free(ms);
    return bt;
}
