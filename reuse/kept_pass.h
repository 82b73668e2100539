/* One batch's forward pass, kept so that passes of changed models can resume from it.
 *
 * forward_graph.h: a model whose tensors differ from a kept pass's model only at step j
 * and later computes the same values before j, so its pass can resume at j from the kept
 * pass's live-in values of j (bitwise the values of a pass from the input). The swap scan
 * keeps one batch's values under a memory budget (swap.c, resume_points.h); this keeps
 * every value of a pass, for the passes that resume many times: the recalibrated scan
 * (swap_recal.c: the recalibrated target's training and validation passes, every batch)
 * and plan validation (plan_validate.c: a chain of passes, each resumed from the last).
 *
 * The kept values are copies in the KeptPass's own memory, so the tape that computed them
 * can be reset. kept_pass_keep replaces them (two arenas in turn: the new copies may be
 * taken from the old ones). */
#ifndef REUSENET_KEPT_PASS_H
#define REUSENET_KEPT_PASS_H

#include <stddef.h>

#include "models/forward_graph.h"

typedef struct KeptPass {
    int n_values;            /* the graph's n_steps + 1 */
    Tensor *kept;            /* [n_values]; data NULL where not kept */
    Arena arena[2];
    int cur;                 /* the arena that holds `kept` */
    size_t bytes;            /* of the kept values */
} KeptPass;

void kept_pass_init(KeptPass *k, const ForwardGraph *g);
void kept_pass_free(KeptPass *k);
/* Keep a copy of every value in values[0..n_values-1] that is set and not released
 * (data not NULL), replacing what was kept. values may point into the kept set. */
void kept_pass_keep(KeptPass *k, Tensor *const *values);
/* values[v] = the kept value v where v is live-in at step `from`, NULL elsewhere: what
 * forward_graph_run(.., from, ..) needs. Stops (CHECK) when a live-in value was not kept. */
void kept_pass_live_in(KeptPass *k, const ForwardGraph *g, int from, Tensor **values);

#endif
