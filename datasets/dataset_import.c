/* Writing a dataset as ACDC-layout NIfTI (dataset_import.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "datasets/dataset_import.h"
#include "datasets/dataset_lists.h"
#include "engine/error.h"
#include "engine/fsutil.h"
#include "engine/staged_dir.h"

/* Whether name is "<id>_frame" followed by digits only. */
static int is_acdc_frame_name(const char *name, const char *id)
{
    size_t n = strlen(id);
    const char *p = name + n + 6;
    return !strncmp(name, id, n) && !strncmp(name + n, "_frame", 6) && *p &&
           strspn(p, "0123456789") == strlen(p);
}

static int write_frame(const Dataset *d, int p, int f, const char *dir)
{
    const DatasetPatient *pat = &d->patients[p];
    char stem[1100];
    if (is_acdc_frame_name(pat->frames[f], pat->id)) snprintf(stem, sizeof stem, "%s", pat->frames[f]);
    else snprintf(stem, sizeof stem, "%s_frame%02d", pat->id, f + 1);
    NiftiVolume image, label;
    if (dataset_load_frame(d, p, f, &image, &label) < 0) return -1;
    char name[1200];
    snprintf(name, sizeof name, "%s.nii.gz", stem);
    char *path = fs_join(dir, name);
    int type = d->layout == DATASET_LAYOUT_ACDC && image.datatype ? image.datatype : NIFTI_FLOAT32;
    int status = nifti_write(path, &image, type, 0);
    free(path);
    snprintf(name, sizeof name, "%s_gt.nii.gz", stem);
    path = fs_join(dir, name);
    if (!status) status = nifti_write(path, &label, NIFTI_UINT8, 0);
    free(path);
    nifti_free(&image);
    nifti_free(&label);
    return status;
}

/* OUT/dataset.cfg: what OUT needs to load as d did. */
static int write_cfg(const Dataset *d, const char *tmp)
{
    char text[2048], classes[600];
    int n = snprintf(text, sizeof text, "# written by reusenet data import from %.900s\npreset: %s\n",
                     d->path, d->preset);
    if (d->classmap.by_value) {
        n += snprintf(text + n, sizeof text - (size_t)n, "labels: %s\n",
                      classmap_labels_text(&d->classmap, classes, sizeof classes));
    } else {
        int used = 0;
        for (int c = 1; c < DATASET_CLASSES; c++)
            if (d->classmap.labelled & 1u << c)
                used += snprintf(classes + used, sizeof classes - (size_t)used, "%s%d", used ? " " : "", c);
        n += snprintf(text + n, sizeof text - (size_t)n, "classes: %s\n", classes);
    }
    if (d->layout != DATASET_LAYOUT_ACDC)
        snprintf(text + n, sizeof text - (size_t)n, "# voxel spacing in the NIfTI headers: %g %g %g mm "
                 "(%s)\n", (double)d->spacing[0], (double)d->spacing[1], (double)d->spacing[2],
                 d->spacing_given ? "from the input's dataset.cfg" : "assumed: the input's files hold none");
    char *path = fs_join(tmp, "dataset.cfg");
    int status = fs_write_text(path, text, 0);
    free(path);
    return status;
}

/* The lists, each checked to name the dataset's cases first. */
static int copy_lists(const Dataset *d, const char *tmp)
{
    static const char *const lists[] = {"train", "val", "test"};
    for (int i = 0; i < 3; i++) {
        if (!dataset_has_list(d, lists[i])) continue;
        int *patients, count, lines;
        if (dataset_read_list(d, lists[i], &patients, &count, &lines) < 0) return -1;
        free(patients);
        char file[32], *text;
        size_t size;
        snprintf(file, sizeof file, "%s.list", lists[i]);
        char *src = fs_join(d->path, file), *dst = fs_join(tmp, file);
        int status = read_whole_file(src, &text, &size);
        if (!status) {
            FILE *f = fopen(dst, "wb");
            if (!f || fwrite(text, 1, size, f) != size) status = error_set("%s: cannot write", dst);
            if (f && fclose(f) != 0 && !status) status = error_set("%s: cannot write", dst);
            free(text);
        }
        free(src);
        free(dst);
        if (status) return -1;
    }
    return 0;
}

int dataset_import(const Dataset *d, const char *out, ImportSummary *summary,
                   void (*progress)(int done, int total, void *ctx), void *ctx)
{
    memset(summary, 0, sizeof *summary);
    char *tmp = staged_dir_begin(out);
    if (!tmp) return -1;
    int status = copy_lists(d, tmp);           /* first: a bad list fails at once */
    for (int p = 0; p < d->patient_count && !status; p++) {
        char *dir = fs_join(tmp, d->patients[p].id);
        if (mkdir(dir, 0777) != 0) status = error_set("%s: cannot create folder", dir);
        for (int f = 0; f < d->patients[p].frame_count && !status; f++) {
            status = write_frame(d, p, f, dir);
            summary->frames++;
        }
        free(dir);
        summary->patients++;
        if (progress && !status) progress(p + 1, d->patient_count, ctx);
    }
    if (!status) status = write_cfg(d, tmp);
    if (status) {
        staged_dir_abort(tmp);
        return -1;
    }
    return staged_dir_commit(tmp, out);
}
