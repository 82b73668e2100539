#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/fsutil.h"
#include "engine/error.h"
#include "models/param_role.h"
#include "util/csv.h"
#include "reuse/plan.h"
#include "reuse/swap_csv.h"

void plan_options_defaults(PlanOptions *o)
{
    memset(o, 0, sizeof *o);
    o->tau = 0.02;
    o->rho = 0.5;
    o->rmse_max = NAN;
}

int plan_rule_parse(const char *s, PlanRule *rule)
{
    if (!strcmp(s, "paper")) *rule = PLAN_RULE_PAPER;
    else if (!strcmp(s, "ci")) *rule = PLAN_RULE_CI;
    else return -1;
    return 0;
}

const char *plan_rule_text(PlanRule rule)
{
    return rule == PLAN_RULE_CI ? "ci: delta_lo >= -tau" : "paper: delta >= -tau";
}

/* Columns a CSV must have; -1 naming the first one missing. */
static int need_columns(const CsvTable *t, const char *const *names, int n, int *cols)
{
    for (int i = 0; i < n; i++)
        if ((cols[i] = csv_column(t, names[i])) < 0)
            return error_set("%s: no '%s' column (is it a %s?)", t->path, names[i],
                             i < 3 ? "file written by the command that makes it" : "CSV");
    return 0;
}

/* Attach the RMSE of the chosen pair to the W and B entries. */
static int attach_rmse(Plan *p, const PlanOptions *o)
{
    CsvTable t;
    if (csv_read(o->rmse_path, &t)) return -1;
    static const char *const names[] = {"model_a", "model_b", "layer", "rmse_w", "rmse_b", "pair"};
    int c[6];
    if (need_columns(&t, names, 6, c) || csv_check_numbers(&t, names + 3, 2)) {
        csv_free(&t);
        return -1;
    }
    const char *a = o->pair_a, *b = o->pair_b;
    if (!a) {                            /* the file's only pair */
        for (int r = 0; r < t.n_rows; r++)
            if (strcmp(t.rows[r][c[5]], t.rows[0][c[5]])) {
                int rc = error_set("%s holds several model pairs ('%s', '%s', ...); choose one "
                                   "with --pair A,B", o->rmse_path, t.rows[0][c[5]],
                                   t.rows[r][c[5]]);
                csv_free(&t);
                return rc;
            }
        if (t.n_rows) {
            a = t.rows[0][c[0]];
            b = t.rows[0][c[1]];
        }
    }
    int matched = 0;
    for (int r = 0; r < t.n_rows && a; r++) {
        const char *x = t.rows[r][c[0]], *y = t.rows[r][c[1]];
        if (!((!strcmp(x, a) && !strcmp(y, b)) || (!strcmp(x, b) && !strcmp(y, a)))) continue;
        if (!matched) snprintf(p->pair, sizeof p->pair, "%s", t.rows[r][c[5]]);
        matched++;
        for (int i = 0; i < p->n; i++) {
            PlanEntry *e = &p->entries[i];
            if (strcmp(e->layer, t.rows[r][c[2]])) continue;
            if (e->role == ROLE_W) e->rmse = csv_number(&t, r, c[3]);
            if (e->role == ROLE_B) e->rmse = csv_number(&t, r, c[4]);
        }
    }
    int rc = 0;
    if (!matched)
        rc = error_set("%s: no rows for the pair %s, %s", o->rmse_path, a ? a : "?", b ? b : "?");
    csv_free(&t);
    return rc;
}

/* One swap row of the scan into e; 0, or -1 with the message naming the row. */
static int read_entry(const CsvTable *t, int r, const int *c, int c_lo, int c_hi,
                      int c_trivial, const char *scan_csv, PlanRule rule, PlanEntry *e)
{
    char **row = t->rows[r];
    const int role = param_role_find(row[c[1]]);
    const bool known = role >= 0;
    double delta = csv_number(t, r, c[4]);
    if (!known || !row[c[2]][0] || isnan(delta))
        return error_set("%s: row %d (layer '%s') has %s", scan_csv, r + 2, row[c[0]],
                         !known ? "an unknown kind (expected RM RV RW RB W B)"
                         : !row[c[2]][0] ? "no tensor name" : "no delta");
    snprintf(e->layer, sizeof e->layer, "%s", row[c[0]]);
    e->role = (ParamRole)role;
    snprintf(e->tensor, sizeof e->tensor, "%s", row[c[2]]);
    e->mean = csv_number(t, r, c[3]);
    e->delta = delta;
    e->delta_lo = csv_number(t, r, c_lo);
    e->delta_hi = csv_number(t, r, c_hi);
    double trivial = csv_number(t, r, c_trivial);
    e->trivial = isnan(trivial) ? -1 : trivial != 0;
    if (rule == PLAN_RULE_CI && isnan(e->delta_lo))
        return error_set("%s: row %d (layer '%s') has no delta_lo for --rule ci", scan_csv,
                         r + 2, row[c[0]]);
    e->rmse = NAN;
    return 0;
}

/* The baseline and the swap rows of the scan t (read from t->path) into p; 0, or -1 with
 * the message set. */
static int read_scan(const CsvTable *t, const PlanOptions *o, Plan *p)
{
    const char *scan_csv = t->path;
    static const char *const names[] = {"layer", "kind", "tensor", "mean", "delta"};
    int c[5];
    if (swap_csv_check(t) || need_columns(t, names, 5, c)) return -1;
    const int c_lo = csv_column(t, "delta_lo"), c_hi = csv_column(t, "delta_hi"),
              c_trivial = csv_column(t, "trivial");
    if (o->rule == PLAN_RULE_CI && c_lo < 0)
        return error_set("%s: no 'delta_lo' column for --rule ci (a scan from an older "
                         "reusenet swap?)", scan_csv);
    bool have_baseline = false;
    int rc = 0;
    p->entries = xcalloc((size_t)t->n_rows + 1, sizeof *p->entries);
    for (int r = 0; r < t->n_rows && !rc; r++) {
        if (!strcmp(t->rows[r][c[0]], "baseline")) {
            p->baseline_mean = csv_number(t, r, c[3]);
            have_baseline = true;
        } else if (!(rc = read_entry(t, r, c, c_lo, c_hi, c_trivial, scan_csv, o->rule,
                                     &p->entries[p->n]))) {
            p->n++;
        }
    }
    if (!rc && (!have_baseline || !p->n))
        rc = error_set("%s: %s", scan_csv, !have_baseline ? "no baseline row (layer 'baseline')"
                                                           : "no swap rows");
    return rc;
}

/* Whether e is reusable under the rule, tau and the RMSE limit, and why. The scan writes
 * 6 significant digits, hence the small slack. */
static void decide_entry(const PlanOptions *o, PlanEntry *e)
{
    const double judged = o->rule == PLAN_RULE_CI ? e->delta_lo : e->delta;
    bool dice_ok = judged >= -o->tau - 1e-9;
    bool conv = e->role == ROLE_W || e->role == ROLE_B;
    bool rmse_ok = !conv || isnan(o->rmse_max) || isnan(e->rmse) || e->rmse <= o->rmse_max;
    e->reusable = dice_ok && rmse_ok;
    if (!dice_ok && o->rule == PLAN_RULE_CI)
        snprintf(e->reason, sizeof e->reason, "interval reaches a drop of %.4f > tau %.4g",
                 -e->delta_lo, o->tau);
    else if (!dice_ok)
        snprintf(e->reason, sizeof e->reason, "mean Dice drops by %.4f > tau %.4g", -e->delta, o->tau);
    else if (!rmse_ok)
        snprintf(e->reason, sizeof e->reason, "RMSE %.4g > %.4g", e->rmse, o->rmse_max);
    else
        snprintf(e->reason, sizeof e->reason, "Dice change %+.4f within tau %.4g%s", e->delta,
                 o->tau, conv && !isnan(o->rmse_max) && isnan(e->rmse) ? " (no RMSE)" : "");
}

int plan_from_scan(const char *scan_csv, const PlanOptions *o, Plan *p)
{
    memset(p, 0, sizeof *p);
    CsvTable t;
    if (csv_read(scan_csv, &t)) return -1;
    int rc = plan_from_table(&t, o, p);
    csv_free(&t);
    return rc;
}

int plan_from_table(const CsvTable *t, const PlanOptions *o, Plan *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->scan, sizeof p->scan, "%s", t->path);
    p->rule = o->rule;
    p->tau = o->tau;
    p->rho = o->rho;
    p->rmse_max = o->rmse_max;
    if (read_scan(t, o, p)) {
        plan_free(p);
        return -1;
    }
    if (o->rmse_path) {
        snprintf(p->rmse, sizeof p->rmse, "%s", o->rmse_path);
        if (attach_rmse(p, o)) {
            plan_free(p);
            return -1;
        }
    }
    for (int i = 0; i < p->n; i++) {
        PlanEntry *e = &p->entries[i];
        decide_entry(o, e);
        p->reusable += e->reusable;
        p->trivial += e->reusable && e->trivial == 1;
        if (e->role == ROLE_W) {
            p->w_total++;
            p->w_reusable += e->reusable;
        }
    }
    p->reusable_network = p->w_total && p->w_reusable >= o->rho * p->w_total - 1e-12;
    return 0;
}

void plan_free(Plan *p)
{
    free(p->entries);
    memset(p, 0, sizeof *p);
}

char *plan_not_reusable_layers(const Plan *p, ParamRole role, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < p->n; i++) {
        const PlanEntry *e = &p->entries[i];
        if (e->reusable || e->role != role) continue;
        int w = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", e->layer);
        if (w < 0 || (size_t)w >= len - used) break;
        used += (size_t)w;
    }
    return buf;
}

void plan_print(FILE *out, const Plan *p)
{
    fprintf(out, "plan from %s: baseline mean Dice %.4f\n", p->scan, p->baseline_mean);
    fprintf(out, "tau = %.4g (largest mean Dice drop of a reusable tensor), rho = %.4g\n", p->tau, p->rho);
    if (p->rmse[0])
        fprintf(out, "RMSE from %s (%s)%s", p->rmse, p->pair, isnan(p->rmse_max) ? ", as evidence only\n" : "");
    if (!isnan(p->rmse_max)) fprintf(out, ", W/B reusable only with RMSE <= %.4g\n", p->rmse_max);
    fprintf(out, "reusable tensors: %d of %d (%.0f%%)\n", p->reusable, p->n, 100.0 * p->reusable / p->n);
    fprintf(out, "reusable conv weights (W): %d of %d (%.0f%%)\n", p->w_reusable, p->w_total,
            p->w_total ? 100.0 * p->w_reusable / p->w_total : 0);
    char buf[1024];
    fprintf(out, "not reusable:");
    bool any = false;
    for (int k = 0; k < ROLE_COUNT; k++)
        if (plan_not_reusable_layers(p, (ParamRole)k, buf, sizeof buf)[0]) {
            fprintf(out, "%s %s: %s", any ? ";" : "", param_role_name((ParamRole)k), buf);
            any = true;
        }
    fprintf(out, "%s\n", any ? "" : " none");
    if (p->trivial)
        fprintf(out, "trivial (reusable, but the random control does as well): %d of the %d "
                "reusable tensors\n", p->trivial, p->reusable);
    fprintf(out, "verdict: %s (%.0f%% of the W tensors reusable, rho = %.4g, tau = %.4g, rule "
            "%s)\n", p->reusable_network ? "reusable network" : "not a reusable network",
            p->w_total ? 100.0 * p->w_reusable / p->w_total : 0, p->rho, p->tau,
            plan_rule_text(p->rule));
}
