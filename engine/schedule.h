/* Learning-rate schedules: the learning rate of each training step, from the base rate,
 * the step index s = 0, 1, ..., total-1 (the step about to be taken) and the total.
 *
 *   none    lr = base
 *   poly    lr = base * (1 - s/total)^power            (PSPNet's "poly", power 0.9)
 *   cosine  lr = min + (base - min) * (1 + cos(pi * s/total)) / 2
 *                                                       (CosineAnnealingLR with T_max = total)
 *
 * So the first step runs at the base rate. Steps at or past `total` get the final value
 * (0 for poly, min for cosine). Use: opt.lr = schedule_lr(&sched, step); optimizer_step(). */
#ifndef REUSENET_SCHEDULE_H
#define REUSENET_SCHEDULE_H

#include <stdint.h>

typedef enum ScheduleKind { SCHEDULE_NONE, SCHEDULE_POLY, SCHEDULE_COSINE } ScheduleKind;

#define SCHEDULE_POLY_POWER 0.9

typedef struct Schedule {
    ScheduleKind kind;
    double base_lr;
    double min_lr;           /* cosine only; usually 0 */
    double power;            /* poly only; SCHEDULE_POLY_POWER */
    int64_t total_steps;     /* > 0 for poly and cosine */
} Schedule;

/* A schedule with the usual constants (poly power 0.9, cosine minimum 0). */
Schedule schedule_make(ScheduleKind kind, double base_lr, int64_t total_steps);
/* The learning rate for step s (0-based). */
double schedule_lr(const Schedule *sc, int64_t step);
/* "none", "poly", "cosine" -> kind; -1 with an error naming the choices otherwise. */
int schedule_parse(const char *name, ScheduleKind *kind);
const char *schedule_name(ScheduleKind kind);

#endif
