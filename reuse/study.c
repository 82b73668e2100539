#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/error.h"
#include "engine/fsutil.h"
#include "reuse/study.h"

#define MAX_IMAGE_BYTES (32u << 20)

/* The file names in dir/sub ending in ext, sorted; 0 names when the folder is absent. */
static int list_files(const char *dir, const char *sub, const char *ext, char ***names)
{
    char *path = fs_join(dir, sub);
    struct dirent **entries;
    *names = NULL;
    int n = scandir(path, &entries, NULL, alphasort);
    if (n < 0) {
        int rc = errno == ENOENT ? 0 : error_set("%s: cannot list: %s", path, strerror(errno));
        free(path);
        return rc;
    }
    int count = 0;
    size_t ext_len = strlen(ext);
    for (int i = 0; i < n; i++) {
        const char *name = entries[i]->d_name;
        size_t len = strlen(name);
        if (name[0] != '.' && len > ext_len && !strcmp(name + len - ext_len, ext)) {
            *names = xrealloc(*names, sizeof **names * (size_t)(count + 1));
            (*names)[count++] = fs_join(path, name);
        }
        free(entries[i]);
    }
    free(entries);
    free(path);
    return count;
}

/* "dir/scans/unet-acdc.csv" -> "unet-acdc" */
static char *stem(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char *s = xstrdup(base);
    char *dot = strrchr(s, '.');
    if (dot && dot != s) *dot = '\0';
    return s;
}

static int load_tables(const char *dir, const char *sub, const char *const *columns,
                       StudyTable **out, int *n_out)
{
    char **paths;
    int n = list_files(dir, sub, ".csv", &paths);
    if (n < 0) return -1;
    *out = xcalloc((size_t)n + 1, sizeof **out);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (!rc) {
            StudyTable *t = &(*out)[*n_out];
            if (csv_read(paths[i], &t->csv)) rc = -1;
            for (int c = 0; !rc && columns[c]; c++)
                if (csv_column(&t->csv, columns[c]) < 0) {
                    rc = error_set("%s: no '%s' column: not a %s file", paths[i], columns[c], sub);
                    csv_free(&t->csv);
                }
            if (!rc) {
                t->name = stem(paths[i]);
                (*n_out)++;
            }
        }
        free(paths[i]);
    }
    free(paths);
    return rc;
}

static int load_plans(Study *s)
{
    char **paths;
    int n = list_files(s->dir, "plans", ".json", &paths);
    if (n < 0) return -1;
    s->plans = xcalloc((size_t)n + 1, sizeof *s->plans);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        FILE *f = rc ? NULL : fopen(paths[i], "rb");
        if (!rc && !f) rc = error_set("%s: cannot open: %s", paths[i], strerror(errno));
        if (f) {
            char *text = NULL;
            size_t len = 0, cap = 0, got;
            do {
                if (cap - len < 4096) text = xrealloc(text, cap = cap ? 2 * cap : 65536);
                got = fread(text + len, 1, cap - len - 1, f);
                len += got;
            } while (got > 0);
            text[len] = '\0';
            fclose(f);
            cJSON *json = cJSON_Parse(text);
            free(text);
            if (!json || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(json, "tensors"))) {
                rc = error_set("%s: not a reuse plan (%s)", paths[i],
                               json ? "no \"tensors\" array" : "invalid JSON");
                cJSON_Delete(json);
            } else {
                s->plans[s->n_plans].name = stem(paths[i]);
                s->plans[s->n_plans++].json = json;
            }
        }
        free(paths[i]);
    }
    free(paths);
    return rc;
}

static int load_overlays(Study *s)
{
    char **paths;
    int n = list_files(s->dir, "overlays", ".png", &paths);
    if (n < 0) return -1;
    s->overlays = xcalloc((size_t)n + 1, sizeof *s->overlays);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        struct stat st;
        FILE *f = NULL;
        if (!rc && (stat(paths[i], &st) || !(f = fopen(paths[i], "rb"))))
            rc = error_set("%s: cannot open: %s", paths[i], strerror(errno));
        else if (!rc && (size_t)st.st_size > MAX_IMAGE_BYTES)
            rc = error_set("%s: %lld bytes, more than the report embeds (%u MB)", paths[i],
                           (long long)st.st_size, MAX_IMAGE_BYTES >> 20);
        if (f && !rc) {
            StudyImage *im = &s->overlays[s->n_overlays];
            im->bytes = xmalloc((size_t)st.st_size + 1);
            im->size = fread(im->bytes, 1, (size_t)st.st_size, f);
            static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
            if (im->size != (size_t)st.st_size || im->size < 8 || memcmp(im->bytes, sig, 8)) {
                rc = error_set("%s: not a PNG file", paths[i]);
                free(im->bytes);
                im->bytes = NULL;
            } else {
                im->name = stem(paths[i]);
                s->n_overlays++;
            }
        }
        if (f) fclose(f);
        free(paths[i]);
    }
    free(paths);
    return rc;
}

int study_load(const char *dir, Study *s)
{
    memset(s, 0, sizeof *s);
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode))
        return error_set("%s: not a folder", dir);
    s->dir = xstrdup(dir);
    static const char *const scan_cols[] = {"layer", "kind", "tensor", "mean", "delta", NULL};
    static const char *const bn_cols[] = {"layer", "bn", "MRM", "MRV", "MRW", "MRB", NULL};
    static const char *const rmse_cols[] = {"pair", "layer", "rmse_w", "rmse_b", NULL};
    static const char *const cka_cols[] = {"layer", "cka", "source", "shared_init", NULL};
    static const char *const score_cols[] = {"source", "logme", "leep", NULL};
    if (load_tables(dir, "scans", scan_cols, &s->scans, &s->n_scans) ||
        load_tables(dir, "bn", bn_cols, &s->bn, &s->n_bn) ||
        load_tables(dir, "rmse", rmse_cols, &s->rmse, &s->n_rmse) ||
        load_tables(dir, "cka", cka_cols, &s->cka, &s->n_cka) ||
        load_tables(dir, "transferability", score_cols, &s->scores, &s->n_scores) || load_plans(s) ||
        load_overlays(s)) {
        study_free(s);
        return -1;
    }
    char *table = fs_join(dir, "transfer/table.csv");
    if (!access(table, F_OK)) {
        if (csv_read(table, &s->table.csv)) {
            free(table);
            study_free(s);
            return -1;
        }
        s->table.name = xstrdup("table");
        s->has_table = true;
    }
    free(table);
    if (!s->n_scans && !s->n_bn && !s->n_rmse && !s->n_plans && !s->has_table && !s->n_overlays &&
        !s->n_cka && !s->n_scores) {
        int rc = error_set("%s: no study results in it (looked for scans/*.csv, bn/*.csv, "
                           "rmse/*.csv, plans/*.json, transfer/table.csv, overlays/*.png, "
                           "cka/*.csv, transferability/*.csv)", dir);
        study_free(s);
        return rc;
    }
    return 0;
}

static void free_tables(StudyTable *t, int n)
{
    for (int i = 0; i < n; i++) {
        free(t[i].name);
        csv_free(&t[i].csv);
    }
    free(t);
}

void study_free(Study *s)
{
    free_tables(s->scans, s->n_scans);
    free_tables(s->bn, s->n_bn);
    free_tables(s->rmse, s->n_rmse);
    free_tables(s->cka, s->n_cka);
    free_tables(s->scores, s->n_scores);
    for (int i = 0; i < s->n_plans; i++) {
        free(s->plans[i].name);
        cJSON_Delete(s->plans[i].json);
    }
    free(s->plans);
    if (s->has_table) {
        free(s->table.name);
        csv_free(&s->table.csv);
    }
    for (int i = 0; i < s->n_overlays; i++) {
        free(s->overlays[i].name);
        free(s->overlays[i].bytes);
    }
    free(s->overlays);
    free(s->dir);
    memset(s, 0, sizeof *s);
}
