/* Dataset folders: layout detection, dataset.cfg, and the list of patients and files.
 * Reading pixels is in dataset_load.c. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datasets/cfgfile.h"
#include "datasets/dataset.h"
#include "engine/error.h"
#include "engine/fsutil.h"

static char *copy_string(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

/* ---- presets and classes */

unsigned dataset_preset_classes(const char *preset)
{
    if (!strcmp(preset, "acdc") || !strcmp(preset, "custom")) return 1u << 1 | 1u << 2 | 1u << 3;
    if (!strcmp(preset, "t1")) return 1u << 2;
    if (!strcmp(preset, "rvsc")) return 1u << 1;
    return 0;
}

int dataset_parse_classes(const char *text, unsigned *classes)
{
    unsigned mask = 0;
    for (const char *p = text; *p; p++) {
        if (isspace((unsigned char)*p) || *p == ',') continue;
        if (*p < '1' || *p > '3' || (p[1] && !isspace((unsigned char)p[1]) && p[1] != ','))
            return error_set("bad class list '%s': expected numbers 1 (RV), 2 (myocardium), "
                             "3 (LV)", text);
        mask |= 1u << (*p - '0');
    }
    if (!mask) return error_set("bad class list '%s': no class given", text);
    *classes = mask;
    return 0;
}

/* ---- dataset.cfg */

/* The keys dataset.cfg knows (cfgfile_check_keys): what the reader uses, then what the
 * generator writes for the record. A new key is a line here (and its reading below). */
static const CfgKey DATASET_CFG_KEYS[] = {
    {"preset", false}, {"classes", false}, {"labels", false}, {"spacing", false}, {"axes", false},
    {"patients", false}, {"seed", false}, {"size", false}, {"noise", false},
};

/* "1.25" (x and y; z the same) or "1.25 1.25 10" (x, y, z), in mm. */
static int parse_spacing(const char *text, float spacing[3])
{
    double v[3];
    int n = 0;
    const char *p = text;
    for (; n < 3; n++) {
        char *end;
        v[n] = strtod(p, &end);
        if (end == p) break;
        if (!(v[n] > 0 && v[n] < 1000)) return -1;
        p = end;
        while (isspace((unsigned char)*p) || *p == ',') p++;
    }
    if (*p || (n != 1 && n != 3)) return -1;
    for (int k = 0; k < 3; k++) spacing[k] = (float)v[n == 1 ? 0 : k];
    return 0;
}

int dataset_apply_cfg(Dataset *d, const CfgFile *cfg, const char *path)
{
    if (cfgfile_check_keys(cfg, path, DATASET_CFG_KEYS,
                           (int)(sizeof DATASET_CFG_KEYS / sizeof DATASET_CFG_KEYS[0])))
        return -1;
    const char *preset = cfgfile_get(cfg, "preset"), *classes = cfgfile_get(cfg, "classes");
    const char *labels = cfgfile_get(cfg, "labels"), *spacing = cfgfile_get(cfg, "spacing");
    const char *axes = cfgfile_get(cfg, "axes");
    if (preset) {
        if (!dataset_preset_classes(preset) || strlen(preset) >= sizeof d->preset)
            return error_set("%s: unknown preset '%s' (acdc, t1, rvsc or custom)", path, preset);
        snprintf(d->preset, sizeof d->preset, "%s", preset);
        classmap_preset(&d->classmap, dataset_preset_classes(preset));
    }
    if (classes && labels)
        return error_set("%s: give classes (ACDC's label values) or labels (your own), not both", path);
    unsigned mask;
    if (classes) {
        if (dataset_parse_classes(classes, &mask) < 0) return error_prefix("%s", path);
        classmap_preset(&d->classmap, mask);
    }
    if (labels && classmap_parse_labels(&d->classmap, labels) < 0) return error_prefix("%s", path);
    d->labels_given = labels != NULL;
    if (spacing) {
        if (parse_spacing(spacing, d->spacing) < 0)
            return error_set("%s: bad spacing '%s' (mm per pixel, e.g. 1.25, or along x, y and "
                             "between slices, e.g. 1.25 1.25 10)", path, spacing);
        d->spacing_given = true;
    }
    if (axes && hdf5_axes_parse(axes, &d->axes) < 0) return error_prefix("%s", path);
    return 0;
}

/* DIR/dataset.cfg into d, whose preset and classes hold the layout's defaults: without the
 * file (the ACDC release ships none) they stay. */
static int read_dataset_cfg(Dataset *d)
{
    char *path = fs_join(d->path, "dataset.cfg");
    if (access(path, F_OK) != 0) {       /* absent; anything else there must be a file */
        free(path);
        return 0;
    }
    CfgFile cfg;
    if (cfgfile_read(path, &cfg) < 0) {
        free(path);
        return -1;
    }
    int status = dataset_apply_cfg(d, &cfg, path);
    cfgfile_free(&cfg);
    free(path);
    return status;
}

int dataset_cfg_describe(const char *dir, float *spacing, ClassMap *classes)
{
    Dataset d;
    memset(&d, 0, sizeof d);
    d.path = (char *)dir;
    d.spacing[0] = d.spacing[1] = d.spacing[2] = 1.0f;
    snprintf(d.preset, sizeof d.preset, "custom");
    classmap_preset(&d.classmap, dataset_preset_classes(d.preset));
    if (read_dataset_cfg(&d) < 0) return -1;
    *spacing = d.spacing[0];
    *classes = d.classmap;
    return 0;
}

/* ---- patients */

void dataset_patient_add_item(DatasetPatient *pat, char *image, char *mask, int frame, int slice)
{
    pat->items = xrealloc(pat->items, (size_t)(pat->item_count + 1) * sizeof *pat->items);
    pat->items[pat->item_count++] = (DatasetItem){image, mask, frame, slice};
}

int dataset_patient_add_frame(DatasetPatient *pat, const char *name)
{
    pat->frames = xrealloc(pat->frames, (size_t)(pat->frame_count + 1) * sizeof *pat->frames);
    pat->frames[pat->frame_count] = copy_string(name);
    return pat->frame_count++;
}

static void free_patient(DatasetPatient *pat)
{
    for (int i = 0; i < pat->item_count; i++) {
        free(pat->items[i].image);
        free(pat->items[i].mask);
    }
    free_strings(pat->frames, pat->frame_count);
    free(pat->items);
    free(pat->id);
}

void dataset_add_patient(Dataset *d, const DatasetPatient *pat)
{
    d->patients = xrealloc(d->patients, (size_t)(d->patient_count + 1) * sizeof *d->patients);
    d->patients[d->patient_count++] = *pat;
}

/* ---- ACDC layout */

/* Is name "<id>_frame<digits>.nii[.gz]" (not a mask)? Returns the frame number or -1. */
static int acdc_frame_number(const char *name, const char *id)
{
    size_t n = strlen(id);
    if (strncmp(name, id, n) || strncmp(name + n, "_frame", 6)) return -1;
    const char *p = name + n + 6;
    if (!isdigit((unsigned char)*p)) return -1;
    int frame = 0;
    for (; isdigit((unsigned char)*p) && frame < 100000; p++) frame = frame * 10 + (*p - '0');
    return !strcmp(p, ".nii") || !strcmp(p, ".nii.gz") ? frame : -1;
}

static void read_info_cfg(DatasetPatient *pat, const char *patient_dir)
{
    char *path = fs_join(patient_dir, "Info.cfg");
    CfgFile cfg;
    /* Info.cfg is informational; an unreadable one is ignored rather than fatal. */
    if (fs_is_file(path) && cfgfile_read(path, &cfg) == 0) {
        const char *group = cfgfile_get(&cfg, "Group");
        if (group) snprintf(pat->group, sizeof pat->group, "%s", group);
        cfgfile_free(&cfg);
    }
    error_clear();
    free(path);
}

/* Add patient folder `id` if it holds frame files. Returns 1 added, 0 not a patient, -1 error. */
static int acdc_add_patient(Dataset *d, const char *id)
{
    char *dir = fs_join(d->path, id);
    char **files;
    int count = fs_list(dir, 0, &files);
    if (count < 0) {
        free(dir);
        return -1;
    }
    DatasetPatient pat;
    memset(&pat, 0, sizeof pat);
    int status = 0;
    for (int i = 0; i < count && !status; i++) {
        if (acdc_frame_number(files[i], id) < 0) continue;
        /* patient001_frame01.nii.gz -> patient001_frame01_gt.nii.gz (either extension) */
        size_t stem = strlen(files[i]) - (fs_has_suffix(files[i], ".gz") ? 7 : 4);
        char mask_name[1024];
        char *mask = NULL;
        const char *ext[2] = {fs_has_suffix(files[i], ".gz") ? ".nii.gz" : ".nii",
                              fs_has_suffix(files[i], ".gz") ? ".nii" : ".nii.gz"};
        for (int e = 0; e < 2 && !mask; e++) {
            snprintf(mask_name, sizeof mask_name, "%.*s_gt%s", (int)stem, files[i], ext[e]);
            char *candidate = fs_join(dir, mask_name);
            if (fs_is_file(candidate)) mask = candidate;
            else free(candidate);
        }
        char *image = fs_join(dir, files[i]);
        if (!mask) {
            snprintf(mask_name, sizeof mask_name, "%.*s_gt%s", (int)stem, files[i], ext[0]);
            status = error_set("%s: its mask %s/%s is missing", image, dir, mask_name);
            free(image);
            break;
        }
        snprintf(mask_name, sizeof mask_name, "%.*s", (int)stem, files[i]);
        dataset_patient_add_item(&pat, image, mask, dataset_patient_add_frame(&pat, mask_name), -1);
    }
    free_strings(files, count);
    if (status || pat.item_count == 0) {
        free_patient(&pat);
        free(dir);
        return status ? -1 : 0;
    }
    pat.id = copy_string(id);
    read_info_cfg(&pat, dir);
    free(dir);
    dataset_add_patient(d, &pat);
    return 1;
}

static int acdc_list(Dataset *d)
{
    char **dirs;
    int count = fs_list(d->path, 1, &dirs);
    if (count < 0) return -1;
    int status = 0;
    for (int i = 0; i < count && !status; i++)
        if (acdc_add_patient(d, dirs[i]) < 0) status = -1;
    free_strings(dirs, count);
    return status;
}

/* ---- PNG layout */

static int png_list(Dataset *d)
{
    char *images = fs_join(d->path, "images"), *masks = fs_join(d->path, "masks");
    char **pids;
    int count = fs_list(images, 1, &pids), status = count < 0 ? -1 : 0;
    for (int i = 0; i < count && !status; i++) {
        char *idir = fs_join(images, pids[i]), *mdir = fs_join(masks, pids[i]);
        char **files;
        int nfiles = fs_list(idir, 0, &files);
        DatasetPatient pat;
        memset(&pat, 0, sizeof pat);
        pat.id = copy_string(pids[i]);
        dataset_patient_add_frame(&pat, pids[i]);
        for (int f = 0; f < nfiles && !status; f++) {
            if (!fs_has_suffix(files[f], ".png")) continue;
            char *image = fs_join(idir, files[f]), *mask = fs_join(mdir, files[f]);
            if (!fs_is_file(mask)) {
                status = error_set("%s: its mask %s is missing", image, mask);
                free(image);
                free(mask);
                break;
            }
            dataset_patient_add_item(&pat, image, mask, 0, pat.item_count);
        }
        if (nfiles < 0) status = -1;
        else if (!status && pat.item_count == 0)
            status = error_set("%s: no .png slices in this patient folder", idir);
        free_strings(files, nfiles);
        dataset_add_patient(d, &pat);            /* added even on error, so close frees it */
        free(idir);
        free(mdir);
    }
    free_strings(pids, count);
    free(images);
    free(masks);
    return status;
}

/* ---- open / close */

/* The layout of dir and its defaults (dataset.h): 0, or -1 with the message set. */
static int detect_layout(Dataset *d)
{
    char *images = fs_join(d->path, "images"), *masks = fs_join(d->path, "masks");
    int png = fs_is_dir(images), masks_there = fs_is_dir(masks);
    free(images);
    free(masks);
    if (png && !masks_there)
        return error_set("%s: has images/ but no masks/ folder (PNG layout needs both)", d->path);
    int h5 = png ? 0 : dataset_hdf5_detect(d->path, &d->hdf5_form, &d->hdf5_root);
    if (h5 < 0) return -1;
    d->layout = png ? DATASET_LAYOUT_PNG : h5 ? DATASET_LAYOUT_HDF5 : DATASET_LAYOUT_ACDC;
    /* SSL4MIS's data/ form is its ACDC; its case folders hold one foreground class each
     * (the Left Atrium, and the pancreas and tumour sets of the same code base). */
    bool cases = d->layout == DATASET_LAYOUT_HDF5 && d->hdf5_form == DATASET_HDF5_CASES;
    snprintf(d->preset, sizeof d->preset, "%s",
             d->layout == DATASET_LAYOUT_ACDC || (h5 && !cases) ? "acdc" : "custom");
    classmap_preset(&d->classmap, dataset_preset_classes(d->preset));
    if (cases && classmap_parse_labels(&d->classmap, "1 foreground") < 0) return -1;
    d->axes = cases ? HDF5_AXES_XYZ : HDF5_AXES_ZYX;
    return 0;
}

Dataset *dataset_open(const char *dir)
{
    if (!fs_is_dir(dir)) {
        error_set("%s: %s", dir, errno == ENOENT ? "no such folder" : "not a folder");
        return NULL;
    }
    Dataset *d = xcalloc(1, sizeof *d);
    d->path = copy_string(dir);
    d->spacing[0] = d->spacing[1] = d->spacing[2] = 1.0f;
    int status = detect_layout(d);
    if (!status) status = read_dataset_cfg(d);
    if (!status)
        status = d->layout == DATASET_LAYOUT_PNG    ? png_list(d)
                 : d->layout == DATASET_LAYOUT_HDF5 ? dataset_hdf5_list(d)
                                                    : acdc_list(d);
    if (!status && d->patient_count == 0)
        status = error_set("%s: no dataset here: expected patient folders <id>/<id>_frameXX.nii.gz "
                           "with <id>_frameXX_gt.nii.gz masks (ACDC layout; for the ACDC release "
                           "use its training/ folder), images/ and masks/ folders of PNG slices, "
                           "or HDF5 files in data/ or in case folders (SSL4MIS layout)", dir);
    if (status) {
        dataset_close(d);
        return NULL;
    }
    return d;
}

void dataset_close(Dataset *d)
{
    if (!d) return;
    for (int p = 0; p < d->patient_count; p++) free_patient(&d->patients[p]);
    free(d->patients);
    free(d->hdf5_root);
    free(d->path);
    free(d);
}

int dataset_find_patient(const Dataset *d, const char *id)
{
    for (int p = 0; p < d->patient_count; p++)
        if (!strcmp(d->patients[p].id, id)) return p;
    return -1;
}

int dataset_find_case(const Dataset *d, const char *name, int *patient, int *frame)
{
    for (int p = 0; p < d->patient_count; p++) {
        if (!strcmp(d->patients[p].id, name)) {
            *patient = p;
            *frame = -1;
            return 0;
        }
        for (int f = 0; f < d->patients[p].frame_count; f++)
            if (!strcmp(d->patients[p].frames[f], name)) {
                *patient = p;
                *frame = f;
                return 0;
            }
    }
    return -1;
}
