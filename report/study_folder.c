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

/* One file of a study folder's part `sub` read into *item (a StudyTable, StudyPlan or
 * StudyImage, zeroed), its name the file's stem; -1 with a message, holding nothing. */
typedef int (*LoadFile)(const char *path, const char *sub, void *item);

static int load_table(const char *path, const char *sub, void *item)
{
    StudyTable *t = item;
    if (csv_read(path, &t->csv)) return -1;
    if (study_check_columns(sub, &t->csv)) {
        csv_free(&t->csv);
        return -1;
    }
    t->name = stem(path);
    return 0;
}

static int load_plan(const char *path, const char *sub, void *item)
{
    (void)sub;
    StudyPlan *p = item;
    if (!(p->json = plan_file_read(path))) return -1;
    p->name = stem(path);
    return 0;
}

static int load_overlay(const char *path, const char *sub, void *item)
{
    (void)sub;
    StudyImage *im = item;
    struct stat st;
    FILE *f = NULL;
    if (stat(path, &st) || !(f = fopen(path, "rb")))
        return error_set("%s: cannot open: %s", path, strerror(errno));
    if ((size_t)st.st_size > MAX_IMAGE_BYTES) {
        fclose(f);
        return error_set("%s: %lld bytes, more than the report embeds (%u MB)", path,
                         (long long)st.st_size, MAX_IMAGE_BYTES >> 20);
    }
    im->bytes = xmalloc((size_t)st.st_size + 1);
    im->size = fread(im->bytes, 1, (size_t)st.st_size, f);
    fclose(f);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (im->size != (size_t)st.st_size || im->size < 8 || memcmp(im->bytes, sig, 8)) {
        free(im->bytes);
        im->bytes = NULL;
        return error_set("%s: not a PNG file", path);
    }
    im->name = stem(path);
    return 0;
}

/* Every file of dir/sub ending in ext, in name order, loaded into a new array of `size`-byte
 * items (one more than the files, zeroed) that *count counts; the first failure stops it and
 * sets *rc to -1. Nothing is done once *rc is set, so that calls can follow one another. */
static void *load_each(const char *dir, const char *sub, const char *ext, size_t size,
                       LoadFile load, int *count, int *rc)
{
    char **paths;
    const int n = *rc ? -1 : list_files(dir, sub, ext, &paths);
    if (n < 0) {
        *rc = -1;
        return NULL;
    }
    char *items = xcalloc((size_t)n + 1, size);
    for (int i = 0; i < n && !*rc; i++) {
        *rc = load(paths[i], sub, items + (size_t)*count * size);
        if (!*rc) (*count)++;
    }
    free_strings(paths, n);
    return items;
}

int study_load(const char *dir, Study *s)
{
    memset(s, 0, sizeof *s);
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode))
        return error_set("%s: not a folder", dir);
    s->dir = xstrdup(dir);
    int rc = 0;
    s->scans = load_each(dir, "scans", ".csv", sizeof *s->scans, load_table, &s->n_scans, &rc);
    s->bn = load_each(dir, "bn", ".csv", sizeof *s->bn, load_table, &s->n_bn, &rc);
    s->rmse = load_each(dir, "rmse", ".csv", sizeof *s->rmse, load_table, &s->n_rmse, &rc);
    s->cka = load_each(dir, "cka", ".csv", sizeof *s->cka, load_table, &s->n_cka, &rc);
    s->scores = load_each(dir, "transferability", ".csv", sizeof *s->scores, load_table,
                          &s->n_scores, &rc);
    s->plans = load_each(dir, "plans", ".json", sizeof *s->plans, load_plan, &s->n_plans, &rc);
    s->overlays = load_each(dir, "overlays", ".png", sizeof *s->overlays, load_overlay,
                            &s->n_overlays, &rc);
    if (rc) {
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

/* Every file of dir the report reads, in *paths (n returned; free with free_strings). */
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
    if (m > 0) free_strings(folders, m);
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
    free_strings(paths, n);
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
