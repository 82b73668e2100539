/* A small, seedable random number generator (PCG32, O'Neill 2014) whose sequence is the
 * same on every machine, so "same seed, same bytes" holds for weights, data and
 * augmentation. State is a plain struct: copy it to fork a stream, save it in a
 * checkpoint to resume. */
#ifndef REUSENET_RNG_H
#define REUSENET_RNG_H

#include <stdint.h>

typedef struct Rng {
    uint64_t state;
    uint64_t inc;        /* stream selector, always odd */
} Rng;

/* seed selects the sequence; stream gives independent sequences for one seed. */
void rng_seed(Rng *r, uint64_t seed, uint64_t stream);
uint32_t rng_u32(Rng *r);
/* Uniform in [0, 1) with 24 random bits (exactly representable as float). */
float rng_uniform(Rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double rng_uniform_double(Rng *r);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint32_t rng_below(Rng *r, uint32_t n);
/* Standard normal (Box-Muller on doubles). */
double rng_normal(Rng *r);
/* Fisher-Yates shuffle of an int array. */
void rng_shuffle(Rng *r, int *items, int count);

#endif
