#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/rng.h"
#include "tests/testutil.h"

void fill_uniform(float *x, size_t n, float lo, float hi, uint64_t seed)
{
    Rng r;
    rng_seed(&r, seed, 7);
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * rng_uniform(&r);
}

double max_rel_diff(const float *a, const float *b, size_t n)
{
    double worst = 0, scale = 1;
    for (size_t i = 0; i < n; i++) {
        double d = a[i] - b[i];
        if (d < 0) d = -d;
        if (d > worst || d != d) worst = d != d ? 1e30 : d;
        double m = b[i] < 0 ? -b[i] : b[i];
        if (m > scale) scale = m;
    }
    return worst / scale;
}

void assert_exits_with_message(void (*fn)(void *arg), void *arg, const char *expect)
{
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        fn(arg);
        _exit(0);
    }
    close(pipefd[1]);
    char buf[4096];
    size_t used = 0;
    ssize_t got;
    while ((got = read(pipefd[0], buf + used, sizeof buf - 1 - used)) > 0) used += (size_t)got;
    buf[used] = '\0';
    close(pipefd[0]);
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) == 0 ||
        (expect && !strstr(buf, expect))) {
        print_error("child status %d, stderr: %s (expected non-zero exit with '%s')\n", status,
                    buf, expect ? expect : "");
        fail();
    }
}

char *make_temp_dir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char *path = malloc(4096);
    snprintf(path, 4096, "%s/reusenet-test-%s-XXXXXX", base ? base : "/tmp", tag);
    if (!mkdtemp(path)) {
        free(path);
        return NULL;
    }
    return path;
}

int run_command(const char *cmd, char *out, size_t out_len)
{
    char full[8192];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p) return -1;
    size_t used = 0;
    if (out_len) out[0] = '\0';
    char chunk[1024];
    while (fgets(chunk, sizeof chunk, p)) {
        size_t len = strlen(chunk);
        if (out_len && used + len < out_len) {
            memcpy(out + used, chunk, len + 1);
            used += len;
        }
    }
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}
