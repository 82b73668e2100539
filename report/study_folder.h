/* A study folder: the results of the analyses, laid out so that the report can find them.
 *
 *   STUDY_DIR/scans/NAME.csv        swap scans (reusenet swap)       paper Figs 3, 4, 7, 8
 *   STUDY_DIR/bn/NAME.csv           BN statistics (reusenet bnstats) Figs 5, 9
 *   STUDY_DIR/rmse/NAME.csv         kernel RMSE (reusenet rmse)      Figs 6, 10, 11, 12
 *   STUDY_DIR/plans/NAME.json       reuse plans (reusenet plan)
 *   STUDY_DIR/transfer/table.csv    the transfer experiment          Table 1
 *   STUDY_DIR/overlays/NAME.png     prediction overlays
 *   STUDY_DIR/cka/NAME.csv          per-layer CKA (reusenet cka)
 *   STUDY_DIR/transferability/NAME.csv   LogME, LEEP (reusenet transferability)
 *   STUDY_DIR/transfer/runs/RUN/log.csv  the runs behind Table 1 (their final mean Dice
 *                                   gives the bootstrap of the predictors' verdict)
 *
 * Every part is optional; NAME (the file name without extension) titles the figures.
 * Files are read in name order. */
#ifndef REUSENET_STUDY_FOLDER_H
#define REUSENET_STUDY_FOLDER_H

#include <stdbool.h>
#include <stddef.h>

#include "util/csv.h"

typedef struct cJSON cJSON;

typedef struct StudyTable {
    char *name;
    CsvTable csv;
} StudyTable;

typedef struct StudyPlan {
    char *name;
    cJSON *json;
} StudyPlan;

typedef struct StudyImage {
    char *name;
    unsigned char *bytes;      /* the PNG file */
    size_t size;
} StudyImage;

typedef struct Study {
    char *dir;
    StudyTable *scans, *bn, *rmse, *cka, *scores;
    int n_scans, n_bn, n_rmse, n_cka, n_scores;
    StudyPlan *plans;
    int n_plans;
    bool has_table;
    StudyTable table;          /* transfer/table.csv */
    StudyImage *overlays;
    int n_overlays;
} Study;

/* Read everything in dir. -1 with a message naming the file when one cannot be read or
 * lacks the columns its kind needs, or when dir holds none of the parts. */
int study_load(const char *dir, Study *s);
void study_free(Study *s);
/* Refuse an output that is one of the files a report of dir reads (every part above, the
 * runs' log.csv and transfer/runs.csv included): 0, or -1 naming both. */
int study_check_output(const char *dir, const char *out);
/* Whether table t is a file of its part ("scans", "bn", "rmse", "cka", "transferability"):
 * the columns the part needs, numbers (or empty fields) where it has numbers, layers named
 * as layer tables name them; a scan as swap_csv_check wants it. 0, or -1 naming the file,
 * the row and the problem. Other parts need nothing. */
int study_check_columns(const char *part, const CsvTable *t);

#endif
