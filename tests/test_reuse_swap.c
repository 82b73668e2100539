/* The swap scan (reuse/swap.c) and the resumable forward pass it rests on
 * (models/forward_graph.c, the program model_forward runs; reuse/resume_points.c):
 *   - resuming at any layer, after swapping a tensor there, gives bitwise the logits of a
 *     full forward pass of the swapped model;
 *   - an inference pass that frees each value after its last reader gives bitwise the
 *     logits of one that keeps them all, in less memory;
 *   - a scan with activation reuse gives exactly the numbers of the naive scan, also when
 *     the memory budget allows only some resume points;
 *   - swapping from S = T reproduces the baseline in every row, and the baseline equals
 *     evaluate_model();
 *   - swapping a randomly initialised source's conv weights into a trained model lowers
 *     the Dice.
 * Small models (UNet F = 4, 32 x 32 slices) so that everything runs in seconds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/synth.h"
#include "engine/engine.h"
#include "engine/loss.h"
#include "engine/optimizer.h"
#include "models/checkpoint.h"
#include "models/forward_graph.h"
#include "reuse/resume_points.h"
#include "util/csv.h"
#include "reuse/swap.h"
#include "tests/testutil.h"
#include "train/evaluate.h"

#define SIZE TOY_SIZE

/* Under valgrind (make valgrind) everything runs ~300 times slower: the tests then skip
 * PSPNet and training and check fewer rows; the code paths stay the same. */
static bool under_valgrind(void)
{
    const char *preload = getenv("LD_PRELOAD");
    return preload && strstr(preload, "vgpreload");
}

/* The toy UNet (F = 4) after 150 training steps, trained once and shared by the tests that
 * need a model whose predictions mean something. */
static Model trained;
static bool trained_ready;

static Model *trained_unet(void)
{
    if (!trained_ready) {
        SliceSet train;
        toy_set(&train, 4, 8, 31);
        toy_model(&trained, ARCH_UNET, 4, 1);
        toy_train(&trained, &train, 150);
        sliceset_free(&train);
        trained_ready = true;
    }
    return &trained;
}

/* A copy of the trained toy UNet. */
static void copy_trained(Model *m)
{
    Model *src = trained_unet();
    assert_int_equal(model_create(m, &src->cfg), 0);
    params_copy(&m->params, &src->params);
}

/* x (n, 1, SIZE, SIZE) from the first n slices, in t's arena. */
static Tensor *input_batch(Tape *t, const SliceSet *set, int n)
{
    Tensor *x = tape_tensor4(t, n, 1, SIZE, SIZE);
    for (int i = 0; i < n; i++)
        memcpy(x->data + (size_t)i * SIZE * SIZE, set->slices[i].image, sizeof(float) * SIZE * SIZE);
    return x;
}

/* For every layer and kind: swap the tensor from another model, resume at the layer with
 * the unswapped model's live-in values, compare with a full pass of the swapped model. */
static void check_resume_is_exact(ModelArch arch, int n, bool every_kind)
{
    Model t, s;
    toy_model(&t, arch, 4, 1);
    toy_model(&s, arch, 4, 2);
    toy_perturb_bn(&t, 3);
    toy_perturb_bn(&s, 4);
    SliceSet set;
    toy_set(&set, 1, n, 9);
    const ForwardGraph *g = t.graph;
    Tape base, full, part;
    tape_init(&base, 0);
    tape_init(&full, 0);
    tape_init(&part, 0);
    base.recording = full.recording = part.recording = false;
    base.training = full.training = part.training = false;
    Tensor **bv = xcalloc((size_t)g->n_steps + 1, sizeof *bv);
    Tensor **fv = xcalloc((size_t)g->n_steps + 1, sizeof *fv);
    Tensor **pv = xcalloc((size_t)g->n_steps + 1, sizeof *pv);
    bv[0] = input_batch(&base, &set, n);
    forward_graph_run(g, &t, &base, bv, 0, false);
    int checked = 0;
    for (int k = 0; k <= t.n_numbered; k++) {
        const Layer *l = model_layer(&t, k);
        const int from = forward_graph_layer_step(g, k);
        int present = 0, index = -1;
        for (int role = 0; role < ROLE_COUNT; role++) present += l->param[role] >= 0;
        for (int role = 0; role < ROLE_COUNT; role++) {
            if (l->param[role] < 0) continue;
            index++;
            /* resuming depends on the layer, not the kind: for the big PSPNet one kind
             * per layer will do, rotating through the kinds from layer to layer */
            if (!every_kind && index != k % present) continue;
            Param *pt = params_get(&t.params, l->param[role]);
            Param *ps = params_get(&s.params, model_layer(&s, k)->param[role]);
            float *saved = xmalloc(sizeof(float) * pt->t.size);
            memcpy(saved, pt->t.data, sizeof(float) * pt->t.size);
            memcpy(pt->t.data, ps->t.data, sizeof(float) * pt->t.size);
            tape_reset(&full);
            tape_reset(&part);
            memset(fv, 0, sizeof *fv * (size_t)(g->n_steps + 1));
            memset(pv, 0, sizeof *pv * (size_t)(g->n_steps + 1));
            fv[0] = bv[0];
            Tensor *yf = forward_graph_run(g, &t, &full, fv, 0, false);
            for (int v = 0; v <= from; v++)
                if (forward_graph_live_in(g, from, v)) pv[v] = bv[v];
            Tensor *yp = forward_graph_run(g, &t, &part, pv, from, false);
            assert_memory_equal(yf->data, yp->data, sizeof(float) * yf->size);
            /* and the swap changed something (else the test proves nothing) */
            assert_true(memcmp(yf->data, bv[g->n_steps]->data, sizeof(float) * yf->size) != 0);
            memcpy(pt->t.data, saved, sizeof(float) * pt->t.size);
            free(saved);
            checked++;
        }
    }
    assert_true(checked > (every_kind ? 4 * t.n_numbered : t.n_numbered));
    free(bv);
    free(fv);
    free(pv);
    tape_free(&base);
    tape_free(&full);
    tape_free(&part);
    sliceset_free(&set);
    model_free(&t);
    model_free(&s);
}

/* Inference frees as it goes: forward_graph_run with free_dead, as model_forward runs it
 * on a tape that does not record (conv outputs given back after their BN too), gives
 * bitwise the logits of a pass that keeps every value, in less memory, having freed most
 * values. */
static void check_inference_frees_dead_values(ModelArch arch)
{
    Model m;
    toy_model(&m, arch, 4, 1);
    toy_perturb_bn(&m, 3);
    SliceSet set;
    toy_set(&set, 1, 2, 9);
    const ForwardGraph *g = m.graph;
    Tape keep, freeing;
    tape_init(&keep, 0);
    tape_init(&freeing, 0);
    keep.recording = freeing.recording = false;
    keep.training = freeing.training = false;
    Tensor **kv = xcalloc((size_t)g->n_steps + 1, sizeof *kv);
    kv[0] = input_batch(&keep, &set, 2);
    Tensor *yk = forward_graph_run(g, &m, &keep, kv, 0, false);
    Tensor **fv = xcalloc((size_t)g->n_steps + 1, sizeof *fv);
    fv[0] = input_batch(&freeing, &set, 2);
    Tensor *yf = forward_graph_run(g, &m, &freeing, fv, 0, true);
    assert_memory_equal(yk->data, yf->data, sizeof(float) * yk->size);
    assert_true(freeing.arena.in_use < keep.arena.in_use * 3 / 4);
    int freed = 0;
    for (int v = 1; v < g->n_steps; v++) {
        assert_non_null(kv[v]->data);
        if (fv[v]->data) continue;
        freed++;
        assert_true(g->last_use[v] >= v);          /* freed after a step that read it */
    }
    assert_true(freed > g->n_steps / 2);
    assert_non_null(fv[0]->data);                /* the input is the caller's */
    assert_non_null(yf->data);
    free(kv);
    free(fv);
    tape_free(&keep);
    tape_free(&freeing);
    sliceset_free(&set);
    model_free(&m);
}

static void test_inference_frees_unet(void **state)
{
    (void)state;
    check_inference_frees_dead_values(ARCH_UNET);
}

static void test_inference_frees_pspnet(void **state)
{
    (void)state;
    check_inference_frees_dead_values(ARCH_PSPNET);
}

static void test_resume_exact_unet(void **state)
{
    (void)state;
    check_resume_is_exact(ARCH_UNET, 2, !under_valgrind());
}

static void test_resume_exact_pspnet(void **state)
{
    (void)state;
    if (under_valgrind()) skip();
    check_resume_is_exact(ARCH_PSPNET, 1, false);
}

/* Two scans' rows are identical, number for number. */
static void assert_scans_equal(const SwapScan *a, const SwapScan *b)
{
    assert_int_equal(a->n_rows, b->n_rows);
    for (int i = 0; i < a->n_rows; i++) {
        const SwapRow *x = &a->rows[i], *y = &b->rows[i];
        assert_string_equal(x->tensor, y->tensor);
        assert_memory_equal(x->dice, y->dice, sizeof x->dice);
        assert_true(x->mean == y->mean);
        assert_true(x->patient_mean == y->patient_mean && x->patient_sd == y->patient_sd);
    }
}

static void test_scan_reuse_equals_naive(void **state)
{
    (void)state;
    Model t, s;
    const bool light = under_valgrind();
    if (light) {                  /* no training: an untrained target with random BN */
        toy_model(&t, ARCH_UNET, 4, 1);
        toy_perturb_bn(&t, 3);
    } else {
        copy_trained(&t);
    }
    toy_model(&s, ARCH_UNET, 4, 2);
    toy_perturb_bn(&s, 4);
    SliceSet set;
    if (light) toy_set(&set, 1, 5, 21);   /* 5 slices: batches of 4 and 1 */
    else toy_set(&set, 3, 3, 21);         /* 9 slices: batches of 4, 4 and 1 */
    SwapOptions o;
    swap_options_defaults(&o);
    o.batch = 4;
    SwapScan naive, reuse, partial;
    o.reuse = false;
    assert_int_equal(swap_scan(&t, &s, &set, &o, &naive), 0);
    o.reuse = true;
    assert_int_equal(swap_scan(&t, &s, &set, &o, &reuse), 0);
    /* every layer resumes at itself with the default budget, and does less work */
    assert_int_equal(reuse.stats.resume_points, t.n_layers);
    assert_true(reuse.stats.gmacs < 0.8 * reuse.stats.gmacs_naive);
    assert_true(naive.stats.gmacs == naive.stats.gmacs_naive);
    /* a third of the budget everything needs: only some resume points fit */
    o.memory_budget_mb = reuse.stats.cache_mb / 3;
    assert_int_equal(swap_scan(&t, &s, &set, &o, &partial), 0);
    print_message("budget %.3f MB: %d of %d resume points, %.3f MB kept, %.3g GMAC (all: "
                  "%.3f MB, %.3g GMAC; naive %.3g GMAC)\n", o.memory_budget_mb,
                  partial.stats.resume_points, t.n_layers, partial.stats.cache_mb,
                  partial.stats.gmacs, reuse.stats.cache_mb, reuse.stats.gmacs,
                  reuse.stats.gmacs_naive);
    assert_true(partial.stats.resume_points > 1 && partial.stats.resume_points < t.n_layers);
    assert_true(partial.stats.cache_mb <= o.memory_budget_mb);
    assert_true(partial.stats.gmacs > reuse.stats.gmacs);
    assert_true(partial.stats.gmacs < partial.stats.gmacs_naive);
    assert_scans_equal(&naive, &reuse);
    assert_scans_equal(&naive, &partial);
    /* the rows really differ from the baseline somewhere (random source) */
    int changed = 0;
    for (int i = 1; i < reuse.n_rows; i++) changed += reuse.rows[i].mean != reuse.rows[0].mean;
    print_message("%d of %d rows changed\n", changed, reuse.n_rows);
    if (!light) assert_true(changed > reuse.n_rows / 2);   /* an untrained target's argmax hardly moves */
    swap_scan_free(&naive);
    swap_scan_free(&reuse);
    swap_scan_free(&partial);
    sliceset_free(&set);
    model_free(&t);
    model_free(&s);
}

static void test_scan_self_is_baseline(void **state)
{
    (void)state;
    Model t, s;
    toy_model(&t, ARCH_UNET, 4, 1);
    toy_perturb_bn(&t, 3);
    toy_model(&s, ARCH_UNET, 4, 99);
    params_copy(&s.params, &t.params);           /* S = T, a separate copy */
    SliceSet set;
    if (under_valgrind()) toy_set(&set, 2, 1, 5);
    else toy_set(&set, 2, 3, 5);
    SwapOptions o;
    swap_options_defaults(&o);
    o.batch = 4;
    SwapScan scan;
    assert_int_equal(swap_scan(&t, &s, &set, &o, &scan), 0);
    /* rows: baseline + 18 layers x 6 kinds + head W, B */
    assert_int_equal(scan.n_rows, 1 + 18 * 6 + 2);
    for (int i = 1; i < scan.n_rows; i++) {
        assert_memory_equal(scan.rows[i].dice, scan.rows[0].dice, sizeof scan.rows[0].dice);
        assert_true(scan.rows[i].delta == 0.0);
    }
    /* the baseline is what evaluate_model reports */
    EvalResult r;
    EvalOptions eo = {.task = TASK_SEG, .labelled = o.labelled, .batch = 4};
    Tape tape;
    tape_init(&tape, 0);
    evaluate_model(&t, &tape, &set, &eo, &r);
    tape_free(&tape);
    for (int c = 0; c < 4; c++) assert_true(r.dice[c] == scan.rows[0].dice[c]);
    assert_true(r.mean_dice == scan.rows[0].mean);
    assert_true(fabs(r.patient_mean_mean - scan.rows[0].patient_mean) < 1e-12);
    /* the target is restored exactly */
    for (size_t j = 0; j < t.params.n_values; j++) assert_true(t.params.values[j] == s.params.values[j]);
    swap_scan_free(&scan);
    sliceset_free(&set);
    model_free(&t);
    model_free(&s);
}

static void test_random_weights_lower_dice(void **state)
{
    (void)state;
    if (under_valgrind()) skip();
    Model t, s;
    copy_trained(&t);
    toy_model(&s, ARCH_UNET, 4, 77);            /* an untrained source */
    SliceSet val;
    toy_set(&val, 2, 6, 32);
    SwapOptions o;
    swap_options_defaults(&o);
    SwapScan scan;
    assert_int_equal(swap_scan(&t, &s, &val, &o, &scan), 0);
    print_message("trained toy UNet: baseline mean Dice %.3f\n", scan.rows[0].mean);
    assert_true(scan.rows[0].mean > 0.6);        /* the training worked */
    /* Every W swap may not hurt (in a small UNet the deep layers matter little next to
     * the skip connections), but none helps, most hurt, and on average a lot. */
    double drop = 0;
    int w_rows = 0, lowered = 0;
    for (int i = 1; i < scan.n_rows; i++) {
        if (scan.rows[i].role != ROLE_W) continue;
        assert_true(scan.rows[i].delta < 0.005);
        lowered += scan.rows[i].delta < 0;
        drop -= scan.rows[i].delta;
        w_rows++;
    }
    print_message("random W lowers the Dice in %d of %d layers, by %.3f on average\n",
                  lowered, w_rows, drop / w_rows);
    assert_int_equal(w_rows, 19);
    assert_true(lowered > w_rows / 2);
    assert_true(drop / w_rows > 0.1);
    /* the first layer, the last layer and the head are essential */
    for (int i = 1; i < scan.n_rows; i++)
        if (scan.rows[i].role == ROLE_W &&
            (scan.rows[i].layer == 1 || scan.rows[i].layer == 18 || scan.rows[i].layer == 0))
            assert_true(scan.rows[i].delta < -0.1);
    swap_scan_free(&scan);
    sliceset_free(&val);
    model_free(&t);
    model_free(&s);
}

static void test_scan_rejects_bad_input(void **state)
{
    (void)state;
    Model t;
    toy_model(&t, ARCH_UNET, 4, 1);
    SliceSet empty = {0};
    SwapOptions o;
    swap_options_defaults(&o);
    SwapScan scan;
    assert_int_equal(swap_scan(&t, &t, &empty, &o, &scan), -1);
    assert_non_null(strstr(error_get(), "no validation slices"));
    t.cfg.task = TASK_AUTO;
    SliceSet set;
    toy_set(&set, 1, 1, 3);
    assert_int_equal(swap_scan(&t, &t, &set, &o, &scan), -1);
    assert_non_null(strstr(error_get(), "segmentation"));
    sliceset_free(&set);
    model_free(&t);
}

/* The command on a tiny synthetic dataset: CSV columns and rows, S = T gives zero deltas
 * in the file too, --no-reuse writes the same file, and a log gets plain progress lines. */
static void test_swap_command(void **state)
{
    (void)state;
    char *dir = make_temp_dir("swap-cli");
    assert_non_null(dir);
    char data[4200], t[4200], a[4200], out[4200], cmd[32768], log[8192];
    snprintf(data, sizeof data, "%s/acdc", dir);
    SynthOptions so;
    assert_int_equal(synth_defaults(&so, "acdc"), 0);
    so.patients = 4;
    so.size = 64;
    so.seed = 2;
    so.slices = 3;                   /* 2 validation patients x 2 frames x 3 slices */
    assert_int_equal(synth_write(data, &so), 0);
    Model m;
    toy_model(&m, ARCH_UNET, 4, 1);
    toy_perturb_bn(&m, 2);
    snprintf(t, sizeof t, "%s/t.safetensors", dir);
    assert_int_equal(checkpoint_save(&m, t, NULL, 0), 0);
    model_free(&m);
    toy_model(&m, ARCH_UNET, 4, 3);
    m.cfg.task = TASK_AUTO;
    snprintf(a, sizeof a, "%s/a.safetensors", dir);
    assert_int_equal(checkpoint_save(&m, a, NULL, 0), 0);
    model_free(&m);

    /* S = T: every delta is 0 in the file */
    snprintf(out, sizeof out, "%s/self.csv", dir);
    snprintf(cmd, sizeof cmd, "%s swap --target %s --source %s --data %s --size 32 --threads 1 "
             "-o %s", reusenet_program(), t, t, data, out);
    assert_int_equal(run_command(cmd, log, sizeof log), 0);
    assert_non_null(strstr(log, "swap: batch 1/"));            /* plain progress lines */
    assert_non_null(strstr(log, "rows done in"));
    assert_non_null(strstr(log, "activation reuse: 19 of 19 layers"));
    CsvTable csv;
    assert_int_equal(csv_read(out, &csv), 0);
    const char *cols[] = {"layer", "kind", "tensor", "dice_0", "dice_1", "dice_2", "dice_3",
                          "mean", "delta", "patient_mean", "patient_sd", "delta_lo", "delta_hi",
                          "delta_init", "delta_random", "delta_control", "trivial", "mean_recal",
                          "delta_recal"};
    assert_int_equal(csv.n_cols, 19);
    for (int c = 0; c < 19; c++) assert_int_equal(csv_column(&csv, cols[c]), c);
    assert_int_equal(csv.n_rows, 111);
    assert_string_equal(csv.rows[0][0], "baseline");
    assert_string_equal(csv.rows[1][2], "enc1.bn1.running_mean");
    assert_string_equal(csv.rows[110][2], "head.bias");
    for (int r = 0; r < csv.n_rows; r++) {
        assert_true(csv_number(&csv, r, 8) == 0);
        assert_string_equal(csv.rows[r][7], csv.rows[0][7]);
        /* swapping from the target itself: the interval is [0, 0] */
        assert_true(csv_number(&csv, r, 11) == 0 && csv_number(&csv, r, 12) == 0);
    }
    csv_free(&csv);

    /* another source: with and without activation reuse, the same file */
    char out2[4300];
    snprintf(out, sizeof out, "%s/reuse.csv", dir);
    snprintf(out2, sizeof out2, "%s/naive.csv", dir);
    snprintf(cmd, sizeof cmd, "%s swap --target %s --source %s --data %s --size 32 --threads 1 "
             "--batch 5 --quiet -o %s", reusenet_program(), t, a, data, out);
    assert_int_equal(run_command(cmd, log, sizeof log), 0);
    assert_null(strstr(log, "swap: batch"));                   /* --quiet */
    snprintf(cmd, sizeof cmd, "%s swap --target %s --source %s --data %s --size 32 --threads 1 "
             "--batch 5 --quiet --no-reuse -o %s", reusenet_program(), t, a, data, out2);
    assert_int_equal(run_command(cmd, log, sizeof log), 0);
    assert_non_null(strstr(log, "activation reuse off"));
    snprintf(cmd, sizeof cmd, "cmp -s %s %s", out, out2);
    assert_int_equal(system(cmd), 0);

    /* an auto-encoder target, a source of another width: one clear line, exit 1 */
    snprintf(cmd, sizeof cmd, "%s swap --target %s --source %s --data %s --size 32 -o %s/x.csv",
             reusenet_program(), a, t, data, dir);
    assert_int_equal(run_command(cmd, log, sizeof log), 1);
    assert_non_null(strstr(log, "segmentation model"));
    toy_model(&m, ARCH_UNET, 8, 3);
    snprintf(a, sizeof a, "%s/wide.safetensors", dir);
    assert_int_equal(checkpoint_save(&m, a, NULL, 0), 0);
    model_free(&m);
    snprintf(cmd, sizeof cmd, "%s swap --target %s --source %s --data %s --size 32 -o %s/x.csv",
             reusenet_program(), t, a, data, dir);
    assert_int_equal(run_command(cmd, log, sizeof log), 1);
    assert_non_null(strstr(log, "different architectures"));
    snprintf(cmd, sizeof cmd, "%s swap --target %s --source %s --data %s/none -o %s/x.csv",
             reusenet_program(), t, t, dir, dir);
    assert_int_equal(run_command(cmd, log, sizeof log), 1);
    assert_int_equal(remove_tree(dir), 0);
    free(dir);
}

/* The group's teardown: the trained model some tests share. */
static int teardown(void **state)
{
    (void)state;
    if (trained_ready) model_free(&trained);
    return 0;
}

TEST_MAIN("reuse swap", one_thread_setup, teardown,
          test_inference_frees_unet, test_inference_frees_pspnet, test_resume_exact_unet,
          test_resume_exact_pspnet, test_scan_reuse_equals_naive, test_scan_self_is_baseline,
          test_random_weights_lower_dice, test_scan_rejects_bad_input, test_swap_command)
