#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/options.h"
#include "engine/dist.h"
#include "engine/error.h"

void options_usage(const OptionSpec *spec, bool to_stderr)
{
    FILE *out = to_stderr ? stderr : stdout;
    fprintf(out, "usage: %s%s%s [options]\n%s\n\noptions:\n", spec->command,
            spec->positional ? " " : "", spec->positional ? spec->positional : "",
            spec->summary);
    for (int i = 0; i < spec->count; i++) {
        const Option *o = &spec->options[i];
        fprintf(out, "  %-16s %s%s\n", o->name, o->help, o->required ? " (required)" : "");
    }
    fprintf(out, "  %-16s %s\n", "--help", "this text");
}

static int bad(const OptionSpec *spec, const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "%s: ", spec->command);
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, " (see %s --help)\n", spec->command);
    return 2;
}

/* The most --threads takes: this machine's processors, or 64 when it has fewer (more
 * threads than processors is allowed, e.g. to check that results do not depend on the
 * count; a thousand is a typo). */
static double threads_max(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 64 ? (double)n : 64;
}

/* The numbers an option takes, the same in every command that has it (command NULL), or in
 * one command. A value not given keeps the command's default (0 for --threads: all
 * cores), which need not lie in the range: the range is for what a user types. Sizes
 * above the upper bounds would overflow a count of pixels; below them, the memory checks
 * (engine/memory.h) say what a size needs. */
static const struct OptionRange {
    const char *command, *name;
    double min, max;             /* max 0: threads_max() */
} RANGES[] = {
    {NULL, "--threads", 1, 0},
    {"reusenet info", "--size", 0, 32768},         /* 0: no shapes */
    {NULL, "--size", 1, 32768},
    {NULL, "--batch", 1, 1 << 20},
    {NULL, "--epochs", 1, 1 << 20},
    {NULL, "--n-train", 1, 1 << 20},
    {NULL, "--spacing", 1e-3, 1e6},
    {NULL, "--weight-decay", 0, 1e6},
    {NULL, "--width", 1, 1024},
};

/* A given number outside its option's range: 2 after the message, else 0. */
static int check_range(const OptionSpec *spec, const Option *o, double x, const char *v)
{
    for (size_t i = 0; i < sizeof RANGES / sizeof RANGES[0]; i++) {
        const struct OptionRange *r = &RANGES[i];
        if (strcmp(r->name, o->name) || (r->command && strcmp(r->command, spec->command))) continue;
        const double max = r->max ? r->max : threads_max();
        if (x >= r->min && x <= max) return 0;
        fprintf(stderr, "%s: %s must be within %.10g..%.10g, got '%s' (see %s --help)\n",
                spec->command, o->name, r->min, max, v, spec->command);
        return 2;
    }
    return 0;
}

static int set_value(const OptionSpec *spec, const Option *o, const char *v)
{
    char *end;
    errno = 0;
    switch (o->type) {
    case OPT_STRING:
        *(const char **)o->dest = v;
        return 0;
    case OPT_INT: {
        long x = strtol(v, &end, 10);
        if (errno || end == v || *end || x < -2147483647L || x > 2147483647L)
            return bad(spec, "%s needs an integer, got '%s'", o->name, v);
        *(int *)o->dest = (int)x;
        return check_range(spec, o, (double)x, v);
    }
    case OPT_U64: {
        unsigned long long x = strtoull(v, &end, 10);
        if (errno || end == v || *end || v[0] == '-')
            return bad(spec, "%s needs a non-negative integer, got '%s'", o->name, v);
        *(uint64_t *)o->dest = x;
        return check_range(spec, o, (double)x, v);
    }
    case OPT_FLOAT: {
        double x = strtod(v, &end);
        if (errno || end == v || *end || x != x)
            return bad(spec, "%s needs a number, got '%s'", o->name, v);
        *(double *)o->dest = x;
        return check_range(spec, o, x, v);
    }
    case OPT_FLAG:
        break;
    }
    return 2;
}

int options_parse(const OptionSpec *spec, int argc, char **argv, char **positional,
                  int *n_positional)
{
    bool seen[64] = {false};
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            options_usage(spec, false);
            return 1;
        }
        if (a[0] == '-' && a[1]) {
            const char *eq = strchr(a, '=');
            size_t len = eq ? (size_t)(eq - a) : strlen(a);
            const Option *o = NULL;
            int idx = -1;
            for (int k = 0; k < spec->count; k++)
                if (strlen(spec->options[k].name) == len && !strncmp(spec->options[k].name, a, len)) {
                    o = &spec->options[k];
                    idx = k;
                }
            if (!o) return bad(spec, "unknown option '%s'%s", a, "");
            seen[idx] = true;
            if (o->type == OPT_FLAG) {
                if (eq) return bad(spec, "%s takes no value%s", o->name, "");
                *(bool *)o->dest = true;
                continue;
            }
            const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v) return bad(spec, "%s needs a value%s", o->name, "");
            int rc = set_value(spec, o, v);
            if (rc) return rc;
            continue;
        }
        if (npos >= spec->max_positional) return bad(spec, "unexpected argument '%s'%s", a, "");
        positional[npos++] = argv[i];
    }
    for (int k = 0; k < spec->count; k++)
        if (spec->options[k].required && !seen[k])
            return bad(spec, "missing %s%s", spec->options[k].name, "");
    if (npos < spec->min_positional)
        return bad(spec, "missing %s%s", spec->positional ? spec->positional : "argument", "");
    if (n_positional) *n_positional = npos;
    return 0;
}

int cli_fail(const char *command)
{
    if (dist_rank() != 0) return 1;   /* under mpirun every rank has the agreed message */
    if (command) fprintf(stderr, "reusenet %s: %s\n", command, error_get());
    else fprintf(stderr, "reusenet: %s\n", error_get());
    return 1;
}
