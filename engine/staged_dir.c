/* Folders published whole (staged_dir.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/error.h"
#include "engine/staged_dir.h"

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    remove(path);
    return 0;
}

/* dir may not exist, or be an empty folder. */
static int check_target(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) != 0) return 0;
    if (!S_ISDIR(st.st_mode)) return error_set("%s: exists and is not a folder", dir);
    DIR *dh = opendir(dir);
    if (!dh) return error_set("%s: cannot open: %s", dir, strerror(errno));
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(dh)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = 0;
    closedir(dh);
    return empty ? 0 : error_set("%s: already exists and is not empty (remove it or choose "
                                 "another -o)", dir);
}

char *staged_dir_begin(const char *dir)
{
    if (check_target(dir) < 0) return NULL;
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    if (n > 4000) {
        error_set("%s: path too long", dir);
        return NULL;
    }
    char *tmp = xmalloc(n + 16);
    snprintf(tmp, n + 16, "%.*s.tmp-XXXXXX", (int)n, dir);
    if (!mkdtemp(tmp)) {
        error_set("%s: cannot create a temporary folder next to it: %s", dir, strerror(errno));
        free(tmp);
        return NULL;
    }
    chmod(tmp, 0755);
    return tmp;
}

int staged_dir_commit(char *tmp, const char *dir)
{
    /* One sync for the whole tree instead of one per file, then the atomic rename. */
    int status = 0, fd = open(tmp, O_RDONLY | O_DIRECTORY);
    if (fd < 0 || syncfs(fd) != 0) status = error_set("%s: cannot sync to disk: %s", tmp, strerror(errno));
    if (fd >= 0) close(fd);
    if (!status && rename(tmp, dir) != 0)
        status = error_set("%s: cannot rename the finished folder into place: %s", dir, strerror(errno));
    if (status) {
        staged_dir_abort(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

void staged_dir_abort(char *tmp)
{
    if (!tmp) return;
    nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(tmp);
}
