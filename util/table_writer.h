/* One table, two formats: every table of the study report is written once, by calls that
 * emit an HTML <table> or a Markdown (GitHub pipe) table, so report.html and report.md
 * cannot drift apart: same rows, same columns, same digits.
 *
 *   TableWriter w;
 *   table_begin(&w, out, format, " id=\"table-plans\"", NULL);
 *   table_header(&w);  table_head(&w, "plan");  table_head(&w, "verdict");  table_row_end(&w);
 *   table_row(&w);     table_head(&w, name);    table_cell(&w, verdict);    table_row_end(&w);
 *   table_end(&w);
 *
 * HTML:      <table ATTRS><caption>...</caption><tr><th>plan</th>...</tr>\n ... </table>\n
 *            (a summary folds the table into <details><summary>SUMMARY</summary>...</details>)
 * Markdown:  the caption or summary as a line of its own, the header row, the delimiter
 *            row (the first column left-aligned, the others right-aligned as on the page),
 *            one line per row, a blank line.
 *
 * What a cell holds comes in two sorts (escape.h): text from an input, written with
 * table_text / table_cell / table_head and escaped for the format; and what the program
 * writes itself (numbers, fixed words), written as it is with table_printf /
 * table_cellf, or per format with table_markup ("&tau;" / "τ"). A missing number is
 * table_missing: an en dash, class "na" in HTML. */
#ifndef REUSENET_TABLE_WRITER_H
#define REUSENET_TABLE_WRITER_H

#include <stdbool.h>
#include <stdio.h>

typedef enum TableFormat { TABLE_HTML, TABLE_MARKDOWN } TableFormat;

typedef enum TableCellKind {
    TABLE_HEAD,                /* <th>: a column's header, or a row's label */
    TABLE_DATA                 /* <td> */
} TableCellKind;

typedef struct TableWriter {
    FILE *out;
    TableFormat format;
    bool folded;               /* HTML: inside <details> */
    bool in_header;            /* the current row is the header row */
    TableCellKind cell;        /* the open cell's kind */
    int cells;                 /* cells written in the current row */
} TableWriter;

/* Text from an input, escaped for the format (escape.h); for the page around tables too. */
void table_escape(FILE *out, TableFormat format, const char *s);

/* Start a table. html_attrs: written inside <table> as they are (NULL: none); summary
 * (written as it is; NULL: none): HTML folds the table under it. */
void table_begin(TableWriter *w, FILE *out, TableFormat format, const char *html_attrs,
                 const char *summary);
void table_end(TableWriter *w);
/* A caption: what is written between the two calls (HTML <caption>, Markdown a line). */
void table_caption_begin(TableWriter *w);
void table_caption_end(TableWriter *w);

/* Rows: the header row (once, first), then the rows; each ends with table_row_end. */
void table_header(TableWriter *w);
void table_row(TableWriter *w);
/* A row with an HTML id (html_id(prefix, name)); a plain row in Markdown. */
void table_row_id(TableWriter *w, const char *prefix, const char *name);
void table_row_end(TableWriter *w);

/* A cell built in pieces: begin, any of table_text / table_printf / table_markup, end.
 * html_class: the HTML cell's class (NULL: none). */
void table_cell_begin(TableWriter *w, TableCellKind kind, const char *html_class);
void table_cell_end(TableWriter *w);
void table_text(TableWriter *w, const char *s);
void table_printf(TableWriter *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* html in HTML, md in Markdown, each as it is (NULL: nothing). */
void table_markup(TableWriter *w, const char *html, const char *md);

/* Whole cells. */
void table_head(TableWriter *w, const char *text);                  /* <th>text</th> */
void table_cell(TableWriter *w, const char *text);                  /* <td>text</td> */
void table_cell_class(TableWriter *w, const char *html_class, const char *text);
void table_cellf(TableWriter *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void table_missing(TableWriter *w);                                 /* an en dash, "na" */
/* fmt applied to x, or table_missing when x is NAN. */
void table_number(TableWriter *w, const char *fmt, double x);

#endif
