/* engine/dist.h under mpirun (make test-mpi runs this with 3 ranks): the sums equal a
 * rank-order sum each rank computes itself from every rank's inputs (drawn from the rank
 * number); a failure on one rank reaches all with its rank and message; fingerprints that
 * differ are refused; the work counter hands every item to exactly one rank. And the
 * data-parallel ops: batch norm over the global batch (tape.global_batch) and the losses,
 * run on each rank's part of a batch, give the single-process batch's outputs and input
 * gradients on that part, and parameter gradients that sum to the single-process ones. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/add.h"
#include "engine/batchnorm.h"
#include "engine/dist.h"
#include "engine/error.h"
#include "engine/loss.h"
#include "train/evaluate.h"
#include "tests/testutil.h"

/* Rank r's input for the sum tests: a value whose rounding depends on the order. */
static float input_of(int r, size_t i) { return (float)(1.0 + 1e-3 * r) * (float)(i % 7 + 1) / 3.0f; }

static void test_sum_floats_rank_order(void **state)
{
    (void)state;
    const int R = dist_size(), me = dist_rank();
    static const size_t sizes[] = {0, 1, 2, 5, 1000, 100003};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        const size_t n = sizes[s];
        float *x = xmalloc_floats(n + 1);
        for (size_t i = 0; i < n; i++) x[i] = input_of(me, i);
        dist_sum_floats(x, n);
        for (size_t i = 0; i < n; i++) {
            double expect = input_of(0, i);
            for (int r = 1; r < R; r++) expect += input_of(r, i);
            if (x[i] != (float)expect) fail_msg("n %zu element %zu: %.9g, expected %.9g", n, i, x[i], (float)expect);
        }
        free(x);
    }
}

static void test_sum_doubles_rank_order(void **state)
{
    (void)state;
    const int R = dist_size(), me = dist_rank();
    double x[3] = {0.1 * (me + 1), 1e16 * (me == 0 ? 1 : -1), me};
    dist_sum_doubles(x, 3);
    double e0 = 0.1, e1 = 1e16, e2 = 0;
    for (int r = 1; r < R; r++) e0 += 0.1 * (r + 1), e1 += -1e16, e2 += r;
    assert_true(x[0] == e0 && x[1] == e1 && x[2] == e2);
}

static void test_agree_names_the_failing_rank(void **state)
{
    (void)state;
    assert_int_equal(dist_agree(0), 0);
    const int failing = dist_size() - 1;
    int rc = dist_rank() == failing ? error_set("disk full") : 0;
    assert_int_equal(dist_agree(rc), -1);
    char expect[64];
    snprintf(expect, sizeof expect, "rank %d: disk full", failing);
    assert_string_equal(error_get(), expect);
}

static void test_same_refuses_other_fingerprints(void **state)
{
    (void)state;
    assert_int_equal(dist_same(dist_hash(DIST_HASH_INIT, "abc", 3), "configuration"), 0);
    uint64_t h = dist_hash(DIST_HASH_INIT, dist_rank() == 1 ? "abd" : "abc", 3);
    assert_int_equal(dist_same(h, "configuration"), -1);
    assert_string_equal(error_get(), "rank 1: its configuration differs from rank 0's");
}

static void test_counter_hands_out_each_item_once(void **state)
{
    (void)state;
    enum { ITEMS = 50 };
    double taken[ITEMS] = {0};
    DistCounter *c = dist_counter_open();
    for (int64_t i; (i = dist_counter_add(c, 1)) < ITEMS;) taken[i] += 1;
    dist_counter_close(c);
    dist_sum_doubles(taken, ITEMS);
    for (int i = 0; i < ITEMS; i++) assert_true(taken[i] == 1.0);
}

/* ---- batch norm and losses over the global batch ------------------------------------ */

enum { N = 5, C = 3, K = 3, H = 4, W = 6, HW = H * W };

typedef struct Pass {
    float y[N * C * HW];              /* BN output */
    float dx[N * C * HW], dw[C], db[C];
    float rm[C], rv[C];               /* running statistics after the step */
    double loss;
} Pass;

/* BN -> relu-free -> logits (C = K channels) -> cross-entropy + Dice, on images
 * [from, to) of the batch; global: the batch size over all ranks, 0 alone. */
static void run_pass(const float *x_all, const int64_t *labels_all, int from, int to, int global,
                     Pass *out)
{
    const int n = to - from;
    Tape t;
    tape_init(&t, 0);
    t.global_batch = global;
    Tensor *x = tape_tensor4(&t, n, C, H, W);
    memcpy(x->data, x_all + (size_t)from * C * HW, sizeof(float) * (size_t)n * C * HW);
    x->requires_grad = true;
    float wv[C] = {1.0f, 0.7f, 1.3f}, bv[C] = {0.1f, -0.2f, 0.0f};
    Tensor *w = tape_wrap(&t, wv, 1, (int[]){C}), *b = tape_wrap(&t, bv, 1, (int[]){C});
    Tensor *rm = tape_wrap(&t, out->rm, 1, (int[]){C}), *rv = tape_wrap(&t, out->rv, 1, (int[]){C});
    for (int j = 0; j < C; j++) out->rm[j] = 0, out->rv[j] = 1;
    w->requires_grad = b->requires_grad = true;
    BatchNorm2dArgs a = {w, b, rm, rv, NULL, true, true};
    Tensor *y = batchnorm2d(&t, x, &a);
    LabelMap lm = {labels_all + (size_t)from * HW, n, H, W};
    Tensor *loss = add(&t, loss_cross_entropy(&t, y, &lm), loss_dice(&t, y, &lm, 1.0f, true));
    tape_backward(&t, loss);
    memcpy(out->y, y->data, sizeof(float) * (size_t)n * C * HW);
    memcpy(out->dx, x->grad, sizeof(float) * (size_t)n * C * HW);
    memcpy(out->dw, w->grad, sizeof out->dw);
    memcpy(out->db, b->grad, sizeof out->db);
    out->loss = loss->data[0];
    tape_free(&t);
}

static void assert_close(const float *a, const float *b, size_t n, double tol, const char *what)
{
    double worst = max_rel_diff(a, b, n);
    if (!(worst <= tol)) fail_msg("%s: max relative difference %.3g > %.3g", what, worst, tol);
}

static void test_sync_batchnorm_and_losses_match_one_process(void **state)
{
    (void)state;
    float x[N * C * HW];
    int64_t labels[N * HW];
    fill_uniform(x, N * C * HW, -2.0f, 3.0f, 7);
    for (int i = 0; i < N * HW; i++) labels[i] = (i * 7 + i / 5) % K;
    Pass *whole = calloc(1, sizeof *whole), *part = calloc(1, sizeof *part);
    run_pass(x, labels, 0, N, 0, whole);
    const int R = dist_size(), me = dist_rank();
    const int from = N * me / R, to = N * (me + 1) / R;     /* batch_next_share's split */
    run_pass(x, labels, from, to, N, part);
    const size_t off = (size_t)from * C * HW, len = (size_t)(to - from) * C * HW;
    assert_close(part->y, whole->y + off, len, 1e-6, "BN output");
    assert_close(part->dx, whole->dx + off, len, 1e-5, "input gradient");
    /* running statistics: the same on every rank, and the single-process ones */
    assert_close(part->rm, whole->rm, C, 1e-6, "running mean");
    assert_close(part->rv, whole->rv, C, 1e-6, "running var");
    double sums[2 * C + 1];
    for (int j = 0; j < C; j++) sums[j] = part->dw[j], sums[C + j] = part->db[j];
    sums[2 * C] = part->loss;
    dist_sum_doubles(sums, 2 * C + 1);
    for (int j = 0; j < C; j++) {
        assert_true(fabs(sums[j] - whole->dw[j]) <= 1e-5 * (fabs(whole->dw[j]) + 1e-3));
        assert_true(fabs(sums[C + j] - whole->db[j]) <= 1e-5 * (fabs(whole->db[j]) + 1e-3));
    }
    assert_true(fabs(sums[2 * C] - whole->loss) <= 1e-6 * whole->loss);
    free(whole);
    free(part);
}

/* Validation split over the ranks (EvalOptions.split_over_ranks): every rank gets the
 * whole set's result. Dice (pooled and per patient) comes from integer counts, the same
 * as one process's whatever R; the loss and PSNR sums agree to rounding. 7 patients of 3
 * slices: the ranks' shares cut through patients. */
static void test_validation_split_over_ranks(void **state)
{
    (void)state;
    SliceSet set;
    Model m;
    Tape tape;
    toy_set(&set, 7, 3, 5);
    toy_model(&m, ARCH_UNET, 4, 6);
    toy_perturb_bn(&m, 7);
    tape_init(&tape, 0);
    for (int task = 0; task < 2; task++) {
        EvalOptions o = {.task = task ? TASK_AUTO : TASK_SEG, .labelled = 0xe, .batch = 2};
        EvalResult whole, split;
        evaluate_model(&m, &tape, &set, &o, &whole);
        o.split_over_ranks = true;
        evaluate_model(&m, &tape, &set, &o, &split);
        assert_memory_equal(whole.dice, split.dice, sizeof whole.dice);
        assert_true(whole.mean_dice == split.mean_dice);
        assert_memory_equal(whole.patient_dice_mean, split.patient_dice_mean,
                            sizeof whole.patient_dice_mean);
        assert_true(whole.patient_mean_sd == split.patient_mean_sd);
        assert_int_equal(whole.patients, split.patients);
        assert_true(fabs(whole.loss - split.loss) <= 1e-12 * fabs(whole.loss));
        assert_true(fabs(whole.psnr - split.psnr) <= 1e-12 * fabs(whole.psnr) + 1e-300);
        /* and every rank holds it: rank 0's mean Dice summed over the ranks */
        double mean = split.mean_dice * dist_size(), sum = split.mean_dice;
        dist_sum_doubles(&sum, 1);
        assert_true(sum == mean);
    }
    tape_free(&tape);
    model_free(&m);
    sliceset_free(&set);
}

int main(int argc, char **argv)
{
    dist_init(&argc, &argv);
    if (dist_size() < 2) fprintf(stderr, "test_dist_ops: run under mpirun -np 2 or more\n");
    /* every rank runs every test (they are collective); rank 0 reports */
    if (dist_rank() != 0 && !freopen("/dev/null", "w", stdout)) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sum_floats_rank_order),
        cmocka_unit_test(test_sum_doubles_rank_order),
        cmocka_unit_test(test_agree_names_the_failing_rank),
        cmocka_unit_test(test_same_refuses_other_fingerprints),
        cmocka_unit_test(test_counter_hands_out_each_item_once),
        cmocka_unit_test(test_sync_batchnorm_and_losses_match_one_process),
        cmocka_unit_test(test_validation_split_over_ranks),
    };
    int failed = dist_size() < 2 ? 1 : cmocka_run_group_tests(tests, NULL, NULL);
    double all = failed;
    dist_sum_doubles(&all, 1);
    dist_finalize();
    return all != 0;
}
