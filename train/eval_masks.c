#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/case_list.h"
#include "datasets/dataset.h"
#include "datasets/nifti.h"
#include "datasets/pngio.h"
#include "engine/atomic_file.h"
#include "engine/error.h"
#include "util/csv.h"
#include "train/eval_masks.h"
#include "train/surface_metrics.h"

enum { MAX_LABEL = 8 };

typedef struct Mask {
    int dim[4];
    double spacing[3];
    uint8_t *labels;
} Mask;

/* A mask file as labels 0..255; spacing from the file (NIfTI) or png_spacing. */
static int read_mask(const CaseFile *f, float png_spacing, Mask *m)
{
    memset(m, 0, sizeof *m);
    if (f->png) {
        GrayImage g;
        if (pngio_read_gray(f->path, &g)) return -1;
        int status = 0;
        m->dim[0] = g.width, m->dim[1] = g.height, m->dim[2] = m->dim[3] = 1;
        m->spacing[0] = m->spacing[1] = m->spacing[2] = png_spacing;
        size_t n = (size_t)g.width * g.height;
        m->labels = xmalloc(n);
        for (size_t i = 0; i < n && !status; i++) {
            if (g.pixels[i] > 255)
                status = error_set("%s: value %d at x=%zu y=%zu is not a label 0..255", f->path,
                                   g.pixels[i], i % (size_t)g.width, i / (size_t)g.width);
            m->labels[i] = (uint8_t)g.pixels[i];
        }
        pngio_free(&g);
        return status;
    }
    NiftiVolume v;
    if (nifti_read(f->path, &v)) return -1;
    memcpy(m->dim, v.dim, sizeof m->dim);
    for (int a = 0; a < 3; a++) m->spacing[a] = v.spacing[a];
    size_t n = nifti_voxel_count(&v);
    m->labels = xmalloc(n);
    int status = 0;
    for (size_t i = 0; i < n && !status; i++) {
        float x = v.data[i];
        if (!(x > -0.01f && x < 255.01f) || fabsf(x - rintf(x)) > 0.01f)
            status = error_set("%s: value %g at voxel %zu is not a label 0..255", f->path,
                               (double)x, i);
        else
            m->labels[i] = (uint8_t)lrintf(x);
    }
    nifti_free(&v);
    return status;
}

/* Every case on each side has a partner on the other. */
static int match_cases(const CaseList *pred, const CaseList *gt, const MaskEvalOptions *o)
{
    for (int i = 0; i < gt->count; i++)
        if (case_find(pred, gt->files[i].name) < 0)
            return error_set("%s has no prediction: expected %s/%s.nii.gz (or .nii, .png) in %s",
                             gt->files[i].path, pred->root, gt->files[i].name, o->pred_dir);
    for (int i = 0; i < pred->count; i++)
        if (case_find(gt, pred->files[i].name) < 0)
            return error_set("%s has no reference mask: expected %s/%s_gt.nii.gz (or %s.nii.gz, "
                             ".nii, .png) in %s", pred->files[i].path, gt->root,
                             pred->files[i].name, pred->files[i].name, o->gt_dir);
    return 0;
}

static int check_pair(const CaseFile *pf, const Mask *p, const CaseFile *gf, const Mask *g)
{
    if (memcmp(p->dim, g->dim, sizeof p->dim))
        return error_set("%s (%dx%dx%dx%d) and its reference %s (%dx%dx%dx%d) differ in size",
                         pf->path, p->dim[0], p->dim[1], p->dim[2], p->dim[3], gf->path,
                         g->dim[0], g->dim[1], g->dim[2], g->dim[3]);
    for (int a = 0; a < 3; a++)
        if (fabs(p->spacing[a] - g->spacing[a]) > 1e-3 * g->spacing[a])
            return error_set("%s and its reference %s differ in voxel spacing (%g and %g mm "
                             "along axis %d)", pf->path, gf->path, p->spacing[a], g->spacing[a], a);
    return 0;
}

/* mean and sample sd of the finite values; returns how many there were */
static int mean_sd(const double *x, int n, double *mean, double *sd)
{
    double s = 0, ss = 0;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i])) s += x[i], m++;
    *mean = m ? s / m : NAN;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i])) ss += (x[i] - *mean) * (x[i] - *mean);
    *sd = m > 1 ? sqrt(ss / (m - 1)) : m ? 0 : NAN;
    return m;
}

/* A reference mask whose dataset.cfg lists its own label values (classmap.h): its values
 * as classes, as predictions hold them. */
static int map_reference(const CaseFile *f, const ClassMap *map, Mask *m)
{
    size_t n = (size_t)m->dim[0] * m->dim[1] * m->dim[2] * m->dim[3];
    for (size_t i = 0; i < n; i++) {
        int c = map->value_class[m->labels[i]];
        if (c < 0) {
            char values[200];
            return error_set("%s: value %d at voxel %zu is not a label %s (the labels: of "
                             "dataset.cfg)", f->path, m->labels[i], i,
                             classmap_values_str(map, values, sizeof values));
        }
        m->labels[i] = (uint8_t)c;
    }
    return 0;
}

static void print_summary(FILE *out, const SurfaceScore *scores, int cases, unsigned classes,
                          const ClassMap *names)
{
    fprintf(out, "%-11s %5s  %-17s  %-21s  %-21s  %s\n", "class", "cases", "Dice", "HD95 (mm)",
            "ASSD (mm)", "pooled Dice");
    double *x = xmalloc(sizeof *x * (size_t)cases);
    for (int c = 1; c < MAX_LABEL; c++) {
        if (!(classes & 1u << c)) continue;
        double md, sd, mh, sh, ma, sa;
        int64_t inter = 0, sum = 0;
        for (int i = 0; i < cases; i++) {
            const SurfaceScore *s = &scores[(size_t)i * MAX_LABEL + c];
            x[i] = s->dice;
            inter += s->inter;
            sum += s->pred + s->truth;
        }
        mean_sd(x, cases, &md, &sd);
        for (int i = 0; i < cases; i++) x[i] = scores[(size_t)i * MAX_LABEL + c].hd95;
        int defined = mean_sd(x, cases, &mh, &sh);
        for (int i = 0; i < cases; i++) x[i] = scores[(size_t)i * MAX_LABEL + c].assd;
        mean_sd(x, cases, &ma, &sa);
        const char *name = classmap_name(names, c);
        fprintf(out, "%-11s %5d  %.4f ± %.4f    %8.3f ± %-8.3f    %8.3f ± %-8.3f    %.4f",
                name, cases, md, sd, mh, sh, ma, sa, sum ? 2.0 * inter / sum : 1.0);
        if (defined < cases)
            fprintf(out, "   (distances undefined in %d cases: one mask empty)", cases - defined);
        fputc('\n', out);
    }
    free(x);
}

static int write_csv(const char *path, const CaseList *gt, const SurfaceScore *scores,
                     unsigned classes)
{
    AtomicFile *af = atomic_open(path);
    if (!af) return -1;
    FILE *f = atomic_stream(af);
    fprintf(f, "case,class,dice,hd95,assd\n");
    for (int i = 0; i < gt->count; i++)
        for (int c = 1; c < MAX_LABEL; c++) {
            if (!(classes & 1u << c)) continue;
            const SurfaceScore *s = &scores[(size_t)i * MAX_LABEL + c];
            csv_put_text(f, gt->files[i].name, 1);
            csv_put_number(f, c, 0);
            csv_put_number(f, s->dice, 0);
            csv_put_number(f, s->hd95, 0);
            csv_put_number(f, s->assd, 0);
            fputc('\n', f);
        }
    return atomic_commit(af);
}

int eval_masks(const MaskEvalOptions *o, FILE *summary)
{
    float png_spacing;
    ClassMap map;
    if (dataset_cfg_describe(o->gt_dir, &png_spacing, &map)) return -1;
    unsigned classes = o->classes ? o->classes : map.labelled;
    classes &= (1u << MAX_LABEL) - 2;
    CaseList pred, gt;
    if (case_list(o->pred_dir, CASE_MASKS, &pred)) return -1;
    if (case_list(o->gt_dir, CASE_MASKS, &gt)) {
        case_list_free(&pred);
        return -1;
    }
    int rc = match_cases(&pred, &gt, o);
    SurfaceScore *scores = xcalloc((size_t)gt.count * MAX_LABEL, sizeof *scores);
    for (int i = 0; i < gt.count && !rc; i++) {
        const CaseFile *gf = &gt.files[i], *pf = &pred.files[case_find(&pred, gf->name)];
        Mask p = {0}, g = {0};
        rc = read_mask(pf, png_spacing, &p);
        if (!rc) rc = read_mask(gf, png_spacing, &g);
        if (!rc && map.by_value) rc = map_reference(gf, &map, &g);
        if (!rc) rc = check_pair(pf, &p, gf, &g);
        for (int c = 1; c < MAX_LABEL && !rc; c++)
            if (classes & 1u << c)
                surface_score(p.labels, g.labels, g.dim, g.spacing, (uint8_t)c,
                              &scores[(size_t)i * MAX_LABEL + c]);
        free(p.labels);
        free(g.labels);
    }
    if (!rc) rc = write_csv(o->csv_path, &gt, scores, classes);
    if (!rc && summary) {
        fprintf(summary, "%s against %s: %d cases\n", o->pred_dir, o->gt_dir, gt.count);
        print_summary(summary, scores, gt.count, classes, &map);
    }
    free(scores);
    case_list_free(&pred);
    case_list_free(&gt);
    return rc;
}
