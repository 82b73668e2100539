/* Losses: cross-entropy against log-softmax in double, MSE and soft Dice against direct
 * sums, small cases by hand, finite differences, numerical stability, thread
 * independence, and bad labels or shapes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/blas.h"
#include "engine/loss.h"
#include "engine/rng.h"
#include "tests/testutil.h"

static int64_t *random_labels(size_t count, int k, uint64_t seed)
{
    int64_t *l = malloc(count * sizeof *l);
    Rng r;
    rng_seed(&r, seed, 3);
    for (size_t i = 0; i < count; i++) l[i] = rng_below(&r, (uint32_t)k);
    return l;
}

/* Logits (N,K,H,W) element (n,c,i) with i = y*W + x. */
static double logit(const Tensor *z, int n, int c, int i)
{
    return z->data[((size_t)n * z->shape[1] + c) * z->shape[2] * z->shape[3] + i];
}

/* Softmax probability of class c at pixel (n, i), in double, without the max shift
 * (the test logits are small). */
static double prob(const Tensor *z, int n, int c, int i)
{
    double s = 0;
    for (int j = 0; j < z->shape[1]; j++) s += exp(logit(z, n, j, i));
    return exp(logit(z, n, c, i)) / s;
}

/* ---- cross-entropy -------------------------------------------------------------------- */

/* mean over pixels of -log softmax(z)_label, with log-softmax = z - log(sum exp z). */
static double ce_direct(const Tensor *z, const int64_t *labels)
{
    int n = z->shape[0], k = z->shape[1], hw = z->shape[2] * z->shape[3];
    double total = 0;
    for (int b = 0; b < n; b++)
        for (int i = 0; i < hw; i++) {
            double s = 0;
            for (int c = 0; c < k; c++) s += exp(logit(z, b, c, i));
            total += -(logit(z, b, (int)labels[b * hw + i], i) - log(s));
        }
    return total / (n * hw);
}

static void test_cross_entropy_forward(void **state)
{
    (void)state;
    const int shapes[][4] = {{1, 4, 5, 3}, {2, 3, 7, 9}, {3, 2, 1, 1}};
    for (int i = 0; i < 3; i++) {
        Tensor z = test_tensor(4, shapes[i], 1000 + i, false);
        for (size_t j = 0; j < z.size; j++) z.data[j] *= 3;
        LabelMap lm = {random_labels((size_t)shapes[i][0] * shapes[i][2] * shapes[i][3],
                                     shapes[i][1], 1100 + i),
                       shapes[i][0], shapes[i][2], shapes[i][3]};
        Tape t;
        tape_init(&t, 0);
        Tensor *loss = loss_cross_entropy(&t, &z, &lm);
        assert_int_equal(loss->ndim, 0);
        assert_int_equal(loss->size, 1);
        double want = ce_direct(&z, lm.data);
        assert_true(fabs(loss->data[0] - want) < 1e-6 * fabs(want));
        tape_free(&t);
        free((void *)lm.data);
        tensor_free(&z);
    }
}

/* By hand: K = 3, one pixel, logits (1, 2, 3), label 2:
 *   log(e + e^2 + e^3) - 3 = log(30.19287485) - 3 = 0.40760596.
 * Equal logits over K = 2: log 2. Large logits must not overflow: (1000, 0) gives 0 for
 * label 0 and 1000 for label 1. */
static void test_cross_entropy_by_hand(void **state)
{
    (void)state;
    double partial[1];
    float z[3] = {1, 2, 3};
    int64_t l2 = 2, l0 = 0, l1 = 1;
    assert_true(fabs(cross_entropy_forward(1, 3, 1, z, &l2, partial) - 0.40760596) < 1e-7);
    float even[2] = {0.5f, 0.5f};
    assert_true(fabs(cross_entropy_forward(1, 2, 1, even, &l1, partial) - log(2.0)) < 1e-12);
    float big[2] = {1000.0f, 0.0f};
    assert_true(cross_entropy_forward(1, 2, 1, big, &l0, partial) == 0.0);
    assert_true(cross_entropy_forward(1, 2, 1, big, &l1, partial) == 1000.0);
    /* Its gradient: softmax - onehot = (1 - 1, 0 - 0) for label 0, (1, -1) for label 1. */
    float d[2] = {0, 0};
    cross_entropy_backward(1, 2, 1, big, &l1, 1.0f, d);
    assert_true(d[0] == 1.0f && d[1] == -1.0f);
}

static Tensor *build_ce(Tape *t, Tensor **in, void *arg)
{
    return loss_cross_entropy(t, in[0], arg);
}

/* Central differences with eps 1e-2 on a smooth function; the loss comes back as a
 * float32 scalar, so the numeric slope carries ~1e-7 / 2e-2 = 5e-6 of rounding against
 * gradients of ~1/(N*H*W) >= 1/63: tolerance 1e-2 of the largest gradient. */
static void test_cross_entropy_gradcheck(void **state)
{
    (void)state;
    const int shapes[][4] = {{1, 4, 5, 3}, {2, 3, 3, 5}, {3, 5, 1, 1}};
    for (int i = 0; i < 3; i++) {
        Tensor z = test_tensor(4, shapes[i], 1200 + i, true);
        for (size_t j = 0; j < z.size; j++) z.data[j] *= 2;
        LabelMap lm = {random_labels((size_t)shapes[i][0] * shapes[i][2] * shapes[i][3],
                                     shapes[i][1], 1300 + i),
                       shapes[i][0], shapes[i][2], shapes[i][3]};
        gradcheck(build_ce, (Tensor *[]){&z}, 1, &lm, 1e-2f, 1e-2, 0);
        free((void *)lm.data);
        tensor_free(&z);
    }
}

/* ---- mean squared error -------------------------------------------------------------------- */

static void test_mse(void **state)
{
    (void)state;
    double partial[1];
    /* By hand: ((1-0)^2 + (2-0)^2 + (3-0)^2) / 3 = 14/3. */
    float p[3] = {1, 2, 3}, q[3] = {0, 0, 0};
    assert_true(fabs(mse_forward(3, p, q, partial) - 14.0 / 3) < 1e-12);
    /* Its gradient 2 (p - q) / 3, and the opposite for the target. */
    float dp[3] = {0}, dq[3] = {0};
    mse_backward(3, p, q, 1.0f, dp, dq);
    for (int i = 0; i < 3; i++) {
        assert_true(fabs(dp[i] - 2.0 * p[i] / 3) < 1e-7);
        assert_true(dq[i] == -dp[i]);
    }

    Tensor a = test_tensor(4, (int[]){2, 3, 5, 7}, 1400, false);
    Tensor b = test_tensor(4, (int[]){2, 3, 5, 7}, 1401, false);
    double want = 0;
    for (size_t i = 0; i < a.size; i++)
        want += ((double)a.data[i] - b.data[i]) * (a.data[i] - b.data[i]);
    want /= a.size;
    Tape t;
    tape_init(&t, 0);
    Tensor *loss = loss_mse(&t, &a, &b);
    assert_true(fabs(loss->data[0] - want) < 1e-6 * want);
    tape_free(&t);
    tensor_free(&a);
    tensor_free(&b);
}

static Tensor *build_mse(Tape *t, Tensor **in, void *arg)
{
    (void)arg;
    return loss_mse(t, in[0], in[1]);
}

/* Quadratic, so central differences are exact up to the float32 loss rounding:
 * tolerance 1e-2. Gradients for both the prediction and the target. */
static void test_mse_gradcheck(void **state)
{
    (void)state;
    const int shapes[][4] = {{1, 1, 5, 7}, {2, 3, 3, 3}};
    for (int i = 0; i < 2; i++) {
        Tensor a = test_tensor(4, shapes[i], 1500 + i, true);
        Tensor b = test_tensor(4, shapes[i], 1510 + i, true);
        gradcheck(build_mse, (Tensor *[]){&a, &b}, 2, NULL, 1e-2f, 1e-2, 0);
        tensor_free(&a);
        tensor_free(&b);
    }
}

/* ---- soft Dice ---------------------------------------------------------------------------- */

/* 1 - mean over scored classes of (2 sum p g + eps) / (sum p + sum g + eps), sums over
 * all pixels of the batch, straight from the definition. */
static double dice_direct(const Tensor *z, const int64_t *labels, double eps, bool background)
{
    int n = z->shape[0], k = z->shape[1], hw = z->shape[2] * z->shape[3];
    double score = 0;
    for (int c = background ? 0 : 1; c < k; c++) {
        double inter = 0, ps = 0, gs = 0;
        for (int b = 0; b < n; b++)
            for (int i = 0; i < hw; i++) {
                double p = prob(z, b, c, i), g = labels[b * hw + i] == c;
                inter += p * g;
                ps += p;
                gs += g;
            }
        score += (2 * inter + eps) / (ps + gs + eps);
    }
    return 1 - score / (background ? k : k - 1);
}

/* By hand: K = 2, four pixels with logits (0, 0) -> p = 0.5 everywhere, labels 0,1,1,1,
 * eps = 1. Class 0: I = 0.5, P = 2, G = 1 -> (1 + 1)/(3 + 1) = 0.5. Class 1: I = 1.5,
 * P = 2, G = 3 -> (3 + 1)/(5 + 1) = 2/3. With background L = 1 - (0.5 + 2/3)/2 = 5/12;
 * without, 1 - 2/3 = 1/3. */
static void test_dice_by_hand(void **state)
{
    (void)state;
    float z[8] = {0};
    int64_t labels[4] = {0, 1, 1, 1};
    double sums[6], partial[6];
    double with_bg = dice_forward(1, 2, 4, z, labels, 1.0f, true, sums, partial);
    assert_true(fabs(with_bg - 5.0 / 12) < 1e-12);
    assert_true(sums[0] == 0.5 && sums[1] == 1.5 && sums[2] == 2 && sums[3] == 2 &&
                sums[4] == 1 && sums[5] == 3);
    double without_bg = dice_forward(1, 2, 4, z, labels, 1.0f, false, sums, partial);
    assert_true(fabs(without_bg - 1.0 / 3) < 1e-12);
}

static void test_dice_forward(void **state)
{
    (void)state;
    const int shapes[][4] = {{1, 4, 5, 3}, {2, 3, 7, 9}};
    for (int i = 0; i < 2; i++)
        for (int bg = 0; bg < 2; bg++) {
            Tensor z = test_tensor(4, shapes[i], 1600 + i, false);
            LabelMap lm = {random_labels((size_t)shapes[i][0] * shapes[i][2] * shapes[i][3],
                                         shapes[i][1], 1700 + i),
                           shapes[i][0], shapes[i][2], shapes[i][3]};
            Tape t;
            tape_init(&t, 0);
            Tensor *loss = loss_dice(&t, &z, &lm, 0.5f, bg);
            double want = dice_direct(&z, lm.data, 0.5, bg);
            assert_true(fabs(loss->data[0] - want) < 1e-6);
            tape_free(&t);
            free((void *)lm.data);
            tensor_free(&z);
        }
}

typedef struct DiceArg { LabelMap *labels; float eps; bool background; } DiceArg;

static Tensor *build_dice(Tape *t, Tensor **in, void *arg)
{
    const DiceArg *d = arg;
    return loss_dice(t, in[0], d->labels, d->eps, d->background);
}

/* Smooth in the logits; float32 loss rounding over a 2e-2 step against gradients of
 * ~1/(N*H*W): tolerance 1e-2, eps 1 and 1e-3, with and without background. A class with
 * no pixels in the labels (class 3 of 4 below) is included on purpose. */
static void test_dice_gradcheck(void **state)
{
    (void)state;
    const int shapes[][4] = {{1, 4, 5, 3}, {2, 3, 3, 5}};
    for (int i = 0; i < 2; i++)
        for (int variant = 0; variant < 4; variant++) {
            Tensor z = test_tensor(4, shapes[i], 1800 + i, true);
            size_t pixels = (size_t)shapes[i][0] * shapes[i][2] * shapes[i][3];
            int64_t *labels = random_labels(pixels, shapes[i][1] - 1, 1900 + i);
            LabelMap lm = {labels, shapes[i][0], shapes[i][2], shapes[i][3]};
            DiceArg arg = {&lm, variant & 1 ? 1.0f : 1e-3f, variant & 2};
            gradcheck(build_dice, (Tensor *[]){&z}, 1, &arg, 1e-2f, 1e-2, 0);
            free(labels);
            tensor_free(&z);
        }
}

/* ---- threads ------------------------------------------------------------------------------ */

/* Fixed blocks of pixels, summed in order: the same bits with 1 and 2 threads. */
static void test_losses_do_not_depend_on_threads(void **state)
{
    (void)state;
    if (!test_may_use_threads()) skip();
    const int n = 2, k = 4, h = 61, w = 67;         /* 8174 pixels: two blocks and a part */
    Tensor z = test_tensor(4, (int[]){n, k, h, w}, 2000, false);
    Tensor q = test_tensor(4, (int[]){n, k, h, w}, 2001, false);
    int64_t *labels = random_labels((size_t)n * h * w, k, 2002);
    size_t blocks = loss_block_count(z.size);
    double *partial = malloc(3 * k * blocks * sizeof *partial), sums[12];
    float *d[2] = {calloc(z.size, 4), calloc(z.size, 4)};
    double ce[2], dice[2], mse[2];
    int saved = engine_threads();
    for (int i = 0; i < 2; i++) {
        engine_set_threads(i + 1);
        ce[i] = cross_entropy_forward(n, k, h * w, z.data, labels, partial);
        dice[i] = dice_forward(n, k, h * w, z.data, labels, 1.0f, true, sums, partial);
        mse[i] = mse_forward(z.size, z.data, q.data, partial);
        cross_entropy_backward(n, k, h * w, z.data, labels, 1.0f, d[i]);
        dice_backward(n, k, h * w, z.data, labels, sums, 1.0f, true, 1.0f, d[i]);
    }
    engine_set_threads(saved);
    assert_memory_equal(&ce[0], &ce[1], sizeof(double));
    assert_memory_equal(&dice[0], &dice[1], sizeof(double));
    assert_memory_equal(&mse[0], &mse[1], sizeof(double));
    assert_memory_equal(d[0], d[1], z.size * 4);
    free(partial); free(labels); free(d[0]); free(d[1]);
    tensor_free(&z);
    tensor_free(&q);
}

/* ---- bad labels and shapes ------------------------------------------------------------- */

static void label_out_of_range(void *arg)
{
    (void)arg;
    Tape t;
    tape_init(&t, 0);
    Tensor *z = tape_tensor4(&t, 2, 4, 3, 2);
    int64_t labels[12] = {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 4, 3};  /* 10: n=1, y=2, x=0 */
    loss_cross_entropy(&t, z, &(LabelMap){labels, 2, 3, 2});
}

static void label_negative(void *arg)
{
    (void)arg;
    Tape t;
    tape_init(&t, 0);
    Tensor *z = tape_tensor4(&t, 1, 4, 2, 2);
    int64_t labels[4] = {0, -1, 2, 3};
    loss_dice(&t, z, &(LabelMap){labels, 1, 2, 2}, DICE_EPS, true);
}

static void labels_wrong_size(void *arg)
{
    (void)arg;
    Tape t;
    tape_init(&t, 0);
    Tensor *z = tape_tensor4(&t, 2, 4, 32, 32);
    int64_t *labels = calloc(2 * 64 * 64, sizeof *labels);
    loss_cross_entropy(&t, z, &(LabelMap){labels, 2, 64, 64});
}

static void mse_mismatch(void *arg)
{
    (void)arg;
    Tape t;
    tape_init(&t, 0);
    loss_mse(&t, tape_tensor4(&t, 2, 1, 16, 16), tape_tensor4(&t, 2, 3, 16, 16));
}

static void dice_nothing_to_score(void *arg)
{
    (void)arg;
    Tape t;
    tape_init(&t, 0);
    Tensor *z = tape_tensor4(&t, 1, 1, 2, 2);
    int64_t labels[4] = {0};
    loss_dice(&t, z, &(LabelMap){labels, 1, 2, 2}, DICE_EPS, false);
}

static void test_bad_input_is_reported(void **state)
{
    (void)state;
    assert_exits_with_message(label_out_of_range, NULL,
                              "cross_entropy: label 4 at (n=1, y=2, x=0) is not a class 0..3");
    assert_exits_with_message(label_negative, NULL,
                              "dice_loss: label -1 at (n=0, y=0, x=1) is not a class 0..3");
    assert_exits_with_message(labels_wrong_size, NULL,
                              "cross_entropy: logits [2, 4, 32, 32] do not fit labels [2, 64, 64]");
    assert_exits_with_message(mse_mismatch, NULL,
                              "mse_loss: shapes [2, 1, 16, 16] and [2, 3, 16, 16] differ");
    assert_exits_with_message(dice_nothing_to_score, NULL,
                              "dice_loss: 1 classes without background");
}

TEST_MAIN("loss", NULL, NULL,
          test_cross_entropy_forward, test_cross_entropy_by_hand, test_cross_entropy_gradcheck,
          test_mse, test_mse_gradcheck, test_dice_by_hand, test_dice_forward, test_dice_gradcheck,
          test_losses_do_not_depend_on_threads, test_bad_input_is_reported)
