/* Atomic file replacement (see atomic_file.h for the why). */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "error.h"

struct AtomicFile {
    FILE *stream;
    char *path;      /* the destination */
    char *temp;      /* the temporary file beside it */
};

/* The directory part of path ("." when there is none), for the temp file and the fsync. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strcpy(xmalloc(2), ".");
    size_t len = slash == path ? 1 : (size_t)(slash - path);   /* "/x" -> "/" */
    char *dir = xmalloc(len + 1);
    memcpy(dir, path, len);
    dir[len] = '\0';
    return dir;
}

AtomicFile *atomic_open(const char *path)
{
    static atomic_ulong counter;
    size_t len = strlen(path);
    if (len == 0 || path[len - 1] == '/') {
        error_set("cannot write '%s': not a file name", path);
        return NULL;
    }
    /* ".<name>.tmp.<pid>.<n>" beside the destination: hidden, and unique per process
     * and call. O_EXCL makes a collision with any other file fail instead of clobbering
     * it; we then try the next name. Mode 0666 lets the umask decide, as fopen would. */
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path + 1) : 0;
    size_t cap = len + 64;
    char *temp = xmalloc(cap);
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        unsigned long n = atomic_fetch_add(&counter, 1);
        snprintf(temp, cap, "%.*s.%s.tmp.%ld.%lu%03ld", (int)dir_len, path, path + dir_len,
                 (long)getpid(), n, (long)(now.tv_nsec % 1000));
        fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        error_set("cannot write %s: %s", path, strerror(errno));
        free(temp);
        return NULL;
    }
    FILE *stream = fdopen(fd, "wb");
    if (!stream) {
        error_set("cannot write %s: %s", path, strerror(errno));
        close(fd);
        unlink(temp);
        free(temp);
        return NULL;
    }
    AtomicFile *af = xmalloc(sizeof *af);
    af->stream = stream;
    af->path = strcpy(xmalloc(len + 1), path);
    af->temp = temp;
    return af;
}

FILE *atomic_stream(AtomicFile *af)
{
    return af->stream;
}

static void atomic_free(AtomicFile *af)
{
    free(af->path);
    free(af->temp);
    free(af);
}

void atomic_abort(AtomicFile *af)
{
    if (!af) return;
    if (af->stream) fclose(af->stream);
    unlink(af->temp);
    atomic_free(af);
}

/* fsync the directory holding path so that the rename survives a power cut.
 * Some file systems cannot fsync a directory (EINVAL); that is not an error. */
static int sync_directory(const char *path)
{
    char *dir = dir_of(path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0) return errno == EACCES ? 0 : -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    if (rc != 0 && (saved == EINVAL || saved == EROFS || saved == ENOTSUP)) rc = 0;
    errno = saved;
    return rc;
}

int atomic_commit(AtomicFile *af)
{
    FILE *f = af->stream;
    af->stream = NULL;
    errno = 0;
    /* ferror: an earlier fwrite failed (a full disk shows up here at the latest). */
    int failed = fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0;
    int saved = errno;
    if (fclose(f) != 0 && !failed) {
        failed = 1;
        saved = errno;
    }
    if (failed) {
        error_set("cannot write %s: %s", af->path, saved ? strerror(saved) : "write error");
        unlink(af->temp);
        atomic_free(af);
        return -1;
    }
    if (rename(af->temp, af->path) != 0) {
        error_set("cannot write %s: %s", af->path, strerror(errno));
        unlink(af->temp);
        atomic_free(af);
        return -1;
    }
    if (sync_directory(af->path) != 0) {
        /* The new file is in place; only its durability is in doubt. */
        error_set("cannot write %s: syncing its directory failed: %s", af->path,
                  strerror(errno));
        atomic_free(af);
        return -1;
    }
    atomic_free(af);
    return 0;
}
