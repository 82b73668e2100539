#include <math.h>
#include <string.h>

#include "error.h"
#include "schedule.h"

static const char *const schedule_names[] = {"none", "poly", "cosine"};

Schedule schedule_make(ScheduleKind kind, double base_lr, int64_t total_steps)
{
    Schedule sc = {kind, base_lr, 0.0, SCHEDULE_POLY_POWER, total_steps};
    return sc;
}

double schedule_lr(const Schedule *sc, int64_t step)
{
    if (sc->kind == SCHEDULE_NONE) return sc->base_lr;
    CHECK(sc->total_steps > 0, "schedule %s: total steps %lld", schedule_name(sc->kind),
          (long long)sc->total_steps);
    if (step < 0) step = 0;
    double progress = step >= sc->total_steps ? 1.0 : (double)step / (double)sc->total_steps;
    if (sc->kind == SCHEDULE_POLY) return sc->base_lr * pow(1.0 - progress, sc->power);
    return sc->min_lr + (sc->base_lr - sc->min_lr) * (1.0 + cos(M_PI * progress)) / 2.0;
}

int schedule_parse(const char *name, ScheduleKind *kind)
{
    for (int k = 0; k < (int)(sizeof schedule_names / sizeof *schedule_names); k++)
        if (!strcmp(name, schedule_names[k])) {
            *kind = (ScheduleKind)k;
            return 0;
        }
    return error_set("unknown learning-rate schedule '%s' (choose none, poly or cosine)", name);
}

const char *schedule_name(ScheduleKind kind)
{
    return kind >= SCHEDULE_NONE && kind <= SCHEDULE_COSINE ? schedule_names[kind] : "?";
}
