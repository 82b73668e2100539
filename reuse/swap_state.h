/* The state of an unfinished swap scan (swap.h), so that a killed scan goes on where it
 * stopped and ends with the bits of an uninterrupted one (`reusenet swap --resume`).
 *
 * The scan runs batch after batch, and all a batch leaves for the next is Dice counts
 * (per row, donor and patient: DiceTally) and the work done. After every batch they are
 * written atomically to a safetensors file:
 *   counts    I64 [tallies, 1 + patients, 3, EVAL_MAX_CLASSES]: per tally the pooled
 *             counts, then each patient's; inter, pred, truth per class
 *   metadata  format "reusenet swap state 1", batches, batches_done, fingerprint (16 hex
 *             digits), and the work statistics gmacs, gmacs_naive, seconds_baseline,
 *             seconds_rows, work_done (%.17g)
 * The fingerprint is FNV-1a 64 (dist.h) of everything the counts depend on: every tensor
 * of the target and of each donor, the slices (size, patient, pixels, labels), the rows'
 * tensors and the batch size. The bootstrap, its seed and the memory budget are not in it:
 * they change no count. A state is read back as any other input: another scan's
 * fingerprint, a batch count that is not this scan's, or counts that are not whole numbers
 * with 0 <= inter <= pred, truth whose pooled counts are the sum of the patients' are
 * refused in one line. */
#ifndef REUSENET_SWAP_STATE_H
#define REUSENET_SWAP_STATE_H

#include <stdint.h>

#include "reuse/swap.h"

/* What a scan carries from batch to batch besides its counts. */
typedef struct SwapStateWork {
    double gmacs, gmacs_naive, seconds_baseline, seconds_rows;
    double work_done;                /* multiply-accumulates, for the progress line */
} SwapStateWork;

uint64_t swap_state_fingerprint(const Model *target, const SwapDonors *donors,
                                const SliceSet *set, const SwapRow *rows, int n_rows,
                                int batch);

/* Write the state after `done` of `batches` batches. 0, or -1 with the message set. */
int swap_state_save(const char *path, uint64_t fingerprint, int done, int batches,
                    const DiceTally *tallies, int n_tallies, const SwapStateWork *work);

/* "<out>.resume.safetensors", the state beside a scan's CSV out (caller frees). */
char *swap_state_path(const char *out);
/* Whether a scan may start: -1 with "holds an unfinished scan: --resume goes on from it"
 * when path exists and resume is false, else 0. */
int swap_state_check_start(const char *path, bool resume);
/* Before a scan: when path does not exist, 0 (start at batch 0). When it exists and resume
 * is false, -1 (swap_state_check_start). Otherwise the
 * batches it has done (>= 1), with tallies (allocated by swap_tallies_alloc, so the
 * tallies of absent donors have no patients) and work filled in; -1 with the message set
 * when the file is not this scan's state. */
int swap_state_load(const char *path, bool resume, uint64_t fingerprint, int batches,
                    DiceTally *tallies, int n_tallies, SwapStateWork *work);

#endif
