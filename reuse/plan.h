/* Reuse plans (docs/method.md, "Reuse plans"): from a swap scan (and optionally a kernel RMSE
 * bound), the parameter tensors judged reusable, with the evidence for each.
 *
 *   reusable tensor   its swap lowers the mean Dice by at most tau (the paper's rule:
 *                     delta >= -tau; rule "ci": the whole 95 % interval, delta_lo >= -tau),
 *                     and, with an RMSE bound, its conv W/B RMSE against the source is <= max
 *   trivial tensor    reusable, but the scan's random control does as well (column
 *                     `trivial`): reusing it tells nothing about the source; listed apart
 *   reusable network  at least a fraction rho of the conv weight (W) tensors are reusable
 *                     (numbered layers and the head)
 *
 * The plan file is JSON; `reusenet train --plan` reads its "tensors" array (the reusable
 * tensors' names). The rest is evidence for people: tau, rho, the verdict, fractions, and
 * every tensor with its Dice change and RMSE. */
#ifndef REUSENET_PLAN_H
#define REUSENET_PLAN_H

#include <stdbool.h>
#include <stdio.h>

#include "models/param_role.h"
#include "util/csv.h"

typedef enum PlanRule { PLAN_RULE_PAPER, PLAN_RULE_CI } PlanRule;

typedef struct PlanOptions {
    PlanRule rule;               /* default: the paper's */
    double tau;                  /* largest allowed mean Dice drop (default 0.02) */
    double rho;                  /* reusable-network threshold on W tensors (default 0.5) */
    const char *rmse_path;       /* rmse.csv, or NULL */
    double rmse_max;             /* NAN: RMSE is evidence only */
    const char *pair_a, *pair_b; /* which pair of rmse.csv (NULL: its only pair) */
} PlanOptions;

typedef struct PlanEntry {
    char layer[12];              /* "1".."L", "head" */
    ParamRole role;              /* its kind: RM RV RW RB W B */
    char tensor[96];
    double mean, delta;          /* from the scan */
    double delta_lo, delta_hi;   /* its 95 % interval (NAN when the scan has none) */
    int trivial;                 /* 1, 0, or -1 when the scan has no random control */
    double rmse;                 /* NAN when not W/B or no RMSE given */
    bool reusable;
    char reason[96];             /* why (not) */
} PlanEntry;

typedef struct Plan {
    char scan[512];
    char rmse[512];              /* "" without */
    char pair[160];              /* "a vs b" of the rmse file */
    PlanRule rule;
    double tau, rho, rmse_max;
    double baseline_mean;
    int n;
    PlanEntry *entries;          /* in scan order */
    int reusable;                /* entries reusable */
    int trivial;                 /* of those, trivial */
    int w_total, w_reusable;     /* conv weight tensors */
    bool reusable_network;
} Plan;

void plan_options_defaults(PlanOptions *o);
/* "paper" or "ci" -> rule; -1 on another name. */
int plan_rule_parse(const char *s, PlanRule *rule);
/* "paper: delta >= -tau" / "ci: delta_lo >= -tau" */
const char *plan_rule_text(PlanRule rule);
/* Build a plan from a scan CSV (reusenet swap) and options. 0, or -1 naming the file and
 * the problem (missing columns, no baseline row, a pair not in the RMSE file, ...). */
int plan_from_scan(const char *scan_csv, const PlanOptions *o, Plan *p);
/* The same from a scan already read (t->path names it). */
int plan_from_table(const CsvTable *t, const PlanOptions *o, Plan *p);
void plan_free(Plan *p);

/* tau, rho, counts, verdict and the non-reusable layers per kind, paper-style
 * ("W: 1, 6, 11"). */
void plan_print(FILE *out, const Plan *p);

/* The non-reusable layers of one kind as "1, 6, 11" into buf ("" if none). */
char *plan_not_reusable_layers(const Plan *p, ParamRole role, char *buf, size_t len);

#endif
