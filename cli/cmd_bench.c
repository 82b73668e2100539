/* reusenet bench train-step|forward: time one configuration on random data, the unit that
 * `make bench` repeats for every row of its table. Prints the configuration, every
 * repetition, and the median milliseconds on the last line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "engine/engine.h"
#include "engine/loss.h"
#include "engine/optimizer.h"
#include "engine/tape.h"
#include "models/model.h"
#include "util/progress.h"

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* batch random slices, size x size: standard-normal pixels, labels uniform over 4 classes. */
static void random_batch(int batch, int size, float **x, int64_t **labels)
{
    const size_t n = (size_t)batch * size * size;
    *x = xmalloc_floats(n);
    *labels = xmalloc(sizeof(int64_t) * n);
    Rng r;
    rng_seed(&r, 1, 0);
    for (size_t i = 0; i < n; i++) {
        (*x)[i] = (float)rng_normal(&r);
        (*labels)[i] = rng_below(&r, 4);
    }
}

/* One timed repetition: the forward pass, and for train also the cross-entropy, backward
 * and the optimizer's update. Returns its milliseconds. */
static double bench_once(Model *m, Tape *t, Optimizer *opt, float *x, int64_t *labels,
                         int batch, int size, bool train)
{
    double t0 = progress_now();
    tape_reset(t);
    t->recording = t->training = train;
    Tensor *y = model_forward(m, t, tape_wrap(t, x, 4, (int[]){batch, 1, size, size}));
    if (train) {
        LabelMap lm = {labels, batch, size, size};
        Tensor *loss = loss_cross_entropy(t, y, &lm);
        params_zero_grad(&m->params);
        tape_backward(t, loss);
        optimizer_step(opt, &m->params);
    }
    return (progress_now() - t0) * 1e3;
}

/* The spread, memory, and the median that `make bench` reads off the last line. */
static void print_summary(double *ms, int iters, const Tape *t)
{
    qsort(ms, (size_t)iters, sizeof *ms, compare_double);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("min %.1f ms, max %.1f ms, peak RSS %.0f MiB, arena %.0f MiB\n", ms[0], ms[iters - 1],
           ru.ru_maxrss / 1024.0, t->arena.high_water / 1048576.0);
    printf("median_ms %.2f\n", ms[iters / 2]);
}

int cmd_bench(int argc, char **argv)
{
    const char *arch = "unet";
    int width = 32, batch = 8, size = 128, threads = 0, iters = 10, warmup = 2;
    char *pos[1];
    const Option opts[] = {
        {"--arch", OPT_STRING, &arch, "pspnet|unet (default unet)", false},
        {"--width", OPT_INT, &width, "F  UNet width (default 32)", false},
        {"--batch", OPT_INT, &batch, "N  batch (default 8)", false},
        {"--size", OPT_INT, &size, "S  input S x S (default 128)", false},
        {"--threads", OPT_INT, &threads, THREADS_HELP, false},
        {"--iters", OPT_INT, &iters, "N  timed repetitions (default 10)", false},
        {"--warmup", OPT_INT, &warmup, "N  untimed repetitions first (default 2)", false},
    };
    const OptionSpec spec = {"reusenet bench", "Time a training step (forward, cross-entropy, "
                             "backward, SGD momentum update) or an eval forward on random data.",
                             "train-step|forward", 1, 1, opts, sizeof opts / sizeof opts[0]};
    int rc = options_parse(&spec, argc, argv, pos, NULL);
    if (rc) return rc == 1 ? 0 : rc;
    bool train = !strcmp(pos[0], "train-step");
    if (!train && strcmp(pos[0], "forward")) {
        fprintf(stderr, "reusenet bench: train-step or forward, got '%s'\n", pos[0]);
        return 2;
    }
    if (iters < 1 || warmup < 0) {
        fprintf(stderr, "reusenet bench: --iters must be at least 1\n");
        return 2;
    }
    engine_set_threads(threads);
    ModelConfig cfg = {ARCH_UNET, 1, 4, width, TASK_SEG};
    Model m;
    if (model_arch_parse(arch, &cfg.arch) || model_create(&m, &cfg) ||
        model_check_input(&m, batch, 1, size, size)) {
        return cli_fail("bench");
    }
    model_init_weights(&m, 1);
    Optimizer opt;
    optimizer_init_sgd(&opt, &m.params, 0.01, 0.9, 0.0);
    float *x;
    int64_t *labels;
    random_batch(batch, size, &x, &labels);
    Tape t;
    tape_init(&t, 0);
    double *ms = xmalloc(sizeof(double) * (size_t)iters);
    printf("%s %s batch %d x 1 x %d x %d, %s, kernel %s, %d threads\n", pos[0], arch, batch,
           size, size, blas_library(), blas_kernel(), engine_threads());
    for (int it = -warmup; it < iters; it++) {
        double el = bench_once(&m, &t, &opt, x, labels, batch, size, train);
        if (it >= 0) {
            ms[it] = el;
            printf("  run %d: %.1f ms\n", it + 1, el);
        }
    }
    print_summary(ms, iters, &t);
    free(ms);
    free(x);
    free(labels);
    tape_free(&t);
    optimizer_free(&opt);
    model_free(&m);
    return 0;
}
