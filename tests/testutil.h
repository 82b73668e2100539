/* Helpers shared by the cmocka test programs. */
#ifndef REUSENET_TESTUTIL_H
#define REUSENET_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* Fill with uniform values in [lo, hi) from a fixed seed. */
void fill_uniform(float *x, size_t n, float lo, float hi, uint64_t seed);
/* max |a - b| / max(1, max |b|) */
double max_rel_diff(const float *a, const float *b, size_t n);
/* Run fn(arg) in a child process; assert that it exits non-zero and that what it wrote
 * to stderr contains `expect` (NULL: any message). */
void assert_exits_with_message(void (*fn)(void *arg), void *arg, const char *expect);
/* A fresh empty directory under $TMPDIR for one test; caller frees the string. */
char *make_temp_dir(const char *tag);
/* Run a shell command, return its exit status (0..255) and put its stderr+stdout in out. */
int run_command(const char *cmd, char *out, size_t out_len);

#endif
