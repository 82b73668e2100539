/* Weight matching (Ainsworth, Hayase and Srinivasa, "Git Re-Basin", ICLR 2023, section 3.2):
 * permute the hidden channels of a source model S so that its weights lie as close as
 * possible to a target T's, without changing the function S computes.
 *
 * Permutation groups. Channels that the wiring ties must move together: a residual add
 * joins its two inputs channel by channel, so each ResNet stage's residual stream (the
 * stem with layer1, each downsample with the blocks of its stage) is one group; the inner
 * channel of each BasicBlock, each pyramid branch, PSPNet's bottleneck and each UNet conv
 * are groups of their own. A concatenation (PSPNet's pyramid, UNet's skips) hands each
 * group a slice of the next conv's input channels. The groups are read off the forward
 * graph (models/forward_graph.h), the one description of each architecture's wiring, so
 * they cannot drift from it. Input and output (class) channels are never permuted.
 *
 * A permutation of a group moves, together, the output rows of every member conv (weight
 * and bias) and of its BN (weight, bias, running mean and variance), and the input slices
 * of every conv that reads the group.
 *
 * Matching: coordinate descent over the groups (in a seeded random order per round); for
 * group g with all other permutations fixed, the best permutation maximises
 *   sum_i <T_rows(i), S_rows(P(i))>
 * over the rows of every member tensor (conv W and B, BN weight and bias) and the input
 * slices of every reader, a linear assignment problem (reuse/assignment.h). Rounds repeat
 * until one changes no permutation (at most max_rounds). */
#ifndef REUSENET_ALIGN_H
#define REUSENET_ALIGN_H

#include <stdint.h>

#include "models/model.h"

#define ALIGN_MAX_SLICES 8

typedef struct AlignSlice {
    int group;                  /* -1: the model's input */
    int offset, count;          /* input channels [offset, offset + count) of the conv */
} AlignSlice;

typedef struct AlignGroups {
    int n_groups;
    int *size;                  /* [n_groups] channels */
    int *first_row;             /* [n_groups] table row of the first member (for names) */
    int *out_group;             /* [n_layers] group of each row's output channels; -1: head */
    int *n_in;                  /* [n_layers] input slices of each row */
    AlignSlice (*in)[ALIGN_MAX_SLICES];
} AlignGroups;

/* The groups of m's architecture, from its forward graph. */
void align_groups_build(Model *m, AlignGroups *g);
void align_groups_free(AlignGroups *g);
/* "layer2.0.conv2 + 2 more" style name of group i. */
void align_group_name(const Model *m, const AlignGroups *g, int i, char *out, int len);

/* Permute group `group` of m: new channel i is old channel perm[i]. m computes the same
 * function afterwards. */
void align_apply(Model *m, const AlignGroups *g, int group, const int *perm);

typedef struct AlignResult {
    int rounds;                 /* coordinate-descent rounds run */
    int moved_groups;           /* groups whose final permutation is not the identity */
    double distance_before, distance_after;   /* sqrt(sum of squared differences) over the
                                                 matched tensors (conv W, B, BN W, B) */
} AlignResult;

/* Permute s (in place) to match t (same configuration). perms (optional, [n_groups]
 * arrays of g->size[i] ints) receives each group's total permutation. */
void align_weights(Model *t, Model *s, const AlignGroups *g, uint64_t seed, int max_rounds,
                   int **perms, AlignResult *res);

#endif
