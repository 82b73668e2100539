#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "engine/fsutil.h"
#include "util/csv.h"

void csv_put_text(FILE *f, const char *s, int first)
{
    if (!first) fputc(',', f);
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void csv_put_number(FILE *f, double x, int first)
{
    if (!first) fputc(',', f);
    if (isfinite(x)) fprintf(f, "%.6g", x);
}

/* Split one record starting at *p (which may span lines inside quotes) into fields.
 * Advances *p past the record's line break. Returns the field count, -1 on a quote that
 * is never closed. */
static int parse_record(char **p, char ***fields, int *line)
{
    char *s = *p;
    int n = 0, cap = 0;
    *fields = NULL;
    for (;;) {
        size_t len = 0, room = 16;
        char *field = xmalloc(room);
        if (*s == '"') {
            s++;
            for (;;) {
                if (!*s) {
                    free(field);
                    for (int i = 0; i < n; i++) free((*fields)[i]);
                    free(*fields);
                    *fields = NULL;
                    return -1;
                }
                if (*s == '"' && s[1] == '"') s++;
                else if (*s == '"') {
                    s++;
                    break;
                }
                if (*s == '\n') (*line)++;
                if (len + 2 > room) field = xrealloc(field, room *= 2);
                field[len++] = *s++;
            }
        }
        while (*s && *s != ',' && *s != '\n' && *s != '\r') {
            if (len + 2 > room) field = xrealloc(field, room *= 2);
            field[len++] = *s++;
        }
        field[len] = '\0';
        if (n == cap) *fields = xrealloc(*fields, sizeof **fields * (size_t)(cap = cap ? 2 * cap : 8));
        (*fields)[n++] = field;
        if (*s == ',') {
            s++;
            continue;
        }
        if (*s == '\r') s++;
        if (*s == '\n') s++;
        break;
    }
    *p = s;
    return n;
}

int csv_read(const char *path, CsvTable *t)
{
    memset(t, 0, sizeof *t);
    char *text;
    size_t len;
    if (read_whole_file(path, &text, &len) != 0) return -1;
    int rc = csv_parse(text, len, path, t);
    free(text);
    return rc;
}

int csv_parse(const char *data, size_t len, const char *path, CsvTable *t)
{
    memset(t, 0, sizeof *t);
    if (memchr(data, '\0', len)) return error_set("%s: not a text file (holds a NUL byte)", path);
    /* parse_record reads up to a NUL: work on a terminated copy */
    char *text = xmalloc(len + 1);
    memcpy(text, data, len);
    text[len] = '\0';
    t->path = xmalloc(strlen(path) + 1);
    strcpy(t->path, path);
    char *p = text;
    int line = 1;
    if (!*p) {
        free(text);
        csv_free(t);
        return error_set("%s: empty file (expected a header line)", path);
    }
    t->n_cols = parse_record(&p, &t->header, &line);
    if (t->n_cols < 0) {
        t->n_cols = 0;
        free(text);
        csv_free(t);
        return error_set("%s:1: unterminated quoted field", path);   /* where the record starts */
    }
    int cap_rows = 0;
    while (*p) {
        line++;
        if (*p == '\n' || (*p == '\r' && p[1] == '\n')) {   /* blank line */
            p += *p == '\r' ? 2 : 1;
            continue;
        }
        char **fields;
        int start = line, n = parse_record(&p, &fields, &line);
        if (n != t->n_cols) {
            if (n >= 0) free_strings(fields, n);
            free(text);
            int cols = t->n_cols;
            csv_free(t);
            if (n < 0) return error_set("%s:%d: unterminated quoted field", path, start);
            return error_set("%s:%d: %d fields, the header has %d", path, start, n, cols);
        }
        if (t->n_rows == cap_rows)
            t->rows = xrealloc(t->rows, sizeof *t->rows * (size_t)(cap_rows = cap_rows ? 2 * cap_rows : 64));
        t->rows[t->n_rows++] = fields;
    }
    free(text);
    return 0;
}

void csv_free(CsvTable *t)
{
    for (int r = 0; r < t->n_rows; r++) free_strings(t->rows[r], t->n_cols);
    free(t->rows);
    free_strings(t->header, t->n_cols);
    free(t->path);
    memset(t, 0, sizeof *t);
}

int csv_column(const CsvTable *t, const char *name)
{
    for (int c = 0; c < t->n_cols; c++)
        if (!strcmp(t->header[c], name)) return c;
    return -1;
}

double csv_number(const CsvTable *t, int r, int c)
{
    if (c < 0 || c >= t->n_cols || r < 0 || r >= t->n_rows) return NAN;
    const char *s = t->rows[r][c];
    char *end;
    double x = strtod(s, &end);
    if (end == s || *end || !isfinite(x)) return NAN;
    return x;
}

int csv_check_numbers(const CsvTable *t, const char *const *names, int n)
{
    for (int k = 0; k < n; k++) {
        const int c = csv_column(t, names[k]);
        for (int r = 0; c >= 0 && r < t->n_rows; r++) {
            const char *s = t->rows[r][c];
            if (s[0] && isnan(csv_number(t, r, c)))
                return error_set("%s: row %d, column '%s': '%.40s' is not a number", t->path,
                                 r + 2, t->header[c], s);
        }
    }
    return 0;
}
