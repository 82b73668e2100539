#include <math.h>
#include <stdarg.h>

#include "util/escape.h"
#include "util/table_writer.h"

static bool html(const TableWriter *w) { return w->format == TABLE_HTML; }

void table_escape(FILE *out, TableFormat format, const char *s)
{
    if (format == TABLE_HTML) html_escape(out, s);
    else md_escape(out, s);
}

void table_begin(TableWriter *w, FILE *out, TableFormat format, const char *html_attrs,
                 const char *summary)
{
    *w = (TableWriter){.out = out, .format = format, .folded = summary != NULL};
    if (html(w)) {
        if (summary) fprintf(out, "<details><summary>%s</summary>", summary);
        fprintf(out, "<table%s>", html_attrs ? html_attrs : "");
    } else if (summary) {
        fprintf(out, "%s\n\n", summary);
    }
}

void table_end(TableWriter *w)
{
    if (html(w)) fputs(w->folded ? "</table></details>\n" : "</table>\n", w->out);
    else fputs("\n", w->out);
}

void table_caption_begin(TableWriter *w)
{
    if (html(w)) fputs("<caption>", w->out);
}

void table_caption_end(TableWriter *w) { fputs(html(w) ? "</caption>" : "\n\n", w->out); }

void table_header(TableWriter *w)
{
    table_row(w);
    w->in_header = true;
}

void table_row(TableWriter *w)
{
    w->cells = 0;
    w->in_header = false;
    fputs(html(w) ? "<tr>" : "|", w->out);
}

void table_row_id(TableWriter *w, const char *prefix, const char *name)
{
    if (!html(w)) {
        table_row(w);
        return;
    }
    w->cells = 0;
    w->in_header = false;
    fputs("<tr id=\"", w->out);
    html_id(w->out, prefix, name);
    fputs("\">", w->out);
}

/* Markdown's delimiter row under the header: ---, then ---: per column. */
static void delimiter_row(TableWriter *w)
{
    fputs("|", w->out);
    for (int i = 0; i < w->cells; i++) fputs(i ? "---:|" : "---|", w->out);
    fputs("\n", w->out);
}

void table_row_end(TableWriter *w)
{
    fputs(html(w) ? "</tr>\n" : "\n", w->out);
    if (!html(w) && w->in_header) delimiter_row(w);
    w->in_header = false;
}

void table_cell_begin(TableWriter *w, TableCellKind kind, const char *html_class)
{
    w->cell = kind;
    w->cells++;
    if (!html(w)) fputs(" ", w->out);
    else if (html_class) fprintf(w->out, "<%s class=\"%s\">", kind == TABLE_HEAD ? "th" : "td", html_class);
    else fputs(kind == TABLE_HEAD ? "<th>" : "<td>", w->out);
}

void table_cell_end(TableWriter *w)
{
    if (html(w)) fputs(w->cell == TABLE_HEAD ? "</th>" : "</td>", w->out);
    else fputs(" |", w->out);
}

void table_text(TableWriter *w, const char *s) { table_escape(w->out, w->format, s); }

void table_printf(TableWriter *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(w->out, fmt, ap);
    va_end(ap);
}

void table_markup(TableWriter *w, const char *html_text, const char *md_text)
{
    const char *s = html(w) ? html_text : md_text;
    if (s) fputs(s, w->out);
}

void table_head(TableWriter *w, const char *text)
{
    table_cell_begin(w, TABLE_HEAD, NULL);
    table_text(w, text);
    table_cell_end(w);
}

void table_cell(TableWriter *w, const char *text) { table_cell_class(w, NULL, text); }

void table_cell_class(TableWriter *w, const char *html_class, const char *text)
{
    table_cell_begin(w, TABLE_DATA, html_class);
    table_text(w, text);
    table_cell_end(w);
}

void table_cellf(TableWriter *w, const char *fmt, ...)
{
    table_cell_begin(w, TABLE_DATA, NULL);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(w->out, fmt, ap);
    va_end(ap);
    table_cell_end(w);
}

void table_missing(TableWriter *w)
{
    table_cell_begin(w, TABLE_DATA, "na");
    table_markup(w, "&ndash;", "–");
    table_cell_end(w);
}

void table_number(TableWriter *w, const char *fmt, double x)
{
    if (isnan(x)) {
        table_missing(w);
        return;
    }
    table_cell_begin(w, TABLE_DATA, NULL);
    table_printf(w, fmt, x);
    table_cell_end(w);
}
