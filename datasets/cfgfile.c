#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/cfgfile.h"
#include "engine/error.h"
#include "engine/fsutil.h"

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

static char *copy_string(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

/* Longest line: cfg lines are short; a longer one means the file is something else. */
#define CFG_MAX_LINE 1022

static int fail(CfgFile *cfg, int rc)
{
    cfgfile_free(cfg);
    return rc;
}

int cfgfile_parse(const char *text, size_t len, const char *path, CfgFile *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    if (memchr(text, '\0', len)) return error_set("%s: not a text file (holds a NUL byte)", path);
    char line[CFG_MAX_LINE + 2];
    int lineno = 0;
    for (const char *p = text, *end = text + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        lineno++;
        if (n > CFG_MAX_LINE)
            return fail(cfg, error_set("%s:%d: line longer than %d characters", path, lineno,
                                       CFG_MAX_LINE));
        memcpy(line, p, n);
        line[n] = '\0';
        p += n + (nl != NULL);
        char *s = trim(line);
        if (*s == '\0' || *s == '#') continue;
        char *colon = strchr(s, ':');
        if (!colon || colon == s)
            return fail(cfg, error_set("%s:%d: expected 'key: value', got '%.60s'", path, lineno, s));
        *colon = '\0';
        cfg->keys = xrealloc(cfg->keys, (size_t)(cfg->count + 1) * sizeof *cfg->keys);
        cfg->values = xrealloc(cfg->values, (size_t)(cfg->count + 1) * sizeof *cfg->values);
        cfg->keys[cfg->count] = copy_string(trim(s));
        cfg->values[cfg->count] = copy_string(trim(colon + 1));
        cfg->count++;
    }
    return 0;
}

int cfgfile_read(const char *path, CfgFile *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    char *text;
    size_t len;
    if (read_whole_file(path, &text, &len) != 0) return -1;
    int rc = cfgfile_parse(text, len, path, cfg);
    free(text);
    return rc;
}

const char *cfgfile_get(const CfgFile *cfg, const char *key)
{
    /* The last occurrence wins, as when a user appends a corrected line. */
    for (int i = cfg->count - 1; i >= 0; i--)
        if (!strcmp(cfg->keys[i], key)) return cfg->values[i];
    return NULL;
}

void cfgfile_free(CfgFile *cfg)
{
    for (int i = 0; i < cfg->count; i++) {
        free(cfg->keys[i]);
        free(cfg->values[i]);
    }
    free(cfg->keys);
    free(cfg->values);
    memset(cfg, 0, sizeof *cfg);
}
