/* reusenet transfer on a tiny study: every configuration runs and lands in table.csv; the
 * freeze runs leave every planned tensor (BN statistics included) bitwise equal to the
 * source's while the rest trains; a second invocation skips finished runs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/safetensors.h"
#include "tests/testutil.h"

static const char *bin;   /* set in main: the program under test */

/* The field under header `col` in line `row` (1 = first after the header; 0 = the last) of
 * a CSV without quoted fields; NAN when absent. Written apart from reuse/csv.c. */
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
    return index < 0 || !p || !last[0] ? NAN : strtod(p, NULL);
}

static void test_transfer_study(void **state)
{
    (void)state;
    char *root = make_temp_dir("transfer");
    char data[4096], cmd[16384], out[16384], path[4096];
    snprintf(data, sizeof data, "%s/acdc", root);
    test_synth("acdc", 6, 64, 0, 1, data);
    snprintf(cmd, sizeof cmd, "%s train --arch unet --width 4 --task auto --data %s --size 32 "
             "--batch 4 --lr 0.01 --epochs 1 --quiet -o %s/src", bin, data, root);
    assert_int_equal(run_command(cmd, out, sizeof out), 0);
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
    assert_int_equal(remove_tree(root), 0);
    free(root);
}

int main(void)
{
    bin = reusenet_program();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transfer_study),
        cmocka_unit_test(test_bad_config_is_reported),
    };
    return cmocka_run_group_tests_name("transfer", tests, NULL, NULL);
}
