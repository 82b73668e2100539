/* Split lists beside a dataset (dataset_lists.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/dataset_lists.h"
#include "engine/error.h"
#include "engine/fsutil.h"

static char *list_path(const Dataset *d, const char *name)
{
    char file[64];
    snprintf(file, sizeof file, "%s.list", name);
    return fs_join(d->path, file);
}

bool dataset_has_list(const Dataset *d, const char *name)
{
    char *path = list_path(d, name);
    bool there = fs_is_file(path);
    free(path);
    return there;
}

static int compare_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Each name of the text (lines of len bytes) as a patient index into in[] (the count into
 * *n). 0, or -1 naming path and line. */
static int parse_lines(const Dataset *d, const char *path, char *text, int *in, int *n, int *lines)
{
    int lineno = 0;
    for (char *p = text, *next; p && *p; p = next) {
        lineno++;
        next = strchr(p, '\n');
        if (next) *next++ = '\0';
        while (isspace((unsigned char)*p)) p++;
        size_t len = strlen(p);
        while (len && isspace((unsigned char)p[len - 1])) p[--len] = '\0';
        if (!len || *p == '#') continue;
        int patient, frame;
        if (dataset_find_case(d, p, &patient, &frame) < 0)
            return error_set("%s:%d: '%.200s' is neither a case nor a patient of %s", path,
                             lineno, p, d->hdf5_root ? d->hdf5_root : d->path);
        in[patient] = 1;
        (*lines)++;
    }
    *n = 0;
    for (int p = 0; p < d->patient_count; p++) *n += in[p];
    return 0;
}

int dataset_read_list(const Dataset *d, const char *name, int **patients, int *count, int *lines)
{
    *patients = NULL;
    *count = *lines = 0;
    char *path = list_path(d, name), *text;
    size_t size;
    if (read_whole_file(path, &text, &size) < 0) {
        free(path);
        return -1;
    }
    int *in = xcalloc((size_t)d->patient_count, sizeof *in), n = 0;
    int status = memchr(text, '\0', size) ? error_set("%s: not a text file", path)
                                          : parse_lines(d, path, text, in, &n, lines);
    if (!status && n == 0) status = error_set("%s: names no case", path);
    if (!status) {
        *patients = xmalloc((size_t)n * sizeof **patients);
        for (int p = 0; p < d->patient_count; p++)
            if (in[p]) (*patients)[(*count)++] = p;
        qsort(*patients, (size_t)n, sizeof **patients, compare_int);
    }
    free(in);
    free(text);
    free(path);
    return status;
}

int dataset_list_split(const Dataset *d, const char *val, Split *s)
{
    memset(s, 0, sizeof *s);
    if (strcmp(val, "val") && strcmp(val, "test"))
        return error_set("the validation list must be val or test, got '%s'", val);
    int lines;
    if (dataset_read_list(d, "train", &s->train, &s->train_count, &lines) < 0) return -1;
    if (dataset_read_list(d, val, &s->val, &s->val_count, &lines) < 0) {
        split_free(s);
        return -1;
    }
    for (int i = 0, j = 0; i < s->train_count && j < s->val_count;) {
        if (s->train[i] == s->val[j]) {
            char *a = list_path(d, "train"), *b = list_path(d, val);
            error_set("%s and %s both name patient %s: its frames would be on both sides of "
                      "the split", a, b, d->patients[s->train[i]].id);
            free(a);
            free(b);
            split_free(s);
            return -1;
        }
        if (s->train[i] < s->val[j]) i++;
        else j++;
    }
    return 0;
}
