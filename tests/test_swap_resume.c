/* A killed swap scan goes on with `--resume` to the bits of an uninterrupted one
 * (reuse/swap_state.c), and a state that is not this scan's is refused in one line:
 *   - killed with SIGKILL part-way, resumed: the same CSV byte for byte, the state gone;
 *   - an existing state without --resume, --resume with --no-reuse or into a FIFO, the state
 *     of a scan of another source or batch size: one line, non-zero exit, no CSV, the state
 *     kept;
 *   - damaged states (counts that are not a Dice's, pooled counts that are not the sum of
 *     the patients', batches_done out of range, a non-number, a cut file): one line naming
 *     the state file;
 *   - the fingerprint changes with each input the counts depend on.
 * UNet F = 4 on 32 x 32 slices of the synthetic ACDC set, one slice per batch. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/safetensors.h"
#include "reuse/swap_rows.h"
#include "reuse/swap_state.h"
#include "tests/testutil.h"

#define SCAN "swap --target %/t.safetensors --source %/s.safetensors --data %/acdc --size 32 " \
             "--batch 1 --threads 1 --quiet"

/* The group's folder: the synthetic ACDC set, a target and two auto-encoder sources. */
static int setup(void **state)
{
    char log[4096];
    if (test_dir_with_acdc_setup(state)) return -1;
    return run_line(log, sizeof log, "@ init --arch unet --width 4 --seed 1 -o %/t.safetensors "
                    "&& @ init --arch unet --width 4 --seed 2 --task auto -o %/s.safetensors && "
                    "@ init --arch unet --width 4 --seed 3 --task auto -o %/other.safetensors")
               ? -1 : 0;
}

static bool exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

/* The metadata value key of the state file at path, as an int. */
static int state_meta_int(const char *path, const char *key)
{
    SafeTensors st;
    assert_int_equal(safetensors_read_header(path, &st), 0);
    const char *v = safetensors_meta(&st, key);
    assert_non_null(v);
    int x = atoi(v);
    safetensors_free(&st);
    return x;
}

/* `reusenet swap` (SCAN) into DIR/out, killed with SIGKILL as soon as its state holds a
 * batch; fails the test unless it was killed part-way. */
static void kill_scan_part_way(const char *out)
{
    char dir[4096], o[4200], state_file[4300];
    snprintf(dir, sizeof dir, "%s", test_dir());
    snprintf(o, sizeof o, "%s/%s", dir, out);
    snprintf(state_file, sizeof state_file, "%s.resume.safetensors", o);
    const char *p = reusenet_program();
    pid_t pid = fork();
    if (pid == 0) {
        char t[4200], s[4200], d[4200];
        snprintf(t, sizeof t, "%s/t.safetensors", dir);
        snprintf(s, sizeof s, "%s/s.safetensors", dir);
        snprintf(d, sizeof d, "%s/acdc", dir);
        execl(p, p, "swap", "--target", t, "--source", s, "--data", d, "--size", "32", "--batch",
              "1", "--threads", "1", "--quiet", "-o", o, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 60000 && !exists(state_file); i++) usleep(1000);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_true(exists(state_file));
    assert_false(exists(o));
    const int done = state_meta_int(state_file, "batches_done");
    const int batches = state_meta_int(state_file, "batches");
    print_message("killed after %d of %d batches\n", done, batches);
    assert_true(done >= 1 && done < batches);
}

/* The state of a scan killed part-way, kept as partial.safetensors. */
static const char *partial_state(void)
{
    const char *kept = path_in(test_dir(), "partial.safetensors");
    if (!exists(kept)) {
        kill_scan_part_way("p.csv");
        assert_int_equal(rename(path_in(test_dir(), "p.csv.resume.safetensors"), kept), 0);
    }
    return kept;
}

static void copy_file(const char *from, const char *to)
{
    size_t n;
    unsigned char *b = read_file_bytes(from, &n);
    FILE *f = fopen(to, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    free(b);
}

/* The uninterrupted scan, then one killed part-way and resumed. */
static void test_killed_scan_resumes_to_same_bits(void **state)
{
    (void)state;
    char log[8192];
    assert_int_equal(run_line(log, sizeof log, "@ " SCAN " -o %/full.csv"), 0);
    assert_false(exists(path_in(test_dir(), "full.csv.resume.safetensors")));
    kill_scan_part_way("killed.csv");
    const char *state_file = path_in(test_dir(), "killed.csv.resume.safetensors");
    copy_file(state_file, path_in(test_dir(), "partial.safetensors"));
    /* without --resume: refused, the state kept */
    expect_reusenet_line(SCAN " -o %/killed.csv", 1, "--resume goes on from it");
    assert_true(exists(state_file));
    assert_int_equal(run_line(log, sizeof log, "@ " SCAN " -o %/killed.csv --resume"), 0);
    assert_files_equal(path_in(test_dir(), "full.csv"), path_in(test_dir(), "killed.csv"));
    assert_false(exists(state_file));
    /* --resume without a state starts from the beginning */
    assert_int_equal(run_line(log, sizeof log, "@ " SCAN " -o %/fresh.csv --resume"), 0);
    assert_files_equal(path_in(test_dir(), "full.csv"), path_in(test_dir(), "fresh.csv"));
}

/* The kept state with metadata key set to value (NULL: unchanged) and count number `at`
 * (-1: none) of the counts tensor increased by `add`, written to path. */
static void damaged_state(const char *path, const char *key, const char *value, long at,
                          int64_t add)
{
    SafeTensors st;
    assert_int_equal(safetensors_read(partial_state(), &st), 0);
    const SafetensorsEntry *e = safetensors_find(&st, "counts");
    assert_non_null(e);
    int64_t *counts = malloc(e->nbytes);
    memcpy(counts, e->data, e->nbytes);
    if (at >= 0) counts[at] += add;
    SafetensorsWriter w;
    safetensors_writer_init(&w);
    safetensors_writer_add_i64(&w, "counts", e->ndim, e->shape, counts);
    for (int i = 0; i < st.meta_count; i++) safetensors_writer_set_meta(&w, st.meta_keys[i], st.meta_values[i]);
    if (key) safetensors_writer_set_meta(&w, key, value);
    assert_int_equal(safetensors_write(&w, path), 0);
    safetensors_writer_free(&w);
    free(counts);
    safetensors_free(&st);
}

/* `scan --resume -o DIR/out` refused: one line holding expect, exit 1, no CSV, the state
 * as it was. */
static void expect_refused(const char *scan, const char *out, const char *expect)
{
    char args[8192], state_file[4200];
    snprintf(state_file, sizeof state_file, "%s.resume.safetensors", path_in(test_dir(), "%s", out));
    size_t n0, n1;
    unsigned char *before = read_file_bytes(state_file, &n0);
    snprintf(args, sizeof args, "{ @ %s --resume -o %%/%s > /dev/null; }", scan, out);
    expect_one_line(args, 1, expect);           /* stderr: the summary line goes to stdout */
    assert_false(exists(path_in(test_dir(), "%s", out)));
    unsigned char *after = read_file_bytes(state_file, &n1);
    assert_true(n0 == n1 && !memcmp(before, after, n0));
    free(before);
    free(after);
}

static void test_foreign_and_damaged_states_refused(void **state)
{
    (void)state;
    const char *kept = partial_state();
    /* the state of a scan of another source, or of another batch size */
    copy_file(kept, path_in(test_dir(), "o.csv.resume.safetensors"));
    expect_refused("swap --target %/t.safetensors --source %/other.safetensors --data %/acdc "
                   "--size 32 --batch 1 --threads 1 --quiet", "o.csv",
                   "o.csv.resume.safetensors: the state of a scan of other models, data or batch size");
    copy_file(kept, path_in(test_dir(), "b.csv.resume.safetensors"));
    expect_refused("swap --target %/t.safetensors --source %/s.safetensors --data %/acdc "
                   "--size 32 --batch 2 --threads 1 --quiet", "b.csv", "the state of a scan of other");
    /* damaged: metadata, and counts [tally][pooled, patients][inter, pred, truth][class] */
    const long pooled_pred = 8;
    struct { const char *key, *value; long at; int64_t add; const char *expect; } cases[] = {
        {"batches_done", "0", -1, 0, "batches_done '0' is not a whole number in 1.."},
        {"batches_done", "abc", -1, 0, "batches_done 'abc'"},
        {"batches", "7", -1, 0, "batches '7'"},
        {"work_done", "nan", -1, 0, "work_done 'nan'"},
        {"fingerprint", "0000000000000000", -1, 0, "the state of a scan of other"},
        {"format", "x", -1, 0, "not a swap scan state"},
        {NULL, NULL, 0, (int64_t)1 << 30, "are not those of a Dice"},    /* inter > pred */
        {NULL, NULL, pooled_pred, 1, "not the sum of its patients'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        damaged_state(path_in(test_dir(), "d%zu.csv.resume.safetensors", i), cases[i].key,
                      cases[i].value, cases[i].at, cases[i].add);
        char out[64];
        snprintf(out, sizeof out, "d%zu.csv", i);
        expect_refused(SCAN, out, cases[i].expect);
    }
    /* a cut file, and --resume with the plain scan */
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "head -c 100 %s > %s", kept, path_in(test_dir(), "c.csv.resume.safetensors"));
    assert_int_equal(system(cmd), 0);
    expect_refused(SCAN, "c.csv", "c.csv.resume.safetensors");
    expect_reusenet_line(SCAN " --resume --no-reuse -o %/n.csv", 2, "--resume with --no-reuse");
    assert_false(exists(path_in(test_dir(), "n.csv")));
    /* a scan written to a FIFO keeps no state beside it (nor in the FIFO's folder) */
    assert_int_equal(mkfifo(path_in(test_dir(), "fifo"), 0600), 0);
    expect_reusenet_line(SCAN " --resume -o %/fifo", 2, "not a regular file");
}

/* The fingerprint covers the target's and donors' tensors, the slices and the batch size. */
static void test_fingerprint_covers_inputs(void **state)
{
    (void)state;
    Model t, s;
    toy_model(&t, ARCH_UNET, 4, 1);
    toy_model(&s, ARCH_UNET, 4, 2);
    SliceSet set;
    toy_set(&set, 2, 2, 5);
    SwapDonors donors = {.model = {[DONOR_SOURCE] = &s}};
    SwapRow *rows;
    int *row_layer;
    const int n = swap_rows_list(&t, &rows, &row_layer);
    const uint64_t base = swap_state_fingerprint(&t, &donors, &set, rows, n, 4);
    assert_true(swap_state_fingerprint(&t, &donors, &set, rows, n, 4) == base);
    assert_true(swap_state_fingerprint(&t, &donors, &set, rows, n, 2) != base);
    float *x[] = {&t.params.items[3].t.data[0], &s.params.items[t.params.count - 1].t.data[0],
                  &set.slices[3].image[100]};
    for (size_t i = 0; i < sizeof x / sizeof *x; i++) {
        const float was = *x[i];
        *x[i] += 1e-6f;
        assert_true(swap_state_fingerprint(&t, &donors, &set, rows, n, 4) != base);
        *x[i] = was;
    }
    set.slices[1].label[7] ^= 1;
    assert_true(swap_state_fingerprint(&t, &donors, &set, rows, n, 4) != base);
    set.slices[1].label[7] ^= 1;
    set.slices[2].patient ^= 1;
    assert_true(swap_state_fingerprint(&t, &donors, &set, rows, n, 4) != base);
    set.slices[2].patient ^= 1;
    donors.model[DONOR_RANDOM] = &s;
    assert_true(swap_state_fingerprint(&t, &donors, &set, rows, n, 4) != base);
    free(rows);
    free(row_layer);
    sliceset_free(&set);
    model_free(&t);
    model_free(&s);
}

TEST_MAIN("swap resume", setup, test_dir_teardown,
          test_killed_scan_resumes_to_same_bits, test_foreign_and_damaged_states_refused,
          test_fingerprint_covers_inputs)
