/* Distributed: see dist.h. The MPI implementation, then the serial stubs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dist.h"
#include "error.h"

uint64_t dist_hash(uint64_t h, const void *bytes, size_t n)
{
    const unsigned char *p = bytes;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;            /* the FNV-1a 64-bit prime */
    }
    return h;
}

static double sum_seconds;

double dist_sum_seconds_take(void)
{
    double s = sum_seconds;
    sum_seconds = 0;
    return s;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#ifdef USE_MPI
#include <mpi.h>

static int rank_, size_ = 1;

void dist_init(int *argc, char ***argv)
{
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

void dist_finalize(void) { MPI_Finalize(); }
int dist_rank(void) { return rank_; }
int dist_size(void) { return size_; }
bool dist_built_with_mpi(void) { return true; }
void dist_barrier(void) { MPI_Barrier(MPI_COMM_WORLD); }

_Noreturn void dist_abort(int code)
{
    fflush(stdout);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);                           /* MPI_Abort does not return */
}

void dist_sum_doubles(double *x, size_t n)
{
    if (size_ == 1 || n == 0) return;
    double *all = xmalloc(sizeof(double) * n * (size_t)size_);
    MPI_Allgather(x, (int)n, MPI_DOUBLE, all, (int)n, MPI_DOUBLE, MPI_COMM_WORLD);
    for (size_t i = 0; i < n; i++) {
        double s = all[i];
        for (int r = 1; r < size_; r++) s += all[(size_t)r * n + i];
        x[i] = s;
    }
    free(all);
}

/* Slice r of n items over R ranks: [r*n/R, (r+1)*n/R). */
static void slice_of(size_t n, int r, size_t *start, int *count)
{
    *start = n * (size_t)r / (size_t)size_;
    *count = (int)(n * (size_t)(r + 1) / (size_t)size_ - *start);
}

void dist_sum_floats(float *x, size_t n)
{
    if (size_ == 1 || n == 0) return;
    const double t0 = now_seconds();
    CHECK(n / (size_t)size_ < (size_t)1 << 30, "dist_sum_floats: %zu floats is too many", n);
    int *scount = xmalloc(sizeof(int) * 4 * (size_t)size_);
    int *sdispl = scount + size_, *rcount = sdispl + size_, *rdispl = rcount + size_;
    size_t mine_at;
    int mine;
    slice_of(n, rank_, &mine_at, &mine);
    for (int r = 0; r < size_; r++) {
        size_t at;
        slice_of(n, r, &at, &scount[r]);
        sdispl[r] = (int)at;               /* < 2^31: checked via the slice size times R */
        rcount[r] = mine;
        rdispl[r] = r * mine;
    }
    /* every rank's copy of my slice, then their sum in rank order */
    float *parts = xmalloc_floats((size_t)mine * (size_t)size_ + 1);
    MPI_Alltoallv(x, scount, sdispl, MPI_FLOAT, parts, rcount, rdispl, MPI_FLOAT, MPI_COMM_WORLD);
    for (int i = 0; i < mine; i++) {
        double s = parts[i];
        for (int r = 1; r < size_; r++) s += parts[(size_t)r * mine + i];
        x[mine_at + i] = (float)s;
    }
    free(parts);
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, x, scount, sdispl, MPI_FLOAT, MPI_COMM_WORLD);
    free(scount);
    sum_seconds += now_seconds() - t0;
}

int dist_agree(int rc)
{
    int failed = rc ? rank_ : size_, first;
    MPI_Allreduce(&failed, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first == size_) return 0;
    char msg[1024];
    if (rank_ == first) snprintf(msg, sizeof msg, "%s", error_get());
    MPI_Bcast(msg, sizeof msg, MPI_CHAR, first, MPI_COMM_WORLD);
    msg[sizeof msg - 1] = '\0';
    if (size_ == 1) return error_set("%s", msg);
    return error_set("rank %d: %s", first, msg);
}

int dist_same(uint64_t fingerprint, const char *what)
{
    uint64_t root = fingerprint;
    MPI_Bcast(&root, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    int rc = root == fingerprint ? 0 : error_set("its %s differs from rank 0's", what);
    return dist_agree(rc);
}

struct DistCounter {
    MPI_Win win;
    int64_t *value;
};

DistCounter *dist_counter_open(void)
{
    DistCounter *c = xcalloc(1, sizeof *c);
    MPI_Win_allocate(rank_ == 0 ? (MPI_Aint)sizeof(int64_t) : 0, sizeof(int64_t), MPI_INFO_NULL,
                     MPI_COMM_WORLD, &c->value, &c->win);
    if (rank_ == 0) {
        MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, c->win);
        *c->value = 0;
        MPI_Win_unlock(0, c->win);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    return c;
}

int64_t dist_counter_add(DistCounter *c, int64_t add)
{
    int64_t before;
    MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, c->win);
    MPI_Fetch_and_op(&add, &before, MPI_INT64_T, 0, 0, MPI_SUM, c->win);
    MPI_Win_unlock(0, c->win);
    return before;
}

void dist_counter_close(DistCounter *c)
{
    MPI_Win_free(&c->win);
    free(c);
}

#else /* serial: a job of one rank */

struct DistCounter {
    int64_t value;
};

void dist_init(int *argc, char ***argv) { (void)argc, (void)argv; }
void dist_finalize(void) {}
int dist_rank(void) { return 0; }
int dist_size(void) { return 1; }
bool dist_built_with_mpi(void) { return false; }
void dist_barrier(void) {}
_Noreturn void dist_abort(int code) { exit(code); }
void dist_sum_doubles(double *x, size_t n) { (void)x, (void)n; }
void dist_sum_floats(float *x, size_t n) { (void)x, (void)n; (void)now_seconds; }
int dist_agree(int rc) { return rc ? -1 : 0; }
int dist_same(uint64_t fingerprint, const char *what) { (void)fingerprint, (void)what; return 0; }
DistCounter *dist_counter_open(void) { return xcalloc(1, sizeof(DistCounter)); }

int64_t dist_counter_add(DistCounter *c, int64_t add)
{
    int64_t before = c->value;
    c->value += add;
    return before;
}

void dist_counter_close(DistCounter *c) { free(c); }

#endif
