#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/cfgfile.h"
#include "engine/error.h"

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

int cfgfile_read(const char *path, CfgFile *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    FILE *f = fopen(path, "r");
    if (!f) return error_set("%s: cannot open: %s", path, strerror(errno));
    char line[1024];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            fclose(f);
            cfgfile_free(cfg);
            return error_set("%s:%d: line longer than %zu characters", path, lineno, sizeof line - 2);
        }
        char *s = trim(line);
        if (*s == '\0' || *s == '#') continue;
        char *colon = strchr(s, ':');
        if (!colon || colon == s) {
            fclose(f);
            cfgfile_free(cfg);
            return error_set("%s:%d: expected 'key: value', got '%.60s'", path, lineno, s);
        }
        *colon = '\0';
        cfg->keys = xrealloc(cfg->keys, (size_t)(cfg->count + 1) * sizeof *cfg->keys);
        cfg->values = xrealloc(cfg->values, (size_t)(cfg->count + 1) * sizeof *cfg->values);
        cfg->keys[cfg->count] = copy_string(trim(s));
        cfg->values[cfg->count] = copy_string(trim(colon + 1));
        cfg->count++;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        cfgfile_free(cfg);
        return error_set("%s: read error", path);
    }
    return 0;
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
