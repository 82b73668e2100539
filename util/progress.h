/* Progress of long work on stderr: refreshed in place on a terminal ("\r"), plain lines at
 * most every few seconds when stderr is a file or pipe (logs stay readable). */
#ifndef REUSENET_PROGRESS_H
#define REUSENET_PROGRESS_H

#include <stdbool.h>

typedef struct Progress {
    bool tty;
    double start, last_print;
    long total, done;
    char label[64];
} Progress;

double progress_now(void);     /* monotonic seconds */
void progress_begin(Progress *p, const char *label, long total);
/* Report `done` of `total` with a free-form detail ("loss 0.412  31.2 img/s"). */
void progress_update(Progress *p, long done, const char *detail);
/* Finish the line. */
void progress_end(Progress *p, const char *detail);
/* "1h02m", "3m05s", "12s" */
void format_duration(double seconds, char *buf, int len);

#endif
