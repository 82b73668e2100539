/* A reuse plan as the JSON file `train --plan`, `transfer` and the report read
 * (train/plan_file.h reads it back): "tensors" (the reusable names), "tau", "rho",
 * "verdict", fractions, the non-reusable tensors grouped by kind, "evidence" (every
 * tensor) and, when the plan was validated (plan --validate), "validation": the baseline,
 * the cumulative and greedy sets with their intervals. NaN and infinities are written
 * as null. */
#ifndef REUSENET_PLAN_JSON_H
#define REUSENET_PLAN_JSON_H

#include "reuse/plan.h"
#include "reuse/plan_validate.h"

/* Write p (and v, or NULL) to path, atomically. 0 or -1. */
int plan_write_json(const char *path, const Plan *p, const PlanValidation *v);

#endif
