#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/progress.h"

double progress_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void format_duration(double s, char *buf, int len)
{
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, (size_t)len, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else if (t >= 60) snprintf(buf, (size_t)len, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, (size_t)len, "%lds", t);
}

void progress_begin(Progress *p, const char *label, long total)
{
    memset(p, 0, sizeof *p);
    p->tty = isatty(2);
    p->start = p->last_print = progress_now();
    p->total = total;
    snprintf(p->label, sizeof p->label, "%s", label);
}

void progress_update(Progress *p, long done, const char *detail)
{
    double now = progress_now();
    p->done = done;
    /* a terminal: at most 10 refreshes a second; a log: a line every 5 seconds */
    if (now - p->last_print < (p->tty ? 0.1 : 5.0) && done < p->total) return;
    p->last_print = now;
    char eta[32] = "?";
    if (done > 0) format_duration((now - p->start) / done * (p->total - done), eta, sizeof eta);
    fprintf(stderr, "%s%s %ld/%ld  %s  ETA %s%s", p->tty ? "\r\033[K" : "", p->label, done,
            p->total, detail ? detail : "", eta, p->tty ? "" : "\n");
    fflush(stderr);
}

void progress_end(Progress *p, const char *detail)
{
    char took[32];
    format_duration(progress_now() - p->start, took, sizeof took);
    fprintf(stderr, "%s%s %ld/%ld  %s  (%s)\n", p->tty ? "\r\033[K" : "", p->label, p->total,
            p->total, detail ? detail : "", took);
}
