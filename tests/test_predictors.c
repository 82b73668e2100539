/* The representation and transferability predictors (reuse/cka.c, reuse/logme.c,
 * util/rankcorr.c, reuse/features.c) against independent NumPy/SciPy implementations
 * (tests/predictors_ref.py; those parts are skipped without SciPy):
 *   - unbiased linear CKA equals the Gram-matrix formula (1e-9 relative); CKA(X, X) = 1
 *     and CKA is unchanged by an orthogonal map and a scale of one side;
 *   - `reusenet transferability --features F.npy --labels L.npy` prints NumPy's LogME to
 *     1e-5; LEEP equals NumPy's (1e-9);
 *   - Kendall's tau-b equals scipy.stats.kendalltau with ties; the bootstrap interval
 *     holds the point estimate and is [1, 1] for noiseless runs;
 *   - the report's verdict on a small synthetic study folder (Table 1, the runs behind it,
 *     LogME and CKA files): tau-b as SciPy computes it from the same gains, an interval
 *     from the runs, the unshared-initialisation mark, a scatter plot per predictor;
 *   - the activation points (after each BN+ReLU), class-balanced pixel draws, and the
 *     cka and transferability commands on a small synthetic dataset; bad input gives one
 *     line and a non-zero exit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/npy.h"
#include "models/checkpoint.h"
#include "reuse/cka.h"
#include "util/csv.h"
#include "reuse/features.h"
#include "reuse/logme.h"
#include "util/rankcorr.h"
#include "report/report.h"
#include "report/study_folder.h"
#include "train/data.h"
#include "tests/testutil.h"

/* Run predictors_ref.py on .npy files in the test folder; its number. */
static double reference(const char *what, const char *a, const char *b)
{
    char cmd[4096], out[4096];
    snprintf(cmd, sizeof cmd, "%s tests/predictors_ref.py %s %s/%s %s%s%s", test_python(), what,
             test_dir(), a, b ? test_dir() : "", b ? "/" : "", b ? b : "");
    if (run_command(cmd, out, sizeof out)) fail_msg("%s: %s", cmd, out);
    return strtod(out, NULL);
}

static void save_f32(const char *name, int n, int d, const float *x)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", test_dir(), name);
    assert_int_equal(npy_write_f32(path, 2, (int[]){n, d}, x), 0);
}

static void save_i64(const char *name, int n, const int64_t *y)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", test_dir(), name);
    assert_int_equal(npy_write_i64(path, 1, (int[]){n}, y), 0);
}

static void assert_close(double got, double want, double rel)
{
    if (!(fabs(got - want) <= rel * fmax(1, fabs(want))))
        fail_msg("got %.12g, want %.12g (tolerance %g)", got, want, rel);
}

static void test_cka(void **state)
{
    (void)state;
    enum { N = 60, P = 7, Q = 5 };
    float x[N * P], y[N * Q], w[P * Q];
    fill_uniform(x, N * P, -1, 1, 1);
    fill_uniform(w, P * Q, -1, 1, 2);
    fill_uniform(y, N * Q, -0.5f, 0.5f, 3);           /* noise */
    for (int i = 0; i < N; i++)
        for (int b = 0; b < Q; b++)
            for (int a = 0; a < P; a++) y[i * Q + b] += x[i * P + a] * w[a * Q + b] + 0.3f;
    const double c = cka_linear_unbiased(x, N, P, y, Q);
    assert_true(c > 0.1 && c < 1);
    assert_close(cka_linear_unbiased(x, N, P, x, P), 1, 1e-12);
    /* an orthogonal map (a rotation of two columns) and a scale leave it unchanged */
    float xr[N * P];
    memcpy(xr, x, sizeof x);
    for (int i = 0; i < N; i++) {
        const float a = x[i * P], b = x[i * P + 1];
        xr[i * P] = 3 * (0.6f * a - 0.8f * b);
        xr[i * P + 1] = 3 * (0.8f * a + 0.6f * b);
        for (int k = 2; k < P; k++) xr[i * P + k] = 3 * x[i * P + k];
    }
    assert_close(cka_linear_unbiased(xr, N, P, y, Q), c, 1e-5);
    if (!test_python_has("numpy, scipy.stats")) skip();
    save_f32("x.npy", N, P, x);
    save_f32("y.npy", N, Q, y);
    assert_close(c, reference("cka", "x.npy", "y.npy"), 1e-9);
}

/* Features with some signal about the labels: class means apart, plus noise. */
static void labelled_features(int n, int d, float *f, int64_t *y, uint64_t seed)
{
    fill_uniform(f, (size_t)n * d, -1, 1, seed);
    for (int i = 0; i < n; i++) {
        y[i] = (i * 7 + i / 5) % 4;
        for (int k = 0; k < d; k++) f[i * d + k] += 0.5f * (float)((y[i] + k) % 3 == 0);
    }
}

static void test_logme_command_vs_numpy(void **state)
{
    (void)state;
    enum { N = 300, D = 16 };
    static float f[N * D];
    int64_t y[N];
    labelled_features(N, D, f, y, 4);
    save_f32("f.npy", N, D, f);
    save_i64("l.npy", N, y);
    char cmd[4096], out[4096];
    snprintf(cmd, sizeof cmd, "%s transferability --features %s/f.npy --labels %s/l.npy",
             reusenet_program(), test_dir(), test_dir());
    if (run_command(cmd, out, sizeof out)) fail_msg("%s", out);
    const char *p = strstr(out, "logme: ");
    assert_non_null(p);
    const double got = strtod(p + 7, NULL);
    assert_close(got, logme_score(f, N, D, y, 4), 1e-8);
    /* informative features score higher than noise */
    static float noise[N * D];
    fill_uniform(noise, N * D, -1, 1, 5);
    assert_true(logme_score(noise, N, D, y, 4) < got);
    if (!test_python_has("numpy, scipy.stats")) skip();
    assert_close(got, reference("logme", "f.npy", "l.npy"), 1e-5);
    /* D > N as well: F'F is singular */
    enum { N2 = 12, D2 = 20 };
    float g[N2 * D2];
    int64_t y2[N2];
    labelled_features(N2, D2, g, y2, 6);
    save_f32("g.npy", N2, D2, g);
    save_i64("l2.npy", N2, y2);
    assert_close(logme_score(g, N2, D2, y2, 4), reference("logme", "g.npy", "l2.npy"), 1e-5);
}

static void test_leep_vs_numpy(void **state)
{
    (void)state;
    enum { N = 200, Z = 5 };
    float p[N * Z];
    int64_t y[N];
    fill_uniform(p, N * Z, 0, 1, 7);
    for (int i = 0; i < N; i++) {
        y[i] = i % 3;
        p[i * Z + y[i]] += 1;                       /* source class y predicts target class y */
        double s = 0;
        for (int k = 0; k < Z; k++) s += p[i * Z + k];
        for (int k = 0; k < Z; k++) p[i * Z + k] = (float)(p[i * Z + k] / s);
    }
    const double l = leep_score(p, N, Z, y, 3);
    assert_true(l < 0 && l > log(1.0 / 3));        /* better than chance over 3 classes */
    if (!test_python_has("numpy, scipy.stats")) skip();
    save_f32("p.npy", N, Z, p);
    save_i64("py.npy", N, y);
    assert_close(l, reference("leep", "p.npy", "py.npy"), 1e-9);
}

static void test_kendall(void **state)
{
    (void)state;
    const double x[9] = {1, 2, 2, 3, 5, 4, 7, 7, 9}, y[9] = {2, 1, 3, 3, 4, 6, 5, 8, 8};
    const double t = kendall_tau_b(x, y, 9);
    assert_close(kendall_tau_b(x, x, 9), 1, 1e-15);
    assert_true(isnan(kendall_tau_b(x, (double[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, 9)));
    /* bootstrap: runs per configuration; gains config - base (config 0 is the base) */
    const double r0[3] = {0.5, 0.52, 0.48}, r1[3] = {0.6, 0.61, 0.62}, r2[3] = {0.7, 0.7, 0.7},
                 r3[3] = {0.55, 0.58, 0.5};
    const double *runs[4] = {r0, r1, r2, r3};
    const int n_runs[4] = {3, 3, 3, 3}, config[3] = {1, 2, 3}, base[3] = {0, 0, 0};
    double lo, hi;
    kendall_bootstrap((double[]){2, 3, 1}, config, base, 3, runs, n_runs, 4, 1000, 1, &lo, &hi);
    assert_true(lo <= hi && lo >= -1 && hi <= 1 && hi == 1);
    const double flat[1] = {0.5};
    const double *exact[4] = {flat, r2, r2, r2};
    const int one[4] = {1, 3, 3, 3};
    kendall_bootstrap((double[]){1, 2, 3}, config, base, 3, exact, one, 4, 200, 1, &lo, &hi);
    assert_true(isnan(lo) && isnan(hi));            /* all gains tie: no tau */
    if (!test_python_has("numpy, scipy.stats")) skip();
    double xy[18];
    memcpy(xy, x, sizeof x);
    memcpy(xy + 9, y, sizeof y);
    char path[1024];
    snprintf(path, sizeof path, "%s/xy.npy", test_dir());
    assert_int_equal(npy_write(path, NPY_DTYPE_F64, 2, (int[]){2, 9}, xy), 0);
    assert_close(t, reference("kendall", "xy.npy", NULL), 1e-12);
}

static void test_activation_points(void **state)
{
    (void)state;
    for (int a = 0; a < 2; a++) {
        ModelConfig cfg = {.arch = a ? ARCH_PSPNET : ARCH_UNET, .in_channels = 1, .classes = 4,
                           .width = 4, .task = TASK_SEG};
        Model m;
        assert_int_equal(model_create(&m, &cfg), 0);
        int layers[32], values[32];
        const int n = features_relu_points(&m, layers, values);
        /* PSPNet: every layer but the three downsamples; UNet: all 18 */
        assert_int_equal(n, a ? 22 : 18);
        for (int i = 0; i < n; i++)
            assert_true(strstr(m.layers[layers[i] - 1].conv, "downsample") == NULL);
        model_free(&m);
    }
}

static void test_commands(void **state)
{
    (void)state;
    char data[1024], t[1024], s[1024], cmd[8192], out[16384], csv[1024];
    snprintf(data, sizeof data, "%s/acdc", test_dir());
    test_synth("acdc", 5, 32, 2, 1, data);
    ModelConfig cfg = {.arch = ARCH_UNET, .in_channels = 1, .classes = 4, .width = 4, .task = TASK_SEG};
    Model m;
    assert_int_equal(model_create(&m, &cfg), 0);
    snprintf(t, sizeof t, "%s/t.safetensors", test_dir());
    snprintf(s, sizeof s, "%s/s.safetensors", test_dir());
    model_init_weights(&m, 1);
    assert_int_equal(checkpoint_save(&m, t, NULL, 0), 0);
    model_init_weights(&m, 2);
    assert_int_equal(checkpoint_save(&m, s, NULL, 0), 0);
    model_free(&m);

    /* class-balanced draw: each class its share where it has the pixels */
    DataOptions d;
    data_options_defaults(&d);
    d.dir = data;
    d.size = 32;
    RunData rd;
    assert_int_equal(run_data_load(&d, RUN_DATA_TRAIN, &rd), 0);
    PixelSample *px;
    int per_class[4];
    const int n = pixels_balanced(&rd.train, 4, 400, 3, &px, per_class);
    assert_int_equal(n, per_class[0] + per_class[1] + per_class[2] + per_class[3]);
    for (int i = 0; i < n; i++) {
        assert_true(i == 0 || px[i - 1].slice <= px[i].slice);
        int counted = 0;
        for (int c = 0; c < 4; c++) counted += per_class[c] <= 100;
        assert_int_equal(counted, 4);
    }
    assert_int_equal(per_class[0], 100);
    free(px);
    run_data_free(&rd);

    snprintf(csv, sizeof csv, "%s/cka.csv", test_dir());
    snprintf(cmd, sizeof cmd, "%s cka --target %s --source %s --data %s --size 32 --pixels 200 "
             "--threads 1 -o %s", reusenet_program(), t, t, data, csv);
    if (run_command(cmd, out, sizeof out)) fail_msg("%s", out);
    CsvTable c;
    assert_int_equal(csv_read(csv, &c), 0);
    assert_int_equal(c.n_rows, 18);
    for (int r = 0; r < c.n_rows; r++) {
        assert_close(csv_number(&c, r, csv_column(&c, "cka")), 1, 1e-9);   /* T against itself */
        assert_true(csv_number(&c, r, csv_column(&c, "pixels")) == 200);
    }
    csv_free(&c);

    snprintf(csv, sizeof csv, "%s/scores.csv", test_dir());
    snprintf(cmd, sizeof cmd, "%s transferability --source %s %s --data %s --size 32 --pixels 400 "
             "--threads 1 -o %s", reusenet_program(), t, s, data, csv);
    if (run_command(cmd, out, sizeof out)) fail_msg("%s", out);
    assert_int_equal(csv_read(csv, &c), 0);
    assert_int_equal(c.n_rows, 2);
    assert_true(isfinite(csv_number(&c, 0, csv_column(&c, "logme"))));
    assert_true(isfinite(csv_number(&c, 1, csv_column(&c, "leep"))));
    assert_true(csv_number(&c, 0, csv_column(&c, "pixels_class_0")) == 100);
    csv_free(&c);

    /* bad input: one line naming the file */
    float f[6] = {0};
    int64_t y[2] = {0, 1};
    save_f32("bad_f.npy", 3, 2, f);
    save_i64("bad_l.npy", 2, y);
    snprintf(cmd, sizeof cmd, "%s transferability --features %s/bad_f.npy --labels %s/bad_l.npy",
             reusenet_program(), test_dir(), test_dir());
    assert_int_equal(run_command(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "bad_f.npy"));
    assert_null(strchr(out, '\n') == out + strlen(out) - 1 ? NULL : "more than one line");
    snprintf(cmd, sizeof cmd, "%s cka --target %s --source %s/none.safetensors --data %s -o %s",
             reusenet_program(), t, test_dir(), data, csv);
    assert_int_equal(run_command(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "none.safetensors"));
}

static void test_report_verdict(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/study", test_dir());
    /* n = 10: random init 0.50; sources A, B, C; three runs each around the table's mean */
    static const char *const configs[7] = {"random init", "A freeze", "A fine-tune", "B freeze",
                                           "B fine-tune", "C freeze", "C fine-tune"};
    static const double means[7] = {0.50, 0.52, 0.60, 0.55, 0.65, 0.40, 0.70};
    char table[4096] = "n,configuration,seeds,mean,mean_sd\n";
    for (int c = 0; c < 7; c++) {
        char line[256], run[256], prefix[128];
        snprintf(line, sizeof line, "10,%s,3,%.4f,0.01\n", configs[c], means[c]);
        strcat(table, line);
        if (c == 0) snprintf(prefix, sizeof prefix, "n10-random");
        else snprintf(prefix, sizeof prefix, "n10-%c-%s", configs[c][0],
                      strstr(configs[c], "freeze") ? "freeze" : "finetune");
        for (int seed = 1; seed <= 3; seed++) {
            snprintf(run, sizeof run, "transfer/runs/%s-s%d/log.csv", prefix, seed);
            snprintf(line, sizeof line, "epoch,mean_dice\n1,0.3\n2,%.4f\n", means[c] + 0.01 * (seed - 2));
            test_file_write(path_in(dir, "%s", run), line);
        }
    }
    test_file_write(path_in(dir, "transfer/table.csv"), table);
    test_file_write(path_in(dir, "transferability/scores.csv"),
                    "source,logme,leep\nA,-0.3,\nB,-0.2,\nC,-0.5,\n");
    test_file_write(path_in(dir, "cka/t-vs-A.csv"), "layer,cka,source,target,pixels,shared_init\n"
                                                    "1,0.9,A,t,100,no\n2,0.7,A,t,100,no\n");
    /* the whole plan swapped in zero-shot (plan --validate), per source */
    static const double swap_delta[3] = {-0.04, -0.01, -0.20};
    for (int k = 0; k < 3; k++) {
        char name[64], json[512];
        snprintf(name, sizeof name, "plans/%c.json", 'A' + k);
        snprintf(json, sizeof json, "{\"tensors\": [\"x\"], \"validation\": {\"target\": \"t\", "
                 "\"source\": \"%c\", \"whole\": {\"delta\": %g}}}", 'A' + k, swap_delta[k]);
        test_file_write(path_in(dir, "%s", name), json);
    }
    Study s;
    assert_int_equal(study_load(dir, &s), 0);
    char html[1024], md[1024];
    snprintf(html, sizeof html, "%s/r.html", test_dir());
    snprintf(md, sizeof md, "%s/r.md", test_dir());
    assert_int_equal(report_write_html(&s, html), 0);
    assert_int_equal(report_write_md(&s, md), 0);
    study_free(&s);
    char *text = (char *)read_file_bytes(md, NULL);
    const char *row = strstr(text, "| LogME | 6 | ");
    assert_non_null(row);
    const double tau = strtod(row + strlen("| LogME | 6 | "), NULL);
    const char *interval = strchr(row + 14, '[');
    assert_non_null(interval);
    const double lo = strtod(interval + 1, NULL);
    assert_true(lo <= tau);
    assert_non_null(strstr(text, "| mean CKA | 2 | "));
    assert_non_null(strstr(text, "no shared initialisation"));
    assert_non_null(strstr(text, "| LEEP | 0 | — |"));
    const char *swap_row = strstr(text, "| plan swap (zero-shot) | 6 | ");
    assert_non_null(swap_row);
    const double tau_swap = strtod(swap_row + strlen("| plan swap (zero-shot) | 6 | "), NULL);
    free(text);
    text = (char *)read_file_bytes(html, NULL);
    assert_non_null(strstr(text, "<circle"));
    assert_non_null(strstr(text, "The verdict on question 3"));
    free(text);
    if (!test_python_has("numpy, scipy.stats")) skip();
    /* the same gains and LogME values, tau-b by SciPy: points A fr, A ft, B fr, B ft, C fr, C ft */
    double xy[12] = {-0.3, -0.3, -0.2, -0.2, -0.5, -0.5};
    for (int i = 0; i < 6; i++) xy[6 + i] = means[1 + i] - means[0];
    char path[1024];
    snprintf(path, sizeof path, "%s/verdict.npy", test_dir());
    assert_int_equal(npy_write(path, NPY_DTYPE_F64, 2, (int[]){2, 6}, xy), 0);
    assert_close(tau, reference("kendall", "verdict.npy", NULL), 1e-3);
    for (int i = 0; i < 6; i++) xy[i] = swap_delta[i / 2];
    assert_int_equal(npy_write(path, NPY_DTYPE_F64, 2, (int[]){2, 6}, xy), 0);
    assert_close(tau_swap, reference("kendall", "verdict.npy", NULL), 1e-3);
}

/* The verdict of a study written since runs.csv: each row's runs from that file (no run
 * folders), and "all fine-tune" rows as points of their own, not a source "A all". */
static void test_report_verdict_from_runs_csv(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/study2", test_dir());
    static const char *const configs[4] = {"random init", "A fine-tune", "A all fine-tune",
                                           "B fine-tune"};
    static const double means[4] = {0.50, 0.60, 0.70, 0.55};
    char table[4096] = "n,configuration,runs,mean,mean_sd\n", runs[8192] =
        "n,configuration,seed,subset,run,mean_dice\n";
    for (int c = 0; c < 4; c++) {
        char line[256];
        snprintf(line, sizeof line, "10,%s,3,%.4f,0.01\n", configs[c], means[c]);
        strcat(table, line);
        for (int seed = 1; seed <= 3; seed++) {
            snprintf(line, sizeof line, "10,%s,%d,%d,x,%.4f\n", configs[c], seed, seed,
                     means[c] + 0.01 * (seed - 2) * (c + 1));
            strcat(runs, line);
        }
    }
    test_file_write(path_in(dir, "transfer/table.csv"), table);
    test_file_write(path_in(dir, "transfer/runs.csv"), runs);
    test_file_write(path_in(dir, "transferability/scores.csv"),
                    "source,logme,leep\nA,-0.3,\nB,-0.2,\n");
    Study s;
    assert_int_equal(study_load(dir, &s), 0);
    char md[1024];
    snprintf(md, sizeof md, "%s/r2.md", test_dir());
    assert_int_equal(report_write_md(&s, md), 0);
    study_free(&s);
    char *text = (char *)read_file_bytes(md, NULL);
    /* three points (A fine-tune, A all fine-tune, B fine-tune), with an interval: the runs */
    const char *row = strstr(text, "| LogME | 3 | ");
    if (!row) fail_msg("no LogME row over 3 points in:\n%s", text);
    const char *interval = strchr(row + 14, '[');
    assert_non_null(interval);
    assert_true(interval < strchr(row, '\n'));
    free(text);
}

TEST_MAIN("predictors", one_thread_dir_setup, test_dir_teardown,
          test_cka, test_logme_command_vs_numpy, test_leep_vs_numpy, test_kendall,
          test_activation_points, test_commands, test_report_verdict,
          test_report_verdict_from_runs_csv)
