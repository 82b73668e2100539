/* The HDF5 reader process (hdf5_worker.h).
 *
 * Request:  u64 name length, name, u64 size, the file's bytes.
 * Reply:    i32 status, u32 message length, message; then for the image and the label:
 *           i32 ndim, u64 dims[3], and the values as float32 (status 0 only). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "datasets/hdf5_worker.h"
#include "engine/error.h"

static pid_t worker_pid;
static int worker_fd = -1;

static int send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

static int recv_all(int fd, void *p, size_t n)
{
    char *c = p;
    while (n) {
        ssize_t k = recv(fd, c, n, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

static size_t array_values(const Hdf5Array *a)
{
    size_t n = 1;
    for (int k = 0; k < a->ndim; k++) n *= (size_t)a->dims[k];
    return n;
}

/* ---- the reader process */

static int serve_one(int fd)
{
    uint64_t len, size;
    if (recv_all(fd, &len, sizeof len) < 0 || len > 65536) return -1;
    char *name = calloc(len + 1, 1), *bytes = NULL;
    int rc = name && recv_all(fd, name, len) == 0 && recv_all(fd, &size, sizeof size) == 0 &&
                     size < ((uint64_t)1 << 40) && (bytes = malloc(size ? size : 1)) &&
                     recv_all(fd, bytes, size) == 0 ? 0 : -1;
    if (rc == 0) {
        Hdf5Array out[2];
        alarm(HDF5_WORKER_SECONDS);
        int32_t status = hdf5_lib_read(bytes, size, name, out);
        alarm(0);
        const char *msg = status ? error_get() : "";
        uint32_t mlen = (uint32_t)strlen(msg);
        rc = send_all(fd, &status, sizeof status) || send_all(fd, &mlen, sizeof mlen) ||
             send_all(fd, msg, mlen) ? -1 : 0;
        for (int k = 0; k < 2 && !status && !rc; k++) {
            int32_t ndim = out[k].ndim;
            uint64_t dims[3] = {out[k].dims[0], out[k].dims[1], out[k].dims[2]};
            rc = send_all(fd, &ndim, sizeof ndim) || send_all(fd, dims, sizeof dims) ||
                 send_all(fd, out[k].data, array_values(&out[k]) * sizeof(float)) ? -1 : 0;
        }
        if (!status) {
            free(out[0].data);
            free(out[1].data);
        }
    }
    free(name);
    free(bytes);
    return rc;
}

static void start_worker(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return;
    fflush(NULL);                        /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        /* a crash ends it at once: no handler of this process's (a sanitizer's report, a
         * debugger's) runs in it */
        static const int deadly[] = {SIGALRM, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
        for (size_t k = 0; k < sizeof deadly / sizeof deadly[0]; k++) signal(deadly[k], SIG_DFL);
        /* its messages go over the socket; whatever libhdf5 might print goes nowhere */
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
            close(null);
        }
        while (serve_one(sv[1]) == 0) {}
        _exit(0);                        /* no atexit handlers of the parent's */
    }
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        return;
    }
    worker_pid = pid;
    worker_fd = sv[0];
}

/* The process ended (or broke the protocol): reap it, say how it ended. */
static int worker_died(const char *name)
{
    int wstatus = 0;
    close(worker_fd);
    worker_fd = -1;
    kill(worker_pid, SIGKILL);
    waitpid(worker_pid, &wstatus, 0);
    worker_pid = 0;
    char how[96];
    if (WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGALRM)
        snprintf(how, sizeof how, "did not finish within %d s", HDF5_WORKER_SECONDS);
    else if (WIFSIGNALED(wstatus))
        snprintf(how, sizeof how, "stopped (%s)", strsignal(WTERMSIG(wstatus)));
    else
        snprintf(how, sizeof how, "stopped (exit status %d)", WEXITSTATUS(wstatus));
    return error_set("%s: damaged HDF5 file: libhdf5 %s reading it", name, how);
}

static int receive_array(Hdf5Array *a)
{
    int32_t ndim;
    uint64_t dims[3];
    if (recv_all(worker_fd, &ndim, sizeof ndim) || recv_all(worker_fd, dims, sizeof dims) ||
        (ndim != 2 && ndim != 3))
        return -1;
    a->ndim = ndim;
    size_t n = 1;
    for (int k = 0; k < ndim; k++) {
        if (dims[k] == 0 || dims[k] > HDF5_MAX_VOXELS || (n *= (size_t)dims[k]) > HDF5_MAX_VOXELS)
            return -1;
        a->dims[k] = dims[k];
    }
    a->data = xmalloc_floats(n);
    return recv_all(worker_fd, a->data, n * sizeof(float));
}

int hdf5_worker_read(const void *bytes, size_t size, const char *name, Hdf5Array out[2])
{
    memset(out, 0, 2 * sizeof *out);
    if (!worker_pid) start_worker();
    if (!worker_pid) return error_set("%s: cannot start the HDF5 reader process: %s", name, strerror(errno));
    uint64_t len = strlen(name), n = size;
    int32_t status;
    uint32_t mlen;
    if (send_all(worker_fd, &len, sizeof len) || send_all(worker_fd, name, len) ||
        send_all(worker_fd, &n, sizeof n) || send_all(worker_fd, bytes, size) ||
        recv_all(worker_fd, &status, sizeof status) || recv_all(worker_fd, &mlen, sizeof mlen) ||
        mlen > 65536)
        return worker_died(name);
    char *msg = xmalloc(mlen + 1);
    int broken = recv_all(worker_fd, msg, mlen);
    msg[mlen] = '\0';
    for (int k = 0; k < 2 && !status && !broken; k++) broken = receive_array(&out[k]);
    if (!broken && status) error_set("%s", msg);
    free(msg);
    if (broken) {
        free(out[0].data);
        free(out[1].data);
        memset(out, 0, 2 * sizeof *out);
        return worker_died(name);
    }
    return status ? -1 : 0;
}
