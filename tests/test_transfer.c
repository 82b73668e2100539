/* reusenet transfer on a tiny study: every configuration runs and lands in table.csv; the
 * freeze runs leave every planned tensor (BN statistics included) bitwise equal to the
 * source's while the rest trains; a second invocation skips finished runs. With subsets
 * and every configuration: each run trains as configured (config.json), runs.csv lists
 * them, and table.csv's statistics equal NumPy/SciPy's from runs.csv; a single run shows
 * no spread ("—", empty cells). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/safetensors.h"
#include "tests/testutil.h"

static const char *bin;   /* set in the group setup: the program under test */

/* The field under header `col` in line `row` (1 = first after the header; 0 = the last) of
 * a CSV without quoted fields; NAN when absent or empty. Written apart from util/csv.c. */
static double field(const char *path, int row, const char *col)
{
    FILE *f = fopen(path, "r");
    if (!f) return NAN;
    char header[4096], line[4096], last[4096] = "";
    int index = -1, n = 0;
    if (fgets(header, sizeof header, f)) {
        header[strcspn(header, "\r\n")] = '\0';
        int i = 0;
        for (char *tok = strtok(header, ","); tok; tok = strtok(NULL, ","), i++)
            if (!strcmp(tok, col)) index = i;
    }
    while (fgets(line, sizeof line, f))
        if (++n == row || row == 0) memcpy(last, line, sizeof line);
    fclose(f);
    const char *p = last;
    for (int i = 0; i < index && p; i++) p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
    if (index < 0 || !p || !last[0] || *p == ',' || *p == '\n' || !*p) return NAN;  /* empty */
    return strtod(p, NULL);
}

/* A fresh temporary folder (its path returned) holding acdc/, a synthetic ACDC set of
 * `patients` patients at 64 x 64 (its path in data), and src/, a UNet F=4 trained on it
 * for one epoch on `task`: the source of the tiny studies below. */
static char *make_source(const char *tag, int patients, const char *task, char *data, size_t len)
{
    char *root = make_temp_dir(tag), cmd[16384], out[16384];
    snprintf(data, len, "%s/acdc", root);
    test_synth("acdc", patients, 64, 0, 1, data);
    snprintf(cmd, sizeof cmd, "%s train --arch unet --width 4 --task %s --data %s --size 32 "
             "--batch 4 --lr 0.01 --epochs 1 --quiet -o %s/src", bin, task, data, root);
    assert_int_equal(run_command(cmd, out, sizeof out), 0);
    return root;
}

static void test_transfer_study(void **state)
{
    (void)state;
    char data[4096], cmd[16384], out[16384], path[4096];
    char *root = make_source("transfer", 6, "auto", data, sizeof data);
    static const char *const planned[] = {"enc1.conv1.weight", "enc1.bn1.running_mean",
                                          "enc1.bn1.running_var", "enc2.conv1.bias"};
    snprintf(path, sizeof path, "%s/plan.json", root);
    FILE *f = fopen(path, "w");
    fprintf(f, "{\"tensors\": [\"%s\", \"%s\", \"%s\", \"%s\"]}\n", planned[0], planned[1],
            planned[2], planned[3]);
    fclose(f);
    snprintf(path, sizeof path, "%s/study.cfg", root);
    f = fopen(path, "w");
    fprintf(f, "target: %s\narch: unet\nwidth: 4\nn: 2\nseeds: 2\nepochs: 2\nbatch: 4\nsize: 32\n"
               "lr: 0.01\nsource: auto | %s/src/last.safetensors | %s/plan.json\n", data, root, root);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s transfer --config %s/study.cfg -o %s/study", bin, root, root);
    assert_int_equal(run_command(cmd, out, sizeof out), 0);

    /* table: header + random, freeze, fine-tune for n = 2 */
    snprintf(path, sizeof path, "%s/study/transfer/table.csv", root);
    f = fopen(path, "r");
    assert_non_null(f);
    char line[4096];
    int rows = 0;
    while (fgets(line, sizeof line, f)) rows++;
    fclose(f);
    assert_int_equal(rows, 4);
    /* each row's Dice is the mean over seeds of the runs' final epochs (log.csv) */
    double m = 0;
    for (int seed = 1; seed <= 2; seed++) {
        char log[4200];
        snprintf(log, sizeof log, "%s/study/transfer/runs/n2-random-s%d/log.csv", root, seed);
        double v = field(log, 0, "mean_dice");
        assert_false(isnan(v));
        m += v / 2;
    }
    double table = field(path, 1, "mean");
    if (!(fabs(table - m) <= 5e-5)) fail_msg("table mean %g, logs' mean %g", table, m);

    SafeTensors src, frozen;
    snprintf(path, sizeof path, "%s/src/last.safetensors", root);
    assert_int_equal(safetensors_read(path, &src), 0);
    snprintf(path, sizeof path, "%s/study/transfer/runs/n2-auto-freeze-s1/last.safetensors", root);
    assert_int_equal(safetensors_read(path, &frozen), 0);
    for (int i = 0; i < 4; i++) {
        const SafetensorsEntry *a = safetensors_find(&src, planned[i]);
        const SafetensorsEntry *b = safetensors_find(&frozen, planned[i]);
        assert_non_null(a);
        assert_non_null(b);
        assert_int_equal(a->nbytes, b->nbytes);
        assert_memory_equal(a->data, b->data, a->nbytes);
    }
    const SafetensorsEntry *a = safetensors_find(&src, "enc1.conv2.weight");
    const SafetensorsEntry *b = safetensors_find(&frozen, "enc1.conv2.weight");
    assert_memory_not_equal(a->data, b->data, a->nbytes);
    safetensors_free(&src);
    safetensors_free(&frozen);

    /* rerun: everything finished, nothing retrained */
    assert_int_equal(run_command(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "finished, skipped"));
    assert_null(strstr(out, "epoch"));

    /* a study kept in parts keeps each run's log.csv and config.json, not its checkpoints:
     * those runs count as finished, and Table 1 comes out the same */
    char rm[8192];
    size_t len_before, len_after;
    snprintf(path, sizeof path, "%s/study/transfer/runs.csv", root);
    unsigned char *before = read_file_bytes(path, &len_before);
    assert_non_null(before);
    snprintf(rm, sizeof rm, "rm %s/study/transfer/runs/*/*.safetensors && rm %s", root, path);
    assert_int_equal(system(rm), 0);
    assert_int_equal(run_command(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "finished, skipped"));
    assert_null(strstr(out, "epoch"));
    unsigned char *after = read_file_bytes(path, &len_after);
    assert_non_null(after);
    assert_int_equal(len_before, len_after);
    assert_memory_equal(before, after, len_before);
    free(before), free(after);
    assert_int_equal(remove_tree(root), 0);
    free(root);
}

/* Write study.cfg for the tiny study (UNet F=4, 32x32) with extra lines; run it. */
static int run_study(const char *root, const char *data, const char *name, const char *extra,
                     char *out, size_t out_len)
{
    char path[4096], cmd[16384];
    snprintf(path, sizeof path, "%s/%s.cfg", root, name);
    FILE *f = fopen(path, "w");
    fprintf(f, "target: %s\narch: unet\nwidth: 4\nbatch: 4\nsize: 32\nlr: 0.01\n"
               "source: auto | %s/src/last.safetensors | %s/plan.json\n%s", data, root, root, extra);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s transfer --config %s -o %s/%s", bin, path, root, name);
    return run_command(cmd, out, out_len);
}

static void test_subsets_configs_and_statistics(void **state)
{
    (void)state;
    char data[4096], cmd[16384], out[16384];
    char *root = make_source("transfer-stats", 8, "auto", data, sizeof data);
    FILE *f = fopen(path_in(root, "plan.json"), "w");
    fprintf(f, "{\"tensors\": [\"enc1.conv1.weight\", \"enc1.bn1.running_mean\"]}\n");
    fclose(f);
    assert_int_equal(run_study(root, data, "s", "n: 2 3\nepochs: 2 1\nseeds: 2\nsubsets: per-seed\n"
                               "configs: random, random frozen encoder, freeze, fine-tune, all fine-tune\n",
                               out, sizeof out), 0);
    /* 2 sizes x 5 configurations x 2 runs, each run as its configuration says */
    char *runs = (char *)read_file_bytes(path_in(root, "s/transfer/runs.csv"), NULL);
    assert_non_null(runs);
    int lines = 0;
    for (char *p = runs; (p = strchr(p, '\n')); p++) lines++;
    assert_int_equal(lines, 1 + 2 * 5 * 2);
    assert_non_null(strstr(runs, ",auto all fine-tune,2,2,n3-auto-all-finetune-s2-d2,"));
    free(runs);
    static const struct { const char *run, *expect[3]; } checks[] = {
        {"n2-random-frozen-encoder-s1-d1", {"\"freeze_encoder\":\ttrue", "\"plan\":\t\"\"",
                                            "\"epochs\":\t2"}},
        {"n3-auto-all-finetune-s2-d2", {"\"freeze_encoder\":\tfalse", "\"plan\":\t\"\"",
                                        "\"subset_seed\":\t2"}},
        {"n3-auto-freeze-s1-d1", {"\"freeze\":\ttrue", "plan.json", "\"epochs\":\t1"}},
        {"n2-auto-finetune-s2-d2", {"\"freeze\":\tfalse", "plan.json", "\"val_every\":\t2"}}};
    for (int i = 0; i < 4; i++) {
        char *config = (char *)read_file_bytes(
            path_in(root, "s/transfer/runs/%s/config.json", checks[i].run), NULL);
        assert_non_null(config);
        for (int j = 0; j < 3; j++)
            if (!strstr(config, checks[i].expect[j]))
                fail_msg("%s/config.json has no %s", checks[i].run, checks[i].expect[j]);
        free(config);
    }
    /* the draws differ: the runs of seed 1 and 2 trained on other patients */
    double a = field(path_in(root, "s/transfer/runs/n2-random-s1-d1/log.csv"), 0, "train_loss");
    double b = field(path_in(root, "s/transfer/runs/n2-random-s2-d2/log.csv"), 0, "train_loss");
    assert_true(a != b);
    if (test_python_has("numpy, scipy")) {
        snprintf(cmd, sizeof cmd, "%s tests/transfer_table_ref.py %s/s", test_python(), root);
        int rc = run_command(cmd, out, sizeof out);
        print_message("%s", out);
        assert_int_equal(rc, 0);
        assert_non_null(strstr(out, "ok 10"));
    } else {
        print_message("skipped the SciPy comparison: no python3 with numpy and scipy\n");
    }
    /* one run: no spread, never "± 0.00" */
    assert_int_equal(run_study(root, data, "one", "n: 2\nepochs: 1\nseeds: 1\n", out, sizeof out), 0);
    char *md = (char *)read_file_bytes(path_in(root, "one/transfer/table.md"), NULL);
    assert_non_null(md);
    assert_non_null(strstr(md, "± —"));
    assert_null(strstr(md, "± 0.00"));
    free(md);
    assert_true(isnan(field(path_in(root, "one/transfer/table.csv"), 2, "mean_sd")));
    assert_true(isnan(field(path_in(root, "one/transfer/table.csv"), 2, "delta_ci_lo")));
    assert_false(isnan(field(path_in(root, "one/transfer/table.csv"), 2, "delta_random")));
    assert_int_equal(remove_tree(root), 0);
    free(root);
}

static void test_bad_config_is_reported(void **state)
{
    (void)state;
    char *root = make_temp_dir("transfer-bad");
    char cmd[8192], out[8192], path[4096];
    snprintf(path, sizeof path, "%s/study.cfg", root);
    FILE *f = fopen(path, "w");
    fprintf(f, "arch: unet\n");
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s transfer --config %s -o %s/s", bin, path, root);
    assert_int_equal(run_command(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "no 'target: DIR'"));
    f = fopen(path, "w");
    fprintf(f, "target: x\nsource: only-a-name\n");
    fclose(f);
    assert_int_equal(run_command(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "NAME | CHECKPOINT | PLAN.json"));
    static const char *const bad[][2] = {
        {"configs: random, plan frozen\n", "unknown 'plan frozen'"},
        {"configs: freeze\n", "must include random"},
        {"n: 2 3\nepochs: 1 2 3\n", "one per n"},
        {"subsets: 0\n", "subsets: 0 is not between"},
        {"seeds: 9\nsubsets: 9\n", "more than 64 runs"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        f = fopen(path, "w");
        fprintf(f, "target: x\n%s", bad[i][0]);
        fclose(f);
        assert_int_equal(run_command(cmd, out, sizeof out), 1);
        if (!strstr(out, bad[i][1]) || !strstr(out, path)) fail_msg("%s: %s", bad[i][0], out);
    }
    assert_int_equal(remove_tree(root), 0);
    free(root);
}

/* A freeze configuration whose plan covers every tensor of a segmentation source has
 * nothing to train: the run evaluates the source as it is and the grid goes on. A source
 * of another architecture (or a plan naming a tensor the model lacks) is refused before
 * the first run trains. */
static void test_freeze_everything_and_bad_sources(void **state)
{
    (void)state;
    char data[4096], cmd[16384], out[16384];
    char *root = make_source("transfer-freeze", 6, "seg", data, sizeof data);
    SafeTensors src;
    assert_int_equal(safetensors_read(path_in(root, "src/last.safetensors"), &src), 0);
    FILE *f = fopen(path_in(root, "plan.json"), "w");
    fprintf(f, "{\"tensors\": [");
    for (int i = 0; i < src.count; i++) fprintf(f, "%s\"%s\"", i ? ", " : "", src.entries[i].name);
    fprintf(f, "]}\n");
    fclose(f);
    assert_int_equal(run_study(root, data, "s", "n: 2\nepochs: 1\nseeds: 1\nconfigs: random, freeze\n",
                               out, sizeof out), 0);
    assert_non_null(strstr(out, "n2-auto-freeze-s1: nothing to train"));
    SafeTensors frozen;
    assert_int_equal(safetensors_read(path_in(root, "s/transfer/runs/n2-auto-freeze-s1/last.safetensors"),
                                      &frozen), 0);
    for (int i = 0; i < src.count; i++)
        assert_memory_equal(src.entries[i].data, safetensors_find(&frozen, src.entries[i].name)->data,
                            src.entries[i].nbytes);
    safetensors_free(&frozen);
    safetensors_free(&src);
    assert_false(isnan(field(path_in(root, "s/transfer/table.csv"), 2, "mean")));

    /* a study run in parts: a source whose runs have all finished is not needed again (its
     * checkpoint may be gone); the rerun skips everything */
    assert_int_equal(rename(path_in(root, "src/last.safetensors"), path_in(root, "src/kept")), 0);
    assert_int_equal(run_study(root, data, "s", "n: 2\nepochs: 1\nseeds: 1\nconfigs: random, freeze\n",
                               out, sizeof out), 0);
    if (!strstr(out, "n2-auto-freeze-s1: finished, skipped")) fail_msg("%s", out);
    assert_int_equal(rename(path_in(root, "src/kept"), path_in(root, "src/last.safetensors")), 0);

    /* a PSPNet source in a UNet study, and a plan naming a tensor UNet lacks: refused
     * before any run starts */
    snprintf(cmd, sizeof cmd, "%s init --arch pspnet --seed 1 -o %s/src/last.safetensors", bin, root);
    assert_int_equal(run_command(cmd, out, sizeof out), 0);
    assert_int_equal(run_study(root, data, "bad", "n: 2\nepochs: 1\nseeds: 1\nconfigs: random, freeze\n",
                               out, sizeof out), 1);
    if (!strstr(out, "source auto: ") || strstr(out, "[1/"))
        fail_msg("%s", out);
    assert_int_not_equal(access(path_in(root, "bad/transfer/runs/n2-random-s1"), F_OK), 0);
    f = fopen(path_in(root, "plan.json"), "w");
    fprintf(f, "{\"tensors\": [\"layer9.conv.weight\"]}\n");
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s init --arch unet --width 4 --seed 1 -o %s/src/last.safetensors", bin, root);
    assert_int_equal(run_command(cmd, out, sizeof out), 0);
    assert_int_equal(run_study(root, data, "bad", "n: 2\nepochs: 1\nseeds: 1\nconfigs: random, fine-tune\n",
                               out, sizeof out), 1);
    if (!strstr(out, "no tensor 'layer9.conv.weight'") || strstr(out, "[1/")) fail_msg("%s", out);
    assert_int_equal(remove_tree(root), 0);
    free(root);
}

static int setup(void **state)
{
    (void)state;
    bin = reusenet_program();
    return 0;
}

TEST_MAIN("transfer", setup, NULL,
          test_transfer_study, test_subsets_configs_and_statistics, test_bad_config_is_reported,
          test_freeze_everything_and_bad_sources)
