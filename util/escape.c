#include <stdbool.h>
#include <string.h>

#include "util/escape.h"

void html_escape(FILE *out, const char *s)
{
    for (; s && *s; s++) switch (*s) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default: fputc(*s, out);
        }
}

void md_escape(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\n' || *s == '\r') fputc(' ', out);
        else {
            if (strchr("\\`<>[]|&", *s)) fputc('\\', out);
            fputc(*s, out);
        }
    }
}

void html_id(FILE *out, const char *prefix, const char *name)
{
    fputs(prefix, out);
    for (const char *c = name; *c; c++) {
        const char ch = *c;
        const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                        (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
        fputc(ok ? ch : '-', out);
    }
}
