/* A training run's resume point and its per-epoch logs, read back as any other input.
 *
 * resume.safetensors holds the model's tensors, the optimizer's state (optimizer.m,
 * optimizer.v, optimizer.steps) and the progress as metadata: epoch (epochs finished),
 * step (optimizer steps taken) and best (the best validation score so far). A file edited
 * by hand or damaged is refused with one line naming it and the value: epoch must be a
 * whole number within 0..the run's epochs, step exactly epoch x the steps of an epoch (0
 * for a run with nothing to train), best a number or -inf, every float finite, Adam's
 * second moments >= 0 and every parameter's step count within 0..step.
 *
 * log.csv and times.csv are kept to the finished epochs when a run resumes: their header
 * and the rows of epochs 1..E, in order (a run killed between an epoch's row and its
 * resume point would otherwise log that epoch twice); fewer rows, or rows out of order,
 * are refused. */
#ifndef REUSENET_RESUME_H
#define REUSENET_RESUME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/optimizer.h"
#include "engine/safetensors.h"
#include "models/model.h"

typedef struct RunState {
    int epoch;            /* epochs finished */
    int64_t step;         /* optimizer steps taken */
    double best;          /* best validation score (higher is better); -inf: none yet */
} RunState;

/* Write the resume point atomically. 0, or -1 with the message set. */
int resume_save(const Model *m, const Optimizer *o, const RunState *rs, const char *path,
                const char *origin);
/* Read a resume point of a run of `epochs` epochs of `steps_per_epoch` steps (0: nothing
 * is trained) from an opened file into m, o and rs; `origin` gets its "init" metadata.
 * 0, or -1 with the message set (m and o may then hold part of the file). */
int resume_read(SafeTensors *st, Model *m, Optimizer *o, int epochs, int64_t steps_per_epoch,
                RunState *rs, char *origin, size_t origin_len);
/* resume_read from a file. */
int resume_load(const char *path, Model *m, Optimizer *o, int epochs, int64_t steps_per_epoch,
                RunState *rs, char *origin, size_t origin_len);

/* Of a log's text (len bytes, `label` naming it), the length of its header line and first
 * `epochs` rows, each row's first field being its epoch 1..epochs; -1 with the message
 * set when the header's first field is not "epoch" or a row is missing or out of place. */
long resume_log_keep(const char *text, size_t len, const char *label, int epochs);
/* RUN/NAME opened for appending after keeping its header and first `epochs` rows (a
 * resumed run; resume_log_keep), or created with `header` (a new run, or a resumed one
 * from a version that did not write NAME); NULL with the message set. */
FILE *resume_open_log(const char *dir, const char *name, int resuming, int epochs,
                      const char *header);

#endif
