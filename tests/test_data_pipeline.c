/* From slices to batches: patient-level splits, preprocessing, augmentation and the batch
 * iterator (determinism and resuming). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/augment.h"
#include "datasets/batch.h"
#include "datasets/preprocess.h"
#include "datasets/split.h"
#include "engine/error.h"
#include "tests/testutil.h"

/* ---- splits */

static void check_split(const char *preset, int P, int train_first, int train_count,
                        int val_first, int val_count)
{
    SplitOptions o;
    split_defaults(&o);
    Split s;
    assert_int_equal(split_make(preset, P, &o, &s), 0);
    assert_int_equal(s.train_count, train_count);
    assert_int_equal(s.val_count, val_count);
    for (int i = 0; i < train_count; i++) assert_int_equal(s.train[i], train_first + i);
    for (int i = 0; i < val_count; i++) assert_int_equal(s.val[i], val_first + i);
    split_free(&s);
}

static void test_ordered_splits_follow_the_paper(void **state)
{
    (void)state;
    check_split("t1", 90, 0, 60, 60, 30);      /* first 60 train, last 30 validation */
    check_split("t1", 210, 0, 60, 180, 30);    /* the paper's full T1 set */
    check_split("t1", 30, 0, 20, 20, 10);      /* scaled: 2/3 and the rest */
    check_split("rvsc", 32, 0, 16, 16, 16);    /* TrainingSet / Test1Set */
    check_split("rvsc", 48, 0, 16, 32, 16);
    check_split("rvsc", 10, 0, 5, 5, 5);
}

static void test_random_split_is_disjoint_and_seeded(void **state)
{
    (void)state;
    SplitOptions o;
    split_defaults(&o);
    o.seed = 3;
    Split a, b, c;
    assert_int_equal(split_make("acdc", 100, &o, &a), 0);
    assert_int_equal(a.train_count, 50);
    assert_int_equal(a.val_count, 50);
    int seen[100] = {0};
    for (int i = 0; i < 50; i++) {
        seen[a.train[i]]++;
        seen[a.val[i]]++;
        if (i) assert_true(a.train[i] > a.train[i - 1] && a.val[i] > a.val[i - 1]);
    }
    for (int i = 0; i < 100; i++) assert_int_equal(seen[i], 1);
    assert_int_equal(split_make("acdc", 100, &o, &b), 0);
    assert_memory_equal(a.train, b.train, 50 * sizeof(int));
    o.seed = 4;
    assert_int_equal(split_make("acdc", 100, &o, &c), 0);
    assert_memory_not_equal(a.train, c.train, 50 * sizeof(int));
    /* not simply the first half */
    int first_half = 0;
    for (int i = 0; i < 50; i++) first_half += a.train[i] < 50;
    assert_true(first_half < 45);
    split_free(&a);
    split_free(&b);
    split_free(&c);
    assert_int_equal(split_make("custom", 7, &o, &a), 0);
    assert_int_equal(a.train_count, 3);
    assert_int_equal(a.val_count, 4);
    split_free(&a);
}

static void test_split_options_and_errors(void **state)
{
    (void)state;
    SplitOptions o;
    split_defaults(&o);
    o.train_count = 7;
    o.val_count = 3;
    o.random = 0;
    Split s;
    assert_int_equal(split_make("acdc", 20, &o, &s), 0);
    assert_int_equal(s.train[6], 6);
    assert_int_equal(s.val[0], 17);             /* last 3 */
    split_free(&s);
    o.val_count = -1;                            /* the rest */
    assert_int_equal(split_make("t1", 20, &o, &s), 0);
    assert_int_equal(s.val_count, 13);
    split_free(&s);
    o.val_count = 14;
    assert_int_equal(split_make("t1", 20, &o, &s), -1);
    assert_non_null(strstr(error_get(), "cannot split 20 patients into 7 training and 14 validation"));
    split_defaults(&o);
    assert_int_equal(split_make("acdc", 1, &o, &s), -1);
    assert_int_equal(split_make("mri", 10, &o, &s), -1);
    assert_non_null(strstr(error_get(), "unknown preset 'mri'"));
}

static void test_choose_training_patients(void **state)
{
    (void)state;
    SplitOptions o;
    split_defaults(&o);
    Split s, t;
    assert_int_equal(split_make("acdc", 100, &o, &s), 0);
    assert_int_equal(split_make("acdc", 100, &o, &t), 0);
    int all[50];
    memcpy(all, s.train, sizeof all);
    assert_int_equal(split_choose_train(&s, 10, 9), 0);
    assert_int_equal(split_choose_train(&t, 10, 9), 0);
    assert_int_equal(s.train_count, 10);
    assert_memory_equal(s.train, t.train, 10 * sizeof(int));
    for (int i = 0; i < 10; i++) {
        int found = 0;
        for (int j = 0; j < 50; j++) found += all[j] == s.train[i];
        assert_int_equal(found, 1);
        if (i) assert_true(s.train[i] > s.train[i - 1]);
    }
    assert_int_equal(s.val_count, 50);          /* validation untouched */
    assert_int_equal(split_choose_train(&s, 10, 1), 0);   /* n = count keeps all */
    assert_memory_equal(s.train, t.train, 10 * sizeof(int));
    assert_int_equal(split_choose_train(&s, 11, 1), -1);
    assert_non_null(strstr(error_get(), "asked for 11 training patients, but the split has only 10"));
    assert_int_equal(split_choose_train(&s, 0, 1), -1);
    split_free(&s);
    split_free(&t);
}

/* ---- preprocessing */

static Slice ramp_slice(int h, int w)
{
    Slice s = slice_alloc(h, w);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            s.image[y * w + x] = (float)(100 * y + x);
            s.label[y * w + x] = (uint8_t)((x + y) % 4);
        }
    s.spacing[0] = 2.0f;
    s.spacing[1] = 1.0f;
    s.patient = 5;
    return s;
}

static void test_crop_and_pad(void **state)
{
    (void)state;
    PreprocessOptions o;
    preprocess_defaults(&o);
    assert_int_equal(o.size, 128);
    o.zscore = 0;
    o.size = 6;
    Slice in = ramp_slice(11, 9);
    Slice out = preprocess_slice(&in, &o);       /* crop starts at (2, 1): floor(5/2), floor(3/2) */
    assert_int_equal(out.patient, 5);
    for (int y = 0; y < 6; y++)
        for (int x = 0; x < 6; x++) {
            assert_true(out.image[y * 6 + x] == (float)(100 * (y + 2) + x + 1));
            assert_int_equal(out.label[y * 6 + x], (x + 1 + y + 2) % 4);
        }
    slice_free(&out);
    o.size = 14;      /* pad: starts at floor(-3/2) = -2 (2 rows above), floor(-5/2) = -3 */
    out = preprocess_slice(&in, &o);
    for (int y = 0; y < 14; y++)
        for (int x = 0; x < 14; x++) {
            int sy = y - 2, sx = x - 3;
            float want = sy >= 0 && sy < 11 && sx >= 0 && sx < 9 ? (float)(100 * sy + sx) : 0.0f;
            assert_true(out.image[y * 14 + x] == want);
        }
    slice_free(&out);
    slice_free(&in);
}

static void test_zscore(void **state)
{
    (void)state;
    PreprocessOptions o;
    preprocess_defaults(&o);
    o.size = 16;
    Slice in = ramp_slice(16, 16);
    Slice out = preprocess_slice(&in, &o);
    double sum = 0, sq = 0;
    for (int i = 0; i < 256; i++) sum += out.image[i];
    for (int i = 0; i < 256; i++) sq += (out.image[i] - sum / 256) * (out.image[i] - sum / 256);
    assert_true(fabs(sum / 256) < 1e-5);
    assert_true(fabs(sqrt(sq / 256) - 1) < 1e-5);
    slice_free(&out);
    for (int i = 0; i < 256; i++) in.image[i] = 7;   /* blank slice: stays finite */
    out = preprocess_slice(&in, &o);
    for (int i = 0; i < 256; i++) assert_true(out.image[i] == 0);
    slice_free(&out);
    slice_free(&in);
}

static void test_resample_to_spacing(void **state)
{
    (void)state;
    Slice in = ramp_slice(10, 20);               /* 2 mm rows, 1 mm columns */
    Slice out = preprocess_resample(&in, 1.0f);
    assert_int_equal(out.height, 20);
    assert_int_equal(out.width, 20);
    assert_true(out.spacing[0] == 1.0f && out.spacing[1] == 1.0f);
    /* columns unchanged, rows interpolated on the align_corners=False grid:
     * out row 5 -> source (5.5)*0.5-0.5 = 2.25 */
    assert_true(fabsf(out.image[5 * 20 + 3] - (225.0f + 3)) < 1e-3f);
    for (int i = 0; i < 400; i++) assert_true(out.label[i] <= 3);
    /* nearest neighbour: row 5 takes source row floor(5.5 * 0.5) = 2 */
    for (int x = 0; x < 20; x++) assert_int_equal(out.label[5 * 20 + x], in.label[2 * 20 + x]);
    slice_free(&out);
    PreprocessOptions o;
    preprocess_defaults(&o);
    o.size = 8;
    o.spacing_mm = 4.0f;                         /* 20 mm x 20 mm -> 5 x 5, padded to 8 */
    out = preprocess_slice(&in, &o);
    assert_int_equal(out.height, 8);
    assert_true(out.spacing[0] == 4.0f);
    slice_free(&out);
    slice_free(&in);
}

/* ---- augmentation */

static void test_augment_identity_and_flips(void **state)
{
    (void)state;
    const int S = 12;
    Slice in = ramp_slice(S, S);
    float img[144];
    uint8_t lab[144];
    AugmentOptions o = {0, 0, 0, 0};
    Rng r;
    rng_seed(&r, 1, 1);
    augment_slice(in.image, in.label, S, &o, &r, img, lab);
    assert_true(max_rel_diff(img, in.image, 144) < 1e-6);
    assert_memory_equal(lab, in.label, 144);
    o.flip_prob = 1;                             /* both flips: a 180 degree turn */
    augment_slice(in.image, in.label, S, &o, &r, img, lab);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            int src = (S - 1 - y) * S + (S - 1 - x);
            assert_true(fabsf(img[y * S + x] - in.image[src]) < 1e-3f);
            assert_int_equal(lab[y * S + x], in.label[src]);
        }
    slice_free(&in);
}

static void test_augment_is_seeded(void **state)
{
    (void)state;
    const int S = 32;
    Slice in = ramp_slice(S, S);
    for (int i = 0; i < S * S; i++) in.label[i] = (uint8_t)(i % 7 == 0 ? 2 : 0);
    AugmentOptions o;
    augment_defaults(&o);
    float a[1024], b[1024], c[1024];
    uint8_t la[1024], lb[1024];
    Rng r1, r2, r3;
    rng_seed(&r1, 42, 9);
    rng_seed(&r2, 42, 9);
    rng_seed(&r3, 43, 9);
    augment_slice(in.image, in.label, S, &o, &r1, a, la);
    augment_slice(in.image, in.label, S, &o, &r2, b, lb);
    augment_slice(in.image, in.label, S, &o, &r3, c, NULL);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_equal(la, lb, sizeof la);
    assert_memory_not_equal(a, c, sizeof a);
    for (int i = 0; i < S * S; i++) assert_true(la[i] == 0 || la[i] == 2);
    slice_free(&in);
}

/* ---- batches */

static SliceSet numbered_set(int n, int S)
{
    SliceSet set = {0};
    for (int k = 0; k < n; k++) {
        Slice s = slice_alloc(S, S);
        for (int i = 0; i < S * S; i++) {
            s.image[i] = (float)k;
            s.label[i] = (uint8_t)(k % 4);
        }
        sliceset_push(&set, s);
    }
    return set;
}

/* The slice numbers of one epoch, in order; returns the batch sizes in sizes[]. */
static int run_epoch(BatchIterator *it, int *order, int *sizes)
{
    float images[4 * 16];
    int64_t labels[4 * 16];
    int n, count = 0, batches = 0;
    while ((n = batch_next(it, images, labels)) > 0) {
        sizes[batches++] = n;
        for (int b = 0; b < n; b++) {
            order[count++] = (int)images[b * 16];
            assert_int_equal(labels[b * 16 + 5], order[count - 1] % 4);
        }
    }
    return count;
}

static void test_batches_shuffle_per_epoch(void **state)
{
    (void)state;
    SliceSet set = numbered_set(10, 4);
    BatchOptions o;
    batch_defaults(&o);
    o.batch_size = 4;
    o.seed = 5;
    BatchIterator it;
    batch_init(&it, &set, &o);
    assert_int_equal(batch_count(&it), 3);
    int e0[10], e1[10], sizes[4];
    assert_int_equal(run_epoch(&it, e0, sizes), 10);
    assert_int_equal(sizes[0], 4);
    assert_int_equal(sizes[2], 2);
    batch_seek(&it, 1, 0);
    assert_int_equal(run_epoch(&it, e1, sizes), 10);
    int seen[10] = {0};
    for (int i = 0; i < 10; i++) seen[e1[i]]++;
    for (int i = 0; i < 10; i++) assert_int_equal(seen[i], 1);   /* a permutation */
    assert_memory_not_equal(e0, e1, sizeof e0);
    batch_free(&it);
    o.drop_last = 1;
    o.shuffle = 0;
    batch_init(&it, &set, &o);
    assert_int_equal(batch_count(&it), 2);
    assert_int_equal(run_epoch(&it, e0, sizes), 8);
    for (int i = 0; i < 8; i++) assert_int_equal(e0[i], i);
    batch_free(&it);
    sliceset_free(&set);
}

static void test_batches_resume_exactly(void **state)
{
    (void)state;
    const int S = 16, N = 3;
    SliceSet set = {0};
    for (int k = 0; k < 7; k++) {
        Slice s = slice_alloc(S, S);
        fill_uniform(s.image, (size_t)S * S, -1, 1, (uint64_t)k);
        for (int i = 0; i < S * S; i++) s.label[i] = (uint8_t)((i / S + k) % 4);
        sliceset_push(&set, s);
    }
    BatchOptions o;
    batch_defaults(&o);
    o.batch_size = N;
    o.seed = 11;
    o.augment = 1;
    float run[3][3][N * 256], img[N * 256];
    int64_t lab_run[3][3][N * 256], lab[N * 256];
    BatchIterator it;
    batch_init(&it, &set, &o);
    /* epoch 2, all batches, uninterrupted (epochs 0 and 1 run first) */
    for (int e = 0; e < 3; e++) {
        batch_seek(&it, e, 0);
        for (int b = 0; b < 3; b++) assert_true(batch_next(&it, run[b][0], lab_run[b][0]) > 0);
    }
    batch_free(&it);
    /* a new iterator resumed at epoch 2 after its first batch */
    batch_init(&it, &set, &o);
    batch_seek(&it, 2, N);
    for (int b = 1; b < 3; b++) {
        int n = batch_next(&it, img, lab);
        assert_memory_equal(img, run[b][0], (size_t)n * 256 * sizeof(float));
        assert_memory_equal(lab, lab_run[b][0], (size_t)n * 256 * sizeof(int64_t));
    }
    assert_int_equal(batch_next(&it, img, lab), 0);
    batch_free(&it);
    sliceset_free(&set);
}

/* Data-parallel training: the parts of a batch over 1..4 ranks are, laid end to end, the
 * whole batch, augmentation included (batch_next_share). */
static void test_batch_parts_make_the_batch(void **state)
{
    (void)state;
    enum { S = 16, N = 7 };
    SliceSet set = {0};
    for (int k = 0; k < 15; k++) {
        Slice s = slice_alloc(S, S);
        fill_uniform(s.image, (size_t)S * S, -1, 1, (uint64_t)k + 20);
        for (int i = 0; i < S * S; i++) s.label[i] = (uint8_t)((i / S + k) % 4);
        sliceset_push(&set, s);
    }
    BatchOptions o;
    batch_defaults(&o);
    o.batch_size = N;
    o.seed = 3;
    o.augment = 1;
    static float whole[N * 256], part[N * 256];
    static int64_t lab_whole[N * 256], lab_part[N * 256];
    for (int parts = 1; parts <= 4; parts++) {
        BatchIterator it, shares[4];
        batch_init(&it, &set, &o);
        for (int r = 0; r < parts; r++) batch_init(&shares[r], &set, &o);
        int n, batches = 0;
        while ((n = batch_next(&it, whole, lab_whole)) > 0) {
            int at = 0, batch_n;
            for (int r = 0; r < parts; r++) {
                int got = batch_next_share(&shares[r], r, parts, part, lab_part, &batch_n);
                assert_int_equal(batch_n, n);
                assert_int_equal(got, n * (r + 1) / parts - n * r / parts);
                assert_memory_equal(part, whole + (size_t)at * 256, (size_t)got * 256 * sizeof(float));
                assert_memory_equal(lab_part, lab_whole + (size_t)at * 256,
                                    (size_t)got * 256 * sizeof(int64_t));
                at += got;
            }
            assert_int_equal(at, n);
            batches++;
        }
        assert_int_equal(batches, 3);                    /* 7 + 7 + 1 */
        int batch_n;
        for (int r = 0; r < parts; r++) {
            assert_int_equal(batch_next_share(&shares[r], r, parts, part, lab_part, &batch_n), 0);
            assert_int_equal(batch_n, 0);
            batch_free(&shares[r]);
        }
        batch_free(&it);
    }
    sliceset_free(&set);
}

TEST_MAIN("data pipeline", NULL, NULL,
          test_ordered_splits_follow_the_paper, test_random_split_is_disjoint_and_seeded,
          test_split_options_and_errors, test_choose_training_patients, test_crop_and_pad,
          test_zscore, test_resample_to_spacing, test_augment_identity_and_flips,
          test_augment_is_seeded, test_batches_shuffle_per_epoch, test_batches_resume_exactly,
          test_batch_parts_make_the_batch)
