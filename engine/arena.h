/* Arena: the memory of one training or evaluation step.
 *
 * Every activation, activation gradient and scratch buffer of a step is bumped off an
 * arena, and arena_reset() gives it all back at once when the step ends. The first step
 * learns how much it needs (overflowing into extra chunks); reset then replaces the
 * chunks with one block of the high-water size, so from the second step on a step makes
 * no allocation at all. arena_mark()/arena_release() return short-lived scratch (an
 * im2col buffer) while keeping what was allocated before the mark.
 *
 * Allocations are 64-byte aligned (a cache line; what AVX-512 loads like). */
#ifndef REUSENET_ARENA_H
#define REUSENET_ARENA_H

#include <stddef.h>

typedef struct ArenaChunk ArenaChunk;

typedef struct Arena {
    ArenaChunk *first;       /* chunk list, oldest first */
    ArenaChunk *current;     /* chunk being bumped */
    size_t in_use;           /* bytes handed out since the last reset, all chunks */
    size_t high_water;       /* largest in_use seen */
    size_t capacity;         /* bytes held in all chunks */
    size_t limit;            /* 0, or the most the arena may hold (a budget) */
} Arena;

typedef struct ArenaMark {
    ArenaChunk *chunk;
    size_t used;
    size_t in_use;
} ArenaMark;

void arena_init(Arena *a, size_t initial_bytes);
void arena_free(Arena *a);
/* Uninitialised memory; stops the program if the arena's limit would be exceeded. */
void *arena_alloc(Arena *a, size_t bytes);
float *arena_floats(Arena *a, size_t count);          /* uninitialised */
ArenaMark arena_mark(const Arena *a);
void arena_release(Arena *a, ArenaMark m);
/* Forget every allocation; keep (and consolidate) the memory for the next step. */
void arena_reset(Arena *a);

#endif
