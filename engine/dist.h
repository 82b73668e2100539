/* Distributed: the processes (ranks) of one MPI job, and the few collective operations the
 * data-parallel trainer and the study grid need. The only file that calls MPI: built with
 * -DUSE_MPI (make MPI=1) it wraps Open MPI; otherwise every function is the serial stub of
 * a job of one rank (rank 0 of 1, sums leave their input as it is, no communication), so
 * the rest of the code has no #ifdef.
 *
 * Sums are deterministic for a given number of ranks R: rank r's part is added in rank
 * order, whatever algorithm the MPI library would have picked (MPI_Allreduce's order is
 * implementation-defined). Across different R the sums differ in rounding only.
 *
 * Every collective (marked "all ranks") must be called by every rank in the same order. */
#ifndef REUSENET_DIST_H
#define REUSENET_DIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Start and end the job (MPI_Init / MPI_Finalize); no-ops in the serial build. */
void dist_init(int *argc, char ***argv);
void dist_finalize(void);
int dist_rank(void);
int dist_size(void);
/* True in the binary built with MPI=1 (even when the job has one rank). */
bool dist_built_with_mpi(void);

/* All ranks: wait for each other. */
void dist_barrier(void);
/* End every rank of the job with `code` (MPI_Abort), for a failure that leaves the others
 * waiting in a collective; exit(code) in the serial build. */
_Noreturn void dist_abort(int code);

/* All ranks: x[i] = sum over ranks of x[i], the parts added in rank order in double.
 * Small arrays (batch-norm statistics, a loss): every rank receives every part. */
void dist_sum_doubles(double *x, size_t n);
/* All ranks: x[i] = sum over ranks of x[i], added in rank order in double and rounded
 * once. Large arrays (the gradient block): rank r sums slice r of the array from every
 * rank (an all-to-all), then the slices are gathered back (an all-gather): each rank
 * sends and receives 2 (R-1)/R of the array, as a ring all-reduce does. */
void dist_sum_floats(float *x, size_t n);
/* Seconds spent inside dist_sum_floats since the last call of this function. */
double dist_sum_seconds_take(void);

/* All ranks: 0 when rc is 0 on every rank; otherwise -1 on every rank, with the message
 * "rank r: <rank r's error_get()>" of the lowest failing rank r set on all of them (the
 * message unchanged in a job of one rank). */
int dist_agree(int rc);
/* All ranks: 0 when every rank has rank 0's fingerprint; otherwise -1 (all ranks) with
 * "rank r: its WHAT differs from rank 0's" set. */
int dist_same(uint64_t fingerprint, const char *what);
/* FNV-1a 64 of bytes, continuing from h (start with DIST_HASH_INIT): fingerprints of a
 * configuration or of the data, compared across ranks with dist_same. */
#define DIST_HASH_INIT 14695981039346656037ull
uint64_t dist_hash(uint64_t h, const void *bytes, size_t n);

/* A shared counter for handing out work: the next unstarted item goes to whichever rank
 * asks first (MPI one-sided fetch-and-add on a value that rank 0 holds, which needs no
 * help from rank 0 while it computes). Open and close: all ranks. */
typedef struct DistCounter DistCounter;
DistCounter *dist_counter_open(void);
/* The value before adding `add` (atomic across ranks). */
int64_t dist_counter_add(DistCounter *c, int64_t add);
void dist_counter_close(DistCounter *c);

#endif
