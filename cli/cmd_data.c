/* reusenet data synth|info|preview|import: make, inspect, preview and convert datasets
 * (datasets/). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "datasets/dataset.h"
#include "datasets/dataset_import.h"
#include "datasets/dataset_lists.h"
#include "datasets/preview.h"
#include "datasets/split.h"
#include "datasets/synth.h"
#include "engine/engine.h"
#include "util/progress.h"

static const char DATA_USAGE[] =
    "usage: reusenet data <synth|info|preview|import> [options]   (reusenet data <cmd> --help)\n\n"
    "  synth    generate a synthetic cardiac MRI dataset (ACDC layout)\n"
    "  info     patients, slices, sizes, spacing and label counts of a dataset\n"
    "  preview  contact sheet of slices with coloured mask overlays (PNG)\n"
    "  import   write a dataset (HDF5, PNG, ACDC) as ACDC-layout NIfTI files\n";

/* An integer option not given (the preset's default applies). */
#define UNSET INT_MIN

/* A value outside its range: a usage error (exit 2), said the way options_parse says it. */
static int out_of_range(const char *command, const char *option, long value, long lo, long hi)
{
    fprintf(stderr, "%s: %s must be %ld..%ld, got %ld (see %s --help)\n", command, option, lo, hi,
            value, command);
    return 2;
}

static int data_synth(int argc, char **argv)
{
    const char *preset = NULL, *out = NULL;
    int patients = UNSET, size = UNSET, slices = UNSET, threads = 0;
    uint64_t seed = 1;
    double noise = 1.0;
    const Option opts[] = {
        {"--preset", OPT_STRING, &preset, "P  acdc (labels RV, myocardium, LV), t1 (myocardium) "
         "or rvsc (RV)", true},
        {"-o", OPT_STRING, &out, "DIR  output folder (must not exist, or be empty)", false},
        {"--output", OPT_STRING, &out, "DIR  same as -o", false},
        {"--patients", OPT_INT, &patients, "N  patients (default: acdc 100, t1 90, rvsc 32)", false},
        {"--seed", OPT_U64, &seed, "S  random seed (default 1); same seed, same bytes", false},
        {"--size", OPT_INT, &size, "N  in-plane matrix N x N (default: acdc 192, t1 160, rvsc 192)", false},
        {"--slices", OPT_INT, &slices, "N  slices per volume (default: acdc 8-10, t1 5, rvsc 6-9)", false},
        {"--noise", OPT_FLOAT, &noise, "F  noise relative to the preset's level (default 1)", false},
        {"--threads", OPT_INT, &threads, "T  patients generated in parallel (default: all cores)", false},
    };
    const OptionSpec spec = {"reusenet data synth", "Generate a synthetic cardiac MRI dataset in the "
                             "ACDC layout (DIR/patientNNN/patientNNN_frameXX[_gt].nii.gz).\nDIR appears "
                             "only when complete.", NULL, 0, 0, opts, sizeof opts / sizeof opts[0]};
    int rc = options_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return rc == 1 ? 0 : rc;
    if (!out) {
        fprintf(stderr, "%s: missing -o DIR (see %s --help)\n", spec.command, spec.command);
        return 2;
    }
    SynthOptions o;
    if (synth_defaults(&o, preset) < 0) {
        fprintf(stderr, "%s: %s (see %s --help)\n", spec.command, error_get(), spec.command);
        return 2;
    }
    if (patients != UNSET && (patients < 1 || patients > 9999))
        return out_of_range(spec.command, "--patients", patients, 1, 9999);
    if (size != UNSET && (size < 32 || size > 1024)) return out_of_range(spec.command, "--size", size, 32, 1024);
    if (slices != UNSET && (slices < 1 || slices > 64)) return out_of_range(spec.command, "--slices", slices, 1, 64);
    if (!(noise >= 0 && noise <= 10)) {
        fprintf(stderr, "%s: --noise must be 0..10, got %g (see %s --help)\n", spec.command, noise,
                spec.command);
        return 2;
    }
    if (patients != UNSET) o.patients = patients;
    if (size != UNSET) o.size = size;
    if (slices != UNSET) o.slices = slices;
    o.seed = seed;
    o.noise = (float)noise;
    engine_set_threads(threads);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (synth_write(out, &o) < 0) {
        return cli_fail(NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("wrote %s: preset %s, %d patients, seed %llu, %dx%d (%.1f s)\n", out, o.preset,
           o.patients, (unsigned long long)o.seed, o.size, o.size,
           (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    return 0;
}

/* ---- info */

typedef struct InfoStats {
    long long slices, pixels[DATASET_CLASSES], slices_with[DATASET_CLASSES];
    int min_h, max_h, min_w, max_w;
    float min_sp, max_sp;
    double min_v, max_v;
} InfoStats;

static void add_slice(InfoStats *st, const Slice *s)
{
    if (st->slices == 0) {
        st->min_h = st->max_h = s->height;
        st->min_w = st->max_w = s->width;
        st->min_sp = st->max_sp = s->spacing[1];
        st->min_v = st->max_v = s->image[0];
    }
    st->slices++;
    if (s->height < st->min_h) st->min_h = s->height;
    if (s->height > st->max_h) st->max_h = s->height;
    if (s->width < st->min_w) st->min_w = s->width;
    if (s->width > st->max_w) st->max_w = s->width;
    for (int k = 0; k < 2; k++) {
        if (s->spacing[k] < st->min_sp) st->min_sp = s->spacing[k];
        if (s->spacing[k] > st->max_sp) st->max_sp = s->spacing[k];
    }
    long long here[DATASET_CLASSES] = {0};
    size_t n = (size_t)s->height * s->width;
    for (size_t i = 0; i < n; i++) {
        here[s->label[i]]++;
        if (s->image[i] < st->min_v) st->min_v = s->image[i];
        if (s->image[i] > st->max_v) st->max_v = s->image[i];
    }
    for (int c = 0; c < DATASET_CLASSES; c++) {
        st->pixels[c] += here[c];
        if (here[c]) st->slices_with[c]++;
    }
}

/* Every slice of every patient into st; *files the number of files. 0, or -1 (set). */
static int scan_dataset(Dataset *d, InfoStats *st, int *files)
{
    memset(st, 0, sizeof *st);
    *files = 0;
    int status = 0;
    for (int p = 0; p < d->patient_count && !status; p++) {
        SliceSet set = {0};
        *files += d->patients[p].item_count;
        status = dataset_load_patient(d, p, &set);
        for (int i = 0; i < set.count; i++) add_slice(st, &set.slices[i]);
        sliceset_free(&set);
    }
    return status;
}

/* The groups of Info.cfg with their patient counts, in order of first appearance. */
static void print_groups(const Dataset *d)
{
    char names[16][32];
    int counts[16], ngroups = 0;
    for (int p = 0; p < d->patient_count; p++) {
        const char *g = d->patients[p].group;
        if (!g[0]) continue;
        int k = 0;
        while (k < ngroups && strcmp(names[k], g)) k++;
        if (k == ngroups) {
            if (ngroups == 16) continue;
            snprintf(names[ngroups], sizeof names[0], "%s", g);
            counts[ngroups++] = 0;
        }
        counts[k]++;
    }
    if (ngroups) {
        printf("groups   ");
        for (int k = 0; k < ngroups; k++) printf(" %s %d", names[k], counts[k]);
        printf("\n");
    }
}

/* Pixels per class, their share, and the slices where each appears. */
static void print_labels(const Dataset *d, const InfoStats *st)
{
    long long total = 0;
    for (int c = 0; c < DATASET_CLASSES; c++) total += st->pixels[c];
    printf("labels    class        pixels      share   slices with it\n");
    for (int c = 0; c < DATASET_CLASSES; c++)
        printf("          %d %-10s %11lld %8.3f%%   %lld%s\n", c, classmap_name(&d->classmap, c),
               st->pixels[c], 100.0 * (double)st->pixels[c] / (double)total, st->slices_with[c],
               c == 0 || d->classmap.labelled & 1u << c ? "" : "   (not labelled)");
    if (d->classmap.by_value) {
        printf("values   ");
        for (int v = 1; v < CLASSMAP_VALUES; v++)
            if (d->classmap.value_class[v] >= 0)
                printf(" %d = %s,", v, classmap_name(&d->classmap, d->classmap.value_class[v]));
        printf(" other values are not labels (%s)\n", d->labels_given
               ? "the labels: of dataset.cfg" : "the default; name them with labels: in dataset.cfg");
    }
}

/* The preset's default split of the patients (datasets/split.h). */
static void print_split(const Dataset *d)
{
    SplitOptions so;
    split_defaults(&so);
    Split sp;
    if (split_make(d->preset, d->patient_count, &so, &sp) == 0) {
        printf("split     %d training / %d validation patients (%s default%s)\n", sp.train_count,
               sp.val_count, d->preset, !strcmp(d->preset, "t1") || !strcmp(d->preset, "rvsc")
                                            ? ": first / last in patient order" : ": random, seed 0");
        split_free(&sp);
    } else {
        printf("split     %s\n", error_get());
    }
}

/* The layout, and for HDF5 its form and files. */
static void print_layout(const Dataset *d, int files)
{
    if (d->layout != DATASET_LAYOUT_HDF5) {
        printf("layout    %s\n", d->layout == DATASET_LAYOUT_ACDC ? "ACDC (NIfTI volumes)" : "PNG slice folders");
        printf("files     %d %s\n", files, d->layout == DATASET_LAYOUT_ACDC ? "volumes" : "images");
        return;
    }
    int volumes = 0, slices = 0, frames = 0;
    for (int p = 0; p < d->patient_count; p++) {
        frames += d->patients[p].frame_count;
        for (int i = 0; i < d->patients[p].item_count; i++) {
            if (d->patients[p].items[i].slice < 0) volumes++;
            else slices++;
        }
    }
    printf("layout    HDF5 (SSL4MIS, %s %s; arrays %s)\n",
           d->hdf5_form == DATASET_HDF5_DATA ? "data folder" : "case folders", d->hdf5_root,
           d->axes == HDF5_AXES_ZYX ? "(Z, Y, X)" : "(X, Y, Z)");
    printf("files     %d volumes, %d slice files (%d frames)", volumes, slices, frames);
    if (d->hdf5_skipped)
        printf("; %d slice files not read: their frames are read from the volumes", d->hdf5_skipped);
    printf("\n");
}

/* Where the spacing comes from: the files, dataset.cfg, or assumed. */
static void print_spacing(const Dataset *d, const InfoStats *st)
{
    if (d->layout == DATASET_LAYOUT_ACDC) {
        printf("spacing   %.3g..%.3g mm\n", (double)st->min_sp, (double)st->max_sp);
        return;
    }
    const char *kind = d->layout == DATASET_LAYOUT_PNG ? "PNG" : "HDF5";
    printf("spacing   %g x %g mm per pixel, %g mm between slices: ", (double)d->spacing[0],
           (double)d->spacing[1], (double)d->spacing[2]);
    if (d->spacing_given) printf("from %s/dataset.cfg\n", d->path);
    else printf("assumed (the %s files hold none; give spacing: in %s/dataset.cfg)\n", kind, d->path);
}

/* The dataset's own split lists (dataset_lists.h), each checked, as the line that
 * describes them ("" without lists). 0, or -1 (set). */
static int describe_lists(const Dataset *d, char *text, size_t len)
{
    static const char *const names[] = {"train", "val", "test"};
    size_t used = 0;
    text[0] = '\0';
    for (int i = 0; i < 3; i++) {
        if (!dataset_has_list(d, names[i])) continue;
        int *patients, count, lines;
        if (dataset_read_list(d, names[i], &patients, &count, &lines) < 0) return -1;
        free(patients);
        used += (size_t)snprintf(text + used, len - used, "%s%s.list %d patients (%d names)",
                                 used ? ", " : "lists     ", names[i], count, lines);
    }
    if (used) snprintf(text + used, len - used, "   (train with --list-split val|test)\n");
    return 0;
}

static int data_info(int argc, char **argv)
{
    const OptionSpec spec = {"reusenet data info", "Print the layout, preset, labelled classes, "
                             "patients, slices, image sizes, pixel spacing,\ngroups (Info.cfg), label "
                             "pixel counts per class and the preset's default split.", "DIR", 1, 1,
                             NULL, 0};
    char *dir = NULL;
    int rc = options_parse(&spec, argc, argv, &dir, NULL);
    if (rc) return rc == 1 ? 0 : rc;
    Dataset *d = dataset_open(dir);
    if (!d) {
        return cli_fail(NULL);
    }
    InfoStats st;
    int files;
    char lists[400];
    if (scan_dataset(d, &st, &files) || describe_lists(d, lists, sizeof lists)) {
        dataset_close(d);
        return cli_fail(NULL);
    }
    char classes[200];
    printf("dataset   %s\n", d->path);
    print_layout(d, files);
    printf("preset    %s\n", d->preset);
    printf("labelled  %s\n", classmap_str(&d->classmap, classes, sizeof classes));
    printf("patients  %d (%s .. %s)\n", d->patient_count, d->patients[0].id,
           d->patients[d->patient_count - 1].id);
    printf("slices    %lld (%.1f per patient)\n", st.slices, (double)st.slices / d->patient_count);
    if (st.slices > 0) {
        if (st.min_h == st.max_h && st.min_w == st.max_w) printf("size      %dx%d (rows x columns)\n", st.min_h, st.min_w);
        else printf("size      %d..%d x %d..%d (rows x columns)\n", st.min_h, st.max_h, st.min_w, st.max_w);
        print_spacing(d, &st);
        printf("intensity %.6g..%.6g\n", st.min_v, st.max_v);
        print_groups(d);
        print_labels(d, &st);
        print_split(d);
    }
    fputs(lists, stdout);
    dataset_close(d);
    return 0;
}

/* ---- preview */

static int data_preview(int argc, char **argv)
{
    PreviewOptions po;
    preview_defaults(&po);
    const char *out = NULL;
    const Option opts[] = {
        {"-o", OPT_STRING, &out, "SHEET.png  file to write", false},
        {"--output", OPT_STRING, &out, "SHEET.png  same as -o", false},
        {"--columns", OPT_INT, &po.columns, "N  tiles per row (default 4)", false},
        {"--rows", OPT_INT, &po.rows, "N  rows of tiles (default 3)", false},
        {"--tile", OPT_INT, &po.tile, "N  tile side in pixels (default 160)", false},
        {"--crop", OPT_INT, &po.crop, "N  show the centre N x N pixels of each slice (default: all)", false},
    };
    const OptionSpec spec = {"reusenet data preview", "Write a contact sheet of slices from DIR with "
                             "coloured mask overlays (RV blue, myocardium green, LV red).", "DIR", 1, 1,
                             opts, sizeof opts / sizeof opts[0]};
    char *dir = NULL;
    int rc = options_parse(&spec, argc, argv, &dir, NULL);
    if (rc) return rc == 1 ? 0 : rc;
    if (!out) {
        fprintf(stderr, "%s: missing -o SHEET.png (see %s --help)\n", spec.command, spec.command);
        return 2;
    }
    if (po.columns < 1 || po.columns > 100) return out_of_range(spec.command, "--columns", po.columns, 1, 100);
    if (po.rows < 1 || po.rows > 100) return out_of_range(spec.command, "--rows", po.rows, 1, 100);
    if (po.tile < 16 || po.tile > 1024) return out_of_range(spec.command, "--tile", po.tile, 16, 1024);
    if (po.crop < 0 || po.crop > 8192) return out_of_range(spec.command, "--crop", po.crop, 0, 8192);
    Dataset *d = dataset_open(dir);
    if (!d || preview_write(d, out, &po) < 0) {
        dataset_close(d);
        return cli_fail(NULL);
    }
    printf("wrote %s (%d x %d tiles of %s)\n", out, po.columns, po.rows, d->path);
    dataset_close(d);
    return 0;
}

/* ---- import */

static void import_progress(int done, int total, void *ctx)
{
    progress_update(ctx, done, "patients written");
    (void)total;
}

static int data_import(int argc, char **argv)
{
    const char *out = NULL;
    const Option opts[] = {
        {"-o", OPT_STRING, &out, "OUT  output folder (must not exist, or be empty)", true},
        {"--output", OPT_STRING, &out, "OUT  same as -o", false},
    };
    const OptionSpec spec = {"reusenet data import", "Write the dataset in DIR (SSL4MIS HDF5, PNG "
                             "or ACDC layout) as ACDC-layout NIfTI files a viewer opens:\n"
                             "OUT/<patient>/<patient>_frameNN.nii.gz and _gt.nii.gz masks (label "
                             "values as stored), the voxel spacing used in\neach header, "
                             "OUT/dataset.cfg with the classes or labels, and DIR's split lists. "
                             "OUT appears only when\ncomplete.", "DIR", 1, 1, opts,
                             sizeof opts / sizeof opts[0]};
    char *dir = NULL;
    int rc = options_parse(&spec, argc, argv, &dir, NULL);
    if (rc) return rc == 1 ? 0 : rc;
    Dataset *d = dataset_open(dir);
    if (!d) return cli_fail(NULL);
    Progress pr;
    progress_begin(&pr, "import", d->patient_count);
    ImportSummary sum;
    double t0 = progress_now();
    rc = dataset_import(d, out, &sum, import_progress, &pr);
    if (rc) {
        if (pr.tty && pr.done) fputc('\n', stderr);      /* end the progress line */
        dataset_close(d);
        return cli_fail(NULL);
    }
    progress_end(&pr, "done");
    printf("wrote %s: %d patients, %d frames as ACDC-layout NIfTI (%.1f s); voxel spacing ", out,
           sum.patients, sum.frames, progress_now() - t0);
    if (d->layout == DATASET_LAYOUT_ACDC) printf("the input's own\n");
    else printf("%g x %g x %g mm (%s)\n", (double)d->spacing[0], (double)d->spacing[1],
                (double)d->spacing[2], d->spacing_given ? "from dataset.cfg"
                                                        : "assumed: the input's files hold none");
    dataset_close(d);
    return 0;
}

int cmd_data(int argc, char **argv)
{
    if (argc < 2) {
        fputs(DATA_USAGE, stderr);
        return 2;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
        fputs(DATA_USAGE, stdout);
        return 0;
    }
    if (!strcmp(sub, "synth")) return data_synth(argc - 1, argv + 1);
    if (!strcmp(sub, "info")) return data_info(argc - 1, argv + 1);
    if (!strcmp(sub, "preview")) return data_preview(argc - 1, argv + 1);
    if (!strcmp(sub, "import")) return data_import(argc - 1, argv + 1);
    fprintf(stderr, "reusenet: unknown data command '%s'\n%s", sub, DATA_USAGE);
    return 2;
}
