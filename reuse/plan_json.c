/* A reuse plan as the JSON file `train --plan`, `transfer` and the report read
 * (train/plan_file.h reads it back). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>

#include "engine/fsutil.h"
#include "reuse/plan_json.h"

/* A JSON number, or null for NaN and infinities. */
static cJSON *json_number(double x)
{
    return isfinite(x) ? cJSON_CreateNumber(x) : cJSON_CreateNull();
}

/* A change of mean Dice with its interval, as plans and their validation report it:
 * "mean", "delta", "delta_lo", "delta_hi". */
static void add_change(cJSON *o, double mean, double delta, double lo, double hi)
{
    cJSON_AddItemToObject(o, "mean", json_number(mean));
    cJSON_AddItemToObject(o, "delta", json_number(delta));
    cJSON_AddItemToObject(o, "delta_lo", json_number(lo));
    cJSON_AddItemToObject(o, "delta_hi", json_number(hi));
}

static cJSON *point_json(const PlanPoint *p)
{
    cJSON *o = cJSON_CreateObject();
    if (p->tensor[0]) cJSON_AddStringToObject(o, "tensor", p->tensor);
    cJSON_AddStringToObject(o, "layer", p->layer);
    cJSON_AddNumberToObject(o, "tensors", p->n_tensors);
    add_change(o, p->mean, p->delta, p->delta_lo, p->delta_hi);
    return o;
}

/* "validation": the baseline, the three kinds of set (each point: layer, tensors, mean,
 * delta, delta_lo, delta_hi), the greedy set's tensors in order of addition and the change
 * that stopped it, the count of evaluations. */
static void validation_json(cJSON *root, const PlanValidation *v)
{
    cJSON *o = cJSON_AddObjectToObject(root, "validation");
    if (v->target[0]) cJSON_AddStringToObject(o, "target", v->target);
    if (v->source[0]) cJSON_AddStringToObject(o, "source", v->source);
    cJSON_AddNumberToObject(o, "baseline_mean_dice", v->baseline_mean);
    cJSON_AddNumberToObject(o, "slices", v->slices);
    cJSON_AddNumberToObject(o, "patients", v->patients);
    cJSON_AddNumberToObject(o, "resamples", v->resamples);
    cJSON_AddItemToObject(o, "whole", point_json(&v->whole));
    cJSON *cum = cJSON_AddArrayToObject(o, "cumulative");
    for (int k = 0; k < v->n_cumulative; k++) cJSON_AddItemToArray(cum, point_json(&v->cumulative[k]));
    cJSON *g = cJSON_AddObjectToObject(o, "greedy");
    cJSON *names = cJSON_AddArrayToObject(g, "tensors");
    cJSON *steps = cJSON_AddArrayToObject(g, "steps");
    for (int k = 0; k < v->n_greedy; k++) {
        cJSON_AddItemToArray(names, cJSON_CreateString(v->greedy[k].tensor));
        cJSON_AddItemToArray(steps, point_json(&v->greedy[k]));
    }
    cJSON_AddItemToObject(g, "stopped_at_delta", json_number(v->greedy_stop));
    cJSON_AddNumberToObject(g, "candidates_per_round", v->candidates);
    cJSON_AddNumberToObject(o, "evaluations", v->evaluations);
}

int plan_write_json(const char *path, const Plan *p, const PlanValidation *v)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *tensors = cJSON_AddArrayToObject(root, "tensors");
    for (int i = 0; i < p->n; i++)
        if (p->entries[i].reusable) cJSON_AddItemToArray(tensors, cJSON_CreateString(p->entries[i].tensor));
    cJSON_AddStringToObject(root, "verdict", p->reusable_network ? "reusable network"
                                                                 : "not a reusable network");
    cJSON_AddStringToObject(root, "rule", plan_rule_text(p->rule));
    cJSON *trivial = cJSON_AddArrayToObject(root, "trivial");
    for (int i = 0; i < p->n; i++)
        if (p->entries[i].reusable && p->entries[i].trivial == 1)
            cJSON_AddItemToArray(trivial, cJSON_CreateString(p->entries[i].tensor));
    cJSON_AddNumberToObject(root, "tau", p->tau);
    cJSON_AddNumberToObject(root, "rho", p->rho);
    cJSON_AddItemToObject(root, "rmse_max", json_number(p->rmse_max));
    cJSON_AddStringToObject(root, "scan", p->scan);
    cJSON_AddItemToObject(root, "rmse", p->rmse[0] ? cJSON_CreateString(p->rmse) : cJSON_CreateNull());
    cJSON_AddItemToObject(root, "rmse_pair", p->pair[0] ? cJSON_CreateString(p->pair) : cJSON_CreateNull());
    cJSON_AddNumberToObject(root, "baseline_mean_dice", p->baseline_mean);
    cJSON_AddNumberToObject(root, "reused_tensors", p->reusable);
    cJSON_AddNumberToObject(root, "total_tensors", p->n);
    cJSON_AddNumberToObject(root, "fraction_reused", (double)p->reusable / p->n);
    cJSON_AddNumberToObject(root, "w_reusable", p->w_reusable);
    cJSON_AddNumberToObject(root, "w_total", p->w_total);
    cJSON_AddNumberToObject(root, "fraction_w_reusable", p->w_total ? (double)p->w_reusable / p->w_total : 0);
    cJSON *nr = cJSON_AddObjectToObject(root, "not_reusable");
    for (int k = 0; k < ROLE_COUNT; k++) {
        cJSON *layers = cJSON_AddArrayToObject(nr, param_role_name((ParamRole)k));
        for (int i = 0; i < p->n; i++)
            if (!p->entries[i].reusable && p->entries[i].role == (ParamRole)k)
                cJSON_AddItemToArray(layers, cJSON_CreateString(p->entries[i].layer));
    }
    cJSON *ev = cJSON_AddArrayToObject(root, "evidence");
    for (int i = 0; i < p->n; i++) {
        const PlanEntry *e = &p->entries[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "tensor", e->tensor);
        cJSON_AddStringToObject(o, "layer", e->layer);
        cJSON_AddStringToObject(o, "kind", param_role_name(e->role));
        add_change(o, e->mean, e->delta, e->delta_lo, e->delta_hi);
        if (e->trivial >= 0) cJSON_AddBoolToObject(o, "trivial", e->trivial == 1);
        cJSON_AddItemToObject(o, "rmse", json_number(e->rmse));
        cJSON_AddBoolToObject(o, "reusable", e->reusable);
        cJSON_AddStringToObject(o, "reason", e->reason);
        cJSON_AddItemToArray(ev, o);
    }
    if (v) validation_json(root, v);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    int rc = fs_write_text(path, text, 1);
    free(text);
    return rc;
}
