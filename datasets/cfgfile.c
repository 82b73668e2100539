#include <ctype.h>
#include <stdio.h>
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
        cfg->lines = xrealloc(cfg->lines, (size_t)(cfg->count + 1) * sizeof *cfg->lines);
        cfg->lines[cfg->count] = lineno;
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

/* Levenshtein distance of a and b (insertions, deletions, substitutions), at most 64
 * characters of each compared (longer keys are unknown anyway). */
static int edit_distance(const char *a, const char *b)
{
    int la = (int)strnlen(a, 64), lb = (int)strnlen(b, 64), row[65];
    for (int j = 0; j <= lb; j++) row[j] = j;
    for (int i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = i;
        for (int j = 1; j <= lb; j++) {
            int up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

int cfgfile_check_keys(const CfgFile *cfg, const char *path, const CfgKey *known, int n)
{
    for (int i = 0; i < cfg->count; i++) {
        const char *key = cfg->keys[i];
        int k = 0, nearest = 0;
        while (k < n && strcmp(known[k].name, key)) k++;
        if (k == n) {
            char list[512] = "";
            for (int j = 0; j < n; j++) {
                if (edit_distance(key, known[j].name) < edit_distance(key, known[nearest].name))
                    nearest = j;
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", j ? ", " : "",
                         known[j].name);
            }
            return error_set("%s:%d: unknown key '%.60s' (the nearest known key is '%s'; known: "
                             "%s)", path, cfg->lines[i], key, known[nearest].name, list);
        }
        for (int j = 0; j < i && !known[k].repeatable; j++)
            if (!strcmp(cfg->keys[j], key))
                return error_set("%s:%d: '%s' is given twice (first on line %d)", path,
                                 cfg->lines[i], key, cfg->lines[j]);
    }
    return 0;
}

const char *cfgfile_get(const CfgFile *cfg, const char *key)
{
    for (int i = cfg->count - 1; i >= 0; i--)
        if (!strcmp(cfg->keys[i], key)) return cfg->values[i];
    return NULL;
}

void cfgfile_free(CfgFile *cfg)
{
    free_strings(cfg->keys, cfg->count);
    free_strings(cfg->values, cfg->count);
    free(cfg->lines);
    memset(cfg, 0, sizeof *cfg);
}
