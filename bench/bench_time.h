/* Timing for the benchmarks (STYLE.md point 8): warm up, repeat, report the median and the
 * spread. A call shorter than the timer can resolve well is repeated inside one sample, so
 * that every sample lasts at least min_sample_ms; times are then per call. */
#ifndef REUSENET_BENCH_TIME_H
#define REUSENET_BENCH_TIME_H

#include <stddef.h>

typedef struct BenchTiming {
    int warmup;              /* untimed calls first */
    int repeats;             /* timed samples; the median is reported */
    double min_sample_ms;    /* a sample repeats the call until it lasts this long */
} BenchTiming;

typedef struct BenchTime {
    double median_ms, min_ms, max_ms;    /* per call */
    int calls_per_sample;
} BenchTime;

typedef void (*BenchFn)(void *ctx);

/* Time fn(ctx): warm-up calls, one calibration call, then t->repeats samples. */
BenchTime bench_time(const BenchTiming *t, BenchFn fn, void *ctx);
/* Median of v[0..n-1] (sorts v). */
double bench_median(double *v, int n);

struct Rng;
/* n floats uniform in [-1, 1), 64-byte aligned as the engine's own buffers are
 * (xmalloc_floats: alignment changes what the kernels measure); free() them. */
float *bench_random_floats(size_t n, struct Rng *r);

#endif
