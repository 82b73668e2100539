/* reusenet (the MPI=1 build) under mpirun, against itself on one rank:
 *   train: one SGD step with the global batch split over 2 and 3 ranks (5, 5, 6 slices)
 *     gives the 1-rank weights within 1e-6 of the largest weight; 20 SGD steps with the
 *     Dice loss the 1-rank losses within 1e-4; 2 ranks twice the same bytes; a 2-rank run
 *     killed after its second epoch and resumed on 3 ranks keeps the 2-rank epochs
 *     and ends within 1e-4 of the uninterrupted run's losses;
 *   transfer on 2 ranks writes the serial table byte for byte, and rerun on 3 ranks after
 *     losing a run and the table trains only that run and writes the same bytes;
 *   ranks with other options or other data refuse to start, and a rank that fails stops
 *     the job with one line from rank 0 naming it, nothing written.
 * $MPIRUN (make test-mpi: mpirun --oversubscribe) starts the ranks. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "engine/safetensors.h"
#include "tests/testutil.h"

static const char *bin, *mpirun;
static char root[4096], data[4200];

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char out[65536];
static int run(const char *fmt, ...)
{
    char cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return run_command(cmd, out, sizeof out);
}

/* train on R ranks into ROOT/name with the common options plus `extra` */
static void train(int ranks, const char *name, const char *extra)
{
    int rc = run("%s -np %d %s train --arch unet --width 4 --data %s --size 32 --seed 3 "
                 "--threads 1 --quiet %s -o %s/%s", mpirun, ranks, bin, data, extra, root, name);
    if (rc) fail_msg("train %s on %d ranks failed:\n%s", name, ranks, out);
}

/* max |a - b| over every float tensor of two checkpoints, over max |a| */
static double weights_rel_diff(const char *run_a, const char *run_b)
{
    SafeTensors a, b;
    assert_int_equal(safetensors_read(path_in(root, "%s/last.safetensors", run_a), &a), 0);
    assert_int_equal(safetensors_read(path_in(root, "%s/last.safetensors", run_b), &b), 0);
    double worst = 0, scale = 0;
    for (int i = 0; i < a.count; i++) {
        const SafetensorsEntry *ea = &a.entries[i], *eb = safetensors_find(&b, ea->name);
        assert_non_null(eb);
        if (ea->dtype != SAFETENSORS_F32) continue;
        for (size_t j = 0; j < ea->count; j++) {
            float x, y;                      /* the data need not be aligned */
            memcpy(&x, ea->data + 4 * j, 4);
            memcpy(&y, eb->data + 4 * j, 4);
            worst = fmax(worst, fabs((double)x - y));
            scale = fmax(scale, fabs((double)x));
        }
    }
    safetensors_free(&a);
    safetensors_free(&b);
    return worst / scale;
}

/* train_loss and val_loss of every epoch of RUN/log.csv into loss[2*e], loss[2*e+1] */
static int read_losses(const char *run_name, double *loss, int max_epochs)
{
    FILE *f = fopen(path_in(root, "%s/log.csv", run_name), "r");
    assert_non_null(f);
    char line[4096];
    int e = 0;
    while (fgets(line, sizeof line, f))
        if (line[0] != 'e' && e < max_epochs &&
            sscanf(line, "%*d,%*d,%*g,%lf,%lf", &loss[2 * e], &loss[2 * e + 1]) == 2)
            e++;
    fclose(f);
    return e;
}

static void test_one_step_matches_one_rank(void **state)
{
    (void)state;
    /* SGD: the step is linear in the gradient. (Adam's first step is lr x sign(g), which
     * turns rounding in a gradient that should be 0, a conv bias before BN, into +-lr.) */
    const char *opts = "--batch 16 --epochs 1 --lr 0.1 --optimizer sgd --dice-loss --train-count 2";
    train(1, "step1", opts);
    train(2, "step2", opts);
    train(3, "step3", opts);
    double d2 = weights_rel_diff("step1", "step2"), d3 = weights_rel_diff("step1", "step3");
    print_message("one step: 2 ranks %.2g, 3 ranks %.2g of the largest weight\n", d2, d3);
    assert_true(d2 <= 1e-6 && d3 <= 1e-6);
}

#define TWENTY_STEPS "--batch 8 --epochs 10 --lr 0.001 --optimizer sgd --dice-loss --train-count 2"

static void test_twenty_steps_losses(void **state)
{
    (void)state;
    /* 16 training slices, batch 8: 2 steps an epoch, 10 epochs; log.csv's train_loss is
     * the mean of an epoch's 2 steps. Rounding differences grow along a trajectory (a
     * ReLU or max-pool that flips on a 1e-7 change): on this toy model single-process
     * OpenBLAS and BLIS runs, lr 0.01, differ by 6e-4 after 20 steps. At lr 0.001 the
     * first 10 steps hold 1e-4, all 20 steps 2e-4 (measured: 2 ranks equal to 6 digits,
     * 3 ranks 1.4e-4 at step 14). With Adam they drift apart faster, at 1 rank against
     * another as between any two summation orders: its early steps are nearly
     * lr x sign(g), so a gradient that is 0 but for rounding (a conv bias in front of BN)
     * takes +-lr steps, and such a bias, invisible to train-mode BN, enters its running
     * mean. */
    const char *opts = TWENTY_STEPS;
    train(1, "adam1", opts);
    train(3, "adam3", opts);
    train(2, "adam2", opts);
    train(2, "adam2b", opts);
    assert_files_equal(path_in(root, "adam2/log.csv"), path_in(root, "adam2b/log.csv"));
    assert_files_equal(path_in(root, "adam2/resume.safetensors"),
                       path_in(root, "adam2b/resume.safetensors"));
    double l1[20], l2[20], l3[20];
    assert_int_equal(read_losses("adam1", l1, 10), 10);
    assert_int_equal(read_losses("adam2", l2, 10), 10);
    assert_int_equal(read_losses("adam3", l3, 10), 10);
    double first = 0, all = 0;          /* over the first 5 epochs, over all 10 */
    for (int i = 0; i < 20; i++) {
        double d = fmax(fabs(l2[i] - l1[i]), fabs(l3[i] - l1[i]));
        all = fmax(all, d);
        if (i < 10) first = fmax(first, d);
    }
    print_message("losses within %.2g of 1 rank's over 10 steps, %.2g over 20\n", first, all);
    assert_true(first <= 1e-4 && all <= 2e-4);
}

/* Start a 2-rank run, stop it (SIGTERM to mpirun, which ends its ranks) once its second
 * epoch's resume point exists, then resume it on 3 ranks. */
static void test_resume_on_other_ranks(void **state)
{
    (void)state;
    const char *opts = TWENTY_STEPS;
    char cmd[16384], resume[8192];
    snprintf(cmd, sizeof cmd, "exec %s -np 2 %s train --arch unet --width 4 --data %s --size 32 "
             "--seed 3 --threads 1 --quiet %s -o %s/killed", mpirun, bin, data, opts, root);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    snprintf(resume, sizeof resume, "%s", path_in(root, "killed/resume.safetensors"));
    for (int tries = 0; tries < 6000; tries++) {
        SafeTensors st;
        if (safetensors_read(resume, &st) == 0) {
            const char *e = safetensors_meta(&st, "epoch");
            int epoch = e ? atoi(e) : 0;
            safetensors_free(&st);
            if (epoch >= 2) break;
        }
        usleep(10000);
    }
    kill(pid, SIGTERM);
    int status;
    waitpid(pid, &status, 0);
    double before[20], after[20], whole[20];
    int kept = read_losses("killed", before, 10);
    print_message("stopped after %d epochs; resuming on 3 ranks\n", kept);
    assert_true(kept >= 2);
    char resumed[512];
    snprintf(resumed, sizeof resumed, "%s --resume", opts);
    train(3, "killed", resumed);
    assert_int_equal(read_losses("killed", after, 10), 10);
    assert_int_equal(read_losses("adam2", whole, 10), 10);
    /* the first 2 epochs were the 2-rank run's (a row past the resume point is redone) */
    for (int i = 0; i < 2 * 2; i++) assert_true(after[i] == whole[i]);
    for (int i = 0; i < 20; i++) assert_true(fabs(after[i] - whole[i]) <= 1e-4);
}

static void write_study(const char *name)
{
    char p[8192];
    snprintf(p, sizeof p, "%s/%s", root, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fprintf(f, "target: %s\narch: unet\nwidth: 4\nn: 1 2\nseeds: 2\nsubsets: per-seed\n"
               "configs: random, random frozen encoder\nepochs: 1\nbatch: 4\nsize: 32\nlr: 0.01\n",
            data);
    fclose(f);
}

static void test_transfer_table_equals_serial(void **state)
{
    (void)state;
    write_study("study.cfg");
    assert_int_equal(run("%s transfer --config %s/study.cfg -o %s/serial --threads 1 --quiet",
                         bin, root, root), 0);
    assert_int_equal(run("%s -np 2 %s transfer --config %s/study.cfg -o %s/grid --threads 1",
                         mpirun, bin, root, root), 0);
    char a[8192], b[8192];
    static const char *const files[3] = {"table.csv", "table.md", "runs.csv"};
    for (int i = 0; i < 3; i++) {
        const char *file = files[i];
        snprintf(a, sizeof a, "%s/serial/transfer/%s", root, file);
        snprintf(b, sizeof b, "%s/grid/transfer/%s", root, file);
        assert_files_equal(a, b);
    }
    /* lose one run and the table; 3 ranks redo that run only */
    assert_int_equal(run("rm -r %s/grid/transfer/runs/n2-random-s1-d1 %s/grid/transfer/table.csv "
                         "%s/grid/transfer/table.md", root, root, root), 0);
    assert_int_equal(run("%s -np 3 %s transfer --config %s/study.cfg -o %s/grid --threads 1",
                         mpirun, bin, root, root), 0);
    assert_non_null(strstr(out, "n1-random-s1-d1: finished, skipped"));
    assert_null(strstr(out, "n2-random-s1-d1: finished"));
    for (int i = 0; i < 3; i++) {
        const char *file = files[i];
        snprintf(a, sizeof a, "%s/serial/transfer/%s", root, file);
        snprintf(b, sizeof b, "%s/grid/transfer/%s", root, file);
        assert_files_equal(a, b);
    }
}

/* Two programs in one job (MPMD): rank 0 runs `a`, rank 1 `b`, in working folders wa, wb. */
static int run_mpmd(const char *wa, const char *a, const char *wb, const char *b)
{
    return run("%s -np 1 --wdir %s %s train --arch unet --width 4 --size 32 --batch 4 "
               "--epochs 1 --lr 0.01 --threads 1 --quiet %s -o %s/mpmd : -np 1 --wdir %s %s "
               "train --arch unet --width 4 --size 32 --batch 4 --epochs 1 --lr 0.01 "
               "--threads 1 --quiet %s -o %s/mpmd", mpirun, wa, bin, a, root, wb, bin, b, root);
}

/* How often `what` occurs in out. */
static int count_in_out(const char *what)
{
    int n = 0;
    for (const char *p = out; (p = strstr(p, what)); p += strlen(what)) n++;
    return n;
}

static void test_mismatched_or_failing_ranks_stop(void **state)
{
    (void)state;
    char wa[4200], wb[4200], opt[8192], opt_b[8300], p[8300];
    snprintf(wa, sizeof wa, "%s/wa", root);
    snprintf(wb, sizeof wb, "%s/wb", root);
    assert_int_equal(run("mkdir -p %s %s", wa, wb), 0);
    snprintf(p, sizeof p, "%s/mpmd/config.json", root);
    /* other options */
    snprintf(opt, sizeof opt, "--data %s", data);
    snprintf(opt_b, sizeof opt_b, "%s --seed 9", opt);
    assert_int_not_equal(run_mpmd(wa, opt, wb, opt_b), 0);
    assert_non_null(strstr(out, "reusenet train: rank 1: its configuration"));
    assert_int_equal(count_in_out("reusenet train:"), 1);
    /* the same --data path (relative), other data on rank 1 */
    snprintf(opt, sizeof opt, "%s/d", wa);
    test_synth("acdc", 6, 32, 4, 1, opt);
    snprintf(opt, sizeof opt, "%s/d", wb);
    test_synth("acdc", 6, 32, 4, 2, opt);
    assert_int_not_equal(run_mpmd(wa, "--data d", wb, "--data d"), 0);
    assert_non_null(strstr(out, "reusenet train: rank 1: its data"));
    assert_int_equal(count_in_out("reusenet train:"), 1);
    /* rank 1 cannot read its data: it fails, rank 0 says so, and stops too */
    assert_int_equal(run("mv %s/d %s/d2", wa, wa), 0);
    assert_int_not_equal(run_mpmd(wa, "--data d2", wb, "--data d2"), 0);
    assert_non_null(strstr(out, "reusenet train: rank 1: d2"));
    assert_int_equal(count_in_out("reusenet train:"), 1);
    struct stat sb;
    assert_int_not_equal(stat(p, &sb), 0);            /* nothing written */
}

int main(int argc, char **argv)
{
    (void)argc;
    static char abs_bin[4096];            /* absolute: MPMD ranks start in other folders */
    if (!realpath(reusenet_program(), abs_bin)) {
        fprintf(stderr, "%s: not found\n", reusenet_program());
        return 1;
    }
    bin = abs_bin;
    mpirun = getenv("MPIRUN") ? getenv("MPIRUN") : "mpirun --oversubscribe";
    (void)argv;
    char *dir = make_temp_dir("mpi-cli");
    snprintf(root, sizeof root, "%s", dir);
    free(dir);
    snprintf(data, sizeof data, "%s/acdc", root);
    test_synth("acdc", 6, 32, 4, 1, data);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_step_matches_one_rank),
        cmocka_unit_test(test_twenty_steps_losses),
        cmocka_unit_test(test_resume_on_other_ranks),
        cmocka_unit_test(test_transfer_table_equals_serial),
        cmocka_unit_test(test_mismatched_or_failing_ranks_stop),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (!failed) remove_tree(root);
    return failed;
}
