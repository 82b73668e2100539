/* The study report (report/report.c, report_md.c, study.c, svg.c): from a study folder
 * with every kind of result, the HTML page contains every figure (swap scans, BN
 * statistics, RMSE per pair and across pairs, Table 1, plans, overlays) as SVG charts with
 * titles, axes and legends, is self-contained (no scripts, nothing fetched) and well
 * nested; report.md has the same tables; Table 1 in the older (seeds) and the newer format
 * (runs, intervals, paired tests) with its figures; bad study folders give one clear message.
 * (tests/report/check_render.sh opens a report in headless Chromium.) */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "datasets/pngio.h"
#include "engine/engine.h"
#include "reuse/bnstats.h"
#include "reuse/plan.h"
#include "reuse/plan_json.h"
#include "reuse/plan_validate.h"
#include "report/report.h"
#include "report/report_data.h"
#include "reuse/rmse.h"
#include "report/study_folder.h"
#include "reuse/swap.h"
#include "tests/testutil.h"

static char *dir;

static void make_model(Model *m, ModelTask task, uint64_t seed)
{
    ModelConfig cfg = {.arch = ARCH_UNET, .in_channels = 1, .classes = 4, .width = 4, .task = task};
    assert_int_equal(model_create(m, &cfg), 0);
    model_init_weights(m, seed);
    Rng r;
    rng_seed(&r, seed, 2);
    for (int k = 1; k <= m->n_numbered; k++)             /* BN tensors that differ */
        for (int role = ROLE_RM; role <= ROLE_RB; role++) {
            Param *p = model_param(m, model_layer(m, k), (ParamRole)role);
            for (size_t j = 0; j < p->t.size; j++)
                p->t.data[j] = (role == ROLE_RV || role == ROLE_RW ? 0.5f : -0.5f) + rng_uniform(&r);
        }
}

/* A scan CSV in the real format: every row of a UNet's table with made-up Dice values
 * (W of the odd layers drops by 0.1; everything else by 0.001). With controls: intervals
 * delta +- 0.01, init -0.05 everywhere, random trivial for the RM rows; without: empty. */
static void write_scan_controls(const char *path, Model *m, bool controls)
{
    SwapScan s = {.classes = 4, .evaluated = 0xf};
    s.rows = calloc(200, sizeof *s.rows);
    SwapRow *b = &s.rows[s.n_rows++];
    b->layer = -1;
    b->role = -1;
    snprintf(b->label, sizeof b->label, "baseline");
    for (int c = 0; c < 4; c++) b->dice[c] = 0.9 - 0.1 * c;
    b->mean = 0.75;
    for (int r = 0; r < m->n_layers; r++) {
        const Layer *l = &m->layers[r];
        for (int k = 0; k < ROLE_COUNT; k++) {
            if (l->param[k] < 0) continue;
            SwapRow *row = &s.rows[s.n_rows++];
            row->layer = l->number;
            row->role = k;
            snprintf(row->label, sizeof row->label, "%s", l->label);
            snprintf(row->tensor, sizeof row->tensor, "%s", m->params.items[l->param[k]].name);
            double drop = k == ROLE_W && l->number % 2 ? 0.1 : 0.001;
            for (int c = 0; c < 4; c++) row->dice[c] = b->dice[c] - drop;
            row->mean = b->mean - drop;
            row->delta = -drop;
            row->delta_lo = controls ? -drop - 0.01 : NAN;
            row->delta_hi = controls ? -drop + 0.01 : NAN;
            for (int d = 0; d < DONOR_COUNT; d++) row->delta_donor[d] = NAN;
            row->delta_donor[DONOR_SOURCE] = -drop;
            row->delta_donor[DONOR_INIT] = controls ? -0.05 : NAN;
            row->delta_donor[DONOR_RANDOM] = controls ? (k == ROLE_RM ? 0 : -0.2) : NAN;
            row->trivial = controls ? k == ROLE_RM : -1;
            row->mean_recal = row->delta_recal = NAN;
        }
    }
    s.donor[DONOR_SOURCE] = true;
    s.donor[DONOR_INIT] = s.donor[DONOR_RANDOM] = controls;
    s.resamples = controls ? 100 : 0;
    b->delta_lo = b->delta_hi = controls ? 0 : NAN;
    for (int d = 0; d < DONOR_COUNT; d++) b->delta_donor[d] = NAN;
    b->trivial = -1;
    b->mean_recal = b->delta_recal = NAN;
    assert_int_equal(swap_write_csv(path, &s), 0);
    free(s.rows);
}

static void write_scan(const char *path, Model *m) { write_scan_controls(path, m, false); }

static int setup(void **state)
{
    (void)state;
    dir = make_temp_dir("report");
    if (!dir) return -1;
    const char *subs[] = {"scans", "bn", "rmse", "plans", "transfer", "overlays"};
    for (int i = 0; i < 6; i++)
        if (mkdir(path_in(dir, "%s", subs[i]), 0755)) return -1;
    ReuseModel rm[3];
    memset(rm, 0, sizeof rm);
    make_model(&rm[0].model, TASK_SEG, 1);
    make_model(&rm[1].model, TASK_AUTO, 2);
    make_model(&rm[2].model, TASK_SEG, 3);
    const char *names[] = {"acdc-seg", "acdc-auto", "t1-seg"}, *inits[] = {"seed 1", "seed 1", "seed 7"};
    for (int i = 0; i < 3; i++) {
        snprintf(rm[i].name, sizeof rm[i].name, "%s", names[i]);
        snprintf(rm[i].init, sizeof rm[i].init, "%s", inits[i]);
    }
    const char *scan = path_in(dir, "scans/unet-seg_from_auto.csv"), *q;
    write_scan(scan, &rm[0].model);
    BnStatsRow *bn;
    int n = bnstats_compute(&rm[0].model, &rm[1].model, &bn);
    q = path_in(dir, "bn/unet-seg_vs_auto.csv");
    assert_int_equal(bnstats_write_csv(q, bn, n), 0);
    free(bn);
    RmseRow *rows;
    n = rmse_compute(rm, 3, &rows);
    q = path_in(dir, "rmse/unet.csv");
    assert_int_equal(rmse_write_csv(q, rm, rows, n, false), 0);
    free(rows);
    PlanOptions po;
    plan_options_defaults(&po);
    Plan plan;
    assert_int_equal(plan_from_scan(scan, &po, &plan), 0);
    q = path_in(dir, "plans/unet-auto.json");
    assert_int_equal(plan_write_json(q, &plan, NULL), 0);
    plan_free(&plan);
    q = path_in(dir, "transfer/table.csv");
    /* the format `reusenet transfer` writes: mean and sd over seeds per class */
    test_file_write(q, "n,configuration,seeds,class_0,class_0_sd,class_1,class_1_sd,mean,mean_sd\n"
                  "10,random init,3,0.99,0.01,0.62,0.05,0.73,0.03\n"
                  "10,t1-auto freeze,3,0.99,0.00,0.70,0.04,0.81,0.02\n");
    uint8_t rgb[16 * 8 * 3];
    for (int i = 0; i < 16 * 8 * 3; i++) rgb[i] = (uint8_t)(i * 7);
    q = path_in(dir, "overlays/slice-3.png");
    assert_int_equal(pngio_write_rgb(q, rgb, 16, 8, 0), 0);
    for (int i = 0; i < 3; i++) model_free(&rm[i].model);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int rc = remove_tree(dir);
    free(dir);
    return rc ? -1 : 0;
}

static void assert_contains(const char *text, const char *what)
{
    if (!strstr(text, what)) {
        print_error("the report lacks '%s'\n", what);
        fail();
    }
}

static void test_report_has_every_figure(void **state)
{
    (void)state;
    Study s;
    assert_int_equal(study_load(dir, &s), 0);
    assert_int_equal(s.n_scans, 1);
    assert_int_equal(s.n_bn, 1);
    assert_int_equal(s.n_rmse, 1);
    assert_int_equal(s.n_plans, 1);
    assert_true(s.has_table);
    assert_int_equal(s.n_overlays, 1);
    const char *html = path_in(dir, "report.html"), *md = path_in(dir, "report.md");
    assert_int_equal(report_write_html(&s, html), 0);
    assert_int_equal(report_write_md(&s, md), 0);
    study_free(&s);

    char *t = (char *)read_file_bytes(html, NULL);
    /* every figure, by id */
    const char *ids[] = {"id=\"fig-scan-bn-unet-seg_from_auto\"", "id=\"fig-scan-conv-unet-seg_from_auto\"",
                         "id=\"fig-bn-unet-seg_vs_auto\"", "id=\"fig-rmse-layers-unet\"",
                         "id=\"fig-rmse-pairs-unet\"", "id=\"table-plans\"", "id=\"plan-unet-auto\"",
                         "id=\"table-1\"", "id=\"fig-transfer-mean\"", "id=\"overlay-slice-3\""};
    for (int i = 0; i < 10; i++) assert_contains(t, ids[i]);
    /* the charts: 4 + 2 scan panels, 2 BN, 3 pairs, 2 across pairs, 1 transfer */
    assert_int_equal(count_in(t, "<svg"), 14);
    const char *titles[] = {"RM swapped", "RV swapped", "RW swapped", "RB swapped", "W swapped",
                            "B swapped", "Shift: MRM and MRB", "Scale: MRV and MRW",
                            "acdc-seg vs acdc-auto", "acdc-seg vs t1-seg", "acdc-auto vs t1-seg",
                            "W: every pair", "B: every pair", "Mean Dice per configuration"};
    for (int i = 0; i < 14; i++) assert_contains(t, titles[i]);
    /* axes labels and legends */
    assert_true(count_in(t, ">layer</text>") >= 13);
    assert_true(count_in(t, ">Dice</text>") == 6);
    assert_contains(t, ">mean Dice</text>");
    assert_contains(t, ">class 3</text>");
    assert_contains(t, ">baseline 0.750</text>");
    assert_contains(t, ">MRW</text>");
    assert_contains(t, ">head</text>");
    /* the paper's figures named in the captions (UNet: 3, 4, 5, 6; 11 and 12) */
    const char *refs[] = {"Figure 3.", "Figure 4.", "Figure 5.", "Figure 6.", "Figures 11 and 12"};
    for (int i = 0; i < 5; i++) assert_contains(t, refs[i]);
    /* initialisation: t1-seg did not start from seed 1 */
    assert_contains(t, "acdc-seg vs acdc-auto: shared initialisation");
    assert_contains(t, "acdc-seg vs t1-seg: <b>no shared initialisation</b>");
    /* Table 1 and the plan */
    assert_contains(t, "<th>n</th><th>configuration</th><th>seeds</th><th>class_0</th><th>class_1</th><th>mean</th>");
    assert_contains(t, "<td>t1-auto freeze</td>");
    assert_contains(t, "<td>0.81 &plusmn; 0.02</td>");
    assert_contains(t, ">n=10 t1-auto freeze</text>");     /* the bar's label */
    /* W of the odd layers is not reusable: 10 of 19 W tensors are, above rho = 0.5 */
    assert_contains(t, "<td>1, 3, 5, 7, 9, 11, 13, 15, 17</td>");
    assert_contains(t, "<td>10 of 19</td>");
    assert_contains(t, "<td class=\"ok\">reusable network</td>");
    /* the overlay embedded: base64 of the PNG signature */
    assert_contains(t, "src=\"data:image/png;base64,iVBORw0KGgo");
    /* self-contained and well nested */
    /* which kinds matter: W of the 9 odd layers drops by 0.1, the other 10 W and every B by
     * 0.001: mean (-0.9 - 0.01) / 19 */
    assert_contains(t, "<h4>Which kinds matter (conclusions 2 and 3)</h4>");
    assert_contains(t, "<td class=\"ok\">W is more sensitive than B (confirmed)</td>");
    assert_null(strstr(t, "<script"));
    assert_null(strstr(t, "http:"));
    assert_null(strstr(t, "https:"));
    assert_null(strstr(t, "<link"));
    const char *pairs[][2] = {{"<figure", "</figure>"}, {"<svg", "</svg>"}, {"<table", "</table>"},
                              {"<div", "</div>"}, {"<section", "</section>"}, {"<details", "</details>"}};
    for (int i = 0; i < 6; i++) assert_int_equal(count_in(t, pairs[i][0]), count_in(t, pairs[i][1]));
    assert_null(strstr(t, "nan"));
    free(t);

    char *m = (char *)read_file_bytes(md, NULL);
    assert_contains(m, "| layer | RM | RV | RW | RB | W | B |");
    assert_contains(m, "| layer | MRM | MRB | MRV | MRW |");
    assert_contains(m, "| layer | acdc-seg vs acdc-auto | acdc-seg vs t1-seg | acdc-auto vs t1-seg |");
    assert_contains(m, "## Transfer experiment (Table 1)");
    assert_contains(m, "| n | configuration | seeds | class_0 | class_1 | mean |");
    assert_contains(m, "| 10 | t1-auto freeze | 3 | 0.99 ± 0.00 | 0.70 ± 0.04 | 0.81 ± 0.02 |");
    assert_contains(m, "| reusable network |  |  |  |  | 1, 3, 5, 7, 9, 11, 13, 15, 17 |  |");
    assert_contains(m, "**no shared initialisation**");
    assert_contains(m, "#### Which kinds matter (conclusions 2 and 3)");
    assert_contains(m, "| W | 19 | -0.0479 [");
    assert_contains(m, "overlays/slice-3.png");
    free(m);
}

/* The controls figure with its sentence (counts known from write_scan_controls), trivial
 * tensors apart in the plans table, and a validated plan's cumulative curve. */
static void test_report_controls_and_validation(void **state)
{
    (void)state;
    char sub[4200], p[4400], q[4400];
    snprintf(sub, sizeof sub, "%s", path_in(dir, "controls"));
    assert_int_equal(mkdir(sub, 0755), 0);
    snprintf(p, sizeof p, "%s/scans", sub);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/plans", sub);
    assert_int_equal(mkdir(p, 0755), 0);
    Model m;
    make_model(&m, TASK_SEG, 1);
    int rows = 0, rm = 0, odd_w = 0;
    for (int r = 0; r < m.n_layers; r++)
        for (int k = 0; k < ROLE_COUNT; k++) {
            if (m.layers[r].param[k] < 0) continue;
            rows++;
            rm += k == ROLE_RM;
            odd_w += k == ROLE_W && m.layers[r].number % 2;
        }
    snprintf(p, sizeof p, "%s/scans/c.csv", sub);
    write_scan_controls(p, &m, true);
    PlanOptions po;
    plan_options_defaults(&po);
    Plan plan;
    assert_int_equal(plan_from_scan(p, &po, &plan), 0);
    PlanPoint cum[3] = {{.layer = "1", .n_tensors = 6, .delta = -0.01, .delta_lo = -0.02, .delta_hi = 0},
                        {.layer = "2", .n_tensors = 12, .delta = -0.03, .delta_lo = -0.05, .delta_hi = -0.01},
                        {.layer = "head", .n_tensors = 14, .delta = -0.05, .delta_lo = -0.07, .delta_hi = -0.03}};
    PlanPoint greedy[1] = {{.layer = "3", .tensor = "enc2.bn1.weight", .n_tensors = 1, .delta = -0.001,
                            .delta_lo = -0.002, .delta_hi = 0}};
    PlanValidation v = {.baseline_mean = 0.75, .patients = 5, .resamples = 100, .slices = 40,
                        .tau = 0.02, .whole = cum[2], .cumulative = cum, .n_cumulative = 3,
                        .greedy = greedy, .n_greedy = 1, .greedy_stop = -0.04, .candidates = 4,
                        .evaluations = 9};
    snprintf(q, sizeof q, "%s/plans/c.json", sub);
    assert_int_equal(plan_write_json(q, &plan, &v), 0);
    plan_free(&plan);
    model_free(&m);
    Study st;
    assert_int_equal(study_load(sub, &st), 0);
    snprintf(q, sizeof q, "%s/r.html", sub);
    assert_int_equal(report_write_html(&st, q), 0);
    study_free(&st);
    char *t = (char *)read_file_bytes(q, NULL), want[512];
    const char *titles[] = {"RM: change of mean Dice", "RV: change of mean Dice",
                            "W: change of mean Dice", "B: change of mean Dice"};
    for (int i = 0; i < 4; i++) assert_contains(t, titles[i]);
    assert_contains(t, ">source (95% band)</text>");
    assert_contains(t, ">random</text>");
    assert_contains(t, "fill-opacity=\"0.18\"");              /* the bands */
    snprintf(want, sizeof want, "In %d of %d tensors the random control does as well as the "
             "source", rm, rows);
    assert_contains(t, want);
    snprintf(want, sizeof want, "In %d of %d the target's own initial tensor does as well", odd_w, rows);
    assert_contains(t, want);
    snprintf(want, sizeof want, "In %d of %d tensors the source's swap lowers the Dice with its "
             "whole 95%% interval below 0", odd_w, rows);
    assert_contains(t, want);
    /* the plan (paper rule, tau 0.02): every RM row reusable and trivial */
    snprintf(want, sizeof want, "<details><summary>%d</summary>enc1.bn1.running_mean", rm);
    assert_contains(t, want);
    assert_contains(t, "cumulative joint change of mean Dice");
    assert_contains(t, "The whole plan (14 tensors) changes the mean Dice by -0.0500 [-0.0700, -0.0300]");
    assert_contains(t, "the greedy set keeps 1 tensors within &tau; (change -0.0010");
    assert_null(strstr(t, "nan"));
    free(t);
}

/* Table 1 in the format with runs, intervals and paired tests (report/report_table1.c): a
 * single-run row (empty sd and intervals), random init (empty difference), a configuration
 * with a comma. Every expectation is checked before failing, so that one broken rule shows
 * all that it breaks. */
static void test_report_table1_intervals(void **state)
{
    (void)state;
    char sub[4200], p[4400];
    snprintf(sub, sizeof sub, "%s", path_in(dir, "table1"));
    assert_int_equal(mkdir(sub, 0755), 0);
    snprintf(p, sizeof p, "%s/transfer", sub);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/transfer/table.csv", sub);
    test_file_write(p, "n,configuration,runs,class_0,class_0_sd,class_1,class_1_sd,mean,mean_sd,"
                  "mean_ci_lo,mean_ci_hi,delta_random,delta_ci_lo,delta_ci_hi,p_value\n"
                  "10,random init,6,0.9900,0.0100,0.6200,0.0500,0.7300,0.0300,0.6985,0.7615,,,,\n"
                  "10,T1_seg plan frozen,6,0.9900,0.0120,0.7000,0.0400,0.8100,0.0200,0.7890,"
                  "0.8310,0.0800,0.0512,0.1088,0.03125\n"
                  "10,T1_seg all fine-tune,1,0.9800,,0.6900,,0.7700,,,,0.0400,,,\n"
                  "50,random init,6,0.9910,0.0110,0.8000,0.0300,0.8600,0.0200,0.8390,0.8810,,,,\n"
                  "50,\"T1 seg, plan fine-tune\",6,0.9920,0.0130,0.7900,0.0300,0.8500,0.0250,"
                  "0.8238,0.8762,-0.0100,-0.0300,0.0100,0.4375\n");
    Study st;
    assert_int_equal(study_load(sub, &st), 0);
    snprintf(p, sizeof p, "%s/r.html", sub);
    assert_int_equal(report_write_html(&st, p), 0);
    char *h = (char *)read_file_bytes(p, NULL);
    snprintf(p, sizeof p, "%s/r.md", sub);
    assert_int_equal(report_write_md(&st, p), 0);
    char *m = (char *)read_file_bytes(p, NULL);
    study_free(&st);

    /* the table: x ± sd [lo, hi], "—" for the single run's spread and the empty cells */
    expect_in(h, "<th>n</th><th>configuration</th><th>runs</th><th>class_0</th><th>class_1</th>"
                 "<th>mean [95 % CI]</th><th>delta_random [95 % CI]</th><th>p_value</th>");
    expect_in(h, "<td>0.7300 &plusmn; 0.0300 [0.6985, 0.7615]</td><td>—</td><td>—</td></tr>");
    expect_in(h, "<td>0.8100 &plusmn; 0.0200 [0.7890, 0.8310]</td><td>0.0800 [0.0512, 0.1088]</td>"
                 "<td>0.03125</td>");
    expect_in(h, "<td>1</td><td>0.9800 &plusmn; —</td><td>0.6900 &plusmn; —</td><td>0.7700 "
                 "&plusmn; —</td><td>0.0400</td><td>—</td>");
    expect_in(h, "<td>-0.0100 [-0.0300, 0.0100]</td><td>0.4375</td>");
    expect_in(h, "<td>T1 seg, plan fine-tune</td>");
    expect_not_in(h, "&plusmn; 0.00");
    expect_not_in(h, "&plusmn; </td>");
    expect_not_in(h, "&plusmn; <");
    expect_not_in(h, "[, ]");
    /* the figures: means with intervals; the forest plot without random init */
    expect_in(h, "<figure id=\"table1-intervals\">");
    expect_in(h, "<figure id=\"table1-forest\">");
    expect_not_in(h, "id=\"fig-transfer-mean\"");
    expect_in(h, ">n = 10</text>");
    expect_in(h, ">n = 50</text>");
    expect_in(h, "n=10 T1_seg plan frozen: mean Dice 0.8100, 95 % interval [0.7890, 0.8310], 6 runs");
    expect_in(h, "n=10 T1_seg all fine-tune: mean Dice 0.7700, 1 run(s), no interval");
    const char *forest = strstr(h, "id=\"table1-forest\"");
    char *forest_end = forest ? strstr(forest, "</figure>") : NULL;
    if (forest_end) *forest_end = '\0';
    forest = forest ? forest : "";
    expect_in(forest, "n=10 T1_seg plan frozen: difference to random init 0.0800 [0.0512, 0.1088], "
                      "p = 0.03125, 6 run(s)");
    expect_in(forest, "n=50 T1 seg, plan fine-tune: difference to random init -0.0100 [-0.0300, "
                      "0.0100], p = 0.4375");
    expect_in(forest, "n=10 T1_seg all fine-tune: difference to random init 0.0400, p = —, 1 run(s)");
    expect_in(forest, ">p = 0.03125</text>");
    expect_in(forest, ">p = —</text>");
    expect_in(forest, "stroke-dasharray=\"4 3\"");      /* the line at 0 */
    expect_not_in(forest, "random init</text>");
    expect_that(count_in(forest, "<circle") == 3, "forest points: not", "3");
    expect_that(count_in(forest, "<path d=\"M") == 3, "forest: axes + 2 interval bars, not", "3");
    if (forest_end) *forest_end = '<';
    expect_not_in(h, "nan");
    const char *pairs[][2] = {{"<figure", "</figure>"}, {"<svg", "</svg>"}, {"<g>", "</g>"}};
    for (int i = 0; i < 3; i++)
        expect_that(count_in(h, pairs[i][0]) == count_in(h, pairs[i][1]), "unbalanced", pairs[i][0]);

    /* the Markdown table likewise */
    expect_in(m, "| n | configuration | runs | class_0 | class_1 | mean [95 % CI] | delta_random "
                 "[95 % CI] | p_value |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
    expect_in(m, "| 10 | random init | 6 | 0.9900 ± 0.0100 | 0.6200 ± 0.0500 | 0.7300 ± 0.0300 "
                 "[0.6985, 0.7615] | — | — |");
    expect_in(m, "| 10 | T1_seg plan frozen | 6 | 0.9900 ± 0.0120 | 0.7000 ± 0.0400 | 0.8100 ± "
                 "0.0200 [0.7890, 0.8310] | 0.0800 [0.0512, 0.1088] | 0.03125 |");
    expect_in(m, "| 10 | T1_seg all fine-tune | 1 | 0.9800 ± — | 0.6900 ± — | 0.7700 ± — | 0.0400 | — |");
    expect_in(m, "| 50 | T1 seg, plan fine-tune | 6 |");
    expect_in(m, "| -0.0100 [-0.0300, 0.0100] | 0.4375 |");
    expect_not_in(m, "± 0.00");
    expect_not_in(m, "±  ");
    expect_not_in(m, "± |");
    free(h);
    free(m);

    /* the older format from a single seed wrote sd 0: one run has no spread either */
    snprintf(p, sizeof p, "%s/transfer/table.csv", sub);
    test_file_write(p, "n,configuration,seeds,class_0,class_0_sd,mean,mean_sd\n"
                  "10,random init,1,0.9900,0.0000,0.7300,0.0000\n");
    assert_int_equal(study_load(sub, &st), 0);
    snprintf(p, sizeof p, "%s/r.md", sub);
    assert_int_equal(report_write_md(&st, p), 0);
    study_free(&st);
    m = (char *)read_file_bytes(p, NULL);
    expect_in(m, "| n | configuration | seeds | class_0 | mean |\n");
    expect_in(m, "| 10 | random init | 1 | 0.9900 ± — | 0.7300 ± — |");
    expect_not_in(m, "± 0.00");
    free(m);
    expect_all_met();
}

static void test_report_command(void **state)
{
    (void)state;
    char cmd[9000], out[4096];
    const char *html = path_in(dir, "cli.html"), *md = path_in(dir, "cli.md");
    snprintf(cmd, sizeof cmd, "%s report %s -o %s", reusenet_program(), dir, html);
    assert_int_equal(run_command(cmd, out, sizeof out), 0);
    assert_contains(out, "1 scan(s)");
    struct stat st;
    assert_int_equal(stat(html, &st), 0);
    assert_int_equal(stat(md, &st), 0);
    snprintf(cmd, sizeof cmd, "%s report %s/scans -o %s", reusenet_program(), dir, html);
    assert_int_equal(run_command(cmd, out, sizeof out), 1);
    assert_contains(out, "no study results");
}

static void test_report_bad_study(void **state)
{
    (void)state;
    char p[4300];
    Study s;
    const char *sub = path_in(dir, "bad");
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(study_load(sub, &s), -1);
    assert_contains(error_get(), "no study results");
    snprintf(p, sizeof p, "%s/scans", sub);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/scans/x.csv", sub);
    test_file_write(p, "layer,bn,MRM\n1,a,0.5\n");
    assert_int_equal(study_load(sub, &s), -1);
    assert_contains(error_get(), "x.csv: no 'kind' column");
    test_file_write(p, "layer,kind,tensor,mean,delta\nbaseline,,,\"0.5\n");
    assert_int_equal(study_load(sub, &s), -1);
    assert_contains(error_get(), "x.csv:2: unterminated quoted field");
    /* found by fuzz_report_csv: the same in the header line freed the header twice */
    test_file_write(p, "layer,\"kind,tensor\n1,W,a\n");
    assert_int_equal(study_load(sub, &s), -1);
    assert_contains(error_get(), "x.csv:1: unterminated quoted field");
    assert_int_equal(study_load(path_in(dir, "missing"), &s), -1);
    assert_contains(error_get(), "not a folder");
}

/* Plan counts as the report reads them (plan_summary): a count that is not a number in
 * 0..INT_MAX is missing (found by fuzz_plan_json: converting 3e9 to int was undefined). */
static void test_plan_summary_counts(void **state)
{
    (void)state;
    cJSON *json = cJSON_Parse("{\"tensors\": [\"a\", \"b\"], \"reused_tensors\": 1e300, "
                              "\"total_tensors\": 3e9, \"w_reusable\": -2, \"w_total\": 7.9, "
                              "\"not_reusable\": {\"W\": [\"1\", 6, \"11\"]}}");
    assert_non_null(json);
    PlanSummary p;
    plan_summary(json, &p);
    assert_int_equal(p.reused, 2);           /* missing: the length of "tensors" */
    assert_int_equal(p.total, -1);
    assert_int_equal(p.w_reusable, -1);
    assert_int_equal(p.w_total, 7);
    assert_string_equal(p.not_reusable[4], "1, 11");
    assert_true(isnan(p.tau));
    cJSON_Delete(json);
}

TEST_MAIN("reuse report", setup, teardown,
          test_report_has_every_figure, test_report_command, test_report_controls_and_validation,
          test_report_table1_intervals, test_plan_summary_counts, test_report_bad_study)
