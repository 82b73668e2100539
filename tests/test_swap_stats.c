/* The statistics of the swap scan (docs/method.md, "Statistics"):
 *   - the paired bootstrap reproduces by seed, and NumPy (tests/check_bootstrap.py) gets
 *     the same interval from the same per-patient counts and the same resamples; SciPy
 *     checks that the resamples draw patients uniformly;
 *   - swapping from the target itself gives delta 0 with the interval [0, 0];
 *   - the scan with activation reuse gives the plain scan's numbers for every donor;
 *   - the random control: W and B a fresh draw, BN tensors a permutation of the target's;
 *   - trivial: a source that is the random control is trivial in every row;
 *   - BN recalibration equals a direct computation (one train-mode batch of all slices),
 *     whether batches are kept or recomputed, and resuming it at a later layer changes
 *     nothing when the layers before are already recalibrated;
 *   - the recalibrated rows with activation reuse (training and validation passes resumed
 *     at the swapped layer) equal the plain scan's bit for bit, every batch kept or only
 *     some; a conv bias in front of a BN, swapped and recalibrated, leaves the logits of
 *     the recalibrated target (why the scan gives such rows no pass). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/npy.h"
#include "models/forward_graph.h"
#include "reuse/bootstrap.h"
#include "reuse/recalibrate.h"
#include "reuse/swap.h"
#include "reuse/swap_controls.h"
#include "tests/testutil.h"

/* Random per-patient counts for a tally: TP <= |P_c|, TP <= |G_c|. */
static void random_tally(DiceTally *t, int patients, Rng *r)
{
    dice_tally_init(t, 4, patients);
    for (int p = 0; p < patients; p++)
        for (int c = 0; c < 4; c++) {
            DiceCounts *d = &t->per_patient[p];
            d->truth[c] = 50 + rng_below(r, 400);
            d->pred[c] = 50 + rng_below(r, 400);
            int64_t most = d->truth[c] < d->pred[c] ? d->truth[c] : d->pred[c];
            d->inter[c] = rng_below(r, (uint32_t)most + 1);
        }
}

static void test_bootstrap_matches_numpy(void **state)
{
    (void)state;
    const int patients = 13, resamples = 2000;
    Rng r;
    rng_seed(&r, 5, 1);
    DiceTally base, mod;
    random_tally(&base, patients, &r);
    random_tally(&mod, patients, &r);
    const unsigned evaluated = 0xf;
    Bootstrap b, again, other;
    bootstrap_init(&b, &base, resamples, 7, evaluated);
    bootstrap_init(&again, &base, resamples, 7, evaluated);
    bootstrap_init(&other, &base, resamples, 8, evaluated);
    double lo, hi, lo2, hi2, lo3, hi3;
    bootstrap_interval(&b, &base, &mod, &lo, &hi);
    bootstrap_interval(&again, &base, &mod, &lo2, &hi2);
    bootstrap_interval(&other, &base, &mod, &lo3, &hi3);
    assert_true(lo == lo2 && hi == hi2);                 /* the same seed, the same interval */
    assert_true(lo != lo3 || hi != hi3);                 /* another seed, other resamples */
    assert_true(lo < hi);
    bootstrap_interval(&b, &base, &base, &lo2, &hi2);
    assert_true(lo2 == 0 && hi2 == 0);                   /* a model against itself */

    /* the same counts and resamples through NumPy */
    if (!test_python_has("numpy, scipy.stats")) {
        bootstrap_free(&b);
        bootstrap_free(&again);
        bootstrap_free(&other);
        dice_tally_free(&base);
        dice_tally_free(&mod);
        skip();
    }
    char *dir = make_temp_dir("bootstrap");
    char path[4200], cmd[8800], out[4096];
    int64_t *counts = xmalloc(sizeof *counts * 2 * patients * 3 * 4);
    for (int m = 0; m < 2; m++)
        for (int p = 0; p < patients; p++)
            for (int c = 0; c < 4; c++) {
                const DiceCounts *d = &(m ? &mod : &base)->per_patient[p];
                int64_t *at = counts + (((size_t)m * patients + p) * 3) * 4 + c;
                at[0] = d->inter[c];
                at[4] = d->pred[c];
                at[8] = d->truth[c];
            }
    snprintf(path, sizeof path, "%s/counts.npy", dir);
    assert_int_equal(npy_write_i64(path, 4, (int[]){2, patients, 3, 4}, counts), 0);
    int64_t *draw = xmalloc(sizeof *draw * resamples * patients);
    for (int i = 0; i < resamples * patients; i++) draw[i] = b.ids[b.draw[i]];
    snprintf(path, sizeof path, "%s/draw.npy", dir);
    assert_int_equal(npy_write_i64(path, 2, (int[]){resamples, patients}, draw), 0);
    snprintf(cmd, sizeof cmd, "%s tests/check_bootstrap.py %s %u", test_python(), dir,
             evaluated);
    if (run_command(cmd, out, sizeof out) != 0) {
        print_message("%s\n", out);
        fail_msg("tests/check_bootstrap.py failed");
    }
    double np_lo, np_hi, p_uniform;
    assert_int_equal(sscanf(out, "%lf %lf %lf", &np_lo, &np_hi, &p_uniform), 3);
    print_message("interval C [%.6f, %.6f], NumPy [%.6f, %.6f]; uniform draws p = %.3g\n", lo,
                  hi, np_lo, np_hi, p_uniform);
    assert_true(fabs(lo - np_lo) < 1e-12 && fabs(hi - np_hi) < 1e-12);
    assert_true(p_uniform > 1e-3);
    free(counts);
    free(draw);
    assert_int_equal(remove_tree(dir), 0);
    free(dir);
    bootstrap_free(&b);
    bootstrap_free(&again);
    bootstrap_free(&other);
    dice_tally_free(&base);
    dice_tally_free(&mod);
}

/* The toy UNet after 120 training steps: a target whose predictions mean something. */
static void trained_target(Model *t)
{
    SliceSet train;
    toy_set(&train, 4, 8, 31);
    toy_model(t, ARCH_UNET, 4, 1);
    toy_train(t, &train, 120);
    sliceset_free(&train);
}

/* Rows of two scans agree in every statistic, number for number. */
static void assert_rows_equal(const SwapScan *a, const SwapScan *b)
{
    assert_int_equal(a->n_rows, b->n_rows);
    for (int i = 0; i < a->n_rows; i++) {
        const SwapRow *x = &a->rows[i], *y = &b->rows[i];
        assert_true(x->mean == y->mean && x->delta_lo == y->delta_lo && x->delta_hi == y->delta_hi);
        for (int d = 0; d < DONOR_COUNT; d++)
            assert_true(memcmp(&x->delta_donor[d], &y->delta_donor[d], sizeof(double)) == 0);
        assert_int_equal(x->trivial, y->trivial);
    }
}

static void test_controls_reuse_equals_plain(void **state)
{
    (void)state;
    Model t, s, init, random;
    trained_target(&t);
    toy_model(&s, ARCH_UNET, 4, 2);
    toy_perturb_bn(&s, 4);
    toy_model(&init, ARCH_UNET, 4, 1);
    swap_control_random(&t, 99, &random);
    SliceSet set;
    toy_set(&set, 3, 2, 21);
    SwapDonors donors = {.model = {&s, &init, &random, NULL}};
    SwapOptions o;
    swap_options_defaults(&o);
    o.batch = 4;
    o.resamples = 200;
    SwapScan reuse, plain;
    assert_int_equal(swap_scan_donors(&t, &donors, &set, &o, &reuse), 0);
    o.reuse = false;
    assert_int_equal(swap_scan_donors(&t, &donors, &set, &o, &plain), 0);
    assert_rows_equal(&reuse, &plain);
    int changed = 0;
    for (int i = 1; i < reuse.n_rows; i++) {
        assert_true(!isnan(reuse.rows[i].delta_donor[DONOR_INIT]));
        assert_true(isnan(reuse.rows[i].delta_donor[DONOR_CONTROL]));
        assert_true(reuse.rows[i].trivial == 0 || reuse.rows[i].trivial == 1);
        assert_true(reuse.rows[i].delta_lo <= reuse.rows[i].delta + 1e-12);
        assert_true(reuse.rows[i].delta_hi >= reuse.rows[i].delta - 1e-12);
        changed += reuse.rows[i].delta_donor[DONOR_RANDOM] != 0;
    }
    assert_true(changed > reuse.n_rows / 4);
    swap_scan_free(&reuse);
    swap_scan_free(&plain);
    sliceset_free(&set);
    model_free(&t);
    model_free(&s);
    model_free(&init);
    model_free(&random);
}

static int by_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void test_random_control(void **state)
{
    (void)state;
    Model t, init, random, again;
    toy_model(&t, ARCH_UNET, 4, 1);
    toy_perturb_bn(&t, 3);
    toy_model(&init, ARCH_UNET, 4, 1);
    swap_control_random(&t, 99, &random);
    swap_control_random(&t, 99, &again);
    assert_memory_equal(random.params.values, again.params.values, sizeof(float) * random.params.n_values);
    for (int r = 0; r < t.n_layers; r++) {
        const Layer *l = &t.layers[r];
        Param *w = model_param(&random, l, ROLE_W), *w0 = model_param(&init, l, ROLE_W);
        assert_true(memcmp(w->t.data, w0->t.data, sizeof(float) * w->t.size) != 0);
        if (!l->bn[0]) continue;
        for (int role = ROLE_RM; role <= ROLE_RB; role++) {
            const size_t n = (size_t)l->out_ch;
            float *a = xmalloc(sizeof *a * n), *b = xmalloc(sizeof *b * n);
            memcpy(a, model_param(&t, l, role)->t.data, sizeof *a * n);
            memcpy(b, model_param(&random, l, role)->t.data, sizeof *b * n);
            assert_true(memcmp(a, b, sizeof *a * n) != 0);        /* another order */
            qsort(a, n, sizeof *a, by_float);
            qsort(b, n, sizeof *b, by_float);
            assert_memory_equal(a, b, sizeof *a * n);              /* the same values */
            free(a);
            free(b);
        }
    }
    model_free(&t);
    model_free(&init);
    model_free(&random);
    model_free(&again);
}

/* A source that is the random control does no better than it anywhere: all trivial; the
 * target itself as source: delta 0 in [0, 0], trivial only where random does as well. */
static void test_trivial_flag(void **state)
{
    (void)state;
    Model t, random, self;
    trained_target(&t);
    swap_control_random(&t, 5, &random);
    toy_model(&self, ARCH_UNET, 4, 1);
    params_copy(&self.params, &t.params);
    SliceSet set;
    toy_set(&set, 3, 2, 4);
    SwapOptions o;
    swap_options_defaults(&o);
    o.resamples = 300;
    SwapScan a, b;
    SwapDonors as_random = {.model = {&random, NULL, &random, NULL}};
    assert_int_equal(swap_scan_donors(&t, &as_random, &set, &o, &a), 0);
    for (int i = 1; i < a.n_rows; i++) assert_int_equal(a.rows[i].trivial, 1);
    SwapDonors as_self = {.model = {&self, NULL, &random, NULL}};
    assert_int_equal(swap_scan_donors(&t, &as_self, &set, &o, &b), 0);
    int trivial = 0;
    for (int i = 0; i < b.n_rows; i++) {
        const SwapRow *r = &b.rows[i];
        assert_true(r->delta == 0 && r->delta_lo == 0 && r->delta_hi == 0);
        if (!i) continue;
        trivial += r->trivial;
        if (r->delta_donor[DONOR_RANDOM] < -0.05) assert_int_equal(r->trivial, 0);
    }
    print_message("self as source: %d of %d rows trivial\n", trivial, b.n_rows - 1);
    assert_true(trivial < b.n_rows - 1);
    swap_scan_free(&a);
    swap_scan_free(&b);
    sliceset_free(&set);
    model_free(&t);
    model_free(&random);
    model_free(&self);
}

/* Direct computation: running stats reset to mean 0, variance 1, one train-mode forward
 * of all slices as one batch; the engine's BN (momentum 0.1, checked against PyTorch)
 * then holds 0.1 * mean and 0.9 + 0.1 * unbiased variance. */
static void direct_stats(Model *m, const SliceSet *set)
{
    for (int r = 0; r < m->n_layers; r++) {
        const Layer *l = &m->layers[r];
        if (!l->bn[0]) continue;
        for (int j = 0; j < l->out_ch; j++) {
            model_param(m, l, ROLE_RM)->t.data[j] = 0;
            model_param(m, l, ROLE_RV)->t.data[j] = 1;
        }
    }
    Tape t;
    tape_init(&t, 0);
    t.recording = false;
    t.training = true;
    Tensor *x = tape_tensor4(&t, set->count, 1, TOY_SIZE, TOY_SIZE);
    eval_fill_input(x, set, 0, set->count);
    model_forward(m, &t, x);
    tape_free(&t);
    for (int r = 0; r < m->n_layers; r++) {
        const Layer *l = &m->layers[r];
        if (!l->bn[0]) continue;
        for (int j = 0; j < l->out_ch; j++) {
            model_param(m, l, ROLE_RM)->t.data[j] /= 0.1f;
            float *v = &model_param(m, l, ROLE_RV)->t.data[j];
            *v = (*v - 0.9f) / 0.1f;
        }
    }
}

static void test_recalibration_is_direct(void **state)
{
    (void)state;
    Model kept, recomputed, direct;
    toy_model(&kept, ARCH_UNET, 4, 1);
    toy_perturb_bn(&kept, 3);
    toy_model(&recomputed, ARCH_UNET, 4, 1);
    toy_model(&direct, ARCH_UNET, 4, 1);
    params_copy(&recomputed.params, &kept.params);
    params_copy(&direct.params, &kept.params);
    SliceSet set;
    toy_set(&set, 2, 4, 8);                   /* 8 slices in passes of 3: 3, 3, 2 */
    bn_recalibrate(&kept, &set, 3, 0, (size_t)1 << 30);
    bn_recalibrate(&recomputed, &set, 3, 0, 0);
    assert_memory_equal(kept.params.buffers, recomputed.params.buffers,
                        sizeof(float) * kept.params.n_buffers);
    direct_stats(&direct, &set);
    double worst = 0;
    for (size_t i = 0; i < kept.params.n_buffers; i++) {
        double a = kept.params.buffers[i], b = direct.params.buffers[i];
        double err = fabs(a - b) / (fabs(b) + 1e-2);
        if (err > worst) worst = err;
    }
    print_message("recalibrated vs direct: worst relative difference %.2e\n", worst);
    assert_true(worst < 2e-4);
    /* resuming at a later layer, the layers before already recalibrated: nothing changes */
    params_copy(&recomputed.params, &kept.params);
    bn_recalibrate(&recomputed, &set, 3, forward_graph_layer_step(kept.graph, 10), 0);
    worst = 0;
    for (size_t i = 0; i < kept.params.n_buffers; i++) {
        double a = kept.params.buffers[i], b = recomputed.params.buffers[i];
        worst = fmax(worst, fabs(a - b) / (fabs(b) + 1e-2));
    }
    print_message("resumed at layer 10: worst relative difference %.2e\n", worst);
    assert_true(worst < 1e-5);      /* rounding of the biased variance re-derived in front */
    sliceset_free(&set);
    model_free(&kept);
    model_free(&recomputed);
    model_free(&direct);
}

/* Logits of m on the first n slices of set (caller frees). */
static float *logits_of(Model *m, const SliceSet *set, int n, size_t *size)
{
    Tape tape;
    tape_init(&tape, 0);
    tape.recording = tape.training = false;
    Tensor *x = tape_tensor4(&tape, n, 1, set->slices[0].height, set->slices[0].width);
    eval_fill_input(x, set, 0, n);
    Tensor *y = model_forward(m, &tape, x);
    float *out = xmalloc(sizeof(float) * y->size);
    memcpy(out, y->data, sizeof(float) * y->size);
    *size = y->size;
    tape_free(&tape);
    return out;
}

static void test_recalibrated_reuse_equals_plain(void **state)
{
    (void)state;
    Model t, s;
    trained_target(&t);
    toy_model(&s, ARCH_UNET, 4, 2);
    toy_perturb_bn(&s, 4);
    SliceSet val, train;
    toy_set(&val, 3, 3, 21);                  /* 9 slices in passes of 4: 4, 4, 1 */
    toy_set(&train, 2, 5, 22);                /* 10 slices: 4, 4, 2 */
    SwapOptions o;
    swap_options_defaults(&o);
    o.batch = 4;
    o.resamples = 0;
    o.recal_set = &train;
    SwapScan plain;
    o.reuse = false;
    assert_int_equal(swap_scan(&t, &s, &val, &o, &plain), 0);
    /* everything kept; then a budget that keeps the first batch of each set only */
    const double budgets[] = {1024, 0.4};
    for (int k = 0; k < 2; k++) {
        SwapScan reuse;
        o.reuse = true;
        o.memory_budget_mb = budgets[k];
        assert_int_equal(swap_scan(&t, &s, &val, &o, &reuse), 0);
        int differ = 0;
        for (int i = 0; i < plain.n_rows; i++) {
            assert_true(memcmp(&reuse.rows[i].mean_recal, &plain.rows[i].mean_recal,
                               sizeof(double)) == 0);
            differ += reuse.rows[i].delta_recal != 0;
        }
        print_message("budget %g MB: %d of %d recalibrated rows change the Dice\n", budgets[k],
                      differ, plain.n_rows - 1);
        assert_true(differ > plain.n_rows / 4);
        swap_scan_free(&reuse);
    }
    /* a conv bias in front of a BN: recalibration cancels it */
    Model b;
    toy_model(&b, ARCH_UNET, 4, 1);
    params_copy(&b.params, &t.params);
    bn_recalibrate(&t, &train, 4, 0, (size_t)1 << 30);
    const Layer *l = model_layer(&b, 3);
    assert_true(l->bn[0] && l->param[ROLE_B] >= 0);
    Param *bias = model_param(&b, l, ROLE_B);
    fill_uniform(bias->t.data, bias->t.size, -0.5f, 0.5f, 77);
    bn_recalibrate(&b, &train, 4, 0, (size_t)1 << 30);
    size_t n1, n2;
    float *y1 = logits_of(&t, &val, 4, &n1), *y2 = logits_of(&b, &val, 4, &n2);
    assert_int_equal(n1, n2);
    double diff = max_rel_diff(y2, y1, n1);
    print_message("conv bias swapped in front of a BN, recalibrated: logits differ by %.2e\n", diff);
    assert_true(diff < 1e-4);
    free(y1);
    free(y2);
    model_free(&b);
    swap_scan_free(&plain);
    sliceset_free(&val);
    sliceset_free(&train);
    model_free(&t);
    model_free(&s);
}

TEST_MAIN("swap stats", one_thread_setup, NULL,
          test_bootstrap_matches_numpy, test_controls_reuse_equals_plain, test_random_control,
          test_trivial_flag, test_recalibration_is_direct, test_recalibrated_reuse_equals_plain)
