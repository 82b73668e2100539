/* Which baseline activations the swap scan keeps, under a memory budget.
 *
 * A swap at layer k can resume the forward pass at any layer j <= k whose live-in values
 * (forward_graph.h) are kept from the unmodified model's pass: the layers j..k-1 do not
 * use the swapped tensor, so recomputing them gives what the baseline gave. The best
 * resume point is k itself; keeping every layer's live-in values may not fit the budget.
 *
 * Cost model: a swap row resumed at step j costs the multiply-accumulates of steps j..end
 * (convolutions dominate). The scan's cost is the sum over its rows. Choice: greedy, start
 * with no resume points and repeatedly add the layer whose live-in values save the most
 * work per extra byte, while the kept values fit the budget. With a budget large enough
 * for everything, every layer resumes at itself (the optimum). */
#ifndef REUSENET_RESUME_POINTS_H
#define REUSENET_RESUME_POINTS_H

#include <stdbool.h>
#include <stddef.h>

#include "models/forward_graph.h"

typedef struct ResumePoints {
    bool *keep;            /* [n_steps + 1]: value v is copied from the baseline pass */
    int *resume;           /* [n_layers] (table rows): the step a swap there starts from */
    size_t bytes;          /* of the kept values (value 0, the input, is always kept and
                              not counted) */
    int points;            /* layers that resume at themselves */
    double macs;           /* the scan's forward work with these resume points */
    double macs_naive;     /* ... and with every row recomputed from the input */
} ResumePoints;

/* step_macs[s]: work of step s; value_bytes[v]: size of value v; rows[r]: swap rows at
 * table row r. budget 0 keeps nothing (every row from the input). */
void resume_points_choose(const ForwardGraph *g, const double *step_macs,
                        const size_t *value_bytes, const int *rows, size_t budget,
                        ResumePoints *p);
void resume_points_free(ResumePoints *p);

#endif
