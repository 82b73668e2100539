#include <errno.h>
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
