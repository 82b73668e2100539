#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "error.h"

#define ARENA_ALIGN 64

struct ArenaChunk {
    ArenaChunk *next;        /* chunks run oldest -> newest */
    size_t cap;
    size_t used;
    unsigned char *base;     /* ARENA_ALIGN-aligned */
};

static ArenaChunk *chunk_new(size_t cap)
{
    ArenaChunk *c = xmalloc(sizeof *c);
    c->next = NULL;
    c->cap = (cap + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    c->used = 0;
    c->base = aligned_alloc(ARENA_ALIGN, c->cap);
    CHECK(c->base, "out of memory: the arena needs %zu more bytes (%.1f MiB)", cap,
          cap / 1048576.0);
    return c;
}

static void chunk_free_list(ArenaChunk *c)
{
    while (c) {
        ArenaChunk *next = c->next;
        free(c->base);
        free(c);
        c = next;
    }
}

void arena_init(Arena *a, size_t initial_bytes)
{
    memset(a, 0, sizeof *a);
    if (initial_bytes < (1u << 20)) initial_bytes = 1u << 20;
    a->first = a->current = chunk_new(initial_bytes);
    a->capacity = a->first->cap;
}

void arena_free(Arena *a)
{
    chunk_free_list(a->first);
    memset(a, 0, sizeof *a);
}

void *arena_alloc(Arena *a, size_t bytes)
{
    size_t need = (bytes + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    if (need == 0) need = ARENA_ALIGN;
    ArenaChunk *c = a->current;
    /* Later chunks are empty (see arena_release); take the first that fits. */
    while (c->cap - c->used < need && c->next) c = c->next;
    if (c->cap - c->used < need) {
        size_t cap = need > a->capacity ? need : a->capacity;   /* grow geometrically */
        if (a->limit && a->capacity + cap > a->limit) cap = need;
        CHECK(!a->limit || a->capacity + cap <= a->limit,
              "arena: the step needs more than the memory budget of %.1f MiB",
              a->limit / 1048576.0);
        c->next = chunk_new(cap);
        c = c->next;
        a->capacity += c->cap;
    }
    a->current = c;
    void *p = c->base + c->used;
    c->used += need;
    a->in_use += need;
    if (a->in_use > a->high_water) a->high_water = a->in_use;
    return p;
}

float *arena_floats(Arena *a, size_t count)
{
    return arena_alloc(a, count * sizeof(float));
}

ArenaMark arena_mark(const Arena *a)
{
    return (ArenaMark){a->current, a->current->used, a->in_use};
}

void arena_release(Arena *a, ArenaMark m)
{
    /* Chunks opened after the mark stay in the list, emptied, for the next request. */
    for (ArenaChunk *c = m.chunk->next; c; c = c->next) c->used = 0;
    m.chunk->used = m.used;
    a->current = m.chunk;
    a->in_use = m.in_use;
}

void arena_reset(Arena *a)
{
    if (a->first->next || a->first->cap < a->high_water) {
        /* The step overflowed the first block: replace all chunks with one block that
         * holds the whole step, so later steps allocate nothing. */
        chunk_free_list(a->first);
        a->first = chunk_new(a->high_water);
        a->capacity = a->first->cap;
    }
    a->first->used = 0;
    a->current = a->first;
    a->in_use = 0;
}
