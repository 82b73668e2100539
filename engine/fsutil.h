/* Small file-system helpers for commands that write into folders. */
#ifndef REUSENET_FSUTIL_H
#define REUSENET_FSUTIL_H

/* mkdir -p: create path and any missing parents. 0, or -1 with a message naming path. */
int make_dirs(const char *path);

#endif
