/* Small file-system helpers: folders for commands that write into them, and whole files
 * for the readers that parse from memory (so that a fuzz target drives the same code). */
#ifndef REUSENET_FSUTIL_H
#define REUSENET_FSUTIL_H

#include <stddef.h>

/* mkdir -p: create path and any missing parents. 0, or -1 with a message naming path. */
int make_dirs(const char *path);

/* Read the regular file path whole into *data (malloc'd, NUL-terminated after *size bytes;
 * free() it). 0, or -1 with a message naming path (not a regular file, read error). */
int read_whole_file(const char *path, char **data, size_t *size);

#endif
