#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic_file.h"
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

char *fs_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *p = xmalloc(la + lb + 2);
    memcpy(p, a, la);
    size_t n = la;
    if (n > 0 && p[n - 1] != '/') p[n++] = '/';
    memcpy(p + n, b, lb + 1);
    return p;
}

int fs_write_text(const char *path, const char *text, int atomic)
{
    size_t len = strlen(text);
    const char *end = len && text[len - 1] == '\n' ? "" : "\n";
    if (atomic) {
        AtomicFile *af = atomic_open(path);
        if (!af) return -1;
        fputs(text, atomic_stream(af));
        fputs(end, atomic_stream(af));
        return atomic_commit(af);        /* detects a failed write */
    }
    FILE *f = fopen(path, "w");
    if (!f) return error_set("%s: cannot create: %s", path, strerror(errno));
    int ok = fputs(text, f) >= 0 && fputs(end, f) >= 0;
    if (fclose(f) != 0) ok = 0;
    return ok ? 0 : error_set("%s: write failed", path);
}

int fs_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int fs_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int fs_has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

int fs_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int fs_check_output(const char *output, const char *const *inputs, int n)
{
    for (int i = 0; i < n; i++)
        if (inputs[i] && fs_same_file(output, inputs[i]))
            return error_set("%s: is the input %s; give another output name", output, inputs[i]);
    return 0;
}

static int compare_natural(const void *a, const void *b)
{
    return strverscmp(*(char *const *)a, *(char *const *)b);
}

int fs_list(const char *dir, int want_dirs, char ***out)
{
    *out = NULL;
    DIR *dh = opendir(dir);
    if (!dh) return error_set("%s: cannot open folder: %s", dir, strerror(errno));
    char **names = NULL;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(dh))) {
        if (e->d_name[0] == '.') continue;
        char *full = fs_join(dir, e->d_name);
        int keep = want_dirs ? fs_is_dir(full) : fs_is_file(full);
        free(full);
        if (!keep) continue;
        names = xrealloc(names, (size_t)(count + 1) * sizeof *names);
        size_t n = strlen(e->d_name) + 1;
        names[count++] = memcpy(xmalloc(n), e->d_name, n);
    }
    closedir(dh);
    if (count) qsort(names, (size_t)count, sizeof *names, compare_natural);
    *out = names;
    return count;
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

void fs_path_stem(const char *path, char *out, size_t len)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot && dot != base) n = (size_t)(dot - base);
    if (n >= len) n = len - 1;
    memcpy(out, base, n);
    out[n] = '\0';
}
