#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static _Thread_local char last_error[1024];

/* A message is one line: text quoted from a file (a CSV field, a JSON string, a file name)
 * may hold line breaks or other control characters; they become spaces. */
static void one_line(void)
{
    for (char *c = last_error; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = ' ';
}

int error_set(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    one_line();
    return -1;
}

int error_prefix(const char *fmt, ...)
{
    char prefix[512], old[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, last_error, sizeof old);
    snprintf(last_error, sizeof last_error, "%.500s: %.500s", prefix, old);
    one_line();
    return -1;
}

const char *error_get(void) { return last_error; }
void error_clear(void) { last_error[0] = '\0'; }

_Noreturn void check_failed(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "reusenet: internal error at %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(3);
}

static void *out_of_memory(size_t bytes)
{
    fprintf(stderr, "reusenet: out of memory allocating %zu bytes (%.1f MiB)\n",
            bytes, bytes / 1048576.0);
    exit(3);
}

void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    return p ? p : out_of_memory(bytes);
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    return p ? p : out_of_memory(count * size);
}

float *xmalloc_floats(size_t floats)
{
    const size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;   /* a multiple of 64 */
    void *p = aligned_alloc(64, bytes ? bytes : 64);
    return p ? p : out_of_memory(bytes);
}

float *xcalloc_floats(size_t floats)
{
    float *p = xmalloc_floats(floats);
    memset(p, 0, floats * sizeof(float));
    return p;
}

void *xrealloc(void *p, size_t bytes)
{
    void *q = realloc(p, bytes ? bytes : 1);
    return q ? q : out_of_memory(bytes);
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

void free_strings(char **strings, int count)
{
    for (int i = 0; strings && i < count; i++) free(strings[i]);
    free(strings);
}
