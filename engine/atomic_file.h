/* Atomic file replacement: a file the program writes is either the complete new
 * version or the untouched old one, never a half-written mix (a crash, a full
 * disk or Ctrl-C while saving a checkpoint must not destroy the previous one).
 *
 * How: write to a temporary file in the destination's directory (same file
 * system, so rename(2) is atomic), flush and fsync it, rename it over the
 * destination, then fsync the directory so the rename itself is durable.
 *
 *     AtomicFile *af = atomic_open("model.safetensors");
 *     if (!af) return -1;                       // error_get() names the file
 *     fwrite(bytes, 1, n, atomic_stream(af));
 *     return atomic_commit(af);                 // 0, or -1 with the error set
 *
 * On any failure the temporary file is removed and the destination is left as it
 * was. Both atomic_commit and atomic_abort free the handle.
 *
 * What is already at the path: a regular file is replaced and keeps its permission bits;
 * a symbolic link to a file stays, and the file it points to is replaced; a character
 * device or a FIFO (/dev/null, /dev/stdout into a pipe) is written through, opened as it
 * is, not atomically; a directory, a block device, a socket or a link to a missing file
 * is refused (atomic_open fails). Nothing is ever replaced by a file of another kind. */
#ifndef REUSENET_ATOMIC_FILE_H
#define REUSENET_ATOMIC_FILE_H

#include <stdio.h>

typedef struct AtomicFile AtomicFile;

/* Create the temporary file next to `path`. NULL (error set) if that is impossible. */
AtomicFile *atomic_open(const char *path);
/* The stream to write to (binary). Do not fclose it. */
FILE *atomic_stream(AtomicFile *af);
/* Flush, fsync, rename over the destination, fsync the directory. 0 on success;
 * -1 with "cannot write <path>: <reason>" otherwise (a write error on the stream,
 * e.g. a full disk, is detected here). Frees af in both cases. */
int atomic_commit(AtomicFile *af);
/* Give up: close and remove the temporary file, free af. Accepts NULL. */
void atomic_abort(AtomicFile *af);

/* Remove the temporary files that killed writers left in dir: only names of atomic_open's
 * pattern (".<name>.tmp.<pid>.<n>"), only regular files, and only when no process with that
 * id runs on this machine. The number removed, or -1 (message set) when dir cannot be read. */
int atomic_remove_stale(const char *dir);

#endif
