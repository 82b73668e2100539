#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "fsutil.h"

int make_dirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return error_set("%s: path too long", path);
    for (char *p = buf + 1; ; p++) {
        if (*p != '/' && *p != '\0') continue;
        char saved = *p;
        *p = '\0';
        struct stat sb;
        if (mkdir(buf, 0777) && errno != EEXIST)
            return error_set("%s: cannot create the directory (%s)", buf, strerror(errno));
        if (stat(buf, &sb) || !S_ISDIR(sb.st_mode))
            return error_set("%s: exists and is not a directory", buf);
        *p = saved;
        if (!saved) break;
    }
    return 0;
}

int read_whole_file(const char *path, char **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return error_set("%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return error_set("%s: cannot read: not a regular file", path);
    }
    /* The size from fstat is a hint: a file that grows or shrinks meanwhile is read to
     * its end all the same. */
    size_t cap = (size_t)sb.st_size + 1, len = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        len += fread(buf + len, 1, cap - len - 1, f);
        if (len + 1 < cap) break;                       /* end of file or error */
        int c = fgetc(f);                               /* full: is there more? */
        if (c == EOF) break;
        buf = xrealloc(buf, cap *= 2);
        buf[len++] = (char)c;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return error_set("%s: read error", path);
    }
    buf[len] = '\0';
    *data = buf;
    *size = len;
    return 0;
}
