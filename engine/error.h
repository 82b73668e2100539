/* Two kinds of error (see README, "Errors").
 *
 * A failure the user can cause (a bad file, a wrong option) is returned as a status:
 * the function calls error_set() with one line naming the file and the problem and
 * returns -1 (or NULL); the command prints error_get() and exits non-zero.
 *
 * A broken invariant inside the program (two ops joined with incompatible shapes) is a
 * bug in the caller: CHECK() prints file:line and the message, then exits with status 3. */
#ifndef REUSENET_ERROR_H
#define REUSENET_ERROR_H

#include <stdarg.h>
#include <stddef.h>

/* Record the last error (printf-style, one line, no trailing newline; control characters,
 * e.g. line breaks in text quoted from a file, become spaces). Returns -1. */
int error_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prefix the current message: "context: previous message". Returns -1. */
int error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The last message, or "" when none was set. Thread-local. */
const char *error_get(void);
void error_clear(void);

/* Print "file:line: message" to stderr and exit(3). Never returns. */
_Noreturn void check_failed(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define CHECK(cond, ...) \
    do { if (!(cond)) check_failed(__FILE__, __LINE__, __VA_ARGS__); } while (0)

/* malloc/calloc that stop the program with the size when memory runs out. */
void *xmalloc(size_t bytes);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t bytes);
/* A copy of s, allocated as by xmalloc. */
char *xstrdup(const char *s);
/* Free strings[0..count) and the array itself (NULL: nothing). */
void free_strings(char **strings, int count);
/* floats floats, uninitialised, 64-byte aligned (a cache line, an AVX-512 vector) as the
 * step arena's memory is; free() frees them. Buffers handed to the kernels from outside
 * the arena (benchmarks, tests, tensors) should be: at malloc's 16-byte alignment
 * Winograd's input transform took twice as long (every vector store split over two
 * cache lines). */
float *xmalloc_floats(size_t floats);
/* The same, zero-filled. */
float *xcalloc_floats(size_t floats);

#endif
