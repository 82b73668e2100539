/* conv_bench: every convolution layer of pspnet and unet against the sgemm ceiling
 * (issue "Performance", items 1 and 2; README, "Benchmarks").
 *
 * For each conv of a model's layer table at batch N x 1 x S x S, and each thread count:
 *   1. conv2d_forward and conv2d_backward run once on random data while the GEMMs they
 *      issue are recorded (gemm_ceiling.h), and a few results are checked against the
 *      definition (conv_check.h): validate before timing;
 *   2. both are timed, median of repeats after warm-up (bench_time.h);
 *   3. the recorded GEMMs are timed alone, on random data of the same shapes: the ceiling.
 *
 *   FLOP      = 2*MACs forward; backward 4*MACs (input and weight gradient), or 2*MACs for
 *               the first layer, whose input (the image) needs no gradient
 *   GFLOP/s   = FLOP / time;  ceiling GFLOP/s = FLOP / time of the GEMMs alone
 *   efficiency = time of the GEMMs alone / time of the conv (= GFLOP/s / ceiling GFLOP/s)
 *
 * Layers with at least 50 MFLOP per image (forward) should reach 80% forward and backward.
 * Markdown tables on stdout, progress on stderr; `make bench` puts them in RESULTS.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench_time.h"
#include "bench/conv_check.h"
#include "bench/gemm_ceiling.h"
#include "cli/options.h"
#include "engine/engine.h"
#include "engine/winograd.h"
#include "engine/conv2d.h"
#include "models/forward_graph.h"
#include "models/model.h"

#define MAX_MODELS 8
#define MAX_THREAD_COUNTS 8
#define TARGET_MFLOP_PER_IMAGE 50.0   /* the "layers of at least 50 MFLOP per image" */
#define TARGET_EFFICIENCY 0.8

typedef struct ModelSpec {
    ModelArch arch;
    int width;
    char name[24];                    /* "pspnet", "unet F=32" */
} ModelSpec;

typedef struct Settings {
    int batch, size, threads[MAX_THREAD_COUNTS], n_threads;
    BenchTiming timing;
    const char *layer_filter;         /* NULL: every layer */
    uint64_t seed;
} Settings;

/* One conv layer at one batch and size: its shape, the GEMMs it issues, what was measured
 * (per thread count). Its buffers are a LayerData, alive while the layer is measured. */
typedef struct LayerBench {
    char label[12], conv[LAYER_NAME_MAX];
    Conv2dShape s;
    bool has_bias, wants_dx;
    GemmList fwd_gemms, bwd_gemms;                    /* recorded from the engine */
    BenchTime fwd[MAX_THREAD_COUNTS], bwd[MAX_THREAD_COUNTS];
    double fwd_gemm_ms[MAX_THREAD_COUNTS], bwd_gemm_ms[MAX_THREAD_COUNTS];
    /* Layers computed (partly) by Winograd: the ceiling of the im2col + GEMM path the
     * engine would otherwise take, its GEMMs recorded from that path and timed alone. */
    bool winograd;
    double fwd_im2col_ms[MAX_THREAD_COUNTS], bwd_im2col_ms[MAX_THREAD_COUNTS];
} LayerBench;

typedef struct LayerData {
    const LayerBench *lb;
    float *x, *w, *b, *y, *dy, *dx, *dw, *db, *work;
} LayerData;

static double forward_flop(const LayerBench *lb) { return 2.0 * conv2d_macs(&lb->s); }
static double backward_flop(const LayerBench *lb)
{
    return forward_flop(lb) * (lb->wants_dx ? 2 : 1);
}
static double mflop_per_image(const LayerBench *lb) { return forward_flop(lb) / lb->s.n / 1e6; }

/* ---- options ---------------------------------------------------------------------------- */

/* "pspnet,unet32,unet64": unet takes its width from the digits (default 32). */
static int parse_models(const char *list, ModelSpec *out, int *count)
{
    *count = 0;
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        char item[24];
        if (len == 0 || len >= sizeof item || *count == MAX_MODELS) return -1;
        memcpy(item, p, len);
        item[len] = '\0';
        ModelSpec *m = &out[(*count)++];
        if (!strcmp(item, "pspnet")) {
            *m = (ModelSpec){ARCH_PSPNET, 0, "pspnet"};
        } else if (!strncmp(item, "unet", 4)) {
            char *end;
            long width = item[4] ? strtol(item + 4, &end, 10) : 32;
            if (item[4] && (*end || width < 1 || width > 4096)) return -1;
            *m = (ModelSpec){ARCH_UNET, (int)width, ""};
            snprintf(m->name, sizeof m->name, "unet F=%d", m->width);
        } else {
            return -1;
        }
        p += len;
        if (*p == ',') p++;
    }
    return *count ? 0 : -1;
}

static int parse_threads(const char *list, Settings *st)
{
    st->n_threads = 0;
    const char *p = list;
    while (*p) {
        char *end;
        long t = strtol(p, &end, 10);
        if (end == p || t < 1 || t > 1024 || st->n_threads == MAX_THREAD_COUNTS) return -1;
        st->threads[st->n_threads++] = (int)t;
        p = end;
        if (*p == ',') p++;
        else if (*p) return -1;
    }
    return st->n_threads ? 0 : -1;
}


/* ---- the layers of a model ------------------------------------------------------------- */

static bool layer_selected(const Layer *l, const char *filter)
{
    return !filter || !strcmp(l->label, filter) || strstr(l->conv, filter);
}

/* The conv shapes of m's layer table at batch N x C_in x S x S: each layer's input is the
 * shape of the value it reads, from the forward graph's shape pass. */
static int model_layer_benches(const ModelSpec *ms, const Settings *st, LayerBench **out,
                               int *count)
{
    ModelConfig cfg = {ms->arch, 1, 4, ms->width ? ms->width : 32, TASK_SEG};
    Model m;
    if (model_create(&m, &cfg)) return -1;
    if (model_check_input(&m, st->batch, cfg.in_channels, st->size, st->size)) {
        model_free(&m);
        return -1;
    }
    ValueShape *vs = xmalloc(sizeof *vs * (size_t)(m.graph->n_steps + 1));
    forward_graph_shapes(m.graph, &m, st->size, st->size, vs);

    *out = xcalloc((size_t)m.n_layers, sizeof **out);
    *count = 0;
    for (int i = 0; i < m.n_layers; i++) {
        const Layer *l = &m.layers[i];
        if (!layer_selected(l, st->layer_filter)) continue;
        LayerBench *lb = &(*out)[(*count)++];
        snprintf(lb->label, sizeof lb->label, "%s", l->label);
        snprintf(lb->conv, sizeof lb->conv, "%s", l->conv);
        const ValueShape x = vs[m.graph->steps[m.graph->layer_step[i]].in[0]];
        lb->s = conv2d_shape(st->batch, l->in_ch, x.h, x.w, l->out_ch, l->kernel, l->kernel,
                             l->stride, l->pad, l->dilation);
        lb->has_bias = l->conv_bias;
        lb->wants_dx = l->number != 1;       /* layer 1 reads the image: no gradient */
    }
    free(vs);
    model_free(&m);
    return 0;
}

/* ---- measuring one layer --------------------------------------------------------------- */

static void layer_data_init(LayerData *d, const LayerBench *lb, Rng *r)
{
    const Conv2dShape *s = &lb->s;
    size_t nx = (size_t)s->n * s->c * s->h * s->w, ny = (size_t)s->n * s->o * s->oh * s->ow;
    size_t nw = (size_t)s->o * s->c * s->kh * s->kw, nwork = conv2d_workspace_floats(s);
    /* aligned as the step arena's buffers are, which the kernels see in training */
    *d = (LayerData){lb, bench_random_floats(nx, r), bench_random_floats(nw, r), NULL,
                     xmalloc_floats(ny), bench_random_floats(ny, r), NULL,
                     xcalloc_floats(nw), NULL, xmalloc_floats(nwork)};
    if (lb->has_bias) {
        d->b = bench_random_floats((size_t)s->o, r);
        d->db = xcalloc_floats((size_t)s->o);
    }
    if (lb->wants_dx) d->dx = xcalloc_floats(nx);
}

static void layer_data_free(LayerData *d)
{
    float *bufs[] = {d->x, d->w, d->b, d->y, d->dy, d->dx, d->dw, d->db, d->work};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
}

static void run_forward(void *ctx)
{
    LayerData *d = ctx;
    conv2d_forward(&d->lb->s, d->x, d->w, d->b, d->y, d->work);
}

static void run_backward(void *ctx)
{
    LayerData *d = ctx;
    conv2d_backward(&d->lb->s, d->x, d->w, d->dy, d->dx, d->dw, d->db, d->work);
}

/* The sgemm ceiling of the im2col + GEMM path, which the dispatcher does not take for a
 * Winograd layer: its GEMMs, recorded as it runs once, timed alone. */
static int im2col_ceiling(LayerData *d, const Settings *st, double *fwd_ms, double *bwd_ms)
{
    const Conv2dShape *s = &d->lb->s;
    GemmList fwd = {0}, bwd = {0};
    gemm_record_start(&fwd);
    conv2d_forward_gemm(s, d->x, d->w, d->b, d->y, d->work);
    gemm_record_start(&bwd);
    conv2d_backward_gemm(s, d->x, d->w, d->dy, d->dx, d->dw, d->db, d->work);
    gemm_record_stop();
    int rc = gemm_list_time(&fwd, &st->timing, fwd_ms);
    if (!rc) rc = gemm_list_time(&bwd, &st->timing, bwd_ms);
    gemm_list_free(&fwd);
    gemm_list_free(&bwd);
    return rc;
}

/* Forward and backward once with their GEMMs recorded into fwd and bwd, checked against
 * the definition. */
static int layer_validate(LayerBench *lb, LayerData *d, Rng *r, GemmList *fwd, GemmList *bwd)
{
    const Conv2dShape *s = &lb->s;
    gemm_record_start(fwd);
    run_forward(d);
    gemm_record_stop();
    if (conv_check_forward(s, d->x, d->w, d->b, d->y, r, 8)) return -1;
    /* the gradients accumulate: zero them so the check sees one backward pass */
    memset(d->dw, 0, sizeof(float) * (size_t)s->o * s->c * s->kh * s->kw);
    if (d->db) memset(d->db, 0, sizeof(float) * (size_t)s->o);
    if (d->dx) memset(d->dx, 0, sizeof(float) * (size_t)s->n * s->c * s->h * s->w);
    gemm_record_start(bwd);
    run_backward(d);
    gemm_record_stop();
    return conv_check_backward(s, d->x, d->w, d->dy, d->dx, d->dw, d->db, r, 4);
}

static int layer_measure(LayerBench *lb, const Settings *st, const char *model, int index,
                         int count)
{
    Rng r;
    rng_seed(&r, st->seed, (uint64_t)index);
    LayerData d;
    layer_data_init(&d, lb, &r);
    int rc = 0;
    for (int ti = 0; ti < st->n_threads && !rc; ti++) {
        fprintf(stderr, "conv_bench: %s %d/%d %s, %d thread%s\n", model, index + 1, count,
                lb->conv, st->threads[ti], st->threads[ti] == 1 ? "" : "s");
        engine_set_threads(st->threads[ti]);
        /* Recorded at every thread count: which GEMMs run side by side, one per thread,
         * depends on it (gemm_ceiling.h). The last count's are kept for the tables. */
        GemmList fwd = {0}, bwd = {0};
        rc = layer_validate(lb, &d, &r, &fwd, &bwd);
        if (!rc) {
            lb->fwd[ti] = bench_time(&st->timing, run_forward, &d);
            lb->bwd[ti] = bench_time(&st->timing, run_backward, &d);
            rc = gemm_list_time(&fwd, &st->timing, &lb->fwd_gemm_ms[ti]);
        }
        if (!rc) rc = gemm_list_time(&bwd, &st->timing, &lb->bwd_gemm_ms[ti]);
        lb->winograd = conv2d_uses_winograd(&lb->s) || conv2d_dx_uses_winograd(&lb->s);
        if (!rc && lb->winograd)
            rc = im2col_ceiling(&d, st, &lb->fwd_im2col_ms[ti], &lb->bwd_im2col_ms[ti]);
        if (ti == st->n_threads - 1) {
            lb->fwd_gemms = fwd;
            lb->bwd_gemms = bwd;
        } else {
            gemm_list_free(&fwd);
            gemm_list_free(&bwd);
        }
    }
    layer_data_free(&d);
    if (rc) error_prefix("%s layer %s (%s)", model, lb->label, lb->conv);
    return rc;
}

/* The engine's split against the BLAS's own threading (gemm_ceiling.h) on every GEMM of
 * the model's layers, as recorded at the largest thread count. */
static int model_threading(const LayerBench *lbs, int count, const Settings *st,
                           GemmThreading *out)
{
    GemmList all = {0};
    for (int i = 0; i < count; i++) {
        gemm_list_append(&all, &lbs[i].fwd_gemms);
        gemm_list_append(&all, &lbs[i].bwd_gemms);
    }
    int rc = gemm_list_time_threading(&all, &st->timing, st->threads[st->n_threads - 1], out);
    gemm_list_free(&all);
    return rc;
}

/* ---- tables ---------------------------------------------------------------------------- */

static const char *winograd_name(const Conv2dShape *s)
{
    return winograd_uses_f4x4(s) ? "winograd 4x4" : "winograd";
}

/* "per image", "batched", "winograd; dw winograd, dx winograd", ... */
static const char *conv2d_path(const Conv2dShape *s)
{
    static char path[64];
    const char *gemm = conv2d_batches_images(s) ? "batched" : "per image";
    const bool fwd = conv2d_uses_winograd(s), dx = conv2d_dx_uses_winograd(s);
    if (!fwd && !dx) return gemm;
    const Conv2dShape ts = conv2d_dx_shape(s);
    snprintf(path, sizeof path, "%s; dw %s, dx %s", fwd ? winograd_name(s) : gemm,
             fwd ? winograd_name(s) : gemm, dx ? winograd_name(&ts) : gemm);
    return path;
}

static void print_shapes(const ModelSpec *ms, const LayerBench *lbs, int count)
{
    printf("\n### %s: shapes and GEMMs\n\n", ms->name);
    printf("GEMMs as recorded from the engine at the largest thread count: op(A) op(B) (N: as "
           "stored, T: transposed), M x N x K, x number of calls; \"by T\": issued T at a time, "
           "one single-threaded GEMM per thread, and timed so for the ceiling.\n\n");
    printf("| layer | conv | C->O | k/s/p/d | in -> out | MFLOP/img | path | forward GEMMs | "
           "backward GEMMs |\n|---|---|---|---|---|---:|---|---|---|\n");
    for (int i = 0; i < count; i++) {
        const LayerBench *lb = &lbs[i];
        const Conv2dShape *s = &lb->s;
        char fwd[256], bwd[256];
        gemm_list_format(&lb->fwd_gemms, fwd, sizeof fwd);
        gemm_list_format(&lb->bwd_gemms, bwd, sizeof bwd);
        printf("| %s | %s | %d->%d | %d/%d/%d/%d | %dx%d -> %dx%d | %.1f | %s | %s | %s%s |\n",
               lb->label, lb->conv, s->c, s->o, s->kh, s->stride, s->pad, s->dilation, s->h, s->w,
               s->oh, s->ow, mflop_per_image(lb),
               conv2d_path(s), fwd, bwd,
               lb->wants_dx ? "" : " (no dx)");
    }
    for (int i = 0; i < count; i++) {
        const LayerBench *lb = &lbs[i];
        if (lb->winograd) continue;      /* fewer FLOP by design: see the timing tables */
        double f = gemm_list_flops(&lb->fwd_gemms), b = gemm_list_flops(&lb->bwd_gemms);
        if (fabs(f - forward_flop(lb)) > 1e-9 * forward_flop(lb) ||
            fabs(b - backward_flop(lb)) > 1e-9 * backward_flop(lb))
            printf("\nNote: layer %s: the engine's GEMMs do %.0f%% of the forward and %.0f%% of "
                   "the backward FLOP (another method does the rest); the ceiling covers the "
                   "GEMMs only.\n", lb->label, 100 * f / forward_flop(lb),
                   100 * b / backward_flop(lb));
    }
}

/* A direction passes at 80 % of the ceiling of its own GEMMs or, for a Winograd layer, when
 * it is faster than the im2col + GEMM path's ceiling: than that path could ever be. */
static const char *verdict(const LayerBench *lb, int ti)
{
    if (mflop_per_image(lb) < TARGET_MFLOP_PER_IMAGE) return "-";
    const double fms = lb->fwd[ti].median_ms, bms = lb->bwd[ti].median_ms;
    bool f = lb->fwd_gemm_ms[ti] >= TARGET_EFFICIENCY * fms ||
             (lb->winograd && lb->fwd_im2col_ms[ti] >= fms);
    bool b = lb->bwd_gemm_ms[ti] >= TARGET_EFFICIENCY * bms ||
             (lb->winograd && lb->bwd_im2col_ms[ti] >= bms);
    return f && b ? "pass" : f ? "FAIL (bwd)" : b ? "FAIL (fwd)" : "FAIL (both)";
}

/* "142%": the im2col path's ceiling time over the layer's time (Winograd layers). */
static void format_vs_im2col(const LayerBench *lb, double ceiling_ms, double ms, char *buf,
                             size_t len)
{
    if (lb->winograd) snprintf(buf, len, "%.0f%%", 100 * ceiling_ms / ms);
    else snprintf(buf, len, "-");
}

/* "12.3 +-4%": median and half the min..max range relative to it. */
static void format_ms(const BenchTime *t, char *buf, size_t len)
{
    double spread = t->median_ms > 0 ? 50 * (t->max_ms - t->min_ms) / t->median_ms : 0;
    snprintf(buf, len, "%.2f +-%.0f%%", t->median_ms, spread);
}

typedef struct Totals {
    double fwd_ms, fwd_gemm_ms, fwd_flop, bwd_ms, bwd_gemm_ms, bwd_flop;
    int big, passed;
} Totals;

static Totals print_timings(const ModelSpec *ms, const LayerBench *lbs, int count, int ti,
                            int threads)
{
    Totals t = {0};
    printf("\n### %s, %d thread%s\n\n", ms->name, threads, threads == 1 ? "" : "s");
    printf("| layer | conv | fwd ms | fwd ceiling GFLOP/s | fwd GFLOP/s | fwd eff | "
           "fwd vs im2col ceiling | bwd ms | bwd ceiling GFLOP/s | bwd GFLOP/s | bwd eff | "
           "bwd vs im2col ceiling | >=80%% |\n"
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for (int i = 0; i < count; i++) {
        const LayerBench *lb = &lbs[i];
        double ff = forward_flop(lb), bf = backward_flop(lb);
        double fms = lb->fwd[ti].median_ms, bms = lb->bwd[ti].median_ms;
        char fs[32], bs[32];
        format_ms(&lb->fwd[ti], fs, sizeof fs);
        format_ms(&lb->bwd[ti], bs, sizeof bs);
        const char *v = verdict(lb, ti);
        char fi[16], bi[16];
        format_vs_im2col(lb, lb->fwd_im2col_ms[ti], fms, fi, sizeof fi);
        format_vs_im2col(lb, lb->bwd_im2col_ms[ti], bms, bi, sizeof bi);
        printf("| %s | %s | %s | %.1f | %.1f | %.0f%% | %s | %s | %.1f | %.1f | %.0f%% | %s | %s |\n",
               lb->label, lb->conv, fs, ff / lb->fwd_gemm_ms[ti] / 1e6, ff / fms / 1e6,
               100 * lb->fwd_gemm_ms[ti] / fms, fi, bs, bf / lb->bwd_gemm_ms[ti] / 1e6,
               bf / bms / 1e6, 100 * lb->bwd_gemm_ms[ti] / bms, bi, v);
        t.fwd_ms += fms;
        t.fwd_gemm_ms += lb->fwd_gemm_ms[ti];
        t.fwd_flop += ff;
        t.bwd_ms += bms;
        t.bwd_gemm_ms += lb->bwd_gemm_ms[ti];
        t.bwd_flop += bf;
        if (strcmp(v, "-")) {
            t.big++;
            t.passed += !strcmp(v, "pass");
        }
    }
    char passed[32] = "-";
    if (t.big) snprintf(passed, sizeof passed, "%d of %d pass", t.passed, t.big);
    printf("| all | | %.2f | %.1f | %.1f | %.0f%% | | %.2f | %.1f | %.1f | %.0f%% | | %s |\n",
           t.fwd_ms, t.fwd_flop / t.fwd_gemm_ms / 1e6, t.fwd_flop / t.fwd_ms / 1e6,
           100 * t.fwd_gemm_ms / t.fwd_ms, t.bwd_ms, t.bwd_flop / t.bwd_gemm_ms / 1e6,
           t.bwd_flop / t.bwd_ms / 1e6, 100 * t.bwd_gemm_ms / t.bwd_ms, passed);
    return t;
}

/* ---- main ------------------------------------------------------------------------------ */

/* The options' lists parsed into models and st's thread counts, and every value and model
 * checked at the batch and size asked for, before any output: 0, or -1 with the message
 * printed. */
static int settings_check(const char *models_opt, const char *threads_opt, Settings *st,
                          ModelSpec *models, int *n_models)
{
    if (parse_models(models_opt, models, n_models)) {
        fprintf(stderr, "conv_bench: --models needs a list of pspnet, unet or unetF, got '%s'\n",
                models_opt);
        return -1;
    }
    if (parse_threads(threads_opt, st)) {
        fprintf(stderr, "conv_bench: --threads needs up to %d positive counts like 1,2, got '%s'\n",
                MAX_THREAD_COUNTS, threads_opt);
        return -1;
    }
    if (st->batch < 1 || st->size < 1 || st->timing.repeats < 1 || st->timing.warmup < 0 ||
        st->timing.min_sample_ms < 0) {
        fprintf(stderr, "conv_bench: --batch, --size, --repeats must be >= 1, --warmup and "
                        "--min-sample-ms >= 0\n");
        return -1;
    }
    for (int mi = 0; mi < *n_models; mi++) {
        ModelConfig cfg = {models[mi].arch, 1, 4, models[mi].width ? models[mi].width : 32,
                           TASK_SEG};
        Model m;
        int rc = model_create(&m, &cfg);
        if (!rc) {
            rc = model_check_input(&m, st->batch, cfg.in_channels, st->size, st->size);
            model_free(&m);
        }
        if (rc) {
            fprintf(stderr, "conv_bench: %s: %s\n", models[mi].name, error_get());
            return -1;
        }
    }
    return 0;
}

/* The page's heading: settings, the BLAS and what the columns mean. */
static void print_intro(const Settings *st)
{
    printf("## Convolutions against the sgemm ceiling\n\n");
    printf("Batch %d x 1 x %d x %d; %s, kernel %s; OMP_WAIT_POLICY=%s, GOMP_SPINCOUNT=%s; "
           "median of %d samples "
           "after %d warm-up call%s (short calls repeated to >= %.0f ms per sample); "
           "every layer checked against the definition before it is timed.\n",
           st->batch, st->size, st->size, blas_library(), blas_kernel(),
           getenv("OMP_WAIT_POLICY") ? getenv("OMP_WAIT_POLICY") : "(unset)",
           getenv("GOMP_SPINCOUNT") ? getenv("GOMP_SPINCOUNT") : "(unset)", st->timing.repeats, st->timing.warmup, st->timing.warmup == 1 ? "" : "s",
           st->timing.min_sample_ms);
    if (blas_kernel_is_generic()) {
        fprintf(stderr, "conv_bench: warning: the BLAS runs its generic kernel '%s'\n",
                blas_kernel());
        printf("\n**Warning: the BLAS runs its generic kernel '%s' on this processor; every "
               "number below is far from what an optimised kernel reaches.**\n", blas_kernel());
    }
    printf("\nEfficiency = time of the layer's GEMMs run alone through the BLAS / time of "
           "conv2d_forward (or conv2d_backward); target >= 80%% forward and backward for "
           "layers of at least %.0f MFLOP per image. Times are per batch, \"+-\" is half the "
           "min..max range of the samples. Winograd layers (path \"winograd\") issue GEMMs of "
           "16 multiplies per 2x2 output tile and channel pair where the direct convolution "
           "has 36 (\"winograd 4x4\": 36 per 4x4 tile, against 144): their GFLOP/s count "
           "the direct convolution's FLOPs, so their ceiling "
           "GFLOP/s exceed the BLAS's, and their efficiency is the share of their time spent "
           "in their own GEMMs. \"vs im2col ceiling\" compares them with the im2col + GEMM "
           "path's ceiling (its GEMMs, recorded from that path, timed alone) over the layer's "
           "time: above 100%% the layer is faster than that path could be. A layer passes at "
           ">= 80%% of its own ceiling or above 100%% of the im2col one.\n",
           TARGET_MFLOP_PER_IMAGE);
}

/* Per model and thread count: every convolution's time and efficiency together. */
static void print_summary(const ModelSpec *models, int n_models,
                          Totals totals[][MAX_THREAD_COUNTS], const bool *measured,
                          const Settings *st)
{
    printf("\n### Summary: all convolutions of a model\n\n"
           "| model | threads | fwd ms | fwd eff | bwd ms | bwd eff | layers >= %.0f MFLOP/img "
           "at >= 80%% |\n|---|---:|---:|---:|---:|---:|---|\n", TARGET_MFLOP_PER_IMAGE);
    for (int mi = 0; mi < n_models; mi++)
        for (int ti = 0; ti < st->n_threads && measured[mi]; ti++) {
            const Totals *t = &totals[mi][ti];
            char targets[32] = "none this large";
            if (t->big) snprintf(targets, sizeof targets, "%d of %d", t->passed, t->big);
            printf("| %s | %d | %.1f | %.0f%% | %.1f | %.0f%% | %s |\n", models[mi].name,
                   st->threads[ti], t->fwd_ms, 100 * t->fwd_gemm_ms / t->fwd_ms, t->bwd_ms,
                   100 * t->bwd_gemm_ms / t->bwd_ms, targets);
        }
}

int main(int argc, char **argv)
{
    engine_configure_process(argv);  /* measure the kernels as reusenet runs them */
    const char *models_opt = "pspnet,unet32,unet64", *threads_opt = "1,2";
    Settings st = {8, 128, {0}, 0, {1, 5, 10.0}, NULL, 1};
    const Option opts[] = {
        {"--models", OPT_STRING, &models_opt, "LIST  pspnet,unetF,... (default "
         "pspnet,unet32,unet64)", false},
        {"--threads", OPT_STRING, &threads_opt, "LIST  thread counts (default 1,2)", false},
        {"--batch", OPT_INT, &st.batch, "N  images per batch (default 8)", false},
        {"--size", OPT_INT, &st.size, "S  input S x S (default 128)", false},
        {"--layer", OPT_STRING, &st.layer_filter, "L  only layer L (number, head) or convs "
         "whose name contains L (e.g. dec1.conv1)", false},
        {"--repeats", OPT_INT, &st.timing.repeats, "R  timed samples, median reported "
         "(default 5)", false},
        {"--warmup", OPT_INT, &st.timing.warmup, "W  untimed calls first (default 1)", false},
        {"--min-sample-ms", OPT_FLOAT, &st.timing.min_sample_ms, "MS  repeat short calls "
         "within a sample to last this long (default 10)", false},
        {"--seed", OPT_U64, &st.seed, "S  random data seed (default 1)", false},
    };
    const OptionSpec spec = {"conv_bench", "Each conv layer's forward and backward time against "
                             "the sgemm ceiling at the GEMM shapes it issues; Markdown on stdout.",
                             NULL, 0, 0, opts, sizeof opts / sizeof opts[0]};
    int rc = options_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return rc == 1 ? 0 : rc;
    ModelSpec models[MAX_MODELS];
    int n_models;
    if (settings_check(models_opt, threads_opt, &st, models, &n_models)) return 2;
    /* Threads first: it initialises the BLAS, which BLIS needs before its kernel is asked. */
    engine_set_threads(st.threads[0]);
    print_intro(&st);

    Totals totals[MAX_MODELS][MAX_THREAD_COUNTS];
    GemmThreading threading[MAX_MODELS];
    bool measured[MAX_MODELS] = {false};
    const char *names[MAX_MODELS];
    for (int mi = 0; mi < n_models; mi++) names[mi] = models[mi].name;
    int layers = 0;
    for (int mi = 0; mi < n_models && !rc; mi++) {
        LayerBench *lbs;
        int count;
        if (model_layer_benches(&models[mi], &st, &lbs, &count)) {
            fprintf(stderr, "conv_bench: %s: %s\n", models[mi].name, error_get());
            return 2;
        }
        for (int i = 0; i < count && !rc; i++)
            rc = layer_measure(&lbs[i], &st, models[mi].name, i, count);
        if (!rc && count) rc = model_threading(lbs, count, &st, &threading[mi]);
        if (!rc && count) {
            print_shapes(&models[mi], lbs, count);
            for (int ti = 0; ti < st.n_threads; ti++)
                totals[mi][ti] = print_timings(&models[mi], lbs, count, ti, st.threads[ti]);
            measured[mi] = true;
            layers += count;
        }
        for (int i = 0; i < count; i++) {
            gemm_list_free(&lbs[i].fwd_gemms);
            gemm_list_free(&lbs[i].bwd_gemms);
        }
        free(lbs);
        fflush(stdout);
    }
    if (rc) {
        fprintf(stderr, "conv_bench: %s\n", error_get());
        return 1;
    }
    if (!layers) {
        fprintf(stderr, "conv_bench: no layer matches --layer '%s'\n", st.layer_filter);
        return 2;
    }
    print_summary(models, n_models, totals, measured, &st);
    if (st.threads[st.n_threads - 1] > 1)
        gemm_threading_print(names, threading, measured, n_models, st.threads[st.n_threads - 1]);
    return 0;
}
