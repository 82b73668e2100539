/* Helpers shared by the cmocka test programs. */
#ifndef REUSENET_TESTUTIL_H
#define REUSENET_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/conv2d.h"
#include "engine/tape.h"
#include "datasets/slice.h"
#include "models/model.h"

/* A test program's main: runs the test functions listed (void f(void **state)) as cmocka
 * group `group`, with the group's setup and teardown (NULL: none), each test named by its
 * own identifier (#__VA_ARGS__); a first argument runs only the tests it names (cmocka's
 * filter: `build/tests/test_npy test_round_trip`, * and ? as wildcards).
 *   TEST_MAIN("npy", NULL, NULL, test_reads_numpy_files, test_round_trip) */
#define TEST_MAIN(group, setup, teardown, ...)                                               \
    int main(int argc, char **argv)                                                          \
    {                                                                                        \
        const CMUnitTestFunction fns[] = {__VA_ARGS__};                                      \
        return run_test_group(argc, argv, group, #__VA_ARGS__, fns, sizeof fns / sizeof *fns, \
                              setup, teardown);                                              \
    }
int run_test_group(int argc, char **argv, const char *group, const char *names,
                   const CMUnitTestFunction *fns, size_t count, CMFixtureFunction setup,
                   CMFixtureFunction teardown);
/* Group setups for programs of tiny tensors, where threads would only add start-up time
 * (results do not depend on the count): one engine thread, and with test_dir_setup's
 * folder. */
int one_thread_setup(void **state);
int one_thread_dir_setup(void **state);

/* Fill with uniform values in [lo, hi) from a fixed seed. */
void fill_uniform(float *x, size_t n, float lo, float hi, uint64_t seed);
/* max |a - b| / max(1, max |b|) */
double max_rel_diff(const float *a, const float *b, size_t n);
/* Run fn(arg) in a child process; assert that it exits non-zero and that what it wrote
 * to stderr contains `expect` (NULL: any message). */
void assert_exits_with_message(void (*fn)(void *arg), void *arg, const char *expect);
/* A fresh empty directory under $TMPDIR for one test; caller frees the string. */
char *make_temp_dir(const char *tag);
/* Run a shell command, return its exit status (0..255) and put its stderr+stdout in out. */
int run_command(const char *cmd, char *out, size_t out_len);

/* Toy cardiac slices of TOY_SIZE x TOY_SIZE: a bright disk (LV, 3) in a dark ring
 * (myocardium, 2), a blob to its left (RV, 1), on a noisy background; positions and sizes
 * from the seed. per_patient slices for each of `patients` patients. */
#define TOY_SIZE 32
void toy_set(SliceSet *set, int patients, int per_patient, uint64_t seed);
/* A segmentation model (1 input channel, 4 classes) initialised from seed. */
void toy_model(Model *m, ModelArch arch, int width, uint64_t seed);
/* Non-trivial values for every BN tensor (a fresh model has 1, 0, 0, 1 everywhere). */
void toy_perturb_bn(Model *m, uint64_t seed);
/* A few Adam steps (lr 0.01) of cross-entropy training on the set, batches of 8. */
void toy_train(Model *m, const SliceSet *set, int steps);

/* Add dataset `key` (dims: ndim sizes, slowest first, as h5py shows them) to the HDF5 file
 * at path (created when absent), stored as uint8 (as_uint8) or float32, gzip-compressed in
 * chunks as SSL4MIS writes them; data holds the values as floats. Fails the test when
 * libhdf5 does. */
void test_h5_put(const char *path, const char *key, int ndim, const unsigned long long *dims,
                 const float *data, bool as_uint8);

/* SSL4MIS-style case files and datasets for the HDF5 tests (all under test_dir()):
 * test_h5_case writes image (float32, test_h5_image_value(i, seed) at C-order index i) and
 * label (uint8, labels[i], or test_h5_label_value(i) when labels is NULL).
 * test_h5_data_form: DIR/data/ with p1_frame01, p1_frame02 as (3, 6, 5) volumes (seeds 1,
 * 2), p2's frames as (6, 5) slices (frame01 K = 1, 2, 3, 10 in data/slices/, seeds 11, 12,
 * 13, 30; frame02 K = 1..3 in data/, seeds 21..23), p10_frame01 a volume (seed 3) whose
 * slices 0 and 1 are also there; lists train (p1's frames, p10_frame01), val (p2's), test
 * ("p2"). test_h5_case_folders: DIR/"Training Set"/{B7, A2, A10}/mri_norm2.h5, (X, Y, Z) =
 * (5, 4, 3) arrays (seeds 0, 1, 2), label 1 where i % 5 == 0, a desktop.ini beside A2's
 * file; lists train (A2, B7) and test (A10); DIR/dataset.cfg holding cfg unless NULL. Both
 * return DIR. */
float test_h5_image_value(size_t i, int seed);
float test_h5_label_value(size_t i);
void test_h5_case(const char *path, int ndim, const unsigned long long *dims, int seed,
                  const float *labels);
const char *test_h5_data_form(const char *name);
const char *test_h5_case_folders(const char *name, const char *cfg);

/* ---- finite-difference gradient check --------------------------------------------------
 * build(tape, inputs, arg) runs an op (or several) on the inputs and returns its output.
 * gradcheck() compares the tape's gradient of L = sum(out * r), r fixed random in [-1, 1),
 * with central differences (x +- eps, L accumulated in double) for every input that has
 * requires_grad (the caller allocates its grad, zeroed). At most `max_probes` elements
 * of each input are probed (spread evenly; 0 = all).
 * Passes when |numeric - analytic| <= tol * max(max|analytic|, 1e-2) for every probe;
 * prints the worst element otherwise. Returns the worst normalised error. */
typedef Tensor *(*GraphBuildFn)(Tape *t, Tensor **inputs, void *arg);
double gradcheck(GraphBuildFn build, Tensor **inputs, int n_inputs, void *arg, float eps,
                 double tol, int max_probes);
/* A heap tensor with uniform [-1, 1) data, optional zeroed grad; free with tensor_free. */
Tensor test_tensor(int ndim, const int *shape, uint64_t seed, bool requires_grad);

/* False when the environment pins one thread (OMP_NUM_THREADS=1, as `make valgrind` sets:
 * libgomp's thread pool, alive at exit, would look like a leak to valgrind). Tests that
 * compare results across thread counts skip() then. */
bool test_may_use_threads(void);

/* The Python that runs the reference scripts (NumPy, SciPy, PyTorch, nibabel):
 * $REUSENET_PYTHON, else /usr/bin/python3. */
const char *test_python(void);
/* True when test_python() imports every module of a comma-separated list
 * ("numpy, scipy.stats"); otherwise prints "skipped: needs PYTHON with MODULES" and returns
 * false, and the caller calls skip(). */
bool test_python_has(const char *modules);

/* The reusenet program of the build under test: $REUSENET_BIN (set by `make test` and
 * `make sanitize`), else build/reusenet. */
const char *reusenet_program(void);

/* The whole file, NUL-terminated (not counted in *len); fails the test when it cannot be
 * read. Caller frees. */
unsigned char *read_file_bytes(const char *path, size_t *len);
/* Whether two files hold the same bytes (false when either cannot be read). */
bool files_equal(const char *a, const char *b);
/* Fail the test, naming both files, unless files_equal(a, b). */
void assert_files_equal(const char *a, const char *b);
/* "dir/" followed by the printf-formatted rest, in one of 64 static buffers: valid for the
 * next 63 calls, so several may appear in one expression; fails the test when the path
 * does not fit. */
char *path_in(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* rm -rf path (a test's temporary folder); returns 0 on success. */
int remove_tree(const char *path);
/* Write text to path (a plain write), making its missing parent folders; fails the test
 * when it cannot. */
void test_file_write(const char *path, const char *text);
/* How many times what occurs in text, not overlapping. */
int count_in(const char *text, const char *what);

/* Expectations that do not stop the test, for a test that checks many things of one output
 * and should show all that a broken rule breaks: each one not met is printed and counted,
 * and expect_all_met() fails the test when any was since its last call. */
void expect_that(bool ok, const char *what, const char *text);   /* prints "what 'text'" */
void expect_in(const char *text, const char *what);               /* "lacks 'what'" */
void expect_not_in(const char *text, const char *what);           /* "has 'what'" */
void expect_all_met(void);

/* cmocka group setup/teardown that give a test program one fresh temporary folder (named
 * after the program), removed at the end; test_dir() is its path. */
int test_dir_setup(void **state);
int test_dir_teardown(void **state);
const char *test_dir(void);
/* Run a shell command line in which every "@" stands for the program under test
 * (reusenet_program()) and every "%" for test_dir(); its output (stdout and stderr) in
 * out, its exit status returned. */
int run_line(char *out, size_t len, const char *line);
/* run_line(line) exits with `status` and prints one line, holding `expect`; fails the test,
 * showing the command and what it printed, otherwise. */
void expect_one_line(const char *line, int status, const char *expect);
/* The same for `reusenet ARGS` (every "%" in args test_dir()). */
void expect_reusenet_line(const char *args, int status, const char *expect);
/* cmocka group setup: test_dir_setup, then test_acdc(), the data of the tiny training runs:
 * a synthetic ACDC set in test_dir()/acdc (6 patients, 64 x 64, seed 3). */
int test_dir_with_acdc_setup(void **state);
const char *test_acdc(void);
/* `reusenet train` with tiny settings (width 4, 32 x 32, batch 4, lr 0.01, 2 threads) on
 * test_acdc() plus extra options (--arch among them), into test_dir()/out; its exit
 * status, its output in log. */
int train_tiny(const char *out, const char *extra, char *log, size_t log_len);
/* Write a synthetic dataset into dir (slices <= 0: the preset's own count); fails the test
 * with the generator's message. */
void test_synth(const char *preset, int patients, int size, int slices, uint64_t seed,
                const char *dir);

/* Another thread keeping a core busy, so that a test can check that results do not depend
 * on which thread takes which piece of work: busy_core_start() starts it, busy_core_stop()
 * stops and joins it. */
void busy_core_start(void);
void busy_core_stop(void);

#endif
