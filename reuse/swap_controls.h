/* The control donors of the swap scan (docs/method.md, "Controls"): models of the target's
 * configuration whose tensors a row swaps in instead of the source's.
 *
 *   init     the target's own starting point: its "init" metadata "seed N" re-run through
 *            model_init_weights (the same seed gives the same weights), or a checkpoint
 *            given with --init.
 *   random   a fresh draw, seeded, that carries nothing from any training:
 *              W, B     a new draw of the tensor's initialisation rule (models/init.c:
 *                       kaiming_normal_(fan_out) for ResNet backbone convs, PyTorch's Conv2d
 *                       default U(-1/sqrt(fan_in), 1/sqrt(fan_in)) otherwise, its bias too)
 *              RM, RV, RW, RB   the BN rule is a constant (0, 1, 1, 0): a draw from it is
 *                       the init control again and tells nothing new. Instead, the target's
 *                       own tensor with its channels in a random order: the values keep
 *                       the trained scale and spread, only which channel gets which value
 *                       is lost - what a source must get right to carry anything.
 *   control  (--control) a model of the target's own task trained from another seed,
 *            loaded by the caller. */
#ifndef REUSENET_SWAP_CONTROLS_H
#define REUSENET_SWAP_CONTROLS_H

#include <stdint.h>

#include "reuse/reuse_model.h"

/* out: the target's starting point re-created from its "init" metadata ("seed N").
 * 0; 1 when the metadata names no seed (out untouched, a note for the user in `why`);
 * -1 on a model that cannot be created. */
int swap_control_init_from_seed(const ReuseModel *target, Model *out, char *why, size_t len);
/* out: the random control of target (see above), drawn with seed. */
void swap_control_random(const Model *target, uint64_t seed, Model *out);

#endif
