/* Label values to classes, and class names (classmap.h). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/classmap.h"
#include "engine/error.h"

static const char *const ACDC_NAMES[DATASET_CLASSES] = {"background", "RV", "myocardium", "LV"};

void classmap_preset(ClassMap *m, unsigned labelled)
{
    memset(m, 0, sizeof *m);
    m->labelled = labelled & 0xEu;
    for (int c = 0; c < DATASET_CLASSES; c++) snprintf(m->names[c], CLASSMAP_NAME, "%s", ACDC_NAMES[c]);
    memset(m->value_class, -1, sizeof m->value_class);
    for (int c = 0; c < DATASET_CLASSES; c++)
        m->value_class[c] = (signed char)(c == 0 || (m->labelled & 1u << c) ? c : 0);
}

/* Names go into CSV, JSON, Markdown and HTML: a plain alphabet keeps them safe in all. */
static bool name_char(char ch)
{
    return isalnum((unsigned char)ch) || strchr(" _-+./()", ch);
}

typedef struct LabelEntry {
    int value;
    char name[CLASSMAP_NAME];
} LabelEntry;

/* One "VALUE NAME" entry of len bytes at p. */
static int parse_entry(const char *p, size_t len, LabelEntry *e)
{
    while (len && isspace((unsigned char)*p)) p++, len--;
    while (len && isspace((unsigned char)p[len - 1])) len--;
    size_t digits = 0;
    while (digits < len && isdigit((unsigned char)p[digits])) digits++;
    size_t at = digits;
    while (at < len && isspace((unsigned char)p[at])) at++;
    if (!digits || at == digits || at == len)
        return error_set("label entry '%.*s': expected a label value and a class name, e.g. "
                         "'1 left atrium'", (int)len, p);
    e->value = digits > 3 ? 1000 : (int)strtol(p, NULL, 10);
    if (e->value < 1 || e->value >= CLASSMAP_VALUES)
        return error_set("label entry '%.*s': the value must be 1..255 (0 is background)",
                         (int)len, p);
    if (len - at >= sizeof e->name)
        return error_set("label entry '%.*s': the name is longer than %d characters", (int)len,
                         p, CLASSMAP_NAME - 1);
    memcpy(e->name, p + at, len - at);
    e->name[len - at] = '\0';
    for (const char *q = e->name; *q; q++)
        if (!name_char(*q))
            return error_set("label entry '%.*s': a name holds letters, digits, spaces and "
                             "_-+./() only", (int)len, p);
    return 0;
}

/* The class named name in m, or -1. */
static int find_class(const ClassMap *m, const char *name)
{
    for (int c = 0; c < DATASET_CLASSES; c++)
        if (m->names[c][0] && !strcmp(m->names[c], name)) return c;
    return -1;
}

/* Classes for the entries: ACDC's names first (their numbers), then the other names in
 * list order (the lowest free number). -1 when there are more than 3 classes. */
static int assign_classes(ClassMap *m, const LabelEntry *e, int n)
{
    for (int i = 0; i < n; i++)
        for (int c = 1; c < DATASET_CLASSES; c++)
            if (!strcmp(e[i].name, ACDC_NAMES[c])) snprintf(m->names[c], CLASSMAP_NAME, "%s", e[i].name);
    for (int i = 0; i < n; i++) {
        int c = find_class(m, e[i].name);
        for (int k = 1; c < 0 && k < DATASET_CLASSES; k++)
            if (!m->names[k][0]) {
                snprintf(m->names[k], CLASSMAP_NAME, "%s", e[i].name);
                c = k;
            }
        if (c < 0)
            return error_set("label entry '%d %s': more than %d classes (the networks have %d "
                             "outputs: background and %d classes)", e[i].value, e[i].name,
                             DATASET_CLASSES - 1, DATASET_CLASSES, DATASET_CLASSES - 1);
        m->value_class[e[i].value] = (signed char)c;
        if (c) m->labelled |= 1u << c;
    }
    return 0;
}

int classmap_parse_labels(ClassMap *m, const char *text)
{
    ClassMap out;
    memset(&out, 0, sizeof out);
    out.by_value = true;
    memset(out.value_class, -1, sizeof out.value_class);
    out.value_class[0] = 0;
    snprintf(out.names[0], CLASSMAP_NAME, "%s", ACDC_NAMES[0]);
    LabelEntry *e = xmalloc(sizeof *e * CLASSMAP_VALUES);
    int n = 0, status = 0;
    for (const char *p = text; !status;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (n == CLASSMAP_VALUES - 1) status = error_set("labels: more than %d entries", n);
        else status = parse_entry(p, len, &e[n]);
        for (int i = 0; i < n && !status; i++)
            if (e[i].value == e[n].value)
                status = error_set("labels: value %d is given twice", e[n].value);
        n++;
        if (!comma) break;
        p = comma + 1;
    }
    if (!status) status = assign_classes(&out, e, n);
    free(e);
    if (status) return -1;
    if (!out.labelled) return error_set("labels '%s': no class other than background", text);
    for (int c = 1; c < DATASET_CLASSES; c++)    /* outputs the data does not use */
        if (!out.names[c][0]) snprintf(out.names[c], CLASSMAP_NAME, "class %d", c);
    *m = out;
    return 0;
}

int classmap_label(const ClassMap *m, double value)
{
    if (!(value > -0.01 && value < CLASSMAP_VALUES - 1 + 0.01)) return -1;
    long v = lrint(value);
    if (fabs(value - (double)v) > 0.01) return -1;
    return m->value_class[v];
}

const char *classmap_name(const ClassMap *m, int c)
{
    static _Thread_local char other[24];
    if (c >= 0 && c < DATASET_CLASSES) return m->names[c];
    snprintf(other, sizeof other, "class %d", c);
    return other;
}

char *classmap_str(const ClassMap *m, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int c = 1; c < DATASET_CLASSES; c++) {
        if (!(m->labelled & 1u << c)) continue;
        int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", m->names[c]);
        if (n < 0 || (size_t)n >= len - used) break;
        used += (size_t)n;
    }
    return buf;
}

/* Entries "VALUE[ NAME]" of the values that are labels, by value, comma-separated. */
static char *list_values(const ClassMap *m, bool with_names, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int v = with_names; v < CLASSMAP_VALUES; v++) {
        if (m->value_class[v] < 0) continue;
        int n = with_names ? snprintf(buf + used, len - used, "%s%d %s", used ? ", " : "", v,
                                      m->names[(int)m->value_class[v]])
                           : snprintf(buf + used, len - used, "%s%d", used ? ", " : "", v);
        if (n < 0 || (size_t)n >= len - used) break;
        used += (size_t)n;
    }
    return buf;
}

char *classmap_values_str(const ClassMap *m, char *buf, size_t len)
{
    if (!m->by_value) {
        snprintf(buf, len, "0..%d", DATASET_CLASSES - 1);
        return buf;
    }
    return list_values(m, false, buf, len);
}

char *classmap_labels_text(const ClassMap *m, char *buf, size_t len)
{
    if (!m->by_value) {
        buf[0] = '\0';
        return buf;
    }
    return list_values(m, true, buf, len);
}
