/* Integration: a tiny conv net built from the taped ops, its parameters in a ParamStore,
 * learns a toy segmentation task, and its loss falls at least tenfold.
 *
 * Task: each pixel of a random binary image is labelled with how many of its two
 * neighbours (left and above; outside the image counts as dark) are bright: class 0, 1
 * or 2. A 3x3 convolution sees both neighbours, and the ReLU after it can express the
 * thresholds "at least one" and "both", so the net
 *     conv 3x3 (1->8, pad 1) [-> BN] -> ReLU -> conv 1x1 (8->3) -> cross-entropy
 * can fit it exactly. Every step draws a fresh batch, so falling loss is learning, not
 * memorising. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/batchnorm.h"
#include "engine/blas.h"
#include "engine/conv2d.h"
#include "engine/loss.h"
#include "engine/optimizer.h"
#include "engine/relu.h"
#include "engine/rng.h"
#include "engine/schedule.h"
#include "tests/testutil.h"

enum { BATCH = 4, SIZE = 11, HIDDEN = 8, CLASSES = 3, STEPS = 200 };

enum { W1, B1, BN_W, BN_B, BN_RM, BN_RV, BN_COUNT, W2, B2 };

static void net_create(ParamStore *s, uint64_t seed)
{
    params_init(s);
    params_add(s, "conv1.weight", PARAM_TRAINABLE, 4, (int[]){HIDDEN, 1, 3, 3});
    params_add(s, "conv1.bias", PARAM_TRAINABLE, 1, (int[]){HIDDEN});
    params_add(s, "bn1.weight", PARAM_TRAINABLE, 1, (int[]){HIDDEN});
    params_add(s, "bn1.bias", PARAM_TRAINABLE, 1, (int[]){HIDDEN});
    params_add(s, "bn1.running_mean", PARAM_BUFFER, 1, (int[]){HIDDEN});
    params_add(s, "bn1.running_var", PARAM_BUFFER, 1, (int[]){HIDDEN});
    params_add(s, "bn1.num_batches_tracked", PARAM_COUNTER, 0, NULL);
    params_add(s, "head.weight", PARAM_TRAINABLE, 4, (int[]){CLASSES, HIDDEN, 1, 1});
    params_add(s, "head.bias", PARAM_TRAINABLE, 1, (int[]){CLASSES});
    params_finalize(s);
    /* PyTorch's Conv2d default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias. */
    float b1 = 1.0f / 3.0f, b2 = 1.0f / sqrtf(HIDDEN);
    fill_uniform(params_get(s, W1)->t.data, HIDDEN * 9, -b1, b1, seed);
    fill_uniform(params_get(s, B1)->t.data, HIDDEN, -b1, b1, seed + 1);
    fill_uniform(params_get(s, W2)->t.data, CLASSES * HIDDEN, -b2, b2, seed + 2);
    fill_uniform(params_get(s, B2)->t.data, CLASSES, -b2, b2, seed + 3);
    for (int c = 0; c < HIDDEN; c++) {
        params_get(s, BN_W)->t.data[c] = 1.0f;
        params_get(s, BN_RV)->t.data[c] = 1.0f;
    }
}

/* A fresh batch: binary images and their labels (bright left neighbour + bright one above). */
static void make_batch(Rng *r, float *x, int64_t *labels)
{
    for (int i = 0; i < BATCH * SIZE * SIZE; i++) x[i] = (float)rng_below(r, 2);
    for (int n = 0; n < BATCH; n++)
        for (int y = 0; y < SIZE; y++)
            for (int c = 0; c < SIZE; c++) {
                const float *img = x + n * SIZE * SIZE;
                int left = c > 0 && img[y * SIZE + c - 1] > 0.5f;
                int up = y > 0 && img[(y - 1) * SIZE + c] > 0.5f;
                labels[(n * SIZE + y) * SIZE + c] = left + up;
            }
}

static Tensor *net_forward(Tape *t, ParamStore *s, Tensor *x, bool use_bn)
{
    Tensor *h = conv2d(t, x, &params_get(s, W1)->t, &params_get(s, B1)->t, 1, 1, 1);
    if (use_bn) {
        BatchNorm2dArgs bn = {&params_get(s, BN_W)->t, &params_get(s, BN_B)->t,
                              &params_get(s, BN_RM)->t, &params_get(s, BN_RV)->t,
                              &params_get(s, BN_COUNT)->counter, true, true};
        h = batchnorm2d(t, h, &bn);
    }
    h = relu(t, h);
    return conv2d(t, h, &params_get(s, W2)->t, &params_get(s, B2)->t, 1, 0, 1);
}

typedef struct Setup {
    OptimizerKind kind;
    double lr;
    bool use_bn;
    ScheduleKind schedule;
} Setup;

/* Train for STEPS steps; return the loss of the first step over the mean loss of the
 * last 20. */
static double train(const Setup *setup)
{
    ParamStore s;
    net_create(&s, 7);
    Optimizer o;
    if (setup->kind == OPTIMIZER_ADAM)
        optimizer_init_adam(&o, &s, setup->lr, 0.9, 0.999, 1e-8, 0.0);
    else
        optimizer_init_sgd(&o, &s, setup->lr, 0.9, 1e-4);
    Schedule sched = schedule_make(setup->schedule, setup->lr, STEPS);
    Tape t;
    tape_init(&t, 0);
    Rng r;
    rng_seed(&r, 42, 0);
    float x[BATCH * SIZE * SIZE];
    int64_t labels[BATCH * SIZE * SIZE];
    double first = 0, last = 0;
    size_t capacity_after_warmup = 0;
    for (int step = 0; step < STEPS; step++) {
        tape_reset(&t);
        params_zero_grad(&s);
        make_batch(&r, x, labels);
        Tensor *input = tape_wrap(&t, x, 4, (int[]){BATCH, 1, SIZE, SIZE});
        Tensor *logits = net_forward(&t, &s, input, setup->use_bn);
        Tensor *loss = loss_cross_entropy(&t, logits, &(LabelMap){labels, BATCH, SIZE, SIZE});
        tape_backward(&t, loss);
        o.lr = schedule_lr(&sched, step);
        optimizer_step(&o, &s);
        if (step == 0) first = loss->data[0];
        if (step >= STEPS - 20) last += loss->data[0] / 20;
        assert_true(isfinite(loss->data[0]));
        /* From the second step on, a step allocates nothing: the arena keeps its size. */
        if (step == 1) capacity_after_warmup = t.arena.capacity;
        if (step > 1) assert_int_equal(t.arena.capacity, capacity_after_warmup);
    }
    if (setup->use_bn) assert_int_equal(params_get(&s, BN_COUNT)->counter, STEPS);
    print_message("%s%s, %s schedule: loss %.4f -> %.5f (x%.0f)\n",
                  optimizer_kind_name(setup->kind), setup->use_bn ? " + BN" : "",
                  schedule_name(setup->schedule), first, last, first / last);
    tape_free(&t);
    optimizer_free(&o);
    params_free(&s);
    return first / last;
}

static void test_adam_learns(void **state)
{
    (void)state;
    Setup setup = {OPTIMIZER_ADAM, 0.03, false, SCHEDULE_NONE};
    assert_true(train(&setup) >= 10.0);
}

static void test_sgd_with_batchnorm_learns(void **state)
{
    (void)state;
    Setup setup = {OPTIMIZER_SGD, 0.2, true, SCHEDULE_POLY};
    assert_true(train(&setup) >= 10.0);
}

TEST_MAIN("toy_training", one_thread_setup, NULL,
          test_adam_learns, test_sgd_with_batchnorm_learns)
