/* batchnorm2d: gradients by finite differences (train and eval mode), the running-statistics
 * update and the eval output against values worked out by hand, and frozen statistics. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/batchnorm.h"
#include "engine/relu.h"
#include "tests/testutil.h"

typedef struct BnSetup {
    Tensor rm, rv;
    int64_t count;
    bool training;
} BnSetup;

static Tensor *build_bn(Tape *t, Tensor **in, void *arg)
{
    BnSetup *s = arg;
    t->training = s->training;
    BatchNorm2dArgs a = {in[1], in[2], &s->rm, &s->rv, &s->count, true, true};
    return batchnorm2d(t, in[0], &a);
}

static Tensor *build_bn_relu(Tape *t, Tensor **in, void *arg)
{
    BnSetup *s = arg;
    t->training = s->training;
    BatchNorm2dArgs a = {in[1], in[2], &s->rm, &s->rv, &s->count, true, true};
    return batchnorm2d_relu(t, in[0], &a);
}

static Tensor *build_bn_then_relu(Tape *t, Tensor **in, void *arg)
{
    BnSetup *s = arg;
    t->training = s->training;
    BatchNorm2dArgs a = {in[1], in[2], &s->rm, &s->rv, &s->count, true, true};
    return relu(t, batchnorm2d(t, in[0], &a));
}

static void check_bn_gradients(int n, int c, int h, int w, bool training)
{
    BnSetup s = {0};
    s.training = training;
    s.rm = test_tensor(1, (int[]){c}, 3, false);
    s.rv = test_tensor(1, (int[]){c}, 4, false);
    for (int j = 0; j < c; j++) s.rv.data[j] = 0.5f + s.rv.data[j] * s.rv.data[j];
    Tensor x = test_tensor(4, (int[]){n, c, h, w}, 10 + n * h, true);
    Tensor wt = test_tensor(1, (int[]){c}, 11, true);
    Tensor bs = test_tensor(1, (int[]){c}, 12, true);
    /* Train mode: the normalisation couples every element of a channel, so the loss is
     * smooth but curved; eps 1e-2 in float32 with tolerance 2e-2 of the largest gradient. */
    gradcheck(build_bn, (Tensor *[]){&x, &wt, &bs}, 3, &s, 1e-2f, 2e-2, 120);
    tensor_free(&x); tensor_free(&wt); tensor_free(&bs); tensor_free(&s.rm); tensor_free(&s.rv);
}

static void test_gradients_train(void **state)
{
    (void)state;
    check_bn_gradients(1, 3, 5, 7, true);
    check_bn_gradients(3, 2, 4, 3, true);
    check_bn_gradients(5, 4, 1, 1, true);    /* 1x1 maps, as in the bin-1 pyramid branch */
}

static void test_gradients_eval(void **state)
{
    (void)state;
    check_bn_gradients(2, 3, 5, 5, false);
}

/* The fused op gives bitwise the numbers of batchnorm2d followed by relu, forward and
 * backward, in train and eval mode; and passes a gradient check of its own (BN shifted
 * so that few values sit near the ReLU's kink: probes that cross it are rare and the
 * tolerance covers them). */
static void test_fused_relu(void **state)
{
    (void)state;
    for (int training = 0; training <= 1; training++) {
        BnSetup s = {0};
        s.training = training;
        s.rm = test_tensor(1, (int[]){3}, 3, false);
        s.rv = test_tensor(1, (int[]){3}, 4, false);
        for (int j = 0; j < 3; j++) s.rv.data[j] = 1.0f;
        Tensor x[2], w[2], b[2];
        Tensor *out[2];
        Tape t[2];
        for (int k = 0; k < 2; k++) {
            x[k] = test_tensor(4, (int[]){2, 3, 5, 4}, 31, true);
            w[k] = test_tensor(1, (int[]){3}, 32, true);
            b[k] = test_tensor(1, (int[]){3}, 33, true);
            tape_init(&t[k], 0);
            out[k] = (k ? build_bn_then_relu : build_bn_relu)(&t[k], (Tensor *[]){&x[k], &w[k], &b[k]}, &s);
            float seed[2 * 3 * 5 * 4];
            fill_uniform(seed, out[k]->size, -1, 1, 34);
            tape_backward_from(&t[k], out[k], seed);
        }
        assert_memory_equal(out[0]->data, out[1]->data, out[0]->size * sizeof(float));
        assert_memory_equal(x[0].grad, x[1].grad, x[0].size * sizeof(float));
        assert_memory_equal(w[0].grad, w[1].grad, 3 * sizeof(float));
        assert_memory_equal(b[0].grad, b[1].grad, 3 * sizeof(float));
        for (int k = 0; k < 2; k++) {
            tape_free(&t[k]);
            tensor_free(&x[k]); tensor_free(&w[k]); tensor_free(&b[k]);
        }
        Tensor gx = test_tensor(4, (int[]){2, 3, 5, 4}, 41, true);
        Tensor gw = test_tensor(1, (int[]){3}, 42, true), gb = test_tensor(1, (int[]){3}, 43, true);
        for (int j = 0; j < 3; j++) {
            gw.data[j] = 1.0f + 0.5f * gw.data[j];
            gb.data[j] = 0.3f;
        }
        gradcheck(build_bn_relu, (Tensor *[]){&gx, &gw, &gb}, 3, &s, 1e-3f, 3e-2, 120);
        tensor_free(&gx); tensor_free(&gw); tensor_free(&gb);
        tensor_free(&s.rm); tensor_free(&s.rv);
    }
}

/* One channel, values 1, 2, 3, 6 (N=2, H=1, W=2): mean 3, biased var (4+1+0+9)/4 = 3.5,
 * unbiased var 14/3. From running (0, 1): mean 0.1*3 = 0.3, var 0.9 + 0.1*14/3. */
static void test_running_update_by_hand(void **state)
{
    (void)state;
    Tape t;
    tape_init(&t, 0);
    float xs[] = {1, 2, 3, 6}, w = 2, b = 0.5f, rm = 0, rv = 1;
    Tensor *x = tape_wrap(&t, xs, 4, (int[]){2, 1, 1, 2});
    Tensor tw = {.data = &w, .ndim = 1, .shape = {1}, .size = 1};
    Tensor tb = tw, trm = tw, trv = tw;
    tb.data = &b; trm.data = &rm; trv.data = &rv;
    int64_t count = 7;
    BatchNorm2dArgs a = {&tw, &tb, &trm, &trv, &count, true, true};
    Tensor *y = batchnorm2d(&t, x, &a);
    double invstd = 1 / sqrt(3.5 + 1e-5);
    for (int i = 0; i < 4; i++) assert_float_equal(y->data[i], (xs[i] - 3) * invstd * 2 + 0.5, 1e-5);
    assert_float_equal(rm, 0.3, 1e-7);
    assert_float_equal(rv, 0.9 + 0.1 * 14.0 / 3.0, 1e-6);
    assert_int_equal(count, 8);

    /* Eval mode with running (0.3, rv): y = (x - 0.3)/sqrt(rv + eps)*2 + 0.5; no update. */
    t.training = false;
    float rv_before = rv;
    y = batchnorm2d(&t, x, &a);
    for (int i = 0; i < 4; i++)
        assert_float_equal(y->data[i], (xs[i] - 0.3) / sqrt(rv_before + 1e-5) * 2 + 0.5, 1e-5);
    assert_true(rm == 0.3f && rv == rv_before && count == 8);
    tape_free(&t);
}

/* Both running statistics frozen: training normalises with them and leaves them (and the
 * counter) bitwise unchanged; the output equals the eval-mode output. */
static void test_frozen_statistics(void **state)
{
    (void)state;
    Tape t;
    tape_init(&t, 0);
    Tensor x = test_tensor(4, (int[]){2, 3, 4, 4}, 1, false);
    Tensor w = test_tensor(1, (int[]){3}, 2, false), b = test_tensor(1, (int[]){3}, 3, false);
    Tensor rm = test_tensor(1, (int[]){3}, 4, false), rv = test_tensor(1, (int[]){3}, 5, false);
    for (int j = 0; j < 3; j++) rv.data[j] += 2;
    float rm0[3], rv0[3];
    memcpy(rm0, rm.data, sizeof rm0);
    memcpy(rv0, rv.data, sizeof rv0);
    int64_t count = 3;
    BatchNorm2dArgs a = {&w, &b, &rm, &rv, &count, false, false};
    Tensor *train_y = batchnorm2d(&t, &x, &a);
    t.training = false;
    Tensor *eval_y = batchnorm2d(&t, &x, &a);
    assert_memory_equal(train_y->data, eval_y->data, x.size * sizeof(float));
    assert_memory_equal(rm.data, rm0, sizeof rm0);
    assert_memory_equal(rv.data, rv0, sizeof rv0);
    assert_int_equal(count, 3);
    /* Only the mean frozen: batch statistics, running_var updated, running_mean kept. */
    t.training = true;
    a.update_var = true;
    batchnorm2d(&t, &x, &a);
    assert_memory_equal(rm.data, rm0, sizeof rm0);
    assert_memory_not_equal(rv.data, rv0, sizeof rv0);
    tensor_free(&x); tensor_free(&w); tensor_free(&b); tensor_free(&rm); tensor_free(&rv);
    tape_free(&t);
}

static void mismatched_bn(void *arg)
{
    (void)arg;
    Tape t;
    tape_init(&t, 0);
    Tensor *x = tape_tensor4(&t, 2, 4, 3, 3);
    Tensor *p = tape_tensor(&t, 1, (int[]){3});
    BatchNorm2dArgs a = {p, p, p, p, NULL, true, true};
    batchnorm2d(&t, x, &a);
}

static void test_shape_mismatch_is_reported(void **state)
{
    (void)state;
    assert_exits_with_message(mismatched_bn, NULL,
                              "batchnorm2d: input [2, 4, 3, 3] does not fit parameter [3]");
}

TEST_MAIN("batchnorm2d", NULL, NULL,
          test_gradients_train, test_gradients_eval, test_fused_relu, test_running_update_by_hand,
          test_frozen_statistics, test_shape_mismatch_is_reported)
