/* The HDF5 layout's two forms (dataset.h): finding them, and grouping their files into
 * patients, frames and slices by name. No file is opened here. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/dataset.h"
#include "engine/error.h"
#include "engine/fsutil.h"

static char *copy_string(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

/* The .h5 files of dir (none when it cannot be read); free with free_strings. */
static int list_h5(const char *dir, char ***names)
{
    char **all;
    int n = fs_list(dir, 0, &all), kept = 0;
    if (n < 0) {
        error_clear();
        *names = NULL;
        return 0;
    }
    for (int i = 0; i < n; i++) {
        if (fs_has_suffix(all[i], ".h5")) all[kept++] = all[i];
        else free(all[i]);
    }
    *names = all;
    return kept;
}

/* Whether a subfolder of dir holds a .h5 file. */
static int holds_case_folders(const char *dir)
{
    char **subs;
    int n = fs_list(dir, 1, &subs), found = 0;
    if (n < 0) {
        error_clear();
        return 0;
    }
    for (int i = 0; i < n && !found; i++) {
        char *sub = fs_join(dir, subs[i]), **files;
        int count = list_h5(sub, &files);
        found = count > 0;
        free_strings(files, count);
        free(sub);
    }
    free_strings(subs, n);
    return found;
}

int dataset_hdf5_detect(const char *dir, DatasetHdf5Form *form, char **root)
{
    char *data = fs_join(dir, "data");
    if (fs_is_dir(data)) {
        *form = DATASET_HDF5_DATA;
        *root = data;
        return 1;
    }
    free(data);
    *form = DATASET_HDF5_CASES;
    if (holds_case_folders(dir)) {         /* pointed at the folder of case folders */
        *root = copy_string(dir);
        return 1;
    }
    char **subs;
    int n = fs_list(dir, 1, &subs), found = 0;
    if (n < 0) return -1;
    for (int i = 0; i < n && found >= 0; i++) {
        char *sub = fs_join(dir, subs[i]);
        if (!holds_case_folders(sub)) {
            free(sub);
        } else if (found) {
            found = error_set("%s: both %s and %s hold case folders of .h5 files; point at one "
                              "of them", dir, *root, sub);
            free(sub);
            free(*root);
            *root = NULL;
        } else {
            *root = sub;
            found = 1;
        }
    }
    free_strings(subs, n);
    return found;
}

/* ---- case folders: ROOT/<case>/<name>.h5 */

static int list_case_folders(Dataset *d)
{
    char **cases;
    int n = fs_list(d->hdf5_root, 1, &cases), status = n < 0 ? -1 : 0;
    for (int i = 0; i < n && !status; i++) {
        char *dir = fs_join(d->hdf5_root, cases[i]), **files;
        int count = list_h5(dir, &files);
        if (count != 1)
            status = error_set("%s: %s; each case folder holds one (e.g. mri_norm2.h5)", dir,
                               count ? "more than one .h5 file" : "no .h5 file");
        if (!status) {
            DatasetPatient pat;
            memset(&pat, 0, sizeof pat);
            pat.id = copy_string(cases[i]);
            dataset_patient_add_item(&pat, fs_join(dir, files[0]), NULL,
                                     dataset_patient_add_frame(&pat, cases[i]), -1);
            dataset_add_patient(d, &pat);
        }
        free_strings(files, count);
        free(dir);
    }
    free_strings(cases, n);
    return status;
}

/* ---- data/: <case>.h5 volumes and <case>_slice_<K>.h5 slices */

typedef struct H5File {
    char *path;
    char *patient;        /* <patient> of "<patient>_frameNN", else the case */
    char *name;           /* the case */
    long slice;           /* K, or -1 for a volume */
} H5File;

/* Parse a file name stem into f (copies). */
static void parse_name(const char *stem, H5File *f)
{
    const char *s = strstr(stem, "_slice_"), *last = NULL;
    for (; s; s = strstr(s + 1, "_slice_")) last = s;
    f->slice = -1;
    size_t case_len = strlen(stem);
    if (last && last[7] && strspn(last + 7, "0123456789") == strlen(last + 7) &&
        strlen(last + 7) <= 6) {
        f->slice = strtol(last + 7, NULL, 10);
        case_len = (size_t)(last - stem);
    }
    f->name = memcpy(xcalloc(case_len + 1, 1), stem, case_len);
    /* "_frame" followed by digits to the end */
    size_t patient_len = case_len;
    for (const char *p = strstr(f->name, "_frame"); p; p = strstr(p + 1, "_frame"))
        if (p[6] && strspn(p + 6, "0123456789") == strlen(p + 6) && p > f->name)
            patient_len = (size_t)(p - f->name);
    f->patient = memcpy(xcalloc(patient_len + 1, 1), f->name, patient_len);
}

static int compare_files(const void *a, const void *b)
{
    const H5File *x = a, *y = b;
    int c = strverscmp(x->patient, y->patient);
    if (!c) c = strverscmp(x->name, y->name);
    if (!c) c = (x->slice > y->slice) - (x->slice < y->slice);
    return c;
}

/* The .h5 files of folder dir appended to *files. */
static void collect(const char *dir, H5File **files, int *count)
{
    char **names;
    int n = list_h5(dir, &names);
    *files = xrealloc(*files, (size_t)(*count + n + 1) * sizeof **files);
    for (int i = 0; i < n; i++) {
        H5File *f = &(*files)[(*count)++];
        names[i][strlen(names[i]) - 3] = '\0';
        parse_name(names[i], f);
        char file[4096];
        snprintf(file, sizeof file, "%s.h5", names[i]);
        f->path = fs_join(dir, file);
    }
    free_strings(names, n);
}

/* Sorted files into patients, frames and items; slices of a case held as a volume are
 * skipped (the volume is the same data). */
static int group_files(Dataset *d, H5File *files, int n)
{
    DatasetPatient pat;
    memset(&pat, 0, sizeof pat);
    int status = 0, frame_is_volume = 0;
    for (int i = 0; i < n && !status; i++) {
        const H5File *f = &files[i], *prev = i ? &files[i - 1] : NULL;
        if (!prev || strcmp(prev->patient, f->patient)) {
            if (prev) dataset_add_patient(d, &pat);
            memset(&pat, 0, sizeof pat);
            pat.id = copy_string(f->patient);
        }
        if (prev && !strcmp(prev->name, f->name) && prev->slice == f->slice)
            status = error_set("%s and %s are both %s of case %s", prev->path, f->path,
                               f->slice < 0 ? "the volume" : "the same slice", f->name);
        if (status) break;
        if (!prev || strcmp(prev->name, f->name)) {
            dataset_patient_add_frame(&pat, f->name);
            frame_is_volume = f->slice < 0;
        } else if (frame_is_volume) {
            d->hdf5_skipped++;
            continue;
        }
        dataset_patient_add_item(&pat, copy_string(f->path), NULL, pat.frame_count - 1,
                                 (int)f->slice);
    }
    if (pat.id) dataset_add_patient(d, &pat);   /* also on error, so close frees it */
    return status;
}

static int list_data_folder(Dataset *d)
{
    H5File *files = NULL;
    int n = 0;
    char *slices = fs_join(d->hdf5_root, "slices");
    collect(d->hdf5_root, &files, &n);
    collect(slices, &files, &n);
    free(slices);
    int status = n ? 0 : error_set("%s: no .h5 files (the SSL4MIS layout has data/<case>.h5 "
                                   "volumes and data/slices/<case>_slice_<K>.h5 slices)",
                                   d->hdf5_root);
    if (n) qsort(files, (size_t)n, sizeof *files, compare_files);
    if (!status) status = group_files(d, files, n);
    for (int i = 0; i < n; i++) {
        free(files[i].path);
        free(files[i].patient);
        free(files[i].name);
    }
    free(files);
    return status;
}

int dataset_hdf5_list(Dataset *d)
{
    return d->hdf5_form == DATASET_HDF5_DATA ? list_data_folder(d) : list_case_folders(d);
}
