/* Reuse plans (reuse/plan.c): a plan respects tau (every planned tensor's mean Dice drop is
 * at most tau, every other one's larger) and rho (the verdict flips exactly where the
 * fraction of reusable W tensors crosses rho); an RMSE bound removes W/B tensors; the JSON
 * has the "tensors" array that training reads; bad inputs give one clear message. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "reuse/plan.h"
#include "reuse/plan_json.h"
#include "train/plan_file.h"
#include "tests/testutil.h"

/* A scan of 10 layers with RM and W rows, plus the head's W: W of layer k drops the mean
 * Dice by 0.005 * k (so layers 1..4 are within tau = 0.02, 1..6 within 0.03), RM by
 * 0.001 * k, the head W by 0.5. */
static void write_scan(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "layer,kind,tensor,dice_0,dice_1,mean,delta,patient_mean,patient_sd\n");
    fprintf(f, "baseline,,,0.99,0.8,0.895,0,0.89,0.01\n");
    for (int k = 1; k <= 10; k++) {
        fprintf(f, "%d,RM,l%d.bn.running_mean,0.99,0.8,%.6g,%.6g,0.89,0.01\n", k, k,
                0.895 - 0.001 * k, -0.001 * k);
        fprintf(f, "%d,W,l%d.conv.weight,0.99,0.8,%.6g,%.6g,0.89,0.01\n", k, k,
                0.895 - 0.005 * k, -0.005 * k);
    }
    fprintf(f, "head,W,head.weight,0.5,0.1,0.395,-0.5,0.4,0.1\n");
    fclose(f);
}

/* A scan with intervals: W of layer k has delta -0.001 k and the interval
 * [-0.001 k - 0.004 k, -0.001 k + 0.004 k]: with tau = 0.02 the paper's rule keeps all
 * ten (drops <= 0.01), the interval rule only k <= 4 (0.005 k <= 0.02). Odd layers are
 * trivial (the random control does as well). */
static void write_scan_ci(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "layer,kind,tensor,dice_0,dice_1,mean,delta,patient_mean,patient_sd,delta_lo,"
            "delta_hi,delta_init,delta_random,delta_control,trivial,mean_recal,delta_recal\n");
    fprintf(f, "baseline,,,0.99,0.8,0.895,0,0.89,0.01,0,0,,,,,,\n");
    for (int k = 1; k <= 10; k++)
        fprintf(f, "%d,W,l%d.conv.weight,0.99,0.8,%.6g,%.6g,0.89,0.01,%.6g,%.6g,-0.3,-0.2,,%d,,\n",
                k, k, 0.895 - 0.001 * k, -0.001 * k, -0.005 * k, 0.003 * k, k % 2);
    fclose(f);
}

static void test_plan_rule_ci(void **state)
{
    (void)state;
    char scan[4200], json[4200];
    snprintf(scan, sizeof scan, "%s/scan-ci.csv", test_dir());
    write_scan_ci(scan);
    PlanOptions o;
    plan_options_defaults(&o);
    Plan paper, ci;
    assert_int_equal(plan_from_scan(scan, &o, &paper), 0);
    o.rule = PLAN_RULE_CI;
    assert_int_equal(plan_from_scan(scan, &o, &ci), 0);
    assert_int_equal(paper.reusable, 10);
    assert_int_equal(ci.reusable, 4);
    for (int i = 0; i < ci.n; i++) {
        assert_true(ci.entries[i].reusable == (i + 1 <= 4));
        assert_true(paper.entries[i].reusable);
        assert_int_equal(ci.entries[i].trivial, (i + 1) % 2);
    }
    assert_int_equal(paper.trivial, 5);
    assert_int_equal(ci.trivial, 2);                 /* layers 1 and 3 */
    assert_true(paper.reusable_network);           /* 10 of 10 W */
    assert_false(ci.reusable_network);             /* 4 of 10 W < rho = 0.5 */
    snprintf(json, sizeof json, "%s/ci.json", test_dir());
    assert_int_equal(plan_write_json(json, &ci, NULL), 0);
    size_t len;
    char *text = (char *)read_file_bytes(json, &len);
    cJSON *root = cJSON_Parse(text);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(root, "rule")->valuestring,
                        "ci: delta_lo >= -tau");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "trivial")), 2);
    cJSON_Delete(root);
    free(text);
    plan_free(&paper);
    plan_free(&ci);
    /* the interval rule on a scan without intervals: one clear message */
    snprintf(scan, sizeof scan, "%s/scan.csv", test_dir());
    write_scan(scan);
    assert_int_equal(plan_from_scan(scan, &o, &paper), -1);
    assert_non_null(strstr(error_get(), "delta_lo"));
}

static const PlanEntry *find(const Plan *p, const char *tensor)
{
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->entries[i].tensor, tensor)) return &p->entries[i];
    return NULL;
}

static void test_plan_respects_tau(void **state)
{
    (void)state;
    char scan[4200];
    snprintf(scan, sizeof scan, "%s/scan.csv", test_dir());
    write_scan(scan);
    const double taus[] = {0, 0.004, 0.02, 0.03, 0.1, 1};
    for (int t = 0; t < 6; t++) {
        PlanOptions o;
        plan_options_defaults(&o);
        o.tau = taus[t];
        Plan p;
        assert_int_equal(plan_from_scan(scan, &o, &p), 0);
        assert_int_equal(p.n, 21);
        assert_true(fabs(p.baseline_mean - 0.895) < 1e-12);
        int reusable = 0;
        for (int i = 0; i < p.n; i++) {
            const PlanEntry *e = &p.entries[i];
            /* the drop, from the scan's own numbers */
            int k = atoi(e->layer);
            double drop = !strcmp(e->layer, "head") ? 0.5 : e->role == ROLE_W ? 0.005 * k : 0.001 * k;
            assert_true(e->reusable == (drop <= taus[t] + 1e-9));
            reusable += e->reusable;
        }
        assert_int_equal(p.reusable, reusable);
        assert_int_equal(p.w_total, 11);
        plan_free(&p);
    }
}

static void test_plan_respects_rho(void **state)
{
    (void)state;
    char scan[4200];
    snprintf(scan, sizeof scan, "%s/scan.csv", test_dir());
    write_scan(scan);
    /* tau 0.03: W of layers 1..6 reusable, 6 of 11 W tensors = 0.545 */
    const struct { double rho; bool rn; } cases[] = {
        {0, true}, {0.5, true}, {6.0 / 11, true}, {0.55, false}, {1, false}};
    for (int c = 0; c < 5; c++) {
        PlanOptions o;
        plan_options_defaults(&o);
        o.tau = 0.03;
        o.rho = cases[c].rho;
        Plan p;
        assert_int_equal(plan_from_scan(scan, &o, &p), 0);
        assert_int_equal(p.w_reusable, 6);
        assert_true(p.reusable_network == cases[c].rn);
        plan_free(&p);
    }
}

static void test_plan_json(void **state)
{
    (void)state;
    char scan[4200], json[4200], cmd[9000], out[8192];
    snprintf(scan, sizeof scan, "%s/scan.csv", test_dir());
    snprintf(json, sizeof json, "%s/plan.json", test_dir());
    write_scan(scan);
    snprintf(cmd, sizeof cmd, "%s plan --scan %s --tau 0.02 --rho 0.3 -o %s", reusenet_program(), scan, json);
    assert_int_equal(run_command(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "tau = 0.02"));
    assert_non_null(strstr(out, "rho = 0.3"));
    assert_non_null(strstr(out, "verdict: reusable network"));
    assert_non_null(strstr(out, "W: 5, 6, 7, 8, 9, 10, head"));
    FILE *f = fopen(json, "rb");
    assert_non_null(f);
    char text[65536];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    cJSON *tensors = cJSON_GetObjectItemCaseSensitive(root, "tensors");
    assert_true(cJSON_IsArray(tensors));
    /* RM of all 10 layers and W of layers 1..4 */
    assert_int_equal(cJSON_GetArraySize(tensors), 14);
    cJSON *item;
    int w = 0;
    cJSON_ArrayForEach(item, tensors) {
        assert_true(cJSON_IsString(item));
        if (strstr(item->valuestring, "conv.weight")) {
            int k = atoi(item->valuestring + 1);
            assert_true(k >= 1 && k <= 4);
            w++;
        }
    }
    assert_int_equal(w, 4);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(root, "verdict")->valuestring, "reusable network");
    assert_true(cJSON_GetObjectItemCaseSensitive(root, "tau")->valuedouble == 0.02);
    assert_true(cJSON_GetObjectItemCaseSensitive(root, "rho")->valuedouble == 0.3);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "evidence")), 21);
    cJSON_Delete(root);
}

static void test_plan_rmse_bound(void **state)
{
    (void)state;
    char scan[4200], rmse[4200];
    snprintf(scan, sizeof scan, "%s/scan.csv", test_dir());
    snprintf(rmse, sizeof rmse, "%s/rmse.csv", test_dir());
    write_scan(scan);
    /* two pairs; for seg vs auto, W of layer k has RMSE 0.01 * k */
    FILE *f = fopen(rmse, "w");
    fprintf(f, "pair,model_a,model_b,layer,conv,rmse_w,rmse_b,init_a,init_b,shared_init\n");
    for (int k = 1; k <= 10; k++) {
        fprintf(f, "seg vs auto,seg,auto,%d,l%d.conv,%g,,seed 1,seed 1,yes\n", k, k, 0.01 * k);
        fprintf(f, "seg vs other,seg,other,%d,l%d.conv,0.5,,seed 1,seed 1,yes\n", k, k);
    }
    fclose(f);
    PlanOptions o;
    plan_options_defaults(&o);
    o.tau = 1;                       /* every Dice change acceptable: only RMSE decides */
    o.rmse_path = rmse;
    o.rmse_max = 0.035;
    Plan p;
    assert_int_equal(plan_from_scan(scan, &o, &p), -1);      /* two pairs, none chosen */
    assert_non_null(strstr(error_get(), "--pair"));
    o.pair_a = "auto";                                          /* either order */
    o.pair_b = "seg";
    assert_int_equal(plan_from_scan(scan, &o, &p), 0);
    assert_string_equal(p.pair, "seg vs auto");
    for (int k = 1; k <= 10; k++) {
        char name[64];
        snprintf(name, sizeof name, "l%d.conv.weight", k);
        const PlanEntry *e = find(&p, name);
        assert_non_null(e);
        assert_true(fabs(e->rmse - 0.01 * k) < 1e-9);
        assert_true(e->reusable == (k <= 3));
        snprintf(name, sizeof name, "l%d.bn.running_mean", k);
        assert_true(find(&p, name)->reusable);                 /* RMSE is about W and B */
    }
    plan_free(&p);
    o.pair_a = "seg";
    o.pair_b = "nobody";
    assert_int_equal(plan_from_scan(scan, &o, &p), -1);
    assert_non_null(strstr(error_get(), "no rows for the pair seg, nobody"));
}

/* The plan reader that training and the report share (train/plan_file.c): it reads what
 * plan_write_json writes, and rejects anything else with one line naming the file. */
static void test_plan_file_reader(void **state)
{
    (void)state;
    char scan[4200], json[4200];
    snprintf(scan, sizeof scan, "%s/scan.csv", test_dir());
    snprintf(json, sizeof json, "%s/read.json", test_dir());
    write_scan(scan);
    PlanOptions o;
    plan_options_defaults(&o);
    Plan p;
    assert_int_equal(plan_from_scan(scan, &o, &p), 0);
    assert_int_equal(plan_write_json(json, &p, NULL), 0);
    cJSON *root = plan_file_read(json);
    assert_non_null(root);
    const cJSON *tensors = cJSON_GetObjectItemCaseSensitive(root, "tensors"), *item;
    int i = 0;
    cJSON_ArrayForEach(item, tensors) {
        while (!p.entries[i].reusable) i++;
        assert_string_equal(item->valuestring, p.entries[i++].tensor);
    }
    assert_int_equal(cJSON_GetArraySize(tensors), p.reusable);
    cJSON_Delete(root);
    plan_free(&p);

    static const struct { const char *text; size_t len; const char *expect; } bad[] = {
        {"", 0, "invalid JSON near byte 0"},
        {"{\"tensors\": [\"a\",", 17, "invalid JSON"},
        {"[\"a\"]", 5, "no \"tensors\" array"},
        {"{\"tensors\": \"a\"}", 16, "no \"tensors\" array"},
        {"{\"tensors\": [\"a\", 3]}", 21, "non-string entry"},
        {"{\"tensors\": []} x", 17, "text after the JSON value"},
        {"{\"tensors\": []}\0", 16, "holds a NUL byte"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        error_clear();
        assert_null(plan_file_parse(bad[k].text, bad[k].len, "bad.json"));
        if (!strstr(error_get(), bad[k].expect) || strncmp(error_get(), "bad.json: ", 10) ||
            strchr(error_get(), '\n'))
            fail_msg("case %zu: '%s'", k, error_get());
    }
    /* white space after the object is fine, as JSON allows */
    root = plan_file_parse("{\"tensors\": []}\n \t\r\n", 20, "ok.json");
    assert_non_null(root);
    cJSON_Delete(root);
    assert_null(plan_file_read(test_dir()));
    assert_non_null(strstr(error_get(), "not a regular file"));
}

static void test_plan_bad_scans(void **state)
{
    (void)state;
    char path[4200], cmd[9000], out[4096];
    PlanOptions o;
    plan_options_defaults(&o);
    Plan p;
    snprintf(path, sizeof path, "%s/bad.csv", test_dir());
    test_file_write(path, "layer,kind,tensor,mean,delta\n1,W,a.weight,0.5,-0.1\n");
    assert_int_equal(plan_from_scan(path, &o, &p), -1);
    assert_non_null(strstr(error_get(), "no baseline row"));
    test_file_write(path, "layer,kind,tensor,mean\nbaseline,,,0.5\n");
    assert_int_equal(plan_from_scan(path, &o, &p), -1);
    assert_non_null(strstr(error_get(), "no 'delta' column"));
    test_file_write(path, "layer,kind,tensor,mean,delta\nbaseline,,,0.5,0\n1,Q,a.weight,0.5,-0.1\n");
    assert_int_equal(plan_from_scan(path, &o, &p), -1);
    assert_non_null(strstr(error_get(), "row 3"));
    /* found by fuzz_report_csv: a quoted field with line breaks, quoted in the message,
     * made it several lines */
    test_file_write(path, "layer,kind,tensor,mean,delta\nbaseline,,,0.5,0\n\"a\nb\r\nc\",Q,t,0.5,-0.1\n");
    assert_int_equal(plan_from_scan(path, &o, &p), -1);
    assert_non_null(strstr(error_get(), "layer 'a b  c' is not a layer number"));
    assert_null(strpbrk(error_get(), "\r\n"));
    snprintf(cmd, sizeof cmd, "%s plan --scan %s/missing.csv -o %s/p.json", reusenet_program(),
             test_dir(), test_dir());
    assert_int_equal(run_command(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "missing.csv"));
    snprintf(cmd, sizeof cmd, "%s plan --scan %s --rmse-max 0.1 -o %s/p.json", reusenet_program(),
             path, test_dir());
    assert_int_equal(run_command(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "%s plan --scan %s --rho 2 -o %s/p.json", reusenet_program(), path, test_dir());
    assert_int_equal(run_command(cmd, out, sizeof out), 2);
}

TEST_MAIN("reuse plan", test_dir_setup, test_dir_teardown,
          test_plan_respects_tau, test_plan_rule_ci, test_plan_respects_rho, test_plan_json,
          test_plan_rmse_bound, test_plan_file_reader, test_plan_bad_scans)
