/* Comma-separated tables, the format of every analysis result (scan, bn, rmse): one header
 * line, then one line per row. Fields holding a comma, a quote or a line break are quoted
 * ("a ""b"""), as RFC 4180 and every spreadsheet and pandas expect. A missing number is an
 * empty field. */
#ifndef REUSENET_CSV_H
#define REUSENET_CSV_H

#include <stddef.h>
#include <stdio.h>

typedef struct CsvTable {
    char *path;
    int n_cols, n_rows;
    char **header;       /* [n_cols] */
    char ***rows;        /* [n_rows][n_cols] */
} CsvTable;

/* Read a whole file. Every row must have the header's number of fields. 0, or -1 with
 * "FILE:LINE: problem". */
int csv_read(const char *path, CsvTable *t);
/* The same from len bytes in memory (path names them in messages and in t->path). */
int csv_parse(const char *data, size_t len, const char *path, CsvTable *t);
void csv_free(CsvTable *t);
/* Index of the column with this header, or -1. */
int csv_column(const CsvTable *t, const char *name);
/* The number in row r, column c; NAN for an empty field, a field that is not wholly a
 * finite number ("abc", "1.2.3", "1e999"), or c < 0. Readers check their number columns
 * first (csv_check_numbers), so that such a field is an error, not a missing value. */
double csv_number(const CsvTable *t, int r, int c);
/* 0 when every non-empty field of the n columns named (absent columns skipped) is wholly a
 * finite number; else -1 with
 * "FILE: row R, column 'delta': '1.2.3' is not a number". */
int csv_check_numbers(const CsvTable *t, const char *const *names, int n);

/* Write one field (quoted when needed) / a number ("%.6g"; empty when not finite), each
 * preceded by a comma unless first. */
void csv_put_text(FILE *f, const char *s, int first);
void csv_put_number(FILE *f, double x, int first);

#endif
