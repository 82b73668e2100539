/* Which class each label value of a dataset's masks is, and what the classes are called.
 *
 * The networks have DATASET_CLASSES output channels: 0 background and classes 1..3. A
 * dataset labels some of the classes. Two ways to say which:
 *   by preset (the default): label value c is class c, named as in ACDC (1 RV,
 *       2 myocardium, 3 LV); values of classes the dataset does not label read as
 *       background; other values are not labels;
 *   by a label list (dataset.cfg "labels: 1 left atrium" or "labels: 1 LV, 2 myocardium,
 *       3 RV"): each entry "VALUE NAME" makes label value VALUE (1..255) the class NAME.
 *       A class named as one of ACDC's keeps ACDC's number (so a model trained on ACDC
 *       reads another dataset's LV as its LV); any other name takes the lowest number not
 *       yet taken, in the order of the list. 0 is background; a value not listed is not a
 *       label. Several values may name one class ("1 LV, 4 LV").
 * The names travel with the data into `data info`, `train`, `eval` and config.json. */
#ifndef REUSENET_CLASSMAP_H
#define REUSENET_CLASSMAP_H

#include <stdbool.h>
#include <stddef.h>

enum { DATASET_CLASSES = 4 };     /* 0 background, 1..3 (ACDC: RV, myocardium, LV) */
enum { CLASSMAP_NAME = 32, CLASSMAP_VALUES = 256 };

typedef struct ClassMap {
    unsigned labelled;                            /* bit c: class c (1..3) is labelled */
    char names[DATASET_CLASSES][CLASSMAP_NAME];   /* names[0] = "background" */
    bool by_value;                                /* from a label list */
    signed char value_class[CLASSMAP_VALUES];     /* label value -> class, -1: not a label */
} ClassMap;

/* The preset way: ACDC's names, classes `labelled` (bits 1..3). */
void classmap_preset(ClassMap *m, unsigned labelled);
/* Parse a label list (see above) into m. -1 with the message set (no file name) for an
 * entry without a value or a name, a value outside 1..255 or given twice, a name longer
 * than 31 characters, or more than 3 classes. */
int classmap_parse_labels(ClassMap *m, const char *text);
/* The class of a mask value (stored as any type, possibly scaled: within 0.01 of an
 * integer), or -1 when it is not a label. */
int classmap_label(const ClassMap *m, double value);
/* The name of class c ("class 4" style beyond the map: into a static buffer). */
const char *classmap_name(const ClassMap *m, int c);
/* The labelled classes, "RV, myocardium, LV", into buf; returns buf. */
char *classmap_str(const ClassMap *m, char *buf, size_t len);
/* The label values, for messages: "0..3" (preset way) or "0, 1, 4" (list); returns buf. */
char *classmap_values_str(const ClassMap *m, char *buf, size_t len);
/* The list as dataset.cfg writes it back: "1 left atrium, 2 ..." ("" for the preset way). */
char *classmap_labels_text(const ClassMap *m, char *buf, size_t len);

#endif
