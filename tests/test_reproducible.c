/* The same bits whatever the threads do (README "What the bits depend on").
 *
 * Every convolution path (per image in panels of rows, batched, 1x1, dx by col2im or as
 * a convolution, Winograd F(2x2, 3x3) in panels and whole-batch, F(4x4, 3x3), dilated
 * through polyphase sub-images), forward, dx, dw and db, at 1, 2 and 3 threads and at 2
 * threads while another thread keeps a core busy (a busy core changes which thread takes
 * which piece of work), compared bitwise; the shapes have more images and panels than
 * threads. Then short training runs of both architectures, at sizes that reach those
 * paths, compared bitwise across repetitions and thread counts, and runs killed with
 * SIGKILL (mid-epoch, and while a checkpoint is being written) and resumed, at another
 * thread count, compared bitwise with the uninterrupted run; evaluation and a swap scan at
 * 1, 2 and 3 threads. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/blas.h"
#include "engine/conv2d.h"
#include "engine/winograd.h"
#include "tests/testutil.h"

/* ---- convolutions ---------------------------------------------------------------------- */

typedef struct ConvCase {
    const char *path;
    int n, c, h, w, o, k, stride, pad, dilation;
    bool bias;
} ConvCase;

/* Outputs of one forward and one backward pass (dx, dw, db accumulate onto fixed values,
 * as the tape's gradients do). */
typedef struct ConvOut {
    float *y, *dx, *dw, *db;
} ConvOut;

static ConvOut conv_run(const ConvCase *cc, int threads)
{
    const Conv2dShape s = conv2d_shape(cc->n, cc->c, cc->h, cc->w, cc->o, cc->k, cc->k,
                                       cc->stride, cc->pad, cc->dilation);
    const size_t nx = (size_t)s.n * s.c * s.h * s.w, nw = (size_t)s.o * s.c * s.kh * s.kw;
    const size_t ny = (size_t)s.n * s.o * s.oh * s.ow;
    float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc((size_t)s.o * 4);
    float *dy = malloc(ny * 4), *work = malloc(conv2d_workspace_floats(&s) * 4);
    ConvOut r = {malloc(ny * 4), malloc(nx * 4), malloc(nw * 4), malloc((size_t)s.o * 4)};
    fill_uniform(x, nx, -1, 1, 1);
    fill_uniform(w, nw, -1, 1, 2);
    fill_uniform(b, (size_t)s.o, -1, 1, 3);
    fill_uniform(dy, ny, -1, 1, 4);
    fill_uniform(r.dx, nx, -1, 1, 5);
    fill_uniform(r.dw, nw, -1, 1, 6);
    fill_uniform(r.db, (size_t)s.o, -1, 1, 7);
    engine_set_threads(threads);
    conv2d_forward(&s, x, w, cc->bias ? b : NULL, r.y, work);
    conv2d_backward(&s, x, w, dy, r.dx, r.dw, cc->bias ? r.db : NULL, work);
    free(x), free(w), free(b), free(dy), free(work);
    return r;
}

static void conv_out_free(ConvOut *r) { free(r->y), free(r->dx), free(r->dw), free(r->db); }

static bool same(const float *a, const float *b, size_t n, const char *what,
                 const ConvCase *cc, const char *run)
{
    if (!memcmp(a, b, n * sizeof(float))) return true;
    size_t i = 0;
    while (!memcmp(a + i, b + i, sizeof(float))) i++;
    print_message("%s (%s): %s differs from 1 thread at [%zu]: %.9g vs %.9g\n", cc->path, run,
                  what, i, a[i], b[i]);
    return false;
}

static void test_conv_paths_same_bits(void **state)
{
    (void)state;
    if (!test_may_use_threads()) skip();
    static const ConvCase cases[] = {
        /* per image, panels of rows; dx as a convolution */
        {"per image 5x5", 6, 4, 64, 64, 8, 5, 1, 2, 1, true},
        /* per image, dx by col2im (stride 2) */
        {"per image stride 2", 5, 3, 130, 98, 8, 3, 2, 1, 1, false},
        /* per image 1x1, 17 images: more than the 16 pieces of reduce.h */
        {"pointwise", 17, 16, 16, 16, 32, 1, 1, 0, 1, true},
        /* batched: small maps */
        {"batched", 6, 8, 16, 16, 12, 3, 2, 1, 1, true},
        /* Winograd F(2x2, 3x3), several panels per image */
        {"winograd panels", 5, 8, 64, 48, 16, 3, 1, 1, 1, true},
        /* Winograd whole-batch GEMMs (16 O C >= 2^18) */
        {"winograd whole batch", 3, 128, 16, 16, 128, 3, 1, 1, 1, false},
        /* dilated Winograd through polyphase sub-images, panels */
        {"polyphase panels", 4, 8, 48, 48, 16, 3, 1, 2, 2, false},
        /* F(4x4, 3x3) on dilated sub-images (128 tiles) */
        {"winograd 4x4", 8, 128, 16, 16, 128, 3, 1, 2, 2, false},
    };
    bool all = true;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const ConvCase *cc = &cases[i];
        const Conv2dShape s = conv2d_shape(cc->n, cc->c, cc->h, cc->w, cc->o, cc->k, cc->k,
                                           cc->stride, cc->pad, cc->dilation);
        const size_t nx = (size_t)s.n * s.c * s.h * s.w, nw = (size_t)s.o * s.c * s.kh * s.kw;
        const size_t ny = (size_t)s.n * s.o * s.oh * s.ow;
        /* each case takes the path it is named for */
        const bool wino = conv2d_uses_winograd(&s);
        assert_int_equal(wino, strncmp(cc->path, "winograd", 8) == 0 ||
                                   strncmp(cc->path, "polyphase", 9) == 0);
        assert_int_equal(winograd_uses_f4x4(&s), strcmp(cc->path, "winograd 4x4") == 0);
        if (!wino)
            assert_int_equal(conv2d_batches_images(&s), strcmp(cc->path, "batched") == 0);
        ConvOut ref = conv_run(cc, 1);
        for (int run = 0; run < 3; run++) {
            const int threads = run == 0 ? 2 : run == 1 ? 3 : 2;
            if (run == 2) busy_core_start();
            ConvOut got = conv_run(cc, threads);
            if (run == 2) busy_core_stop();
            const char *name = run == 0 ? "2 threads" : run == 1 ? "3 threads" : "2 threads, busy core";
            all &= same(ref.y, got.y, ny, "y", cc, name);
            all &= same(ref.dx, got.dx, nx, "dx", cc, name);
            all &= same(ref.dw, got.dw, nw, "dw", cc, name);
            all &= same(ref.db, got.db, (size_t)s.o, "db", cc, name);
            conv_out_free(&got);
        }
        conv_out_free(&ref);
    }
    engine_set_threads(0);
    assert_true(all);
}

/* ---- training runs ------------------------------------------------------------------- */

static const char *root;      /* the program's temporary folder (test_dir) */
static char data[2048];
static const char *bin;

static int setup(void **state)
{
    if (test_dir_setup(state)) return -1;
    bin = reusenet_program();
    root = test_dir();
    snprintf(data, sizeof data, "%s/acdc", root);
    test_synth("acdc", 5, 72, 4, 3, data);
    return 0;
}

/* The options of every run of this file but the threads and the output: sizes at which
 * UNet F=8 reaches the per-image, batched and Winograd paths and PSPNet its dilated and
 * 1x1 ones; batch 3, which 2 threads do not divide (the BLAS then threads each GEMM). */
static void run_args(const char *arch, int epochs, char *out, size_t len)
{
    snprintf(out, len, "train --arch %s --width 8 --data %s --size 64 --batch 3 --epochs %d "
             "--lr 0.003 --seed 4 --quiet", arch, data, epochs);
}

static int train(const char *arch, int epochs, int threads, const char *run, const char *extra)
{
    char args[4096], cmd[12288], log[8192];
    run_args(arch, epochs, args, sizeof args);
    snprintf(cmd, sizeof cmd, "%s %s --threads %d -o %s/%s %s", bin, args, threads, root,
             run, extra);
    const int rc = run_command(cmd, log, sizeof log);
    if (rc) print_message("%s\n%s\n", cmd, log);
    return rc;
}

/* Every result file of two runs: weights, the resume state (optimizer and progress), the
 * epoch log. */
static bool same_results(const char *a, const char *b)
{
    static const char *const files[] = {"last.safetensors", "best.safetensors",
                                        "resume.safetensors", "log.csv"};
    bool eq = true;
    for (int i = 0; i < 4; i++) {
        const char *x = path_in(root, "%s/%s", a, files[i]);
        const char *y = path_in(root, "%s/%s", b, files[i]);
        if (!files_equal(x, y)) {
            print_message("%s and %s differ\n", x, y);
            eq = false;
        }
    }
    return eq;
}

static void test_training_same_bits_any_thread_count(void **state)
{
    (void)state;
    if (!test_may_use_threads()) skip();
    static const char *const arch[] = {"unet", "pspnet"};
    for (int a = 0; a < 2; a++) {
        char r1[64], r2[64], r2b[64], r3[64];
        snprintf(r1, sizeof r1, "%s-t1", arch[a]);
        snprintf(r2, sizeof r2, "%s-t2", arch[a]);
        snprintf(r2b, sizeof r2b, "%s-t2-again", arch[a]);
        snprintf(r3, sizeof r3, "%s-t3", arch[a]);
        assert_int_equal(train(arch[a], 2, 1, r1, ""), 0);
        assert_int_equal(train(arch[a], 2, 2, r2, ""), 0);
        assert_int_equal(train(arch[a], 2, 2, r2b, ""), 0);
        assert_int_equal(train(arch[a], 2, 3, r3, ""), 0);
        assert_true(same_results(r2, r2b));
        assert_true(same_results(r1, r2));
        assert_true(same_results(r1, r3));
    }
}

/* Evaluation and a swap scan of a trained model (against a fresh one as the source) print
 * and write the same bytes at 1, 2 and 3 threads. Needs the runs of the test above. */
static void test_eval_and_swap_same_bits_any_thread_count(void **state)
{
    (void)state;
    if (!test_may_use_threads()) skip();
    char cmd[16384], out[3][8192];
    snprintf(cmd, sizeof cmd, "%s init --arch unet --width 8 --seed 9 -o %s/source.safetensors",
             bin, root);
    assert_int_equal(run_command(cmd, out[0], sizeof out[0]), 0);
    for (int t = 1; t <= 3; t++) {
        snprintf(cmd, sizeof cmd, "%s eval --weights %s --data %s --size 64 --threads %d",
                 bin, path_in(root, "unet-t1/last.safetensors"), data, t);
        assert_int_equal(run_command(cmd, out[t - 1], sizeof out[t - 1]), 0);
        snprintf(cmd, sizeof cmd, "%s swap --target %s --source %s/source.safetensors "
                 "--data %s --size 64 --batch 5 --threads %d -o %s/scan%d.csv", bin,
                 path_in(root, "unet-t1/last.safetensors"), root, data, t, root, t);
        char log[8192];
        assert_int_equal(run_command(cmd, log, sizeof log), 0);
    }
    assert_string_equal(out[0], out[1]);
    assert_string_equal(out[0], out[2]);
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s/scan1.csv", root);
    for (int t = 2; t <= 3; t++) {
        snprintf(b, sizeof b, "%s/scan%d.csv", root, t);
        assert_files_equal(a, b);
    }
}

enum { KILL_EPOCHS = 6 };

/* A temporary file of an atomic write by process pid in the run folder (atomic_file.c
 * names them ".NAME.tmp.PID.N"; a killed run leaves its own behind): pid is writing a
 * checkpoint. */
static bool writing_checkpoint(const char *run, pid_t pid)
{
    char dir[4096], tag[64];
    snprintf(dir, sizeof dir, "%s/%s", root, run);
    snprintf(tag, sizeof tag, ".safetensors.tmp.%ld.", (long)pid);
    DIR *d = opendir(dir);
    if (!d) return false;
    bool found = false;
    for (struct dirent *e; !found && (e = readdir(d));) found = strstr(e->d_name, tag) != NULL;
    closedir(d);
    return found;
}

/* Start the run (resuming it when it has a resume point), kill it with SIGKILL while it
 * writes a checkpoint (at_checkpoint) or after `micros`, and wait for it. */
static void start_and_kill(const char *run, int threads, bool at_checkpoint, long micros)
{
    char args[4096], cmd[12288];
    run_args("unet", KILL_EPOCHS, args, sizeof args);
    snprintf(cmd, sizeof cmd, "exec %s %s --threads %d -o %s/%s %s", bin, args, threads, root,
             run, access(path_in(root, "%s/resume.safetensors", run), F_OK) == 0 ? "--resume" : "");
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    for (long waited = 0; waited < 60 * 1000000L; waited += 200) {
        if (at_checkpoint ? writing_checkpoint(run, pid) : waited >= micros) break;
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            print_message("%s finished before it was killed\n", run);
            return;
        }
        usleep(200);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    size_t len = 0;
    unsigned char *log = read_file_bytes(path_in(root, "%s/log.csv", run), &len);
    int rows = -1;
    for (size_t i = 0; i < len; i++) rows += log[i] == '\n';
    free(log);
    print_message("killed %s (%d threads) %s: %d epochs logged\n", run, threads,
                  at_checkpoint ? "writing a checkpoint" : "after a delay", rows);
}

static void test_killed_and_resumed_same_bits(void **state)
{
    (void)state;
    if (!test_may_use_threads()) skip();
    assert_int_equal(train("unet", KILL_EPOCHS, 2, "whole", ""), 0);
    /* killed while a checkpoint is written, at 2 threads; then resumed at 1 and killed
     * mid-epoch; at 3 and killed while writing again; at 2 and killed mid-epoch; then
     * resumed at 1 thread to the end */
    start_and_kill("killed", 2, true, 0);
    start_and_kill("killed", 1, false, 250000);
    start_and_kill("killed", 3, true, 0);
    start_and_kill("killed", 2, false, 250000);
    const char *extra = access(path_in(root, "killed/resume.safetensors"), F_OK) == 0 ? "--resume" : "";
    assert_int_equal(train("unet", KILL_EPOCHS, 1, "killed", extra), 0);
    assert_true(same_results("whole", "killed"));
}

TEST_MAIN("reproducible", setup, test_dir_teardown,
          test_conv_paths_same_bits, test_training_same_bits_any_thread_count,
          test_eval_and_swap_same_bits_any_thread_count, test_killed_and_resumed_same_bits)
