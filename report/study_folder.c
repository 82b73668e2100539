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
#include "models/model.h"
#include "reuse/swap_csv.h"
#include "report/study_folder.h"
#include "train/plan_file.h"

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

/* "dir/scans/unet-acdc.csv" -> "unet-acdc", allocated */
static char *stem(const char *path)
{
    const size_t len = strlen(path) + 1;
    char *s = xmalloc(len);
    fs_path_stem(path, s, len);
    return s;
}

int study_check_columns(const char *part, const CsvTable *t)
{
    static const struct { const char *part, *columns[7]; } needs[] = {
        {"scans", {"layer", "kind", "tensor", "mean", "delta", NULL}},
        {"bn", {"layer", "bn", "MRM", "MRV", "MRW", "MRB", NULL}},
        {"rmse", {"pair", "layer", "rmse_w", "rmse_b", NULL}},
        {"cka", {"layer", "cka", "source", "shared_init", NULL}},
        {"transferability", {"source", "logme", "leep", NULL}},
    };
    /* the columns that hold numbers (empty: not computed) */
    static const struct { const char *part, *columns[6]; } numbers[] = {
        {"bn", {"channels", "MRM", "MRV", "MRW", "MRB", NULL}},
        {"rmse", {"rmse_w", "rmse_b", "rmse_w_aligned", "rmse_b_aligned", NULL}},
        {"cka", {"cka", "channels", "pixels", NULL}},
        {"transferability", {"logme", "leep", "features", "pixels", NULL}},
    };
    if (!strcmp(part, "scans")) return swap_csv_check(t);
    for (size_t k = 0; k < sizeof needs / sizeof needs[0]; k++) {
        if (strcmp(needs[k].part, part)) continue;
        for (const char *const *c = needs[k].columns; *c; c++)
            if (csv_column(t, *c) < 0)
                return error_set("%s: no '%s' column: not a %s file", t->path, *c, part);
    }
    for (size_t k = 0; k < sizeof numbers / sizeof numbers[0]; k++) {
        if (strcmp(numbers[k].part, part)) continue;
        int n = 0;
        while (numbers[k].columns[n]) n++;
        if (csv_check_numbers(t, numbers[k].columns, n)) return -1;
    }
    const int lc = csv_column(t, "layer");
    for (int r = 0; lc >= 0 && r < t->n_rows; r++)
        if (!model_is_layer_label(t->rows[r][lc]))
            return error_set("%s: row %d: layer '%.40s' is not a layer number or 'head'", t->path,
                             r + 2, t->rows[r][lc]);
    return 0;
}

static int load_tables(const char *dir, const char *sub, StudyTable **out, int *n_out)
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
            else if (study_check_columns(sub, &t->csv)) {
                rc = -1;
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
        cJSON *json = rc ? NULL : plan_file_read(paths[i]);
        if (!json) {
            rc = -1;
        } else {
            s->plans[s->n_plans].name = stem(paths[i]);
            s->plans[s->n_plans++].json = json;
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
    if (load_tables(dir, "scans", &s->scans, &s->n_scans) ||
        load_tables(dir, "bn", &s->bn, &s->n_bn) ||
        load_tables(dir, "rmse", &s->rmse, &s->n_rmse) ||
        load_tables(dir, "cka", &s->cka, &s->n_cka) ||
        load_tables(dir, "transferability", &s->scores, &s->n_scores) || load_plans(s) ||
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

/* Every file of dir the report reads, in *paths (n returned; free with fs_free_names). */
static int list_inputs(const char *dir, char ***paths)
{
    static const struct { const char *sub, *ext; } parts[] = {
        {"scans", ".csv"}, {"bn", ".csv"}, {"rmse", ".csv"}, {"cka", ".csv"},
        {"transferability", ".csv"}, {"plans", ".json"}, {"overlays", ".png"},
        {"transfer", ".csv"}};
    char **all = NULL;
    int n = 0;
    for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
        char **names;
        int m = list_files(dir, parts[k].sub, parts[k].ext, &names);
        for (int i = 0; i < m; i++) {
            all = xrealloc(all, sizeof *all * (size_t)(n + 1));
            all[n++] = names[i];
        }
        free(names);
    }
    char *runs = fs_join(dir, "transfer/runs"), **folders;
    int m = fs_list(runs, 1, &folders);
    for (int i = 0; i < m; i++) {
        char *run = fs_join(runs, folders[i]);
        all = xrealloc(all, sizeof *all * (size_t)(n + 1));
        all[n++] = fs_join(run, "log.csv");
        free(run);
    }
    if (m > 0) fs_free_names(folders, m);
    error_clear();                        /* an absent runs folder is no error */
    free(runs);
    *paths = all;
    return n;
}

int study_check_output(const char *dir, const char *out)
{
    char **paths;
    int n = list_inputs(dir, &paths);
    int rc = fs_check_output(out, (const char *const *)paths, n);
    fs_free_names(paths, n);
    return rc;
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
