/* The files of a folder taken case by case: predict's input folder and eval's --pred and
 * --gt folders. Every .nii, .nii.gz and .png file in DIR and in its subfolders one level
 * down (the ACDC layout's patient folders), in natural order; when DIR has an images/
 * (CASE_IMAGES) or masks/ (CASE_MASKS) folder, as the PNG layout does, that folder is the
 * root instead. A case's name is its path below the root without the extension, and for
 * masks without a trailing "_gt": the image patient001/patient001_frame01.nii.gz, its
 * mask patient001/patient001_frame01_gt.nii.gz and a prediction
 * patient001/patient001_frame01.nii.gz all name case patient001/patient001_frame01.
 * Skipped: probability files (name ending "_prob"); as images, masks ("_gt"); as masks,
 * an image X beside its mask X_gt. Two files of one name (x.nii and x.nii.gz) are an
 * error naming both. */
#ifndef REUSENET_CASE_LIST_H
#define REUSENET_CASE_LIST_H

typedef enum CaseRole { CASE_IMAGES, CASE_MASKS } CaseRole;

typedef struct CaseFile {
    char *path;           /* root/rel/name.ext */
    char *name;           /* rel/name (case name) */
    char *rel;            /* rel/name.ext: the file's path below the root */
    int png;              /* a PNG slice (else NIfTI) */
} CaseFile;

typedef struct CaseList {
    char *root;
    int count;
    CaseFile *files;
} CaseList;

/* 0, or -1 with a message (unreadable folder, no files, duplicate names). */
int case_list(const char *dir, CaseRole role, CaseList *out);
/* Index of the case with this name, or -1. */
int case_find(const CaseList *l, const char *name);
void case_list_free(CaseList *l);
/* The extension of a supported file name (".nii.gz", ".nii", ".png"), or NULL. */
const char *case_extension(const char *name);

#endif
