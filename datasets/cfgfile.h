/* "Key: value" text files: ACDC's per-patient Info.cfg ("ED: 1", "Group: DCM"), the
 * dataset.cfg that describes a dataset folder ("preset: t1", "classes: 2") and the
 * transfer experiment's study.cfg. Blank lines and lines starting with '#' are ignored;
 * keys are case-sensitive. The files of our own formats are checked against their known
 * keys (cfgfile_check_keys): a typo is an error naming the nearest known key, not a
 * setting silently ignored, and a key given twice is an error, not "the last wins". */
#ifndef REUSENET_CFGFILE_H
#define REUSENET_CFGFILE_H

#include <stddef.h>

#include <stdbool.h>

typedef struct CfgFile {
    int count;
    char **keys;
    char **values;
    int *lines;          /* the line of each key, for messages */
} CfgFile;

/* A key a kind of file knows; repeatable: may be given on several lines (study.cfg's
 * "source"), each read in order. */
typedef struct CfgKey {
    const char *name;
    bool repeatable;
} CfgKey;

/* Read path into cfg. Returns 0, or -1 with a message naming the file (and line): a line
 * without a ':' or longer than 1022 characters, a NUL byte. */
int cfgfile_read(const char *path, CfgFile *cfg);
/* The same from len bytes of text in memory (path names it in messages). */
int cfgfile_parse(const char *text, size_t len, const char *path, CfgFile *cfg);
/* 0 when every key of cfg is one of the n known ones and only repeatable keys repeat; else
 * -1 with "PATH:LINE: unknown key 'clases' (the nearest known key is 'classes'; known: ...)"
 * or "PATH:LINE: 'lr' is given twice (first on line 3)". */
int cfgfile_check_keys(const CfgFile *cfg, const char *path, const CfgKey *known, int n);
/* The value of key (surrounding spaces removed), or NULL when absent; the last one when a
 * key repeats (Info.cfg, which is not ours to check). */
const char *cfgfile_get(const CfgFile *cfg, const char *key);
void cfgfile_free(CfgFile *cfg);

#endif
