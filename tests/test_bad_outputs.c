/* Outputs never cost data: `-o` over a character device or a FIFO writes through and leaves
 * it what it was, over a symbolic link replaces the file it points to and keeps the link,
 * over a regular file keeps that file's mode; every command refuses an output that is one
 * of its own inputs (under any spelling: a symbolic or a hard link) and leaves the input
 * as it was; train refuses a run folder whose checkpoints would replace --init-from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/npy.h"
#include "tests/testutil.h"


/* The command fails with exit status 1 and one line holding `expect`. */
static void expect_refused(const char *line, const char *expect) { expect_one_line(line, 1, expect); }

static mode_t kind_of(const char *path)
{
    struct stat sb;
    assert_int_equal(lstat(path, &sb), 0);
    return sb.st_mode & S_IFMT;
}

/* -o /dev/null and a FIFO are written through; /dev/full reports its full disk; both
 * devices stay devices and the FIFO a FIFO. */
static void test_output_device_and_fifo(void **state)
{
    (void)state;
    char out[16384];
    assert_int_equal(run_line(out, sizeof out, "@ init --arch unet --width 4 --seed 3 -o %/ref.safetensors"), 0);
    assert_int_equal(run_line(out, sizeof out, "@ init --arch unet --width 4 --seed 3 -o /dev/null"), 0);
    assert_int_equal(kind_of("/dev/null"), S_IFCHR);
    struct stat sb;
    if (stat("/dev/full", &sb) == 0 && S_ISCHR(sb.st_mode)) {
        expect_refused("@ init --arch unet --width 4 --seed 3 -o /dev/full",
                       "cannot write /dev/full: No space left on device");
        assert_int_equal(kind_of("/dev/full"), S_IFCHR);
    }
    assert_int_equal(run_line(out, sizeof out, "mkfifo %/fifo"), 0);
    assert_int_equal(run_line(out, sizeof out, "cat %/fifo > %/from-fifo & "
                         "@ init --arch unet --width 4 --seed 3 -o %/fifo; wait"), 0);
    assert_int_equal(kind_of(path_in(test_dir(), "fifo")), S_IFIFO);
    assert_files_equal(path_in(test_dir(), "ref.safetensors"), path_in(test_dir(), "from-fifo"));
}

/* A symbolic link stays a link to the new file; a 0600 checkpoint stays 0600. */
static void test_output_symlink_and_mode(void **state)
{
    (void)state;
    char out[16384];
    assert_int_equal(run_line(out, sizeof out, "@ init --arch unet --width 4 --seed 1 -o %/target.safetensors"
                         " && chmod 600 %/target.safetensors && ln -s target.safetensors %/link.safetensors"), 0);
    assert_int_equal(run_line(out, sizeof out, "@ init --arch unet --width 4 --seed 2 -o %/link.safetensors"), 0);
    assert_int_equal(kind_of(path_in(test_dir(), "link.safetensors")), S_IFLNK);
    assert_int_equal(run_line(out, sizeof out, "@ init --arch unet --width 4 --seed 2 -o %/seed2.safetensors"), 0);
    assert_files_equal(path_in(test_dir(), "seed2.safetensors"), path_in(test_dir(), "target.safetensors"));
    struct stat sb;
    assert_int_equal(stat(path_in(test_dir(), "target.safetensors"), &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(run_line(out, sizeof out, "ln -s missing/x.safetensors %/dangling.safetensors"), 0);
    expect_refused("@ init --arch unet --width 4 --seed 1 -o %/dangling.safetensors",
                   "a symbolic link to a missing file");
    expect_refused("@ init --arch unet --width 4 --seed 1 -o %", "is a directory");
}

/* forward, grad, align, bnstats, rmse, swap, cka, plan, report, train: an output that is an
 * input is refused and the input keeps its bytes. */
static void test_output_is_an_input(void **state)
{
    (void)state;
    char out[16384];
    assert_int_equal(run_line(out, sizeof out, "@ init --arch unet --width 4 --seed 3 -o %/w.safetensors && "
                         "cp %/w.safetensors %/w.orig && ln %/w.safetensors %/hard.safetensors && "
                         "ln -s w.safetensors %/soft.safetensors"), 0);
    assert_int_equal(run_line(out, sizeof out, "@ init --arch unet --width 4 --seed 4 -o %/s.safetensors "
                         "&& cp %/s.safetensors %/s.orig"), 0);
    static float x[32 * 32];
    static int64_t t[32 * 32];
    assert_int_equal(npy_write_f32(path_in(test_dir(), "x.npy"), 4, (int[]){1, 1, 32, 32}, x), 0);
    assert_int_equal(npy_write_i64(path_in(test_dir(), "t.npy"), 3, (int[]){1, 32, 32}, t), 0);
    const char *spellings[] = {"%/w.safetensors", "%/./w.safetensors", "%/hard.safetensors",
                               "%/soft.safetensors"};
    char line[8192];
    for (int i = 0; i < 4; i++) {
        snprintf(line, sizeof line, "@ forward --weights %%/w.safetensors --input %%/x.npy --output %s",
                 spellings[i]);
        expect_refused(line, "is the input");
    }
    expect_refused("@ forward --weights %/w.safetensors --input %/x.npy --output %/x.npy", "is the input");
    expect_refused("@ forward --weights %/w.safetensors --input %/x.npy --output %/y.npy "
                   "--train-mode --save-weights %/w.safetensors", "is the input");
    expect_refused("@ grad --weights %/w.safetensors --input %/x.npy --target %/t.npy --loss ce "
                   "--output %/w.safetensors", "is the input");
    expect_refused("@ grad --weights %/w.safetensors --input %/x.npy --target %/t.npy --loss ce "
                   "--output %/t.npy", "is the input");
    expect_refused("@ align --target %/w.safetensors --source %/s.safetensors -o %/s.safetensors", "is the input");
    expect_refused("@ bnstats --target %/w.safetensors --source %/s.safetensors -o %/w.safetensors", "is the input");
    expect_refused("@ rmse %/w.safetensors %/s.safetensors -o %/s.safetensors", "is the input");
    expect_refused("@ swap --target %/w.safetensors --source %/s.safetensors --data % -o %/soft.safetensors",
                   "is the input");
    expect_refused("@ cka --target %/w.safetensors --source %/s.safetensors --data % -o %/w.safetensors",
                   "is the input");
    expect_refused("@ transferability --source %/w.safetensors --data % -o %/w.safetensors", "is the input");
    expect_refused("@ train --arch unet --width 4 --epochs 1 --batch 2 --lr 0.01 --data % --init-from %/run/best.safetensors -o %/run",
                   "cannot open");   /* no checkpoint yet: nothing to protect */
    assert_int_equal(run_line(out, sizeof out, "mkdir -p %/run && cp %/w.safetensors %/run/best.safetensors"), 0);
    expect_refused("@ train --arch unet --width 4 --epochs 1 --batch 2 --lr 0.01 --data % --init-from %/run/best.safetensors -o %/run",
                   "is the input");
    assert_int_equal(run_line(out, sizeof out, "cmp %/w.safetensors %/w.orig && cmp %/run/best.safetensors "
                         "%/w.orig && cmp %/s.safetensors %/s.orig"), 0);

    /* plan -o = its --scan; report -o or --md = one of the study's files */
    assert_int_equal(run_line(out, sizeof out, "mkdir -p %/study/scans %/study/transfer/runs/r1 && printf "
                         "'layer,kind,tensor,mean,delta\\nbaseline,,,0.9,0\\n1,W,l1.weight,0.89,-0.01\\n' "
                         "> %/study/scans/s.csv && cp %/study/scans/s.csv %/s.orig && "
                         "printf 'epoch,mean_dice\\n1,0.5\\n' > %/study/transfer/runs/r1/log.csv"), 0);
    expect_refused("@ plan --scan %/study/scans/s.csv -o %/study/scans/s.csv", "is the input");
    expect_refused("@ report %/study -o %/study/scans/s.csv", "is the input");
    expect_refused("@ report %/study -o %/r.html --md %/study/scans/s.csv", "is the input");
    expect_refused("@ report %/study -o %/study/transfer/runs/r1/log.csv", "is the input");
    assert_int_equal(run_line(out, sizeof out, "cmp %/study/scans/s.csv %/s.orig"), 0);
    /* written into the study folder beside its inputs, twice: fine */
    assert_int_equal(run_line(out, sizeof out, "@ plan --scan %/study/scans/s.csv -o %/study/plan.json"), 0);
    assert_int_equal(run_line(out, sizeof out, "@ report %/study -o %/study/transfer/report.html"), 0);
    assert_int_equal(run_line(out, sizeof out, "@ report %/study -o %/study/transfer/report.html"), 0);
}

TEST_MAIN("bad outputs", test_dir_setup, test_dir_teardown,
          test_output_device_and_fifo, test_output_symlink_and_mode, test_output_is_an_input)
