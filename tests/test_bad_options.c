/* Options and sizes that would mean something else, or ask for more than the machine
 * holds, get one line and exit status 2 (bad usage) or 1, before anything large is
 * allocated: --threads 0, -1, 999; --size 0, -32, 65536; --spacing 0, 1e-6; --n-train 0;
 * --weight-decay -5; predict --size -16, 65536, and a window or a model (init --width
 * 1024, train --size 16384) needing more memory than the process may have (RLIMIT_AS,
 * set with ulimit; not under ASan, which reserves terabytes of address space); a NIfTI
 * whose pixdim (100 mm against a 1.5 mm model) would make predict resample it to an
 * enormous grid; eval and cka at a size the architecture cannot take. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/nifti.h"
#include "tests/testutil.h"


/* The test folder with a dataset and a trained run in it. */
static int setup(void **state)
{
    if (test_dir_setup(state)) return -1;
    char cmd[8192], out[8192];
    test_synth("acdc", 4, 64, 2, 1, path_in(test_dir(), "data"));
    snprintf(cmd, sizeof cmd, "%s train --arch unet --width 4 --data %s/data --size 32 --batch 4 "
             "--lr 0.01 --epochs 1 --quiet -o %s/run", reusenet_program(), test_dir(), test_dir());
    return run_command(cmd, out, sizeof out) == 0 ? 0 : -1;
}

#define TRAIN "train --arch unet --width 4 --data %/data --batch 4 --lr 0.01 --epochs 1 -o %/x "

static void test_options_out_of_range(void **state)
{
    (void)state;
    static const struct { const char *args, *expect; } cases[] = {
        {TRAIN "--threads 0", "--threads must be within 1..64, got '0'"},
        {TRAIN "--threads -1", "--threads must be within 1..64, got '-1'"},
        {TRAIN "--threads 999", "--threads must be within 1..64, got '999'"},
        {TRAIN "--size 0", "--size must be within 1..32768, got '0'"},
        {TRAIN "--size -32", "--size must be within 1..32768, got '-32'"},
        {TRAIN "--size 65536", "--size must be within 1..32768, got '65536'"},
        {TRAIN "--spacing 0", "--spacing must be within 0.001..1000000, got '0'"},
        {TRAIN "--spacing 1e-6", "--spacing must be within 0.001..1000000, got '1e-6'"},
        {TRAIN "--n-train 0", "--n-train must be within 1..1048576, got '0'"},
        {TRAIN "--weight-decay -5", "--weight-decay must be within 0..1000000, got '-5'"},
        {"predict --weights %/run/last.safetensors --input %/data -o %/p --size -16",
         "--size must be within 1..32768, got '-16'"},
        {"predict --weights %/run/last.safetensors --input %/data -o %/p --size 65536",
         "--size must be within 1..32768, got '65536'"},
        {"eval --weights %/run/last.safetensors --data %/data --threads 0", "--threads must be"},
        {"swap --target %/run/last.safetensors --source %/run/last.safetensors --data %/data "
         "-o %/s.csv --size 0", "--size must be within 1..32768"},
        {"init --arch unet --width 0 --seed 1 -o %/w.safetensors", "--width must be within 1..1024"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) expect_reusenet_line(cases[i].args, 2, cases[i].expect);
    /* within range: a size the architecture cannot take, named before any data is read */
    expect_reusenet_line("eval --weights %/run/last.safetensors --data %/data --size 40", 1,
                "input size 40x40: unet needs height and width that are multiples of 16");
    expect_reusenet_line("cka --target %/run/last.safetensors --source %/run/last.safetensors --data %/data "
                "--size 40 -o %/c.csv", 1, "multiples of 16");
    /* a resampling to 0.01 mm would grow the slices a hundredfold */
    expect_reusenet_line(TRAIN "--size 32 --spacing 0.01", 1,
                "mm pixels resampled to 0.01 mm would be 9");
    expect_reusenet_line(TRAIN "--size 32 --spacing 0.01", 1, "(resampling grows a side to at most 1024)");
}

/* Sizes beyond what the process may hold: refused with what they would need. */
static void test_sizes_beyond_memory(void **state)
{
    (void)state;
#if defined(__SANITIZE_ADDRESS__)
    skip();                              /* ulimit -v would stop ASan itself */
#else
    char args[4200];
    static const struct { const char *args, *expect; } cases[] = {
        {"init --arch unet --width 1024 --seed 1 -o %/w.safetensors",
         "a unet model of that width (8031 million parameters) would need 59.8 GiB, more than the 4 GiB"},
        {TRAIN "--size 16384", "a training step on 4 inputs of 16384x16384 would need"},
        {TRAIN "--size 4096", "a training step on 4 inputs of 4096x4096 would need"},
        {"transferability --source %/run/last.safetensors --data %/data --size 16384 -o %/t.csv",
         "slices of 16384x16384 would need"},
        {"predict --weights %/run/last.safetensors --input %/data -o %/p --size 16384",
         "window size 16384: a forward pass of 1 input of 16384x16384 would need"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* the shell's ulimit applies to the command it then runs */
        snprintf(args, sizeof args, "--version >/dev/null; ulimit -v 4194304; %s %s", reusenet_program(), cases[i].args);
        expect_reusenet_line(args, 1, cases[i].expect);
    }
#endif
}

/* A 64x64 NIfTI with 100 mm pixels against a model trained at 1.5 mm: predict would
 * resample it to 4267x4267 pixels (minutes of work): refused. */
static void test_resampling_bounded(void **state)
{
    (void)state;
    char cmd[8192], out[8192];
    snprintf(cmd, sizeof cmd, "%s train --arch unet --width 4 --data %s/data --size 32 --batch 4 "
             "--lr 0.01 --epochs 1 --spacing 1.5 --quiet -o %s/run15", reusenet_program(), test_dir(), test_dir());
    assert_int_equal(run_command(cmd, out, sizeof out), 0);
    static float pixels[64 * 64];
    fill_uniform(pixels, 64 * 64, 0, 100, 1);
    NiftiVolume v = {{64, 64, 1, 1}, {100, 100, 8, 0}, 0, 0, pixels};
    assert_int_equal(nifti_write(path_in(test_dir(), "coarse.nii.gz"), &v, NIFTI_FLOAT32, 1), 0);
    expect_reusenet_line("predict --weights %/run15/last.safetensors --input %/coarse.nii.gz -o %/o.nii.gz",
                1, "coarse.nii.gz: a 64x64 slice of 100x100 mm pixels resampled to 1.5 mm would be "
                "4267x4267 pixels");
    v.spacing[0] = v.spacing[1] = 3;     /* 128 pixels: allowed */
    assert_int_equal(nifti_write(path_in(test_dir(), "coarse.nii.gz"), &v, NIFTI_FLOAT32, 1), 0);
    snprintf(cmd, sizeof cmd, "%s predict --weights %s/run15/last.safetensors --input "
             "%s/coarse.nii.gz -o %s/o.nii.gz --quiet", reusenet_program(), test_dir(), test_dir(), test_dir());
    assert_int_equal(run_command(cmd, out, sizeof out), 0);
}

TEST_MAIN("bad options", setup, test_dir_teardown,
          test_options_out_of_range, test_sizes_beyond_memory, test_resampling_bounded)
