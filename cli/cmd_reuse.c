/* reusenet bnstats | rmse | swap | plan | report: the parameter-reuse analyses of
 * docs/method.md as commands (reuse/). Each writes a CSV (or JSON, HTML) a person can open
 * and prints a readable summary. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "cli/data_args.h"
#include "cli/options.h"
#include "engine/engine.h"
#include "engine/fsutil.h"
#include "reuse/bnstats.h"
#include "reuse/plan.h"
#include "reuse/plan_json.h"
#include "reuse/plan_validate.h"
#include "report/report.h"
#include "reuse/reuse_model.h"
#include "reuse/rmse.h"
#include "reuse/swap.h"
#include "reuse/swap_controls.h"
#include "reuse/swap_state.h"
#include "train/data.h"

#define MAX_MODELS 16

/* Load target and source and check that they can be compared. */
static int load_pair(const char *command, const char *target, const char *source,
                     ReuseModel *t, ReuseModel *s)
{
    if (reuse_model_load(t, target, NULL)) return cli_fail(command);
    if (reuse_model_load(s, source, NULL) || reuse_models_compatible(t, s)) {
        reuse_model_free(t);
        reuse_model_free(s);
        return cli_fail(command);
    }
    return 0;
}

int cmd_bnstats(int argc, char **argv)
{
    const char *target = NULL, *source = NULL, *out = NULL;
    const Option opts[] = {
        {"--target", OPT_STRING, &target, "T.safetensors  the target model", true},
        {"--source", OPT_STRING, &source, "S.safetensors  the source model (same architecture)", true},
        {"-o", OPT_STRING, &out, "FILE  CSV: layer,bn,channels,MRM,MRV,MRW,MRB,skipped", true},
    };
    const OptionSpec spec = {"reusenet bnstats", "BN scale and shift statistics MRM, MRV, MRW, "
                             "MRB of T against S for every BN layer (docs/method.md; "
                             "paper Figures 5, 9).", NULL, 0, 0, opts, sizeof opts / sizeof opts[0]};
    int rc = options_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return rc == 1 ? 0 : rc;
    const char *inputs[] = {target, source};
    if (fs_check_output(out, inputs, 2)) return cli_fail("bnstats");
    ReuseModel t, s;
    if ((rc = load_pair("bnstats", target, source, &t, &s))) return rc;
    BnStatsRow *rows;
    int n = bnstats_compute(&t.model, &s.model, &rows);
    printf("BN statistics of %s (target) against %s (source)\n", t.name, s.name);
    bnstats_print(stdout, rows, n);
    rc = bnstats_write_csv(out, rows, n);
    free(rows);
    reuse_model_free(&t);
    reuse_model_free(&s);
    if (rc) return cli_fail("bnstats");
    printf("wrote %s\n", out);
    return 0;
}

/* Split "a,b,c" into names[]; 2 on a bad list (message printed). */
static int parse_names(const char *list, int expected, char names[][REUSE_NAME_MAX])
{
    int n = 0;
    const char *p = list;
    while (*p && n <= expected) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (!len || len >= REUSE_NAME_MAX) break;
        if (n < expected) {
            memcpy(names[n], p, len);
            names[n][len] = '\0';
        }
        n++;
        p += len + (comma ? 1 : 0);
        if (!comma) break;
    }
    if (n != expected || *p) {
        fprintf(stderr, "reusenet rmse: --names needs %d non-empty comma-separated names "
                "(at most %d characters each), got '%s'\n", expected, REUSE_NAME_MAX - 1, list);
        return 2;
    }
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (!strcmp(names[i], names[j])) {
                fprintf(stderr, "reusenet rmse: --names: '%s' is given twice\n", names[i]);
                return 2;
            }
    return 0;
}

int cmd_rmse(int argc, char **argv)
{
    const char *names_list = NULL, *out = NULL;
    char *paths[MAX_MODELS];
    int n = 0;
    bool align = false;
    uint64_t seed = 0;
    const Option opts[] = {
        {"--names", OPT_STRING, &names_list, "a,b,...  a name per model (default: file names)", false},
        {"--align", OPT_FLAG, &align, "also the RMSE after weight matching the second model of "
         "each pair to the first (columns rmse_w_aligned, rmse_b_aligned; see reusenet align)", false},
        {"--seed", OPT_U64, &seed, "S  with --align: order of the coordinate descent (default 0)", false},
        {"-o", OPT_STRING, &out, "FILE  CSV: pair,model_a,model_b,layer,conv,rmse_w,rmse_b,"
         "[rmse_w_aligned,rmse_b_aligned,]init_a,init_b,shared_init", true},
    };
    const OptionSpec spec = {"reusenet rmse", "Per-layer RMSE of the conv weights W and biases B "
                             "for every pair of the models (docs/method.md; paper "
                             "Figures 6, 10, 11, 12).", "A.safetensors B.safetensors [C ...]", 2,
                             MAX_MODELS, opts, sizeof opts / sizeof opts[0]};
    int rc = options_parse(&spec, argc, argv, paths, &n);
    if (rc) return rc == 1 ? 0 : rc;
    char names[MAX_MODELS][REUSE_NAME_MAX];
    if (names_list && (rc = parse_names(names_list, n, names))) return rc;
    if (fs_check_output(out, (const char *const *)paths, n)) return cli_fail("rmse");
    ReuseModel models[MAX_MODELS];
    int loaded = 0;
    for (; loaded < n && !rc; loaded++) {
        if (reuse_model_load(&models[loaded], paths[loaded], names_list ? names[loaded] : NULL)) {
            rc = 1;
            break;
        }
        if (loaded && reuse_models_compatible(&models[0], &models[loaded])) rc = 1;
    }
    if (!rc && !names_list)
        for (int i = 0; i < n && !rc; i++)
            for (int j = i + 1; j < n; j++)
                if (!strcmp(models[i].name, models[j].name)) {
                    error_set("%s and %s have the same name '%s'; give --names", paths[i],
                              paths[j], models[i].name);
                    rc = 1;
                    break;
                }
    if (!rc) {
        RmseRow *rows;
        int count = rmse_compute(models, n, &rows);
        if (align) rmse_compute_aligned(models, rows, count, seed);
        rmse_print(stdout, models, n, rows, count);
        rmse_warn_unshared(models, n);
        if (rmse_write_csv(out, models, rows, count, align)) rc = 1;
        else printf("wrote %s\n", out);
        free(rows);
    }
    for (int i = 0; i < loaded; i++) reuse_model_free(&models[i]);
    return rc ? cli_fail("rmse") : 0;
}

/* The controls of a swap scan: init (from --init or the target's seed), random, and
 * --control. 0, or 1 with the message printed. */
static int load_controls(const ReuseModel *t, const char *init, const char *control,
                         uint64_t seed, ReuseModel *ci, ReuseModel *cc, Model *random,
                         SwapDonors *donors)
{
    if (init) {
        if (reuse_model_load(ci, init, NULL) || reuse_models_compatible(t, ci)) return cli_fail("swap");
        donors->model[DONOR_INIT] = &ci->model;
    } else {
        char why[512];
        int rc = swap_control_init_from_seed(t, &ci->model, why, sizeof why);
        if (rc < 0) return cli_fail("swap");
        if (rc == 0) {
            ci->path = xmalloc(1);
            ci->path[0] = '\0';
            donors->model[DONOR_INIT] = &ci->model;
        } else {
            printf("note: %s\n", why);
        }
    }
    if (control) {
        if (reuse_model_load(cc, control, NULL) || reuse_models_compatible(t, cc)) return cli_fail("swap");
        if (cc->model.cfg.task != TASK_SEG) {
            error_set("%s: the control must be a segmentation model of the target's task", control);
            return cli_fail("swap");
        }
        donors->model[DONOR_CONTROL] = &cc->model;
    }
    /* a seed of its own, never the target's init seed */
    swap_control_random(&t->model, seed ^ 0x52414e444f4dull, random);       /* "RANDOM" */
    donors->model[DONOR_RANDOM] = random;
    return 0;
}

/* Values the options cannot take together; true after printing which. */
static bool swap_usage_error(const SwapOptions *so, bool controls_and_no_controls,
                             bool resume_without_state)
{
    if (so->batch < 1 || so->memory_budget_mb < 0 || so->resamples < 0)
        fprintf(stderr, "reusenet swap: --batch must be >= 1, --memory-budget and --resamples >= 0\n");
    else if (controls_and_no_controls)
        fprintf(stderr, "reusenet swap: --no-controls with --init or --control\n");
    else if (resume_without_state)
        fprintf(stderr, "reusenet swap: --resume with --no-reuse or an -o that is not a regular "
                "file (such scans keep no state)\n");
    else
        return false;
    return true;
}

/* The scan of the target against its donors on set, its summary on stdout and its CSV;
 * 0, or 1 after printing the error. */
static int scan_and_write(ReuseModel *t, const SwapDonors *donors, SliceSet *set,
                          const SwapOptions *so, const char *out)
{
    SwapScan scan;
    int rc = swap_scan_donors(&t->model, donors, set, so, &scan);
    if (!rc) {
        swap_print_summary(stdout, &scan);
        rc = swap_write_csv(out, &scan);
        if (!rc) printf("wrote %s (%d rows)\n", out, scan.n_rows);
        if (!rc && so->state_path) remove(so->state_path);     /* finished: nothing to resume */
        swap_scan_free(&scan);
    }
    return rc ? cli_fail("swap") : 0;
}

int cmd_swap(int argc, char **argv)
{
    const char *target = NULL, *source = NULL, *split = "val", *out = NULL, *init = NULL,
               *control = NULL;
    DataOptions d;
    data_options_defaults(&d);
    SwapOptions so;
    swap_options_defaults(&so);
    int threads = 0;
    bool no_reuse = false, quiet = false, no_controls = false, recalibrate = false, resume = false;
    const Option opts[] = {
        {"--target", OPT_STRING, &target, "T.safetensors  the segmentation model to modify", true},
        {"--source", OPT_STRING, &source, "S.safetensors  where the swapped tensors come from", true},
        DATA_OPTION_ROWS(d, true, "S  slice size (default 128)"),
        DATA_SPLIT_ROW(split, false),
        {"--batch", OPT_INT, &so.batch, "B  slices per forward pass (default 8)", false},
        {"--memory-budget", OPT_FLOAT, &so.memory_budget_mb, "MB  for kept activations of one "
         "batch (default 1024)", false},
        {"--no-reuse", OPT_FLAG, &no_reuse, "the plain scan: every swapped pass from the input", false},
        {"--no-controls", OPT_FLAG, &no_controls, "no init and random controls (delta_init, "
         "delta_random, trivial empty)", false},
        {"--init", OPT_STRING, &init, "CKPT  the target's initial model for the init control "
         "(default: re-created from its 'init' seed)", false},
        {"--control", OPT_STRING, &control, "MODEL  a model of the target's task trained from "
         "another seed (column delta_control)", false},
        {"--resamples", OPT_INT, &so.resamples, "B  bootstrap resamples over patients for "
         "delta_lo, delta_hi (default 1000; 0: none)", false},
        {"--seed", OPT_U64, &so.seed, "S  seed of the bootstrap and the random control (default 0)", false},
        {"--recalibrate", OPT_FLAG, &recalibrate, "also re-estimate every BN's statistics on the "
         "training images after each swap (columns mean_recal, delta_recal)", false},
        {"--threads", OPT_INT, &threads, THREADS_HELP, false},
        {"--quiet", OPT_FLAG, &quiet, "no progress line", false},
        {"--resume", OPT_FLAG, &resume, "go on from the state an interrupted scan kept in "
         "FILE.resume.safetensors (kept after every batch, removed when the CSV is written)", false},
        {"-o", OPT_STRING, &out, "FILE  CSV: layer,kind,tensor,dice_0..,mean,delta,"
         "patient_mean,patient_sd,delta_lo,delta_hi,delta_init,delta_random,delta_control,"
         "trivial,mean_recal,delta_recal", true},
    };
    const OptionSpec spec = {"reusenet swap", "The swap scan: for every layer and parameter kind "
                             "(RM RV RW RB W B), copy that one tensor from S into T, evaluate T "
                             "without training, record the Dice and its change from T's own "
                             "(docs/method.md; paper Figures 3, 4, 7, 8), with its 95% "
                             "bootstrap interval and the controls init and random.",
                             NULL, 0, 0, opts, sizeof opts / sizeof opts[0]};
    int rc = options_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return rc == 1 ? 0 : rc;
    int which = data_split_parse(split, false, "swap");
    if (!which) return 2;
    /* the state lives beside the CSV: not for the plain scan, nor beside a device or FIFO */
    struct stat sb;
    const bool keeps_state = !no_reuse && (stat(out, &sb) != 0 || S_ISREG(sb.st_mode));
    if (swap_usage_error(&so, no_controls && (init || control), resume && !keeps_state)) return 2;
    const char *inputs[] = {target, source, init, control};
    if (fs_check_output(out, inputs, 4)) return cli_fail("swap");
    char *state = keeps_state ? swap_state_path(out) : NULL;
    if (state && (fs_check_output(state, inputs, 4) || swap_state_check_start(state, resume))) {
        free(state);
        return cli_fail("swap");
    }
    so.state_path = state;
    so.resume = resume;
    so.reuse = !no_reuse;
    so.progress = !quiet;
    engine_set_threads(threads);
    ReuseModel t, s, ci = {0}, cc = {0};
    Model random = {0};
    if ((rc = load_pair("swap", target, source, &t, &s))) {
        free(state);
        return rc;
    }
    SwapDonors donors = {.model = {[DONOR_SOURCE] = &s.model}};
    RunData data = {0};
    if (!no_controls)
        rc = load_controls(&t, init, control, so.seed, &ci, &cc, &random, &donors);
    if (!rc && run_data_load(&d, which | (recalibrate ? RUN_DATA_TRAIN : 0), &data))
        rc = cli_fail("swap");
    if (!rc) {
        so.labelled = data.labelled;
        so.recal_set = recalibrate ? &data.train : NULL;
        if (recalibrate && !data.train.count) {
            error_set("%s: no training slices to recalibrate on", d.dir);
            rc = cli_fail("swap");
        }
    }
    if (!rc) {
        SliceSet *set = which == RUN_DATA_VAL ? &data.val : &data.train;
        printf("swap scan: target %s, source %s, %d %s slices of %s (%dx%d)\n", t.name, s.name,
               set->count, split, d.dir, d.size, d.size);
        rc = scan_and_write(&t, &donors, set, &so, out);
    }
    run_data_free(&data);
    if (random.layers) model_free(&random);
    reuse_model_free(&ci);
    reuse_model_free(&cc);
    reuse_model_free(&t);
    reuse_model_free(&s);
    free(state);
    return rc;
}

/* plan --validate: the plan's tensors swapped in jointly (plan_validate.h) on the data. */
typedef struct ValidateArgs {
    bool on, quiet;
    const char *target, *source, *split;
    uint64_t split_seed;
    int threads;
    DataOptions d;
    ValidateOptions vo;
} ValidateArgs;

/* --validate and the options it needs come together, in range: 0, or -1 with the
 * message printed. */
static int validate_args_check(const ValidateArgs *va)
{
    if (va->on != (va->target && va->source && va->d.dir) ||
        (!va->on && (va->target || va->source || va->d.dir))) {
        fprintf(stderr, "reusenet plan: --validate needs --target, --source and --data, and they "
                "need --validate\n");
        return -1;
    }
    if (va->vo.batch < 1 || va->vo.resamples < 0 || va->vo.candidates < 1) {
        fprintf(stderr, "reusenet plan: --batch and --candidates must be >= 1, --resamples >= 0\n");
        return -1;
    }
    return 0;
}

static int validate_plan(ValidateArgs *a, Plan *p, PlanValidation *v)
{
    int which = !strcmp(a->split, "val") ? RUN_DATA_VAL : !strcmp(a->split, "train") ? RUN_DATA_TRAIN : 0;
    if (!which) {
        fprintf(stderr, "reusenet plan: --split must be val or train, got '%s'\n", a->split);
        return 2;
    }
    a->d.split_seed = a->split_seed;
    a->vo.progress = !a->quiet;
    engine_set_threads(a->threads);
    ReuseModel t, s;
    int rc = load_pair("plan", a->target, a->source, &t, &s);
    if (rc) return rc;
    RunData data = {0};
    if (run_data_load(&a->d, which, &data)) {
        rc = cli_fail("plan");
    } else {
        a->vo.labelled = data.labelled;
        SliceSet *set = which == RUN_DATA_VAL ? &data.val : &data.train;
        printf("validating the plan: target %s, source %s, %d %s slices of %s\n", t.name, s.name,
               set->count, a->split, a->d.dir);
        if (plan_validate(&t.model, &s.model, p, set, &a->vo, v)) {
            rc = cli_fail("plan");
        } else {
            plan_validation_print(stdout, v);
            snprintf(v->target, sizeof v->target, "%s", t.name);
            snprintf(v->source, sizeof v->source, "%s", s.name);
        }
    }
    run_data_free(&data);
    reuse_model_free(&t);
    reuse_model_free(&s);
    return rc;
}

/* --pair A,B into a and b; 2 on a bad pair (message printed). */
static int parse_pair(const char *pair, char *a, char *b)
{
    const char *comma = strchr(pair, ',');
    size_t la = comma ? (size_t)(comma - pair) : 0;
    if (!comma || !la || la >= REUSE_NAME_MAX || !comma[1] || strlen(comma + 1) >= REUSE_NAME_MAX ||
        strchr(comma + 1, ',')) {
        fprintf(stderr, "reusenet plan: --pair needs two model names A,B, got '%s'\n", pair);
        return 2;
    }
    memcpy(a, pair, la);
    a[la] = '\0';
    snprintf(b, REUSE_NAME_MAX, "%s", comma + 1);
    return 0;
}

int cmd_plan(int argc, char **argv)
{
    const char *scan = NULL, *rmse = NULL, *pair = NULL, *out = NULL, *rule = "paper";
    PlanOptions po;
    plan_options_defaults(&po);
    ValidateArgs va = {.split = "val"};
    data_options_defaults(&va.d);
    validate_options_defaults(&va.vo);
    const Option opts[] = {
        {"--scan", OPT_STRING, &scan, "SCAN.csv  a swap scan (reusenet swap)", true},
        {"--tau", OPT_FLOAT, &po.tau, "T  largest mean Dice drop of a reusable tensor (default 0.02)", false},
        {"--rule", OPT_STRING, &rule, "paper|ci  reusable when delta >= -tau (paper, the "
         "default) or when the 95% interval is: delta_lo >= -tau (ci)", false},
        {"--rho", OPT_FLOAT, &po.rho, "R  fraction of reusable W tensors for a reusable network "
         "(default 0.5)", false},
        {"--rmse", OPT_STRING, &rmse, "RMSE.csv  kernel RMSE (reusenet rmse) as evidence", false},
        {"--rmse-max", OPT_FLOAT, &po.rmse_max, "X  with --rmse: W/B tensors need RMSE <= X", false},
        {"--pair", OPT_STRING, &pair, "A,B  which model pair of RMSE.csv (default: its only one)", false},
        {"--validate", OPT_FLAG, &va.on, "also swap the plan's tensors in jointly: the whole plan, "
         "cumulatively in layer order, and a greedy set within tau (\"validation\" in the plan; "
         "needs --target, --source, --data)", false},
        {"--target", OPT_STRING, &va.target, "T.safetensors  --validate: the scan's target", false},
        {"--source", OPT_STRING, &va.source, "S.safetensors  --validate: the scan's source", false},
        {"--data", OPT_STRING, &va.d.dir, "DIR  --validate: dataset to evaluate on", false},
        {"--split", OPT_STRING, &va.split, "val|train  which patients (default val)", false},
        {"--split-seed", OPT_U64, &va.split_seed, "S  seed of a random split (default 0)", false},
        {"--train-count", OPT_INT, &va.d.train_count, "N  training patients of the split", false},
        {"--val-count", OPT_INT, &va.d.val_count, "N  validation patients", false},
        {"--size", OPT_INT, &va.d.size, "S  slice size (default 128)", false},
        {"--batch", OPT_INT, &va.vo.batch, "B  slices per forward pass (default 8)", false},
        {"--resamples", OPT_INT, &va.vo.resamples, "B  bootstrap resamples over patients "
         "(default 1000; 0: no intervals)", false},
        {"--seed", OPT_U64, &va.vo.seed, "S  seed of the bootstrap (default 0)", false},
        {"--candidates", OPT_INT, &va.vo.candidates, "M  greedy set: tensors tried per round, "
         "those with the smallest own drop (default 4)", false},
        {"--threads", OPT_INT, &va.threads, THREADS_HELP, false},
        {"--quiet", OPT_FLAG, &va.quiet, "no progress lines", false},
        {"-o", OPT_STRING, &out, "PLAN.json  the plan (\"tensors\": what train --plan loads)", true},
    };
    const OptionSpec spec = {"reusenet plan", "The reusable tensors of a swap scan (mean Dice "
                             "drop <= tau), the fraction reused, and the verdict: a reusable "
                             "network when at least rho of the conv weights are reusable "
                             "(docs/method.md). With --validate, the plan swapped in "
                             "jointly on the data, with 95% bootstrap intervals.", NULL, 0, 0, opts,
                             sizeof opts / sizeof opts[0]};
    int rc = options_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return rc == 1 ? 0 : rc;
    if (plan_rule_parse(rule, &po.rule)) {
        fprintf(stderr, "reusenet plan: --rule must be paper or ci, got '%s'\n", rule);
        return 2;
    }
    if (po.tau < 0 || po.rho < 0 || po.rho > 1) {
        fprintf(stderr, "reusenet plan: --tau must be >= 0 and --rho within 0..1\n");
        return 2;
    }
    if ((!isnan(po.rmse_max) || pair) && !rmse) {
        fprintf(stderr, "reusenet plan: --rmse-max and --pair need --rmse\n");
        return 2;
    }
    if (validate_args_check(&va)) return 2;
    char a[REUSE_NAME_MAX] = "", b[REUSE_NAME_MAX] = "";
    if (pair && (rc = parse_pair(pair, a, b))) return rc;
    if (pair) {
        po.pair_a = a;
        po.pair_b = b;
    }
    po.rmse_path = rmse;
    const char *inputs[] = {scan, rmse, va.target, va.source};
    if (fs_check_output(out, inputs, 4)) return cli_fail("plan");
    Plan p;
    if (plan_from_scan(scan, &po, &p)) return cli_fail("plan");
    plan_print(stdout, &p);
    PlanValidation v = {0};
    if (va.on) rc = validate_plan(&va, &p, &v);
    if (!rc) rc = plan_write_json(out, &p, va.on ? &v : NULL) ? cli_fail("plan") : 0;
    if (!rc) printf("wrote %s\n", out);
    plan_validation_free(&v);
    plan_free(&p);
    return rc;
}

int cmd_report(int argc, char **argv)
{
    const char *out = NULL, *md = NULL;
    char *pos[1];
    const Option opts[] = {
        {"-o", OPT_STRING, &out, "REPORT.html  the page (self-contained: no scripts, no network)", true},
        {"--md", OPT_STRING, &md, "FILE  the Markdown tables (default: REPORT.md next to it)", false},
    };
    const OptionSpec spec = {"reusenet report", "One page with every analysis of a study folder: "
                             "swap scans, BN statistics, kernel RMSE (the paper's Figures 3-12 as "
                             "charts), the plans, Table 1 and prediction overlays. STUDY_DIR holds "
                             "scans/*.csv, bn/*.csv, rmse/*.csv, plans/*.json, transfer/table.csv, "
                             "overlays/*.png, cka/*.csv, transferability/*.csv (each optional); "
                             "with Table 1, the predictors' verdict (Kendall's tau-b).", "STUDY_DIR", 1, 1, opts,
                             sizeof opts / sizeof opts[0]};
    int rc = options_parse(&spec, argc, argv, pos, NULL);
    if (rc) return rc == 1 ? 0 : rc;
    char md_path[4096];
    if (md) {
        snprintf(md_path, sizeof md_path, "%s", md);
    } else {
        size_t len = strlen(out);
        if (len > 5 && !strcmp(out + len - 5, ".html")) len -= 5;
        if (len + 4 >= sizeof md_path) {
            fprintf(stderr, "reusenet report: output name too long\n");
            return 2;
        }
        snprintf(md_path, sizeof md_path, "%.*s.md", (int)len, out);
    }
    if (study_check_output(pos[0], out) || study_check_output(pos[0], md_path))
        return cli_fail("report");
    if (fs_same_file(out, md_path) || !strcmp(out, md_path)) {
        fprintf(stderr, "reusenet report: -o and --md name the same file %s\n", out);
        return 2;
    }
    Study s;
    if (study_load(pos[0], &s)) return cli_fail("report");
    rc = report_write_html(&s, out) || report_write_md(&s, md_path);
    if (!rc)
        printf("wrote %s and %s: %d scan(s), %d BN table(s), %d RMSE table(s), %d plan(s), %s, "
               "%d overlay(s)\n", out, md_path, s.n_scans, s.n_bn, s.n_rmse, s.n_plans,
               s.has_table ? "Table 1" : "no Table 1", s.n_overlays);
    study_free(&s);
    return rc ? cli_fail("report") : 0;
}
