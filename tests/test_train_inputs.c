/* What a training run reads besides its test_acdc(), checked as any input: a hand-edited or
 * damaged resume point (epoch -3, "abc", 999999999, a step that does not follow from the
 * epoch, a huge one, a best score of nan, a NaN in the optimizer's moments) and a log.csv
 * missing an epoch's row are refused with one line naming the file and the value, and
 * the run is left as it was; a NaN BN statistic in --init-from is refused before training.
 * Freezing everything that was loaded evaluates the loaded model (its tensors unchanged,
 * its row without a training loss, the same Dice as `reusenet eval`), and freezing all
 * but the head trains the head alone. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/error.h"
#include "engine/safetensors.h"
#include "train/resume.h"
#include "tests/testutil.h"


/* Copy the safetensors file `from` to `to` with metadata key set to value (value NULL:
 * unchanged), and with F32 tensor `poison` (if not NULL) holding a NaN at element 0. */
static void copy_changed(const char *from, const char *to, const char *key, const char *value,
                         const char *poison)
{
    SafeTensors st;
    assert_int_equal(safetensors_read(from, &st), 0);
    SafetensorsWriter w;
    safetensors_writer_init(&w);
    float *nan_copy = NULL;
    for (int i = 0; i < st.count; i++) {
        const SafetensorsEntry *e = &st.entries[i];
        const void *bytes = e->data;
        if (poison && !strcmp(e->name, poison)) {
            nan_copy = malloc(e->nbytes);
            memcpy(nan_copy, e->data, e->nbytes);
            nan_copy[0] = NAN;
            bytes = nan_copy;
        }
        safetensors_writer_add(&w, e->name, e->dtype, e->ndim, e->shape, bytes);
    }
    for (int i = 0; i < st.meta_count; i++)
        safetensors_writer_set_meta(&w, st.meta_keys[i], st.meta_values[i]);
    if (key) safetensors_writer_set_meta(&w, key, value);
    assert_int_equal(safetensors_write(&w, to), 0);
    safetensors_writer_free(&w);
    safetensors_free(&st);
    free(nan_copy);
}

/* A finished 2-epoch run, its resume point edited by hand: refused, naming the value, and
 * nothing in the run changes. */
static void test_resume_state_is_validated(void **state)
{
    (void)state;
    char log[8192], cmd[8192];
    assert_int_equal(train_tiny("r", "--arch unet --epochs 2 --seed 1", log, sizeof log), 0);
    char *resume = path_in(test_dir(), "r/resume.safetensors");
    char orig[4200];
    snprintf(orig, sizeof orig, "%s/resume.orig", test_dir());
    snprintf(cmd, sizeof cmd, "cp %s %s && cp %s/r/log.csv %s/log.orig", resume, orig, test_dir(), test_dir());
    assert_int_equal(run_command(cmd, log, sizeof log), 0);
    static const struct { const char *key, *value, *poison, *expect; } cases[] = {
        {"epoch", "-3", NULL, "epoch -3 is outside 0..3"},
        {"epoch", "abc", NULL, "epoch 'abc' is not a whole number"},
        {"epoch", "1.5", NULL, "epoch '1.5' is not a whole number"},
        {"epoch", "", NULL, "epoch '' is not a whole number"},
        {"epoch", "999999999", NULL, "epoch 999999999 is outside 0..3 (the run has 3 epochs)"},
        {"epoch", "99999999999999999999", NULL, "is not a whole number"},
        {"step", "9223372036854775807", NULL, "step 9223372036854775807 is outside"},
        {"step", "-5", NULL, "step -5 is outside"},
        {"step", "25", NULL, "step 25 does not follow from epoch 2"},
        {"best", "nan", NULL, "best 'nan' is not a validation score"},
        {"best", "x", NULL, "best 'x' is not a validation score"},
        {NULL, NULL, "optimizer.m", "optimizer.m holds a non-finite value at element 0"},
        {NULL, NULL, "optimizer.v", "optimizer.v holds nan at element 0"},
        {NULL, NULL, "enc1.bn1.running_mean", "'enc1.bn1.running_mean' holds a non-finite value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        copy_changed(orig, resume, cases[i].key, cases[i].value, cases[i].poison);
        int rc = train_tiny("r", "--arch unet --epochs 3 --seed 1 --resume", log, sizeof log);
        if (rc != 1 || !strstr(log, cases[i].expect) || !strstr(log, "resume.safetensors") ||
            strchr(log, '\n') != log + strlen(log) - 1)
            fail_msg("case %zu: exit %d: %s", i, rc, log);
        snprintf(cmd, sizeof cmd, "cmp %s/log.orig %s/r/log.csv", test_dir(), test_dir());
        assert_int_equal(run_command(cmd, log, sizeof log), 0);
    }
    /* a log.csv that lost a finished epoch's row */
    copy_changed(orig, resume, NULL, NULL, NULL);
    snprintf(cmd, sizeof cmd, "head -n 2 %s/log.orig > %s/r/log.csv", test_dir(), test_dir());
    assert_int_equal(run_command(cmd, log, sizeof log), 0);
    assert_int_equal(train_tiny("r", "--arch unet --epochs 3 --seed 1 --resume", log, sizeof log), 1);
    assert_non_null(strstr(log, "log.csv: has 1 finished epoch, the resume point is after epoch 2"));
    snprintf(cmd, sizeof cmd, "(sed -n 1p %s/log.orig; sed -n 3p %s/log.orig; sed -n 2p %s/log.orig)"
             " > %s/r/log.csv", test_dir(), test_dir(), test_dir(), test_dir());
    assert_int_equal(run_command(cmd, log, sizeof log), 0);
    assert_int_equal(train_tiny("r", "--arch unet --epochs 3 --seed 1 --resume", log, sizeof log), 1);
    assert_non_null(strstr(log, "log.csv: row 2 is not epoch 1's"));
    /* restored: the run resumes and finishes its third epoch */
    snprintf(cmd, sizeof cmd, "cp %s/log.orig %s/r/log.csv", test_dir(), test_dir());
    assert_int_equal(run_command(cmd, log, sizeof log), 0);
    assert_int_equal(train_tiny("r", "--arch unet --epochs 3 --seed 1 --resume", log, sizeof log), 0);
}

/* --init-from a checkpoint with a NaN BN running mean: refused before anything trains. */
static void test_nonfinite_init_is_refused(void **state)
{
    (void)state;
    char log[8192], cmd[8192], extra[8192];
    snprintf(cmd, sizeof cmd, "%s init --arch unet --width 4 --seed 1 -o %s/ok.safetensors", reusenet_program(), test_dir());
    assert_int_equal(run_command(cmd, log, sizeof log), 0);
    copy_changed(path_in(test_dir(), "ok.safetensors"), path_in(test_dir(), "nan.safetensors"), NULL, NULL,
                 "enc2.bn1.running_mean");
    snprintf(extra, sizeof extra, "--arch unet --epochs 1 --init-from %s/nan.safetensors", test_dir());
    assert_int_equal(train_tiny("nan-init", extra, log, sizeof log), 1);
    assert_non_null(strstr(log, "nan.safetensors: tensor 'enc2.bn1.running_mean' holds a "
                                "non-finite value (nan) at element 0"));
    assert_int_not_equal(access(path_in(test_dir(), "nan-init/log.csv"), F_OK), 0);
}

/* Every tensor loaded and frozen: nothing to train, the loaded model evaluated as the last
 * epoch; all but the head frozen: the head alone trains. */
static void test_freeze_everything_evaluates(void **state)
{
    (void)state;
    char log[8192], extra[20000], cmd[32768], eval[8192];
    assert_int_equal(train_tiny("src", "--arch unet --epochs 1 --seed 5", log, sizeof log), 0);
    snprintf(extra, sizeof extra, "--epochs 2 --seed 6 --init-from %s/src/last.safetensors --freeze", test_dir());
    snprintf(cmd, sizeof cmd, "%s train --arch unet --width 4 --data %s --size 32 --batch 4 "
             "--lr 0.01 --threads 2 -o %s/all %s", reusenet_program(), test_acdc(), test_dir(), extra);
    assert_int_equal(run_command(cmd, log, sizeof log), 0);
    assert_non_null(strstr(log, "nothing to train"));
    /* its tensors are the source's; its one row: epoch 2, step 0, no training loss */
    SafeTensors a, b;
    assert_int_equal(safetensors_read(path_in(test_dir(), "src/last.safetensors"), &a), 0);
    assert_int_equal(safetensors_read(path_in(test_dir(), "all/last.safetensors"), &b), 0);
    assert_int_equal(a.count, b.count);
    for (int i = 0; i < a.count; i++) {
        const SafetensorsEntry *y = safetensors_find(&b, a.entries[i].name);
        assert_non_null(y);
        assert_memory_equal(a.entries[i].data, y->data, a.entries[i].nbytes);
    }
    safetensors_free(&b);
    char *csv = (char *)read_file_bytes(path_in(test_dir(), "all/log.csv"), NULL);
    const char *row = strchr(csv, '\n') + 1;
    assert_int_equal(strncmp(row, "2,0,0.01,,", 10), 0);
    assert_string_equal(strchr(row, '\n'), "\n");                /* one row */
    /* its mean Dice is the source's under `reusenet eval` */
    snprintf(cmd, sizeof cmd, "%s eval --weights %s/src/last.safetensors --data %s --size 32",
             reusenet_program(), test_dir(), test_acdc());
    assert_int_equal(run_command(cmd, eval, sizeof eval), 0);
    const char *mean = strstr(eval, "\nmean");
    assert_non_null(mean);
    const char *p = row;
    for (int k = 0; k < 9; k++) p = strchr(p, ',') + 1;          /* mean_dice: the 10th */
    double dice = strtod(mean + 5, NULL), logged = strtod(p, NULL);
    if (fabs(dice - logged) > 5e-5) fail_msg("eval %g, log %g", dice, logged);
    free(csv);
    /* resumed with more epochs: evaluated again, as epoch 3; then finished */
    snprintf(extra, sizeof extra, "--arch unet --epochs 3 --seed 6 --init-from %s/src/last.safetensors "
             "--freeze --resume", test_dir());
    assert_int_equal(train_tiny("all", extra, log, sizeof log), 0);
    assert_int_equal(train_tiny("all", extra, log, sizeof log), 0);
    csv = (char *)read_file_bytes(path_in(test_dir(), "all/log.csv"), NULL);
    row = strchr(csv, '\n') + 1;
    assert_int_equal(strncmp(row, "3,0,0.01,,", 10), 0);
    assert_string_equal(strchr(row, '\n'), "\n");
    free(csv);

    /* every tensor but the head's: the head alone changes */
    char list[16384] = "";
    for (int i = 0; i < a.count; i++) {
        if (!strncmp(a.entries[i].name, "head.", 5)) continue;
        if (list[0]) strcat(list, ",");
        strcat(list, a.entries[i].name);
    }
    snprintf(extra, sizeof extra, "--arch unet --epochs 1 --seed 6 --init-from %s/src/last.safetensors "
             "--freeze --params %s", test_dir(), list);
    assert_int_equal(train_tiny("head", extra, log, sizeof log), 0);
    assert_int_equal(safetensors_read(path_in(test_dir(), "head/last.safetensors"), &b), 0);
    for (int i = 0; i < a.count; i++) {
        const SafetensorsEntry *y = safetensors_find(&b, a.entries[i].name);
        bool same = !memcmp(a.entries[i].data, y->data, a.entries[i].nbytes);
        if (same != !!strncmp(a.entries[i].name, "head.", 5))
            fail_msg("%s: %s", a.entries[i].name, same ? "unchanged" : "changed");
    }
    safetensors_free(&a);
    safetensors_free(&b);
}

/* resume_log_keep on texts: the header and rows 1..E, each row's first field exactly its
 * epoch ("001" was read as 1 until fuzz_resume_log found it). */
static void test_log_rows_kept(void **state)
{
    (void)state;
    const char *log = "epoch,loss\n1,0.5\n2,0.4\n3,0.3";     /* row 3 cut by a kill */
    const size_t len = strlen(log);
    assert_int_equal(resume_log_keep(log, len, "log.csv", 0), 11);
    assert_int_equal(resume_log_keep(log, len, "log.csv", 1), 17);
    assert_int_equal(resume_log_keep(log, len, "log.csv", 2), 23);
    assert_int_equal(resume_log_keep(log, len, "log.csv", 3), -1);
    assert_string_equal(error_get(), "log.csv: has 2 finished epochs, the resume point is after epoch 3");
    static const struct { const char *text, *expect; } bad[] = {
        {"epoch,loss\n001,0.5\n", "log.csv: row 2 is not epoch 1's"},
        {"epoch,loss\n+1,0.5\n", "log.csv: row 2 is not epoch 1's"},
        {"epoch,loss\n1\n", "log.csv: row 2 is not epoch 1's"},
        {"epoch,loss\n2,0.5\n", "log.csv: row 2 is not epoch 1's"},
        {"epoch,loss\n", "log.csv: has 0 finished epochs"},
        {"step,loss\n1,0.5\n", "log.csv: not a log of epochs"},
        {"", "log.csv: not a log of epochs"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(resume_log_keep(bad[i].text, strlen(bad[i].text), "log.csv", 1), -1);
        if (strcmp(error_get(), bad[i].expect) && !strstr(error_get(), bad[i].expect))
            fail_msg("case %zu: %s", i, error_get());
    }
}

TEST_MAIN("train inputs", test_dir_with_acdc_setup, test_dir_teardown,
          test_resume_state_is_validated, test_nonfinite_init_is_refused,
          test_freeze_everything_evaluates, test_log_rows_kept)
