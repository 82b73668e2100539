/* "Key: value" text files: ACDC's per-patient Info.cfg ("ED: 1", "Group: DCM") and the
 * dataset.cfg that describes a dataset folder ("preset: t1", "classes: 2").
 * Blank lines and lines starting with '#' are ignored; keys are case-sensitive. */
#ifndef REUSENET_CFGFILE_H
#define REUSENET_CFGFILE_H

#include <stddef.h>

typedef struct CfgFile {
    int count;
    char **keys;
    char **values;
} CfgFile;

/* Read path into cfg. Returns 0, or -1 with a message naming the file (and line): a line
 * without a ':' or longer than 1022 characters, a NUL byte. */
int cfgfile_read(const char *path, CfgFile *cfg);
/* The same from len bytes of text in memory (path names it in messages). */
int cfgfile_parse(const char *text, size_t len, const char *path, CfgFile *cfg);
/* The value of key (surrounding spaces removed), or NULL when absent. */
const char *cfgfile_get(const CfgFile *cfg, const char *key);
void cfgfile_free(CfgFile *cfg);

#endif
