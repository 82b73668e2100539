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

/* ---- classes */

const char *dataset_class_name(int c)
{
    static const char *names[DATASET_CLASSES] = {"background", "RV", "myocardium", "LV"};
    return c >= 0 && c < DATASET_CLASSES ? names[c] : "?";
}

unsigned dataset_preset_classes(const char *preset)
{
    if (!strcmp(preset, "acdc") || !strcmp(preset, "custom")) return 1u << 1 | 1u << 2 | 1u << 3;
    if (!strcmp(preset, "t1")) return 1u << 2;
    if (!strcmp(preset, "rvsc")) return 1u << 1;
    return 0;
}

char *dataset_classes_str(unsigned classes, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int c = 1; c < DATASET_CLASSES; c++) {
        if (!(classes & 1u << c)) continue;
        int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", dataset_class_name(c));
        if (n < 0 || (size_t)n >= len - used) break;
        used += (size_t)n;
    }
    return buf;
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

/* The keys dataset.cfg knows: a new key is a line here (and its reading below). */
static const CfgKey DATASET_CFG_KEYS[] = {
    {"preset", false},
    {"classes", false},
    {"spacing", false},
    /* how `data synth` made the data: recorded, not read */
    {"patients", false},
    {"seed", false},
    {"size", false},
    {"noise", false},
};

int dataset_apply_cfg(Dataset *d, const CfgFile *cfg, const char *path)
{
    int status = cfgfile_check_keys(cfg, path, DATASET_CFG_KEYS,
                                    (int)(sizeof DATASET_CFG_KEYS / sizeof DATASET_CFG_KEYS[0]));
    const char *preset = cfgfile_get(cfg, "preset");
    const char *classes = cfgfile_get(cfg, "classes");
    const char *spacing = cfgfile_get(cfg, "spacing");
    if (!status && preset) {
        if (!dataset_preset_classes(preset) || strlen(preset) >= sizeof d->preset)
            status = error_set("%s: unknown preset '%s' (acdc, t1, rvsc or custom)", path, preset);
        else
            snprintf(d->preset, sizeof d->preset, "%s", preset);
    }
    d->classes = dataset_preset_classes(d->preset);
    if (!status && classes && dataset_parse_classes(classes, &d->classes) < 0)
        status = error_prefix("%s", path);
    if (!status && spacing) {
        char *end;
        double s = strtod(spacing, &end);
        if (end == spacing || *end || !(s > 0 && s < 1000))
            status = error_set("%s: bad spacing '%s' (mm per pixel, e.g. 1.25)", path, spacing);
        else
            d->png_spacing = (float)s;
    }
    return status;
}

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

int dataset_cfg_describe(const char *dir, float *spacing, unsigned *classes)
{
    Dataset d;
    memset(&d, 0, sizeof d);
    d.path = (char *)dir;
    d.png_spacing = 1.0f;
    snprintf(d.preset, sizeof d.preset, "custom");
    if (read_dataset_cfg(&d) < 0) return -1;
    *spacing = d.png_spacing;
    *classes = d.classes ? d.classes : dataset_preset_classes("custom");
    return 0;
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
        pat.items = xrealloc(pat.items, (size_t)(pat.item_count + 1) * sizeof *pat.items);
        pat.items[pat.item_count++] = (DatasetItem){image, mask};
    }
    fs_free_names(files, count);
    if (status || pat.item_count == 0) {
        for (int i = 0; i < pat.item_count; i++) {
            free(pat.items[i].image);
            free(pat.items[i].mask);
        }
        free(pat.items);
        free(dir);
        return status ? -1 : 0;
    }
    pat.id = copy_string(id);
    read_info_cfg(&pat, dir);
    free(dir);
    d->patients = xrealloc(d->patients, (size_t)(d->patient_count + 1) * sizeof *d->patients);
    d->patients[d->patient_count++] = pat;
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
    fs_free_names(dirs, count);
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
        for (int f = 0; f < nfiles && !status; f++) {
            if (!fs_has_suffix(files[f], ".png")) continue;
            char *image = fs_join(idir, files[f]), *mask = fs_join(mdir, files[f]);
            if (!fs_is_file(mask)) {
                status = error_set("%s: its mask %s is missing", image, mask);
                free(image);
                free(mask);
                break;
            }
            pat.items = xrealloc(pat.items, (size_t)(pat.item_count + 1) * sizeof *pat.items);
            pat.items[pat.item_count++] = (DatasetItem){image, mask};
        }
        if (nfiles < 0) status = -1;
        else if (!status && pat.item_count == 0)
            status = error_set("%s: no .png slices in this patient folder", idir);
        fs_free_names(files, nfiles);
        d->patients = xrealloc(d->patients, (size_t)(d->patient_count + 1) * sizeof *d->patients);
        d->patients[d->patient_count++] = pat;   /* added even on error, so close frees it */
        free(idir);
        free(mdir);
    }
    fs_free_names(pids, count);
    free(images);
    free(masks);
    return status;
}

/* ---- open / close */

Dataset *dataset_open(const char *dir)
{
    if (!fs_is_dir(dir)) {
        error_set("%s: %s", dir, errno == ENOENT ? "no such folder" : "not a folder");
        return NULL;
    }
    Dataset *d = xcalloc(1, sizeof *d);
    d->path = copy_string(dir);
    d->png_spacing = 1.0f;
    char *images = fs_join(dir, "images"), *masks = fs_join(dir, "masks");
    int png = fs_is_dir(images);
    if (png && !fs_is_dir(masks)) {
        error_set("%s: has images/ but no masks/ folder (PNG layout needs both)", dir);
        free(images);
        free(masks);
        dataset_close(d);
        return NULL;
    }
    free(images);
    free(masks);
    d->layout = png ? DATASET_LAYOUT_PNG : DATASET_LAYOUT_ACDC;
    snprintf(d->preset, sizeof d->preset, "%s", png ? "custom" : "acdc");
    if (read_dataset_cfg(d) < 0 || (png ? png_list(d) : acdc_list(d)) < 0) {
        dataset_close(d);
        return NULL;
    }
    if (d->patient_count == 0) {
        error_set("%s: no dataset here: expected patient folders <id>/<id>_frameXX.nii.gz with "
                  "<id>_frameXX_gt.nii.gz masks (ACDC layout; for the ACDC release use its "
                  "training/ folder) or images/ and masks/ folders of PNG slices", dir);
        dataset_close(d);
        return NULL;
    }
    return d;
}

void dataset_close(Dataset *d)
{
    if (!d) return;
    for (int p = 0; p < d->patient_count; p++) {
        for (int i = 0; i < d->patients[p].item_count; i++) {
            free(d->patients[p].items[i].image);
            free(d->patients[p].items[i].mask);
        }
        free(d->patients[p].items);
        free(d->patients[p].id);
    }
    free(d->patients);
    free(d->path);
    free(d);
}

int dataset_find_patient(const Dataset *d, const char *id)
{
    for (int p = 0; p < d->patient_count; p++)
        if (!strcmp(d->patients[p].id, id)) return p;
    return -1;
}
