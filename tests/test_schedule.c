/* Learning-rate schedules against values worked out by hand, and bad names. */
#include <math.h>
#include <string.h>

#include "engine/error.h"
#include "engine/schedule.h"
#include "tests/testutil.h"

static void test_none(void **state)
{
    (void)state;
    Schedule sc = schedule_make(SCHEDULE_NONE, 0.01, 0);
    assert_true(schedule_lr(&sc, 0) == 0.01 && schedule_lr(&sc, 12345) == 0.01);
}

/* poly, base 0.01, 100 steps, power 0.9:
 *   step 0 -> 0.01;  step 50 -> 0.01 * 0.5^0.9 = 0.01 * 0.535886731 = 0.00535886731;
 *   step 99 -> 0.01 * 0.01^0.9 = 0.01 * 0.015848932 = 0.00015848932;  step 100 and on -> 0 */
static void test_poly(void **state)
{
    (void)state;
    Schedule sc = schedule_make(SCHEDULE_POLY, 0.01, 100);
    assert_true(schedule_lr(&sc, 0) == 0.01);
    assert_true(fabs(schedule_lr(&sc, 50) - 0.00535886731) < 1e-11);
    assert_true(fabs(schedule_lr(&sc, 99) - 0.00015848932) < 1e-11);
    assert_true(schedule_lr(&sc, 100) == 0.0 && schedule_lr(&sc, 150) == 0.0);
    /* Decreasing throughout. */
    for (int s = 1; s < 100; s++) assert_true(schedule_lr(&sc, s) < schedule_lr(&sc, s - 1));
}

/* cosine, base 0.1, min 0.001, 40 steps:
 *   step 0 -> 0.1;  step 20 -> (0.1 + 0.001)/2 = 0.0505;
 *   step 10 -> 0.001 + 0.099 * (1 + cos(pi/4))/2 = 0.001 + 0.099 * 0.853553391 = 0.085501786 */
static void test_cosine(void **state)
{
    (void)state;
    Schedule sc = schedule_make(SCHEDULE_COSINE, 0.1, 40);
    sc.min_lr = 0.001;
    assert_true(schedule_lr(&sc, 0) == 0.1);
    assert_true(fabs(schedule_lr(&sc, 20) - 0.0505) < 1e-12);
    assert_true(fabs(schedule_lr(&sc, 10) - 0.085501786) < 1e-9);
    assert_true(fabs(schedule_lr(&sc, 40) - 0.001) < 1e-15);
    assert_true(fabs(schedule_lr(&sc, 400) - 0.001) < 1e-15);
}

static void test_parse(void **state)
{
    (void)state;
    ScheduleKind k;
    assert_int_equal(schedule_parse("poly", &k), 0);
    assert_int_equal(k, SCHEDULE_POLY);
    assert_int_equal(schedule_parse("cosine", &k), 0);
    assert_int_equal(k, SCHEDULE_COSINE);
    assert_int_equal(schedule_parse("none", &k), 0);
    assert_int_equal(k, SCHEDULE_NONE);
    assert_string_equal(schedule_name(SCHEDULE_COSINE), "cosine");
    assert_int_equal(schedule_parse("step", &k), -1);
    assert_string_equal(error_get(),
                        "unknown learning-rate schedule 'step' (choose none, poly or cosine)");
}

TEST_MAIN("schedule", NULL, NULL,
          test_none, test_poly, test_cosine, test_parse)
