/* Sums whose bits do not depend on the threads: a fixed split of the data into pieces.
 *
 * A sum over the images of a batch (a weight gradient) or over panels of tiles, shared out
 * among threads that each add into a private part, depends on which thread took which
 * images: floating-point addition is not associative, so another thread count or
 * another schedule gives other bits. Instead the data is cut into pieces that depend only
 * on its size: piece i of `count` items is [i*count/P, (i+1)*count/P) with
 * P = reduce_pieces(count); each piece is summed in item order into its own part, by
 * whichever thread takes it, and the parts are added in piece order. The result is the
 * same for any thread count and schedule, and a run can resume on a machine with another
 * core count. More threads than REDUCE_MAX_PIECES leave the extra ones idle in such a loop. */
#ifndef REUSENET_REDUCE_H
#define REUSENET_REDUCE_H

#include <stddef.h>

enum { REDUCE_MAX_PIECES = 16 };

/* P = min(count, REDUCE_MAX_PIECES), at least 1. */
int reduce_pieces(int count);
/* Piece i of count items in `pieces` pieces: items [*start, *end). */
void reduce_piece_range(int count, int pieces, int i, int *start, int *end);
/* dst (floats) = (or += when accumulate) parts[0] + parts[1] + ... + parts[pieces-1],
 * the parts `stride` floats apart, added in that order for every element. */
void reduce_parts(float *dst, const float *parts, int pieces, size_t stride, size_t floats,
                  int accumulate);

#endif
