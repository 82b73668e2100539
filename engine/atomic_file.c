/* Atomic file replacement (see atomic_file.h for the why). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "error.h"

struct AtomicFile {
    FILE *stream;
    char *path;      /* the destination (a symbolic link's target) */
    char *temp;      /* the temporary file beside it; NULL when writing through */
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

/* What is at path now decides how it is written (see atomic_file.h): 0 with *kind set, or
 * -1 with the message. *real is the file a symbolic link points to (caller frees), *mode
 * the permission bits of an existing regular file (-1 for a new one). */
enum { DEST_REPLACE, DEST_THROUGH };
static int inspect_destination(const char *path, int *kind, char **real, int *mode)
{
    struct stat st, lst;
    *kind = DEST_REPLACE;
    *real = NULL;
    *mode = -1;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode))
            return error_set("cannot write %s: a symbolic link to a missing file", path);
        return 0;              /* a new file; atomic_open's open names any other problem */
    }
    if (S_ISDIR(st.st_mode)) return error_set("cannot write %s: is a directory", path);
    if (S_ISBLK(st.st_mode) || S_ISSOCK(st.st_mode))
        return error_set("cannot write %s: is a %s, not a file", path,
                         S_ISBLK(st.st_mode) ? "block device" : "socket");
    if (!S_ISREG(st.st_mode)) {                 /* a character device or a FIFO */
        *kind = DEST_THROUGH;
        return 0;
    }
    *mode = (int)(st.st_mode & 0777);
    if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode) && !(*real = realpath(path, NULL)))
        return error_set("cannot write %s: %s", path, strerror(errno));
    return 0;
}

/* Writing through to a character device or FIFO: opened as it is, never created or
 * truncated (a FIFO's open waits for its reader, as a shell's redirection does). */
static AtomicFile *open_through(const char *path)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    FILE *stream = fd < 0 ? NULL : fdopen(fd, "wb");
    if (!stream) {
        error_set("cannot write %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return NULL;
    }
    AtomicFile *af = xmalloc(sizeof *af);
    af->stream = stream;
    af->path = xstrdup(path);
    af->temp = NULL;
    return af;
}

AtomicFile *atomic_open(const char *path)
{
    static atomic_ulong counter;
    size_t len = strlen(path);
    if (len == 0 || path[len - 1] == '/') {
        error_set("cannot write '%s': not a file name", path);
        return NULL;
    }
    int kind, mode;
    char *real;
    if (inspect_destination(path, &kind, &real, &mode)) return NULL;
    if (kind == DEST_THROUGH) return open_through(path);
    if (real) {                /* replace the link's target; the link stays */
        path = real;
        len = strlen(path);
    }
    /* ".<name>.tmp.<pid>.<n>" beside the destination: hidden, and unique per process
     * and call. O_EXCL makes a collision with any other file fail instead of clobbering
     * it; we then try the next name. A new file gets mode 0666 and the umask decides, as
     * fopen would; a replaced file keeps its permission bits (created with them, so the
     * temporary is never more open than the file it replaces, then set exactly). */
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
        fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                  mode >= 0 ? (mode_t)mode : 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    FILE *stream = NULL;
    if (fd >= 0 && (mode < 0 || fchmod(fd, (mode_t)mode) == 0)) stream = fdopen(fd, "wb");
    if (!stream) {
        error_set("cannot write %s: %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(temp);
        }
        free(temp);
        free(real);
        return NULL;
    }
    AtomicFile *af = xmalloc(sizeof *af);
    af->stream = stream;
    af->path = real ? real : xstrdup(path);
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
    if (af->temp) unlink(af->temp);
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
    /* ferror: an earlier fwrite failed (a full disk shows up here at the latest). A device
     * or FIFO written through has nothing to sync (fsync would fail with EINVAL). */
    int failed = fflush(f) != 0 || ferror(f) || (af->temp && fsync(fileno(f)) != 0);
    int saved = errno;
    if (fclose(f) != 0 && !failed) {
        failed = 1;
        saved = errno;
    }
    if (failed) {
        error_set("cannot write %s: %s", af->path, saved ? strerror(saved) : "write error");
        if (af->temp) unlink(af->temp);
        atomic_free(af);
        return -1;
    }
    if (!af->temp) {
        atomic_free(af);
        return 0;
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

/* The process id in one of atomic_open's temporary names, ".<name>.tmp.<pid>.<digits>"
 * with a non-empty name; 0 for any other name. */
static long temporary_owner(const char *name)
{
    size_t n = strlen(name);
    if (n < 9 || name[0] != '.') return 0;
    size_t i = n;
    while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9') i--;     /* <digits> */
    if (i == n || i == 0 || name[i - 1] != '.') return 0;
    size_t pid_end = --i;
    while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9') i--;     /* <pid> */
    if (i == pid_end || pid_end - i > 9 || i < 6 || strncmp(name + i - 5, ".tmp.", 5)) return 0;
    if (i - 5 < 2) return 0;                                            /* empty <name> */
    long pid = 0;
    for (size_t k = i; k < pid_end; k++) pid = pid * 10 + (name[k] - '0');
    return pid;
}

int atomic_remove_stale(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return error_set("%s: cannot open folder: %s", dir, strerror(errno));
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        long pid = temporary_owner(e->d_name);
        /* kill(pid, 0) fails with ESRCH only when no such process exists: a live writer
         * (or a process that reused the id) keeps its file. */
        if (pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *full = xmalloc(len);
        snprintf(full, len, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(full, &st) == 0 && S_ISREG(st.st_mode) && unlink(full) == 0) removed++;
        free(full);
    }
    closedir(d);
    return removed;
}
