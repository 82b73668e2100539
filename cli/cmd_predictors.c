/* reusenet cka | transferability: will a source help? Representation similarity of a
 * source to the target model (linear CKA per layer) and transferability of its features
 * to the target's labels (LogME, LEEP), each from one inference pass per model over the
 * target's images (reuse/features.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/data_args.h"
#include "cli/options.h"
#include "engine/atomic_file.h"
#include "engine/engine.h"
#include "engine/fsutil.h"
#include "engine/npy.h"
#include "reuse/cka.h"
#include "util/csv.h"
#include "reuse/features.h"
#include "reuse/logme.h"
#include "reuse/reuse_model.h"
#include "train/data.h"

#define MAX_SOURCES 16
#define LABELS 4                   /* background, RV, myocardium, LV */

/* ---- cka --------------------------------------------------------------------------------- */

static int write_cka(const char *path, const Model *m, const int *layers, const double *cka,
                     const int *channels, int n, int pixels, const ReuseModel *t,
                     const ReuseModel *s)
{
    AtomicFile *af = atomic_open(path);
    if (!af) return -1;
    FILE *f = atomic_stream(af);
    fprintf(f, "layer,conv,channels,cka,pixels,target,source,shared_init\n");
    for (int i = 0; i < n; i++) {
        const Layer *l = &m->layers[layers[i] - 1];
        csv_put_text(f, l->label, 1);
        csv_put_text(f, l->conv, 0);
        csv_put_number(f, channels[i], 0);
        csv_put_number(f, cka[i], 0);
        csv_put_number(f, pixels, 0);
        csv_put_text(f, t->name, 0);
        csv_put_text(f, s->name, 0);
        csv_put_text(f, reuse_models_share_init(t, s) ? "yes" : "no", 0);
        fputc('\n', f);
    }
    return atomic_commit(af);
}

/* Both models' activations after each BN+ReLU at the n sampled pixels, their linear CKA
 * per layer printed and written to the CSV out. 0, or -1 with the message set. */
static int cka_layers(ReuseModel *t, ReuseModel *s, const SliceSet *set,
                      const PixelSample *samples, int n, int batch, const char *split,
                      const char *out)
{
    const int L = t->model.n_layers;
    int *layers = xmalloc(sizeof *layers * (size_t)L), *values = xmalloc(sizeof *values * (size_t)L);
    int *ct = xmalloc(sizeof *ct * (size_t)L), *cs = xmalloc(sizeof *cs * (size_t)L);
    const int nv = features_relu_points(&t->model, layers, values);
    float **ft = xcalloc((size_t)nv, sizeof *ft), **fs = xcalloc((size_t)nv, sizeof *fs);
    double *cka = xmalloc(sizeof *cka * (size_t)nv), sum = 0;
    features_collect(&t->model, set, samples, n, values, nv, batch, ft, ct);
    features_collect(&s->model, set, samples, n, values, nv, batch, fs, cs);
    printf("linear CKA (unbiased) of %s (target) and %s (source), %d pixels of %d %s slices\n",
           t->name, s->name, n, set->count, split);
    printf("%-5s %-26s %8s %8s\n", "layer", "conv", "channels", "CKA");
    for (int i = 0; i < nv; i++) {
        cka[i] = cka_linear_unbiased(ft[i], n, ct[i], fs[i], cs[i]);
        sum += cka[i];
        printf("%-5d %-26s %8d %8.4f\n", layers[i], t->model.layers[layers[i] - 1].conv, ct[i], cka[i]);
    }
    printf("mean CKA over %d layers: %.4f%s\n", nv, sum / nv,
           reuse_models_share_init(t, s) ? "" : " (the models do not share a recorded initialisation)");
    int rc = write_cka(out, &t->model, layers, cka, ct, nv, n, t, s);
    if (!rc) printf("wrote %s\n", out);
    for (int i = 0; i < nv; i++) {
        free(ft[i]);
        free(fs[i]);
    }
    free(ft);
    free(fs);
    free(cka);
    free(layers);
    free(values);
    free(ct);
    free(cs);
    return rc;
}

int cmd_cka(int argc, char **argv)
{
    const char *target = NULL, *source = NULL, *split = "val", *out = NULL;
    DataOptions d;
    data_options_defaults(&d);
    uint64_t seed = 0;
    int pixels = 1024, batch = 8, threads = 0;
    const Option opts[] = {
        {"--target", OPT_STRING, &target, "T.safetensors  the target model", true},
        {"--source", OPT_STRING, &source, "S.safetensors  the source model (same architecture)", true},
        DATA_OPTION_ROWS(d, false, "S  slice size (default 128)"),
        DATA_SPLIT_ROW(split, false),
        {"--pixels", OPT_INT, &pixels, "N  pixels drawn uniformly from the images (default 1024)", false},
        {"--seed", OPT_U64, &seed, "S  seed of the pixel draw (default 0)", false},
        {"--batch", OPT_INT, &batch, "B  slices per forward pass (default 8)", false},
        {"--threads", OPT_INT, &threads, THREADS_HELP, false},
        {"-o", OPT_STRING, &out, "FILE  CSV: layer,conv,channels,cka,pixels,target,source,shared_init", true},
    };
    const OptionSpec spec = {"reusenet cka", "Linear CKA (unbiased HSIC estimator) between T's and "
                             "S's activations after each BN+ReLU, per layer, on the same pixels "
                             "of the target's images; one forward pass per model.", NULL, 0, 0,
                             opts, sizeof opts / sizeof opts[0]};
    int rc = options_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return rc == 1 ? 0 : rc;
    const int which = data_split_parse(split, false, "cka");
    if (!which) return 2;
    if (!d.dir || pixels < 4 || batch < 1) {
        fprintf(stderr, "reusenet cka: needs --data DIR, --pixels >= 4 and --batch >= 1\n");
        return 2;
    }
    const char *inputs[] = {target, source};
    if (fs_check_output(out, inputs, 2)) return cli_fail("cka");
    engine_set_threads(threads);
    ReuseModel t, s;
    if (reuse_model_load(&t, target, NULL)) return cli_fail("cka");
    if (reuse_model_load(&s, source, NULL) || reuse_models_compatible(&t, &s) ||
        model_check_run(&t.model, batch, d.size, d.size, false) ||
        model_check_run(&s.model, batch, d.size, d.size, false)) {
        reuse_model_free(&t);
        reuse_model_free(&s);
        return cli_fail("cka");
    }
    RunData data;
    if (run_data_load(&d, which, &data)) {
        reuse_model_free(&t);
        reuse_model_free(&s);
        return cli_fail("cka");
    }
    const SliceSet *set = which == RUN_DATA_VAL ? &data.val : &data.train;
    PixelSample *samples;
    const int n = pixels_uniform(set, pixels, seed, &samples);
    if (n < 4) rc = error_set("%s: %d pixels in the %s images, CKA needs at least 4", d.dir, n, split);
    else rc = cka_layers(&t, &s, set, samples, n, batch, split, out);
    free(samples);
    run_data_free(&data);
    reuse_model_free(&t);
    reuse_model_free(&s);
    return rc ? cli_fail("cka") : 0;
}

/* ---- transferability ----------------------------------------------------------------- */

/* --features F.npy --labels L.npy: LogME of given features. */
static int score_files(const char *features, const char *labels)
{
    NpyArray f, y;
    if (npy_read_f32(features, &f)) return cli_fail("transferability");
    if (npy_read_i64(labels, &y)) {
        npy_free(&f);
        return cli_fail("transferability");
    }
    int rc = 0, classes = 0;
    if (f.ndim != 2 || y.ndim != 1 || y.shape[0] != f.shape[0] || f.shape[0] < 2 || f.shape[1] < 1)
        rc = error_set("%s, %s: need features N x D and labels N (N >= 2), got %d and %d dimensions",
                       features, labels, f.ndim, y.ndim);
    const int64_t *lab = y.data;
    for (size_t i = 0; !rc && i < y.count; i++) {
        if (lab[i] < 0 || lab[i] > 1000000)
            rc = error_set("%s: label %lld at %zu is not a class number 0..1000000", labels,
                           (long long)lab[i], i);
        else if (lab[i] + 1 > classes) classes = (int)lab[i] + 1;
    }
    for (size_t i = 0; !rc && i < f.count; i++)
        if (!isfinite(((float *)f.data)[i])) rc = error_set("%s: element %zu is not finite", features, i);
    if (!rc) printf("logme: %.9g\n", logme_score(f.data, f.shape[0], f.shape[1], lab, classes));
    npy_free(&f);
    npy_free(&y);
    return rc ? cli_fail("transferability") : 0;
}

/* softmax of each row of logits (n x k), in place */
static void softmax_rows(float *z, int n, int k)
{
    for (int i = 0; i < n; i++) {
        float *r = z + (size_t)i * k, top = r[0];
        for (int c = 1; c < k; c++) top = r[c] > top ? r[c] : top;
        double s = 0;
        for (int c = 0; c < k; c++) s += exp((double)r[c] - top);
        for (int c = 0; c < k; c++) r[c] = (float)(exp((double)r[c] - top) / s);
    }
}

typedef struct SourceScore {
    char name[REUSE_NAME_MAX];
    const char *task, *init;
    double logme, leep;
    int features;
} SourceScore;

static int score_source(ReuseModel *s, const SliceSet *set, const PixelSample *samples,
                        const int64_t *labels, int n, int batch, SourceScore *out)
{
    Model *m = &s->model;
    const int values[2] = {features_penultimate_value(m), features_logits_value(m)};
    const bool seg = m->cfg.task == TASK_SEG;
    float *f[2] = {NULL, NULL};
    int ch[2];
    features_collect(m, set, samples, n, values, seg ? 2 : 1, batch, f, ch);
    snprintf(out->name, sizeof out->name, "%s", s->name);
    out->task = model_task_name(m->cfg.task);
    out->features = ch[0];
    out->logme = logme_score(f[0], n, ch[0], labels, LABELS);
    out->leep = NAN;
    if (seg) {
        softmax_rows(f[1], n, ch[1]);
        out->leep = leep_score(f[1], n, ch[1], labels, LABELS);
    }
    free(f[0]);
    free(f[1]);
    return 0;
}

static int write_scores(const char *path, const SourceScore *sc, int n, int pixels,
                        const int *per_class)
{
    AtomicFile *af = atomic_open(path);
    if (!af) return -1;
    FILE *f = atomic_stream(af);
    fprintf(f, "source,task,init,features,logme,leep,pixels");
    for (int c = 0; c < LABELS; c++) fprintf(f, ",pixels_class_%d", c);
    fputc('\n', f);
    for (int i = 0; i < n; i++) {
        csv_put_text(f, sc[i].name, 1);
        csv_put_text(f, sc[i].task, 0);
        csv_put_text(f, sc[i].init, 0);
        csv_put_number(f, sc[i].features, 0);
        csv_put_number(f, sc[i].logme, 0);
        csv_put_number(f, sc[i].leep, 0);
        csv_put_number(f, pixels, 0);
        for (int c = 0; c < LABELS; c++) csv_put_number(f, per_class[c], 0);
        fputc('\n', f);
    }
    return atomic_commit(af);
}

static int score_sources(char **paths, int n_paths, DataOptions *d, int pixels, uint64_t seed,
                         int batch, const char *out)
{
    RunData data;
    if (run_data_load(d, RUN_DATA_TRAIN, &data)) return cli_fail("transferability");
    PixelSample *samples;
    int per_class[LABELS];
    const int n = pixels_balanced(&data.train, LABELS, pixels, seed, &samples, per_class);
    int64_t *labels = xmalloc(sizeof *labels * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        const Slice *sl = &data.train.slices[samples[i].slice];
        labels[i] = sl->label[samples[i].y * sl->width + samples[i].x];
    }
    printf("transferability on %s: %d training pixels (class-balanced: %d %d %d %d) of %d slices\n",
           d->dir, n, per_class[0], per_class[1], per_class[2], per_class[3], data.train.count);
    SourceScore sc[MAX_SOURCES];
    ReuseModel models[MAX_SOURCES];
    int rc = n < 2 ? error_set("%s: fewer than 2 labelled training pixels", d->dir) : 0, loaded = 0;
    for (; !rc && loaded < n_paths; loaded++) {
        if (reuse_model_load(&models[loaded], paths[loaded], NULL)) {
            rc = -1;
            break;
        }
        if (model_check_run(&models[loaded].model, batch, d->size, d->size, false)) {
            rc = error_prefix("%s", paths[loaded]);
            loaded++;
            break;
        }
        score_source(&models[loaded], &data.train, samples, labels, n, batch, &sc[loaded]);
        sc[loaded].init = models[loaded].init;
        printf("%-24s %-5s %4d features  LogME %9.5f  LEEP %s%.5f\n", sc[loaded].name, sc[loaded].task,
               sc[loaded].features, sc[loaded].logme, isnan(sc[loaded].leep) ? "(no classifier) " : "",
               sc[loaded].leep);
    }
    if (!rc && !(rc = write_scores(out, sc, n_paths, n, per_class))) printf("wrote %s\n", out);
    for (int i = 0; i < loaded; i++) reuse_model_free(&models[i]);
    free(labels);
    free(samples);
    run_data_free(&data);
    return rc ? cli_fail("transferability") : 0;
}

int cmd_transferability(int argc, char **argv)
{
    const char *source = NULL, *out = NULL, *features = NULL, *labels = NULL;
    DataOptions d;
    data_options_defaults(&d);
    uint64_t seed = 0;
    int pixels = 4096, batch = 8, threads = 0, n_more = 0;
    char *paths[MAX_SOURCES];
    const Option opts[] = {
        {"--source", OPT_STRING, &source, "S.safetensors [S2 ...]  source models (any architecture)", false},
        DATA_OPTION_ROWS(d, false, "S  slice size (default 128)"),
        {"--pixels", OPT_INT, &pixels, "N  training pixels, N/4 per class where a class has "
         "that many (default 4096)", false},
        {"--seed", OPT_U64, &seed, "S  seed of the pixel draw (default 0)", false},
        {"--batch", OPT_INT, &batch, "B  slices per forward pass (default 8)", false},
        {"--threads", OPT_INT, &threads, THREADS_HELP, false},
        {"--features", OPT_STRING, &features, "F.npy  instead: score these features (N x D float32)", false},
        {"--labels", OPT_STRING, &labels, "L.npy  with --features: their labels (N int64)", false},
        {"-o", OPT_STRING, &out, "FILE  CSV: source,task,init,features,logme,leep,pixels,"
         "pixels_class_0..3", false},
    };
    const OptionSpec spec = {"reusenet transferability", "Pixel-level LogME of each source's "
                             "penultimate features on the target's training images and labels "
                             "(class-balanced pixels), and LEEP for sources that are segmentation "
                             "models; or, with --features and --labels, LogME of given features.",
                             "[S2.safetensors ...]", 0, MAX_SOURCES - 1, opts,
                             sizeof opts / sizeof opts[0]};
    int rc = options_parse(&spec, argc, argv, paths + 1, &n_more);
    if (rc) return rc == 1 ? 0 : rc;
    if (features || labels) {
        if (!features || !labels || source || n_more) {
            fprintf(stderr, "reusenet transferability: --features and --labels go together, "
                    "without sources\n");
            return 2;
        }
        return score_files(features, labels);
    }
    if (!source || !d.dir || !out || pixels < 2 * LABELS || batch < 1) {
        fprintf(stderr, "reusenet transferability: needs --source S [S2 ...], --data DIR and -o "
                "FILE (--pixels >= %d, --batch >= 1)\n", 2 * LABELS);
        return 2;
    }
    paths[0] = (char *)source;
    if (fs_check_output(out, (const char *const *)paths, n_more + 1))
        return cli_fail("transferability");
    engine_set_threads(threads);
    return score_sources(paths, n_more + 1, &d, pixels, seed, batch, out);
}
