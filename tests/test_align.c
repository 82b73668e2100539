/* Weight matching (reuse/align.c) and its linear assignment (reuse/assignment.c):
 *   - the assignment equals scipy.optimize.linear_sum_assignment's on random matrices
 *     (column per row and total cost; skipped without SciPy);
 *   - the permutation groups follow the wiring: PSPNet's residual streams tie the stem
 *     with layer1 and each downsample with its stage, the bottleneck reads the stream and
 *     the four pyramid branches in slices; UNet's decoders read [skip, up] slices;
 *   - a model whose channels were permuted at random computes the same logits (within
 *     1e-5) and aligns back to the original exactly (every tensor bitwise), both
 *     architectures;
 *   - aligning another model keeps its function (1e-5) and brings its weights closer;
 *   - rmse --align writes the aligned columns (0 for a permuted copy). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/npy.h"
#include "models/checkpoint.h"
#include "reuse/align.h"
#include "reuse/assignment.h"
#include "util/csv.h"
#include "tests/testutil.h"

static void test_assignment_vs_scipy(void **state)
{
    (void)state;
    if (!test_python_has("numpy, scipy.optimize")) skip();
    static const int sizes[] = {1, 2, 7, 40, 97};
    for (int k = 0; k < 5; k++) {
        const int n = sizes[k];
        double *cost = malloc(sizeof *cost * (size_t)n * n);
        float *u = malloc(sizeof *u * (size_t)n * n);
        fill_uniform(u, (size_t)n * n, -3, 5, 100 + k);
        for (int i = 0; i < n * n; i++) cost[i] = u[i];
        char path[1024], cmd[4096], out[8192];
        snprintf(path, sizeof path, "%s/cost%d.npy", test_dir(), n);
        assert_int_equal(npy_write(path, NPY_DTYPE_F64, 2, (int[]){n, n}, cost), 0);
        snprintf(cmd, sizeof cmd, "%s tests/predictors_ref.py lsa %s", test_python(), path);
        assert_int_equal(run_command(cmd, out, sizeof out), 0);
        int *col = malloc(sizeof *col * (size_t)n);
        double total = assignment_min(n, cost, col);
        char *p = out;
        for (int i = 0; i < n; i++) assert_int_equal(col[i], (int)strtol(p, &p, 10));
        double ref = strtod(p, NULL);
        assert_true(fabs(total - ref) <= 1e-9 * (1 + fabs(ref)));
        /* the maximum is the minimum of the negated scores */
        double best = assignment_max(n, cost, col);
        for (int i = 0; i < n * n; i++) cost[i] = -cost[i];
        assert_true(fabs(best + assignment_min(n, cost, col)) <= 1e-9 * (1 + fabs(best)));
        free(cost);
        free(u);
        free(col);
    }
}

static void make_model(Model *m, ModelArch arch, uint64_t seed)
{
    ModelConfig cfg = {.arch = arch, .in_channels = 1, .classes = 4, .width = 4, .task = TASK_SEG};
    assert_int_equal(model_create(m, &cfg), 0);
    model_init_weights(m, seed);
    /* BN tensors and biases away from their initial constants, so that every tensor of a
     * channel says which channel it is */
    Rng r;
    rng_seed(&r, seed, 9);
    for (int k = 0; k < m->n_layers; k++)
        for (int role = ROLE_RM; role <= ROLE_B; role++) {
            Param *p = model_param(m, &m->layers[k], (ParamRole)role);
            if (!p || role == ROLE_W) continue;
            for (size_t j = 0; j < p->t.size; j++) {
                float v = rng_uniform(&r);
                p->t.data[j] = role == ROLE_RV || role == ROLE_RW ? 0.5f + v : v - 0.5f;
            }
        }
}

static int row_of(Model *m, const char *conv)
{
    for (int r = 0; r < m->n_layers; r++)
        if (!strcmp(m->layers[r].conv, conv)) return r;
    fail_msg("no layer %s", conv);
    return -1;
}

static void test_groups_follow_wiring(void **state)
{
    (void)state;
    Model m;
    AlignGroups g;
    make_model(&m, ARCH_PSPNET, 1);
    align_groups_build(&m, &g);
    assert_int_equal(g.n_groups, 17);
    const int stem = g.out_group[row_of(&m, "conv1")];
    assert_int_equal(g.out_group[row_of(&m, "layer1.0.conv2")], stem);
    assert_int_equal(g.out_group[row_of(&m, "layer1.1.conv2")], stem);
    const int s2 = g.out_group[row_of(&m, "layer2.0.downsample.0")];
    assert_int_equal(g.out_group[row_of(&m, "layer2.0.conv2")], s2);
    assert_int_equal(g.out_group[row_of(&m, "layer2.1.conv2")], s2);
    assert_true(s2 != stem && s2 != g.out_group[row_of(&m, "layer2.0.conv1")]);
    assert_int_equal(g.out_group[row_of(&m, "classifier")], -1);
    const int b = row_of(&m, "bottleneck.conv");
    assert_int_equal(g.n_in[b], 5);
    assert_int_equal(g.in[b][0].group, g.out_group[row_of(&m, "layer4.1.conv2")]);
    assert_int_equal(g.in[b][0].count, 512);
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "ppm.%d.conv", i);
        assert_int_equal(g.in[b][1 + i].group, g.out_group[row_of(&m, name)]);
        assert_int_equal(g.in[b][1 + i].offset, 512 + 128 * i);
    }
    assert_int_equal(g.in[row_of(&m, "conv1")][0].group, -1);       /* the input stays */
    align_groups_free(&g);
    model_free(&m);

    make_model(&m, ARCH_UNET, 1);
    align_groups_build(&m, &g);
    assert_int_equal(g.n_groups, 18);
    const int d4 = row_of(&m, "dec4.conv1");
    assert_int_equal(g.n_in[d4], 2);
    assert_int_equal(g.in[d4][0].group, g.out_group[row_of(&m, "enc4.conv2")]);
    assert_int_equal(g.in[d4][1].group, g.out_group[row_of(&m, "bottom.conv2")]);
    assert_int_equal(g.in[d4][1].offset, 32);
    align_groups_free(&g);
    model_free(&m);
}

/* Logits of m on a fixed random input (eval mode): n x 4 x 32 x 32. */
static float *logits(Model *m)
{
    Tape t;
    tape_init(&t, 0);
    t.recording = false;
    t.training = false;
    Tensor *x = tape_tensor4(&t, 2, 1, 32, 32);
    fill_uniform(x->data, x->size, -1, 1, 77);
    Tensor *y = model_forward(m, &t, x);
    float *out = malloc(sizeof *out * y->size);
    memcpy(out, y->data, sizeof *out * y->size);
    tape_free(&t);
    return out;
}

static void assert_same_function(Model *a, Model *b)
{
    float *ya = logits(a), *yb = logits(b);
    double rel = max_rel_diff(ya, yb, 2 * 4 * 32 * 32);
    if (rel > 1e-5) fail_msg("logits differ by %g (relative)", rel);
    free(ya);
    free(yb);
}

static void copy_model(Model *dst, Model *src)
{
    assert_int_equal(model_create(dst, &src->cfg), 0);
    params_copy(&dst->params, &src->params);
}

static void permuted_aligns_back(ModelArch arch)
{
    Model t, p;
    make_model(&t, arch, 3);
    copy_model(&p, &t);
    AlignGroups g;
    align_groups_build(&t, &g);
    Rng r;
    rng_seed(&r, 5, 1);
    for (int i = 0; i < g.n_groups; i++) {
        int *perm = malloc(sizeof *perm * (size_t)g.size[i]);
        for (int c = 0; c < g.size[i]; c++) perm[c] = c;
        rng_shuffle(&r, perm, g.size[i]);
        align_apply(&p, &g, i, perm);
        free(perm);
    }
    assert_true(memcmp(p.params.values, t.params.values, sizeof(float) * t.params.n_values) != 0);
    assert_same_function(&t, &p);
    AlignResult res;
    align_weights(&t, &p, &g, 0, 100, NULL, &res);
    assert_memory_equal(p.params.values, t.params.values, sizeof(float) * t.params.n_values);
    assert_memory_equal(p.params.buffers, t.params.buffers, sizeof(float) * t.params.n_buffers);
    assert_true(res.distance_after == 0 && res.distance_before > 0);
    align_groups_free(&g);
    model_free(&t);
    model_free(&p);
}

static void test_permuted_copy_aligns_back(void **state)
{
    (void)state;
    permuted_aligns_back(ARCH_UNET);
    permuted_aligns_back(ARCH_PSPNET);
}

static void aligned_keeps_function(ModelArch arch)
{
    Model t, s, a;
    make_model(&t, arch, 11);
    make_model(&s, arch, 12);
    copy_model(&a, &s);
    AlignGroups g;
    align_groups_build(&t, &g);
    AlignResult res;
    align_weights(&t, &a, &g, 0, 100, NULL, &res);
    assert_true(res.moved_groups > 0);
    assert_true(res.distance_after < res.distance_before);
    assert_same_function(&s, &a);
    align_groups_free(&g);
    model_free(&t);
    model_free(&s);
    model_free(&a);
}

static void test_aligned_model_keeps_function(void **state)
{
    (void)state;
    aligned_keeps_function(ARCH_UNET);
    aligned_keeps_function(ARCH_PSPNET);
}

/* The command: align writes a file with S's logits; rmse --align reports 0 for a
 * permuted copy where the raw RMSE is not 0. */
static void test_commands(void **state)
{
    (void)state;
    Model t, p;
    make_model(&t, ARCH_UNET, 21);
    copy_model(&p, &t);
    AlignGroups g;
    align_groups_build(&t, &g);
    int perm[4] = {2, 0, 3, 1};
    assert_int_equal(g.size[1], 4);
    align_apply(&p, &g, 1, perm);
    char tp[1024], pp[1024], ap[1024], csv[1024], cmd[8192], out[16384];
    snprintf(tp, sizeof tp, "%s/t.safetensors", test_dir());
    snprintf(pp, sizeof pp, "%s/p.safetensors", test_dir());
    snprintf(ap, sizeof ap, "%s/a.safetensors", test_dir());
    snprintf(csv, sizeof csv, "%s/rmse.csv", test_dir());
    assert_int_equal(checkpoint_save(&t, tp, NULL, 0), 0);
    assert_int_equal(checkpoint_save(&p, pp, NULL, 0), 0);
    snprintf(cmd, sizeof cmd, "%s align --target %s --source %s -o %s", reusenet_program(), tp, pp, ap);
    if (run_command(cmd, out, sizeof out)) fail_msg("%s", out);
    Model a;
    assert_int_equal(checkpoint_load(&a, ap), 0);
    assert_memory_equal(a.params.values, t.params.values, sizeof(float) * t.params.n_values);
    model_free(&a);
    snprintf(cmd, sizeof cmd, "%s rmse --align -o %s %s %s", reusenet_program(), csv, tp, pp);
    if (run_command(cmd, out, sizeof out)) fail_msg("%s", out);
    CsvTable c;
    assert_int_equal(csv_read(csv, &c), 0);
    const int w = csv_column(&c, "rmse_w"), wa = csv_column(&c, "rmse_w_aligned");
    assert_true(w >= 0 && wa >= 0 && csv_column(&c, "rmse_b_aligned") >= 0);
    double raw = 0;
    for (int r = 0; r < c.n_rows; r++) {
        raw += csv_number(&c, r, w);
        assert_true(csv_number(&c, r, wa) == 0);
    }
    assert_true(raw > 0);
    csv_free(&c);
    /* a missing file: one line naming it, non-zero */
    snprintf(cmd, sizeof cmd, "%s align --target %s/none.safetensors --source %s -o %s",
             reusenet_program(), test_dir(), pp, ap);
    assert_int_equal(run_command(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "none.safetensors"));
    align_groups_free(&g);
    model_free(&t);
    model_free(&p);
}

TEST_MAIN("align", one_thread_dir_setup, test_dir_teardown,
          test_assignment_vs_scipy, test_groups_follow_wiring, test_permuted_copy_aligns_back,
          test_aligned_model_keeps_function, test_commands)
