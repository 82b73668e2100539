/* Training runs end to end on a tiny synthetic dataset (UNet F=4, 32x32 slices):
 * loss falls; same seed -> identical files; a run killed mid-way and resumed ends with the
 * same weights as an uninterrupted one; frozen tensors (weights and BN statistics) stay
 * bitwise unchanged; --init-from names a missing or mis-shaped tensor; an exploding
 * learning rate stops with the NaN message and leaves a loadable checkpoint; --val-every
 * validates every K-th epoch and the last, leaving the other rows' validation cells
 * empty, with the same weights; --freeze-encoder keeps the encoder's learned tensors at
 * their initialisation while its BN statistics follow the data; --resume removes the
 * temporary files a killed run left, and only those. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/safetensors.h"
#include "models/checkpoint.h"
#include "tests/testutil.h"


/* Mean training loss of each epoch from RUN/log.csv (column 4). */
static int read_losses(const char *run, double *loss, int max)
{
    size_t len;
    char *csv = (char *)read_file_bytes(path_in(test_dir(), "%s/log.csv", run), &len);
    if (!csv) return 0;
    csv[len] = '\0';
    int n = 0;
    for (char *line = strchr(csv, '\n'); line && line[1] && n < max; line = strchr(line + 1, '\n')) {
        int ep;
        long long st;
        double lr;
        if (sscanf(line + 1, "%d,%lld,%lf,%lf", &ep, &st, &lr, &loss[n]) == 4) n++;
    }
    free(csv);
    return n;
}

static void test_loss_falls(void **state)
{
    (void)state;
    static const char *const runs[4][2] = {
        {"unet-seg", "--arch unet --task seg"}, {"unet-auto", "--arch unet --task auto"},
        {"psp-seg", "--arch pspnet --task seg"}, {"psp-auto", "--arch pspnet --task auto"}};
    for (int i = 0; i < 4; i++) {
        char log[8192], extra[512];
        snprintf(extra, sizeof extra, "%s --epochs 3 --seed 5", runs[i][1]);
        assert_int_equal(train_tiny(runs[i][0], extra, log, sizeof log), 0);
        double loss[3];
        assert_int_equal(read_losses(runs[i][0], loss, 3), 3);
        print_message("%s: epoch losses %.4f %.4f %.4f\n", runs[i][0], loss[0], loss[1], loss[2]);
        assert_true(loss[2] < 0.9 * loss[0]);
    }
}

static void test_same_seed_same_files(void **state)
{
    (void)state;
    char log[8192];
    assert_int_equal(train_tiny("a", "--arch unet --epochs 2 --seed 5", log, sizeof log), 0);
    assert_int_equal(train_tiny("b", "--arch unet --epochs 2 --seed 5", log, sizeof log), 0);
    assert_files_equal(path_in(test_dir(), "a/last.safetensors"),
                       path_in(test_dir(), "b/last.safetensors"));
    assert_files_equal(path_in(test_dir(), "a/best.safetensors"),
                       path_in(test_dir(), "b/best.safetensors"));
    /* a different seed gives different weights */
    assert_int_equal(train_tiny("c", "--arch unet --epochs 2 --seed 6", log, sizeof log), 0);
    size_t l1, l2;
    unsigned char *x = read_file_bytes(path_in(test_dir(), "c/last.safetensors"), &l1);
    unsigned char *y = read_file_bytes(path_in(test_dir(), "a/last.safetensors"), &l2);
    assert_true(l1 != l2 || memcmp(x, y, l1));
    free(x);
    free(y);
}

static void test_resume_after_kill(void **state)
{
    (void)state;
    char log[8192], cmd[8192];
    assert_int_equal(train_tiny("full", "--arch unet --epochs 4 --seed 7", log, sizeof log), 0);
    snprintf(cmd, sizeof cmd, "%s/killed", test_dir());
    pid_t pid = fork();
    if (pid == 0) {
        execl(reusenet_program(), reusenet_program(), "train", "--arch", "unet", "--width", "4", "--data", test_acdc(), "--size",
              "32", "--batch", "4", "--lr", "0.01", "--threads", "2", "--quiet", "-o", cmd,
              "--epochs", "4", "--seed", "7", (char *)NULL);
        _exit(127);
    }
    /* kill it as soon as the first epoch's resume point exists */
    struct stat sb;
    for (int i = 0; i < 6000 && stat(path_in(test_dir(), "killed/resume.safetensors"), &sb); i++)
        usleep(10000);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    /* the temporaries a killed writer leaves (this one's pid is dead now) go on --resume;
     * a live process's stay */
    char stale[256], live[256];
    snprintf(stale, sizeof stale, ".last.safetensors.tmp.%ld.42", (long)pid);
    snprintf(live, sizeof live, ".best.safetensors.tmp.%ld.42", (long)getpid());
    snprintf(cmd, sizeof cmd, "head -c 1000 /dev/zero > %s && touch %s",
             path_in(test_dir(), "killed/%s", stale), path_in(test_dir(), "killed/%s", live));
    assert_int_equal(run_command(cmd, log, sizeof log), 0);
    assert_int_equal(train_tiny("killed", "--arch unet --epochs 4 --seed 7 --resume", log, sizeof log), 0);
    assert_int_not_equal(access(path_in(test_dir(), "killed/%s", stale), F_OK), 0);
    assert_int_equal(access(path_in(test_dir(), "killed/%s", live), F_OK), 0);
    snprintf(cmd, sizeof cmd, "ls -a %s | grep -c '[.]tmp[.]'", path_in(test_dir(), "killed"));
    run_command(cmd, log, sizeof log);
    assert_int_equal(atoi(log), 1);                     /* only the live one */
    unlink(path_in(test_dir(), "killed/%s", live));
    assert_files_equal(path_in(test_dir(), "full/last.safetensors"),
                       path_in(test_dir(), "killed/last.safetensors"));
    /* without --resume an existing run is refused */
    assert_int_not_equal(train_tiny("killed", "--arch unet --epochs 4 --seed 7", log, sizeof log), 0);
    assert_non_null(strstr(log, "--resume"));
}

static void test_frozen_tensors_stay_unchanged(void **state)
{
    (void)state;
    char log[8192], extra[8192];
    assert_int_equal(train_tiny("src", "--arch unet --epochs 1 --seed 11", log, sizeof log), 0);
    const char *frozen = "enc1.conv1.weight,enc1.bn1.weight,enc1.bn1.running_mean,"
                         "enc1.bn1.running_var,dec1.conv2.bias";
    snprintf(extra, sizeof extra, "--arch unet --epochs 2 --seed 12 --init-from %s --params %s --freeze",
             path_in(test_dir(), "src/last.safetensors"), frozen);
    assert_int_equal(train_tiny("frozen", extra, log, sizeof log), 0);
    SafeTensors a, b;
    assert_int_equal(safetensors_read(path_in(test_dir(), "src/last.safetensors"), &a), 0);
    assert_int_equal(safetensors_read(path_in(test_dir(), "frozen/last.safetensors"), &b), 0);
    const char *names[] = {"enc1.conv1.weight", "enc1.bn1.weight", "enc1.bn1.running_mean",
                           "enc1.bn1.running_var", "dec1.conv2.bias", "enc1.conv2.weight",
                           "enc1.bn1.bias"};
    for (int i = 0; i < 7; i++) {
        const SafetensorsEntry *x = safetensors_find(&a, names[i]), *y = safetensors_find(&b, names[i]);
        assert_non_null(x);
        assert_non_null(y);
        bool same = x->nbytes == y->nbytes && !memcmp(x->data, y->data, x->nbytes);
        if (i < 5) assert_true(same);          /* loaded and frozen */
        else assert_false(same);               /* trained (or freshly initialised) */
    }
    safetensors_free(&a);
    safetensors_free(&b);
}

/* The lines of RUN/log.csv (header first) into lines[], at most max; their count. */
static int read_log_lines(const char *run, char lines[][512], int max)
{
    FILE *f = fopen(path_in(test_dir(), "%s/log.csv", run), "r");
    if (!f) return 0;
    int n = 0;
    for (; n < max && fgets(lines[n], 512, f); n++) lines[n][strcspn(lines[n], "\n")] = '\0';
    fclose(f);
    return n;
}

static int commas(const char *line)
{
    int n = 0;
    for (; *line; line++) n += *line == ',';
    return n;
}

static void test_val_every_validates_every_kth_and_the_last(void **state)
{
    (void)state;
    char log[8192];
    assert_int_equal(train_tiny("every", "--arch unet --epochs 5 --seed 9", log, sizeof log), 0);
    assert_int_equal(train_tiny("k2", "--arch unet --epochs 5 --seed 9 --val-every 2", log, sizeof log), 0);
    char all[8][512], some[8][512];
    assert_int_equal(read_log_lines("every", all, 8), 6);
    assert_int_equal(read_log_lines("k2", some, 8), 6);
    assert_string_equal(all[0], some[0]);                 /* the same columns */
    for (int e = 1; e <= 5; e++) {
        const bool validated = e % 2 == 0 || e == 5;
        if (validated) {
            assert_string_equal(all[e], some[e]);         /* the same numbers */
        } else {
            /* epoch, step, lr and train loss as before, then only empty cells */
            const char *comma = all[e];
            for (int i = 0; i < 4; i++) comma = strchr(comma, ',') + 1;
            assert_memory_equal(all[e], some[e], (size_t)(comma - all[e]));
            for (const char *p = some[e] + (comma - all[e]); *p; p++) assert_int_equal(*p, ',');
            assert_int_equal(commas(some[e]), commas(all[0]));   /* every cell there */
        }
    }
    /* validating fewer epochs changes no weight */
    assert_files_equal(path_in(test_dir(), "every/last.safetensors"), path_in(test_dir(), "k2/last.safetensors"));
    assert_int_not_equal(train_tiny("bad", "--arch unet --epochs 2 --val-every -3", log, sizeof log), 0);
    assert_non_null(strstr(log, "--val-every"));
}

static void test_freeze_encoder_keeps_its_initialisation(void **state)
{
    (void)state;
    char log[8192], cmd[8192];
    assert_int_equal(train_tiny("fenc", "--arch unet --epochs 2 --seed 13 --freeze-encoder", log, sizeof log), 0);
    snprintf(cmd, sizeof cmd, "%s init --arch unet --width 4 --seed 13 -o %s", reusenet_program(),
             path_in(test_dir(), "init13.safetensors"));
    assert_int_equal(run_command(cmd, log, sizeof log), 0);
    SafeTensors a, b;
    assert_int_equal(safetensors_read(path_in(test_dir(), "init13.safetensors"), &a), 0);
    assert_int_equal(safetensors_read(path_in(test_dir(), "fenc/last.safetensors"), &b), 0);
    /* UNet's encoder is enc1..enc4: its learned tensors stay, its BN running statistics
     * follow the data; the bottom and decoder train */
    const char *names[] = {"enc1.conv1.weight", "enc2.bn1.weight", "enc4.conv2.bias",
                           "enc4.bn2.bias", "enc2.bn1.running_mean", "enc4.bn2.running_var",
                           "bottom.conv1.weight", "dec1.conv2.weight", "bottom.bn1.running_var"};
    for (int i = 0; i < 9; i++) {
        const SafetensorsEntry *x = safetensors_find(&a, names[i]), *y = safetensors_find(&b, names[i]);
        assert_non_null(x);
        assert_non_null(y);
        bool same = x->nbytes == y->nbytes && !memcmp(x->data, y->data, x->nbytes);
        if (same != (i < 4)) fail_msg("%s: %s", names[i], same ? "unchanged" : "changed");
    }
    safetensors_free(&a);
    safetensors_free(&b);
}

static void test_init_from_errors_name_the_tensor(void **state)
{
    (void)state;
    char log[8192], extra[8192], cmd[8192];
    /* a width-8 model does not fit a width-4 run: the first mis-shaped tensor is named */
    snprintf(cmd, sizeof cmd, "%s init --arch unet --width 8 --seed 1 -o %s/w8.safetensors", reusenet_program(), test_dir());
    assert_int_equal(run_command(cmd, log, sizeof log), 0);
    snprintf(extra, sizeof extra, "--arch unet --epochs 1 --init-from %s/w8.safetensors", test_dir());
    assert_int_equal(train_tiny("bad1", extra, log, sizeof log), 1);
    assert_non_null(strstr(log, "tensor 'enc1.conv1.weight' has shape"));
    /* a listed tensor the source lacks */
    snprintf(cmd, sizeof cmd, "%s init --arch unet --width 4 --seed 1 -o %s/w4.safetensors", reusenet_program(), test_dir());
    assert_int_equal(run_command(cmd, log, sizeof log), 0);
    snprintf(extra, sizeof extra, "--arch unet --epochs 1 --init-from %s/w4.safetensors --params enc1.conv9.weight", test_dir());
    assert_int_equal(train_tiny("bad2", extra, log, sizeof log), 1);
    assert_non_null(strstr(log, "enc1.conv9.weight"));
}

static void test_exploding_lr_stops_with_a_message(void **state)
{
    (void)state;
    char log[8192], cmd[8192];
    /* one good epoch, then resume the same run at a huge learning rate */
    assert_int_equal(train_tiny("nan", "--arch unet --epochs 1 --seed 3 --optimizer sgd --momentum 0.9", log, sizeof log), 0);
    snprintf(cmd, sizeof cmd, "%s train --arch unet --width 4 --data %s --size 32 --batch 4 "
             "--lr 1e30 --schedule none --optimizer sgd --threads 2 --quiet -o %s/nan "
             "--epochs 3 --seed 3 --resume", reusenet_program(), test_acdc(), test_dir());
    assert_int_equal(run_command(cmd, log, sizeof log), 1);
    assert_non_null(strstr(log, "is not finite"));
    assert_non_null(strstr(log, "step "));
    Model m;
    assert_int_equal(checkpoint_load(&m, path_in(test_dir(), "nan/last.safetensors")), 0);
    model_free(&m);
}

TEST_MAIN("train", test_dir_with_acdc_setup, test_dir_teardown,
          test_loss_falls, test_same_seed_same_files, test_resume_after_kill,
          test_frozen_tensors_stay_unchanged, test_val_every_validates_every_kth_and_the_last,
          test_freeze_encoder_keeps_its_initialisation, test_init_from_errors_name_the_tensor,
          test_exploding_lr_stops_with_a_message)
