/* BN statistics (reuse/bnstats.c) and kernel RMSE (reuse/rmse.c):
 *   - T against itself: MRM = MRB = 0, MRV = MRW = 1, RMSE 0 everywhere;
 *   - a BN layer with hand-picked numbers gives the values worked out by hand, with a
 *     w_j = 0 channel skipped and counted;
 *   - RMSE of two checkpoints equals a direct computation from the files' bytes;
 *   - the CSVs have the documented columns, the shared-initialisation column is right,
 *     and the commands refuse models of different configurations with a clear message. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/safetensors.h"
#include "models/checkpoint.h"
#include "reuse/bnstats.h"
#include "util/csv.h"
#include "reuse/reuse_model.h"
#include "reuse/rmse.h"
#include "tests/testutil.h"

static void make_unet(Model *m, int width, uint64_t seed)
{
    ModelConfig cfg = {.arch = ARCH_UNET, .in_channels = 1, .classes = 4, .width = width,
                       .task = TASK_SEG};
    assert_int_equal(model_create(m, &cfg), 0);
    model_init_weights(m, seed);
}

/* Random BN tensors (positive variances and weights), different per seed. */
static void randomise_bn(Model *m, uint64_t seed)
{
    Rng r;
    rng_seed(&r, seed, 5);
    for (int k = 1; k <= m->n_numbered; k++)
        for (int role = ROLE_RM; role <= ROLE_RB; role++) {
            Param *p = model_param(m, model_layer(m, k), (ParamRole)role);
            for (size_t j = 0; j < p->t.size; j++) {
                float u = rng_uniform(&r);
                p->t.data[j] = role == ROLE_RV || role == ROLE_RW ? 0.2f + 2 * u : u - 0.5f;
            }
        }
}

static void test_bnstats_self(void **state)
{
    (void)state;
    Model t;
    make_unet(&t, 4, 1);
    randomise_bn(&t, 2);
    model_param(&t, model_layer(&t, 3), ROLE_RW)->t.data[1] = 0;   /* a dead channel */
    BnStatsRow *rows;
    int n = bnstats_compute(&t, &t, &rows);
    assert_int_equal(n, 18);
    for (int i = 0; i < n; i++) {
        assert_int_equal(rows[i].layer, i + 1);
        assert_true(rows[i].mrm == 0.0 && rows[i].mrb == 0.0);
        assert_true(rows[i].mrv == 1.0 && rows[i].mrw == 1.0);
        assert_int_equal(rows[i].skipped, i == 2 ? 1 : 0);
    }
    assert_string_equal(rows[2].bn, "enc2.bn1");
    free(rows);
    model_free(&t);
}

/* Layer 1 of a UNet with F = 4 has 4 BN channels; the numbers are chosen so that the
 * statistics can be worked out by hand (sqrt(var + eps) = 1, 2, 1, 1 and 2, 2, 1, 0.5). */
static void test_bnstats_by_hand(void **state)
{
    (void)state;
    Model t, s;
    make_unet(&t, 4, 1);
    make_unet(&s, 4, 1);
    const Layer *lt = model_layer(&t, 1), *ls = model_layer(&s, 1);
    const float eps = 1e-5f;
    const float mu[4] = {0, 0, 0, 0}, mu2[4] = {1, 2, 3, 4};
    const float var[4] = {1 - eps, 4 - eps, 1 - eps, 1 - eps}, var2[4] = {4 - eps, 4 - eps, 1 - eps, 0.25f - eps};
    const float w[4] = {1, 2, 0, 1}, w2[4] = {2, 2, 5, 3};
    const float b[4] = {0, 1, 2, 3}, b2[4] = {1, 1, 1, 1};
    memcpy(model_param(&t, lt, ROLE_RM)->t.data, mu, sizeof mu);
    memcpy(model_param(&s, ls, ROLE_RM)->t.data, mu2, sizeof mu2);
    memcpy(model_param(&t, lt, ROLE_RV)->t.data, var, sizeof var);
    memcpy(model_param(&s, ls, ROLE_RV)->t.data, var2, sizeof var2);
    memcpy(model_param(&t, lt, ROLE_RW)->t.data, w, sizeof w);
    memcpy(model_param(&s, ls, ROLE_RW)->t.data, w2, sizeof w2);
    memcpy(model_param(&t, lt, ROLE_RB)->t.data, b, sizeof b);
    memcpy(model_param(&s, ls, ROLE_RB)->t.data, b2, sizeof b2);
    BnStatsRow *rows;
    bnstats_compute(&t, &s, &rows);
    /* MRM = (1*1/1 + 2*2/2 + 0*3/1 + 1*4/1) / 4 = 7/4 */
    assert_true(fabs(rows[0].mrm - 1.75) < 1e-5);
    /* MRV = (1/2 + 2/2 + 1/1 + 1/0.5) / 4 = 4.5/4 */
    assert_true(fabs(rows[0].mrv - 1.125) < 1e-5);
    /* MRW over the channels with w != 0: (2/1 + 2/2 + 3/1) / 3 = 2; one skipped */
    assert_true(fabs(rows[0].mrw - 2.0) < 1e-12);
    assert_int_equal(rows[0].skipped, 1);
    /* MRB = (1 + 0 + 1 + 2) / 4 */
    assert_true(fabs(rows[0].mrb - 1.0) < 1e-12);
    /* the other layers are untouched: fresh BN on both sides */
    assert_true(rows[1].mrm == 0 && rows[1].mrv == 1 && rows[1].mrw == 1 && rows[1].mrb == 0);
    free(rows);
    model_free(&t);
    model_free(&s);
}

static void save(Model *m, const char *dir, const char *name, const char *init, char *path)
{
    snprintf(path, 4096, "%s/%s.safetensors", dir, name);
    MetaPair meta[] = {{"init", init}};
    assert_int_equal(checkpoint_save(m, path, meta, init ? 1 : 0), 0);
}

/* sqrt(mean((a - b)^2)) of one tensor, straight from two files. */
static double direct_rmse(const char *pa, const char *pb, const char *name)
{
    SafeTensors a, b;
    assert_int_equal(safetensors_read(pa, &a), 0);
    assert_int_equal(safetensors_read(pb, &b), 0);
    const SafetensorsEntry *ea = safetensors_find(&a, name), *eb = safetensors_find(&b, name);
    assert_non_null(ea);
    assert_non_null(eb);
    assert_int_equal(ea->count, eb->count);
    double sum = 0;
    for (size_t i = 0; i < ea->count; i++) {
        float x, y;
        memcpy(&x, ea->data + 4 * i, 4);
        memcpy(&y, eb->data + 4 * i, 4);
        sum += ((double)x - y) * ((double)x - y);
    }
    size_t n = ea->count;
    safetensors_free(&a);
    safetensors_free(&b);
    return sqrt(sum / (double)n);
}

static void test_rmse_files(void **state)
{
    (void)state;
    char *dir = make_temp_dir("rmse");
    assert_non_null(dir);
    Model m1, m2;
    make_unet(&m1, 4, 1);
    make_unet(&m2, 4, 2);
    char p1[4096], p2[4096], p3[4096], csv[4096];
    save(&m1, dir, "one", "seed 1", p1);
    save(&m2, dir, "two", "seed 2", p2);
    save(&m1, dir, "again", "seed 1", p3);
    ReuseModel rm[3];
    assert_int_equal(reuse_model_load(&rm[0], p1, NULL), 0);
    assert_int_equal(reuse_model_load(&rm[1], p2, NULL), 0);
    assert_int_equal(reuse_model_load(&rm[2], p3, "copy"), 0);
    assert_string_equal(rm[0].name, "one");
    assert_string_equal(rm[2].name, "copy");
    assert_string_equal(rm[1].init, "seed 2");
    RmseRow *rows;
    int n = rmse_compute(rm, 3, &rows);
    assert_int_equal(n, 3 * 19);                      /* 3 pairs x (18 layers + head) */
    for (int i = 0; i < n; i++) {
        const RmseRow *r = &rows[i];
        const Layer *l = r->layer ? model_layer(&rm[0].model, r->layer) : model_layer(&rm[0].model, 0);
        char name[128];
        if (r->a == 0 && r->b == 2) {                 /* the same weights: exactly 0 */
            assert_true(r->rmse_w == 0.0 && r->rmse_b == 0.0);
            continue;
        }
        snprintf(name, sizeof name, "%s.weight", l->conv);
        double w = direct_rmse(rm[r->a].path, rm[r->b].path, name);
        snprintf(name, sizeof name, "%s.bias", l->conv);
        double b = direct_rmse(rm[r->a].path, rm[r->b].path, name);
        assert_true(w > 0 && fabs(r->rmse_w - w) <= 1e-12 * w);
        assert_true(b > 0 && fabs(r->rmse_b - b) <= 1e-12 * b);
    }
    /* the CSV: columns, a row per pair and layer, shared_init per pair */
    snprintf(csv, sizeof csv, "%s/rmse.csv", dir);
    assert_int_equal(rmse_write_csv(csv, rm, rows, n, false), 0);
    CsvTable t;
    assert_int_equal(csv_read(csv, &t), 0);
    assert_int_equal(t.n_rows, n);
    const char *cols[] = {"pair", "model_a", "model_b", "layer", "conv", "rmse_w", "rmse_b",
                          "init_a", "init_b", "shared_init"};
    for (int c = 0; c < 10; c++) assert_int_equal(csv_column(&t, cols[c]), c);
    assert_string_equal(t.rows[0][0], "one vs two");
    assert_string_equal(t.rows[0][9], "no");
    assert_string_equal(t.rows[19][0], "one vs copy");
    assert_string_equal(t.rows[19][9], "yes");
    assert_string_equal(t.rows[18][3], "head");
    assert_true(fabs(csv_number(&t, 0, 5) - rows[0].rmse_w) <= 1e-5 * rows[0].rmse_w);
    csv_free(&t);
    free(rows);
    for (int i = 0; i < 3; i++) reuse_model_free(&rm[i]);
    model_free(&m1);
    model_free(&m2);
    assert_int_equal(remove_tree(dir), 0);
    free(dir);
}

static void test_rmse_pspnet_has_no_backbone_bias(void **state)
{
    (void)state;
    ModelConfig cfg = {.arch = ARCH_PSPNET, .in_channels = 1, .classes = 4, .task = TASK_SEG};
    ReuseModel rm[2];
    memset(rm, 0, sizeof rm);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(model_create(&rm[i].model, &cfg), 0);
        model_init_weights(&rm[i].model, 1);
        snprintf(rm[i].name, sizeof rm[i].name, "p%d", i);
    }
    RmseRow *rows;
    int n = rmse_compute(rm, 2, &rows);
    assert_int_equal(n, 26);
    for (int i = 0; i < n; i++) {
        assert_true(rows[i].rmse_w == 0.0);
        /* bias only in the pyramid (21-24), bottleneck (25) and classifier */
        bool has_bias = rows[i].layer >= 21 || rows[i].layer == 0;
        assert_true(has_bias ? rows[i].rmse_b == 0.0 : isnan(rows[i].rmse_b));
    }
    free(rows);
    for (int i = 0; i < 2; i++) model_free(&rm[i].model);
}

static void test_commands(void **state)
{
    (void)state;
    char *dir = make_temp_dir("stats-cli");
    Model a, b;
    make_unet(&a, 4, 1);
    make_unet(&b, 8, 1);
    randomise_bn(&a, 3);
    char pa[4096], pb[4096], cmd[16384], out[8192];
    save(&a, dir, "a", "seed 1", pa);
    save(&b, dir, "wide", "seed 1", pb);
    /* bnstats of a against itself: the CSV has the header and 18 rows of 0, 1, 1, 0 */
    snprintf(cmd, sizeof cmd, "%s bnstats --target %s --source %s -o %s/bn.csv", reusenet_program(), pa, pa, dir);
    assert_int_equal(run_command(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "enc1.bn1"));
    char path[4200];
    snprintf(path, sizeof path, "%s/bn.csv", dir);
    CsvTable t;
    assert_int_equal(csv_read(path, &t), 0);
    assert_int_equal(t.n_rows, 18);
    const char *cols[] = {"layer", "bn", "channels", "MRM", "MRV", "MRW", "MRB", "skipped"};
    for (int c = 0; c < 8; c++) assert_int_equal(csv_column(&t, cols[c]), c);
    for (int r = 0; r < 18; r++) {
        assert_true(csv_number(&t, r, 3) == 0 && csv_number(&t, r, 4) == 1);
        assert_true(csv_number(&t, r, 5) == 1 && csv_number(&t, r, 6) == 0);
    }
    csv_free(&t);
    /* different configurations: one line naming both files, exit 1 */
    snprintf(cmd, sizeof cmd, "%s bnstats --target %s --source %s -o %s/x.csv", reusenet_program(), pa, pb, dir);
    assert_int_equal(run_command(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "different architectures"));
    assert_non_null(strstr(out, "wide.safetensors"));
    snprintf(cmd, sizeof cmd, "%s rmse %s %s -o %s/x.csv", reusenet_program(), pa, pb, dir);
    assert_int_equal(run_command(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "different architectures"));
    /* a pair without a shared initialisation is warned about, and --names is checked */
    Model c;
    make_unet(&c, 4, 9);
    char pc[4096];
    save(&c, dir, "c", "seed 9", pc);
    snprintf(cmd, sizeof cmd, "%s rmse %s %s --names x,y -o %s/r.csv", reusenet_program(), pa, pc, dir);
    assert_int_equal(run_command(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "warning: x (init 'seed 1') and y (init 'seed 9')"));
    snprintf(cmd, sizeof cmd, "%s rmse %s %s --names x -o %s/r.csv", reusenet_program(), pa, pc, dir);
    assert_int_equal(run_command(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "%s rmse %s -o %s/r.csv", reusenet_program(), pa, dir);
    assert_int_equal(run_command(cmd, out, sizeof out), 2);
    model_free(&a);
    model_free(&b);
    model_free(&c);
    assert_int_equal(remove_tree(dir), 0);
    free(dir);
}

static void test_csv_quoting(void **state)
{
    (void)state;
    char *dir = make_temp_dir("csv");
    char path[4200];
    snprintf(path, sizeof path, "%s/q.csv", dir);
    FILE *f = fopen(path, "w");
    csv_put_text(f, "a", 1);
    csv_put_text(f, "b", 0);
    fputc('\n', f);
    csv_put_text(f, "x, \"y\"", 1);
    csv_put_number(f, NAN, 0);
    fputc('\n', f);
    fclose(f);
    CsvTable t;
    assert_int_equal(csv_read(path, &t), 0);
    assert_int_equal(t.n_rows, 1);
    assert_string_equal(t.rows[0][0], "x, \"y\"");
    assert_string_equal(t.rows[0][1], "");
    assert_true(isnan(csv_number(&t, 0, 1)));
    csv_free(&t);
    f = fopen(path, "w");
    fputs("a,b\n1,2,3\n", f);
    fclose(f);
    assert_int_equal(csv_read(path, &t), -1);
    assert_non_null(strstr(error_get(), "q.csv:2: 3 fields, the header has 2"));
    assert_int_equal(remove_tree(dir), 0);
    free(dir);
}

TEST_MAIN("reuse stats", one_thread_setup, NULL,
          test_bnstats_self, test_bnstats_by_hand, test_rmse_files,
          test_rmse_pspnet_has_no_backbone_bias, test_commands, test_csv_quoting)
