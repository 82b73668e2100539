#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "datasets/synth.h"
#include "engine/blas.h"
#include "engine/conv2d.h"
#include "engine/error.h"
#include "engine/rng.h"
#include "engine/tensor.h"
#include "tests/testutil.h"
#include "models/model.h"
#include "engine/loss.h"
#include "engine/optimizer.h"

/* Every test program runs under the process settings that reusenet runs with (the BLAS
 * kernel, OpenMP waiting: engine_configure_process), so that the convolution tests check
 * the kernel users get. Shared libraries are initialised before this runs, so the BLAS
 * can already say which kernel it chose. */
__attribute__((constructor)) static void test_configure_process(void)
{
    static char buf[65536];
    char *argv[256];
    FILE *f = fopen("/proc/self/cmdline", "rb");
    if (!f) return;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    int argc = 0;
    for (size_t i = 0; i < len && argc < 255; i += strlen(buf + i) + 1) argv[argc++] = buf + i;
    argv[argc] = NULL;
    if (argc > 0) engine_configure_process(argv);
}

int run_test_group(int argc, char **argv, const char *group, const char *names,
                   const CMUnitTestFunction *fns, size_t count, CMFixtureFunction setup,
                   CMFixtureFunction teardown)
{
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    struct CMUnitTest *tests = xcalloc(count, sizeof *tests);
    char *list = xstrdup(names), *save = NULL;
    char *name = strtok_r(list, ", ", &save);
    for (size_t i = 0; i < count; i++, name = strtok_r(NULL, ", ", &save)) {
        if (!name) abort();   /* one name a function: #__VA_ARGS__ of the same list */
        tests[i] = (struct CMUnitTest){.name = name, .test_func = fns[i]};
    }
    /* What cmocka_run_group_tests_name expands to, for an array sized at run time. */
    const int failed = _cmocka_run_group_tests(group, tests, count, setup, teardown);
    free(tests);
    free(list);
    return failed;
}

int one_thread_setup(void **state)
{
    (void)state;
    engine_set_threads(1);
    return 0;
}

int one_thread_dir_setup(void **state)
{
    engine_set_threads(1);
    return test_dir_setup(state);
}

void fill_uniform(float *x, size_t n, float lo, float hi, uint64_t seed)
{
    Rng r;
    rng_seed(&r, seed, 7);
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * rng_uniform(&r);
}

double max_rel_diff(const float *a, const float *b, size_t n)
{
    double worst = 0, scale = 1;
    for (size_t i = 0; i < n; i++) {
        double d = a[i] - b[i];
        if (d < 0) d = -d;
        if (d > worst || d != d) worst = d != d ? 1e30 : d;
        double m = b[i] < 0 ? -b[i] : b[i];
        if (m > scale) scale = m;
    }
    return worst / scale;
}

void assert_exits_with_message(void (*fn)(void *arg), void *arg, const char *expect)
{
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        fn(arg);
        _exit(0);
    }
    close(pipefd[1]);
    char buf[4096];
    size_t used = 0;
    ssize_t got;
    while ((got = read(pipefd[0], buf + used, sizeof buf - 1 - used)) > 0) used += (size_t)got;
    buf[used] = '\0';
    close(pipefd[0]);
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) == 0 ||
        (expect && !strstr(buf, expect))) {
        print_error("child status %d, stderr: %s (expected non-zero exit with '%s')\n", status,
                    buf, expect ? expect : "");
        fail();
    }
}

char *make_temp_dir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char *path = malloc(4096);
    snprintf(path, 4096, "%s/reusenet-test-%s-XXXXXX", base ? base : "/tmp", tag);
    if (!mkdtemp(path)) {
        free(path);
        return NULL;
    }
    return path;
}

int run_command(const char *cmd, char *out, size_t out_len)
{
    char full[8192];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p) return -1;
    size_t used = 0;
    if (out_len) out[0] = '\0';
    char chunk[1024];
    while (fgets(chunk, sizeof chunk, p)) {
        size_t len = strlen(chunk);
        if (out_len && used + len < out_len) {
            memcpy(out + used, chunk, len + 1);
            used += len;
        }
    }
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

Tensor test_tensor(int ndim, const int *shape, uint64_t seed, bool requires_grad)
{
    Tensor t = tensor_alloc(ndim, shape);
    fill_uniform(t.data, t.size, -1.0f, 1.0f, seed);
    if (requires_grad) {
        t.grad = calloc(t.size, sizeof(float));
        t.requires_grad = true;
    }
    return t;
}

static double loss_of(GraphBuildFn build, Tensor **inputs, void *arg, const float *r, Tape *t)
{
    tape_reset(t);
    Tensor *out = build(t, inputs, arg);
    double sum = 0;
    for (size_t i = 0; i < out->size; i++) sum += (double)out->data[i] * r[i];
    return sum;
}

double gradcheck(GraphBuildFn build, Tensor **inputs, int n_inputs, void *arg, float eps,
                 double tol, int max_probes)
{
    Tape t;
    tape_init(&t, 0);
    /* Analytic pass. */
    Tensor *out = build(&t, inputs, arg);
    size_t out_size = out->size;
    float *r = malloc(out_size * sizeof(float));
    fill_uniform(r, out_size, -1.0f, 1.0f, 12345);
    tape_backward_from(&t, out, r);

    /* Numeric pass, with the tape not recording (and BN statistics still from the batch:
     * t.training is left as the build function set it). */
    double worst = 0;
    for (int k = 0; k < n_inputs; k++) {
        Tensor *x = inputs[k];
        if (!x->requires_grad) continue;
        float *analytic = malloc(x->size * sizeof(float));
        memcpy(analytic, x->grad, x->size * sizeof(float));
        double scale = 1e-2;
        for (size_t i = 0; i < x->size; i++)
            if (fabs(analytic[i]) > scale) scale = fabs(analytic[i]);
        size_t step = (max_probes > 0 && x->size > (size_t)max_probes) ? x->size / max_probes : 1;
        t.recording = false;
        for (size_t i = 0; i < x->size; i += step) {
            float saved = x->data[i];
            x->data[i] = saved + eps;
            double plus = loss_of(build, inputs, arg, r, &t);
            x->data[i] = saved - eps;
            double minus = loss_of(build, inputs, arg, r, &t);
            x->data[i] = saved;
            double numeric = (plus - minus) / (2.0 * eps);
            double err = fabs(numeric - analytic[i]) / scale;
            if (err > worst) worst = err;
            if (err > tol) {
                print_error("gradcheck: input %d element %zu: numeric %.6g, analytic %.6g "
                            "(normalised error %.3g > %.3g)\n",
                            k, i, numeric, analytic[i], err, tol);
                free(analytic);
                free(r);
                tape_free(&t);
                fail();
            }
        }
        t.recording = true;
        free(analytic);
    }
    free(r);
    tape_free(&t);
    return worst;
}

bool test_may_use_threads(void)
{
    const char *env = getenv("OMP_NUM_THREADS");
    return !(env && atoi(env) == 1);
}

const char *test_python(void)
{
    const char *p = getenv("REUSENET_PYTHON");
    return p && *p ? p : "/usr/bin/python3";
}

bool test_python_has(const char *modules)
{
    char cmd[1024], out[1024];
    snprintf(cmd, sizeof cmd, "%s -c 'import %s'", test_python(), modules);
    if (run_command(cmd, out, sizeof out) == 0) return true;
    print_message("skipped: needs %s with %s\n", test_python(), modules);
    return false;
}

const char *reusenet_program(void)
{
    const char *b = getenv("REUSENET_BIN");
    return b && *b ? b : "build/reusenet";
}

unsigned char *read_file_bytes(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        print_error("cannot open %s\n", path);
        fail();
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)size + 1);
    size_t got = fread(b, 1, (size_t)size, f);
    fclose(f);
    assert_int_equal(got, (size_t)size);
    b[got] = '\0';
    if (len) *len = got;
    return b;
}

void test_file_write(const char *path, const char *text)
{
    char cmd[8192], out[256];
    if (strchr(path, '\'')) fail_msg("test_file_write: a quote in '%s'", path);
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", path);
    if (run_command(cmd, out, sizeof out)) fail_msg("%s: %s", cmd, out);
    FILE *f = fopen(path, "w");
    if (!f) fail_msg("cannot write %s", path);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

int count_in(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, what)); p += strlen(what)) n++;
    return n;
}

static int expectations_missed;

void expect_that(bool ok, const char *what, const char *text)
{
    if (ok) return;
    print_error("%s '%s'\n", what, text);
    expectations_missed++;
}

void expect_in(const char *text, const char *what) { expect_that(strstr(text, what), "lacks", what); }
void expect_not_in(const char *text, const char *what) { expect_that(!strstr(text, what), "has", what); }

void expect_all_met(void)
{
    const int missed = expectations_missed;
    expectations_missed = 0;
    if (missed) fail_msg("%d expectation(s) not met (above)", missed);
}

bool files_equal(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    bool same = fa && fb;
    while (same) {
        unsigned char ba[65536], bb[65536];
        size_t na = fread(ba, 1, sizeof ba, fa), nb = fread(bb, 1, sizeof bb, fb);
        same = na == nb && !memcmp(ba, bb, na);
        if (na < sizeof ba) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

void assert_files_equal(const char *a, const char *b)
{
    if (!files_equal(a, b)) fail_msg("%s and %s differ (or cannot be read)", a, b);
}

char *path_in(const char *dir, const char *fmt, ...)
{
    static char bufs[64][4096];
    static int next;
    char *p = bufs[next++ % 64];
    int at = snprintf(p, sizeof bufs[0], "%s/", dir);
    va_list ap;
    va_start(ap, fmt);
    int n = at < (int)sizeof bufs[0] ? vsnprintf(p + at, sizeof bufs[0] - at, fmt, ap) : 0;
    va_end(ap);
    if (at + n >= (int)sizeof bufs[0]) {
        print_error("path_in: path under %s longer than %zu bytes\n", dir, sizeof bufs[0]);
        fail();
    }
    return p;
}

int remove_tree(const char *path)
{
    char cmd[8192];
    if (!path || strchr(path, '\'')) return -1;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    return system(cmd);
}

static char *group_dir;

int test_dir_setup(void **state)
{
    (void)state;
    group_dir = make_temp_dir(program_invocation_short_name);
    return group_dir ? 0 : -1;
}

int test_dir_teardown(void **state)
{
    (void)state;
    int rc = remove_tree(group_dir);
    free(group_dir);
    group_dir = NULL;
    return rc ? -1 : 0;
}

const char *test_dir(void) { return group_dir; }

/* line with "@" and "%" replaced into cmd (len >= 16384); fails the test when it does not fit. */
static void expand_line(const char *line, char *cmd, size_t len)
{
    size_t used = 0;
    for (const char *p = line; *p; p++) {
        const char *with = *p == '@' ? reusenet_program() : *p == '%' ? group_dir : NULL;
        const size_t n = with ? strlen(with) : 1;
        if (used + n >= len) fail_msg("command line too long: %.200s", line);
        if (with) memcpy(cmd + used, with, n);
        else cmd[used] = *p;
        used += n;
    }
    cmd[used] = '\0';
}

int run_line(char *out, size_t len, const char *line)
{
    char cmd[16384];
    expand_line(line, cmd, sizeof cmd);
    return run_command(cmd, out, len);
}

void expect_one_line(const char *line, int status, const char *expect)
{
    char cmd[16384], out[16384];
    expand_line(line, cmd, sizeof cmd);
    const int rc = run_command(cmd, out, sizeof out);
    if (rc != status || !strstr(out, expect) || strchr(out, '\n') != out + strlen(out) - 1)
        fail_msg("%s\nexit %d (expected %d), expected one line with '%s', got: %s", cmd, rc,
                 status, expect, out);
}

void expect_reusenet_line(const char *args, int status, const char *expect)
{
    char line[16384];
    if ((size_t)snprintf(line, sizeof line, "@ %s", args) >= sizeof line)
        fail_msg("command line too long: %.200s", args);
    expect_one_line(line, status, expect);
}

const char *test_acdc(void) { return path_in(group_dir, "acdc"); }

int test_dir_with_acdc_setup(void **state)
{
    if (test_dir_setup(state)) return -1;
    test_synth("acdc", 6, 64, 0, 3, test_acdc());
    return 0;
}

int train_tiny(const char *out, const char *extra, char *log, size_t log_len)
{
    char cmd[32768];
    snprintf(cmd, sizeof cmd, "%s train --width 4 --data %s --size 32 --batch 4 "
             "--lr 0.01 --threads 2 --quiet -o %s/%s %s", reusenet_program(), test_acdc(),
             group_dir, out, extra);
    return run_command(cmd, log, log_len);
}

void test_synth(const char *preset, int patients, int size, int slices, uint64_t seed,
                const char *dir)
{
    SynthOptions o;
    assert_int_equal(synth_defaults(&o, preset), 0);
    o.patients = patients;
    o.size = size;
    if (slices > 0) o.slices = slices;
    o.seed = seed;
    if (synth_write(dir, &o) != 0) {
        print_error("synth %s: %s\n", dir, error_get());
        fail();
    }
}

/* ---- toy segmentation data and models (the swap scan's tests) ---- */

/* A toy cardiac slice: a bright disk (LV, 3) inside a dark ring (myocardium, 2), a medium
 * blob to its left (RV, 1), on a noisy background. Positions and sizes vary with the rng. */
static Slice toy_slice(Rng *r, int patient)
{
    Slice s = slice_alloc(TOY_SIZE, TOY_SIZE);
    s.patient = patient;
    float cx = 14 + 6 * rng_uniform(r), cy = 12 + 8 * rng_uniform(r);
    float rad = 4 + 3 * rng_uniform(r), ring = rad + 2.5f;
    for (int y = 0; y < TOY_SIZE; y++)
        for (int x = 0; x < TOY_SIZE; x++) {
            float d = hypotf(x - cx, y - cy), drv = hypotf(x - (cx - ring - 3), y - cy);
            uint8_t l = 0;
            float v = 0.1f;
            if (d < rad) l = 3, v = 1.0f;
            else if (d < ring) l = 2, v = -0.6f;
            else if (drv < 3.5f) l = 1, v = 0.5f;
            s.label[y * TOY_SIZE + x] = l;
            s.image[y * TOY_SIZE + x] = v + 0.15f * (float)rng_normal(r);
        }
    return s;
}

void toy_set(SliceSet *set, int patients, int per_patient, uint64_t seed)
{
    memset(set, 0, sizeof *set);
    Rng r;
    rng_seed(&r, seed, 3);
    for (int p = 0; p < patients; p++)
        for (int i = 0; i < per_patient; i++) sliceset_push(set, toy_slice(&r, p));
}

void toy_model(Model *m, ModelArch arch, int width, uint64_t seed)
{
    ModelConfig cfg = {.arch = arch, .in_channels = 1, .classes = 4, .width = width,
                       .task = TASK_SEG};
    assert_int_equal(model_create(m, &cfg), 0);
    model_init_weights(m, seed);
}

/* Give every BN tensor non-trivial values (a fresh model has weight 1, bias 0, mean 0,
 * variance 1 everywhere), so that swapping one between two models changes something. */
void toy_perturb_bn(Model *m, uint64_t seed)
{
    Rng r;
    rng_seed(&r, seed, 11);
    for (int k = 1; k <= m->n_numbered; k++) {
        const Layer *l = model_layer(m, k);
        for (int role = ROLE_RM; role <= ROLE_RB; role++) {
            Param *p = model_param(m, l, (ParamRole)role);
            for (size_t j = 0; j < p->t.size; j++) {
                float u = rng_uniform(&r);
                p->t.data[j] = role == ROLE_RV || role == ROLE_RW ? 0.5f + u : 0.4f * (u - 0.5f);
            }
        }
    }
}


/* A few Adam steps of cross-entropy training on the set (train-mode BN). */
void toy_train(Model *m, const SliceSet *set, int steps)
{
    Optimizer opt;
    optimizer_init_adam(&opt, &m->params, 0.01, 0.9, 0.999, 1e-8, 0);
    Tape t;
    tape_init(&t, 0);
    const int batch = 8, hw = TOY_SIZE * TOY_SIZE;
    int64_t *labels = xmalloc(sizeof *labels * (size_t)batch * hw);
    for (int step = 0; step < steps; step++) {
        tape_reset(&t);
        t.training = true;
        t.recording = true;
        Tensor *x = tape_tensor4(&t, batch, 1, TOY_SIZE, TOY_SIZE);
        for (int i = 0; i < batch; i++) {
            const Slice *s = &set->slices[(step * batch + i) % set->count];
            memcpy(x->data + (size_t)i * hw, s->image, sizeof(float) * hw);
            for (int p = 0; p < hw; p++) labels[(size_t)i * hw + p] = s->label[p];
        }
        Tensor *y = model_forward(m, &t, x);
        LabelMap lm = {labels, batch, TOY_SIZE, TOY_SIZE};
        Tensor *loss = loss_cross_entropy(&t, y, &lm);
        params_zero_grad(&m->params);
        tape_backward(&t, loss);
        optimizer_step(&opt, &m->params);
    }
    free(labels);
    tape_free(&t);
    optimizer_free(&opt);
}


static atomic_bool busy_spinning;
static pthread_t busy_thread;

static void *busy_spin(void *arg)
{
    (void)arg;
    volatile unsigned long x = 0;
    while (atomic_load(&busy_spinning)) x++;
    return NULL;
}

void busy_core_start(void)
{
    atomic_store(&busy_spinning, true);
    assert_int_equal(pthread_create(&busy_thread, NULL, busy_spin, NULL), 0);
}

void busy_core_stop(void)
{
    atomic_store(&busy_spinning, false);
    pthread_join(busy_thread, NULL);
}
