#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datasets/nifti.h"
#include "datasets/synth.h"
#include "datasets/synth_anatomy.h"
#include "engine/error.h"
#include "engine/fsutil.h"
#include "engine/staged_dir.h"

/* ---- presets */

typedef struct Preset {
    const char *name;
    int patients, size, slices_min, slices_max;
    double spacing_lo, spacing_hi;     /* in-plane mm, drawn per patient */
    double slice_gap;                  /* mm between slices */
    double t_first, t_last;            /* slice range between base (0) and apex (1) */
    int inversion_recovery;            /* frames are the 11 TIs (else ED and ES) */
    double level[TISSUE_COUNT];        /* bSSFP signal per tissue, blood = 1 */
    double noise;                      /* Rician sigma relative to the blood signal */
    double bias;                       /* strength of the smooth coil shading */
    double gain_lo, gain_hi;           /* stored value of the blood signal */
    unsigned classes;                  /* labelled classes, bit c */
    int datatype;                      /* NIfTI storage type of the images */
    const char *classes_text;
} Preset;

/* Tissue order: air, muscle, fat, lung, liver, blood, myocardium. */
static const Preset PRESETS[] = {
    {"acdc", 100, 192, 8, 10, 1.35, 1.65, 10.0, 0.0, 1.0, 0,
     {0, 0.30, 0.85, 0.06, 0.35, 1.0, 0.28}, 0.035, 0.25, 250, 700, 0xE, NIFTI_INT16, "1 2 3"},
    {"t1", 90, 160, 5, 5, 1.30, 1.45, 8.0, 0.1, 0.82, 1,
     {0}, 0.025, 0.2, 800, 1400, 1u << 2, NIFTI_UINT16, "2"},
    {"rvsc", 32, 192, 6, 9, 0.85, 0.95, 8.4, 0.0, 0.95, 0,
     {0, 0.42, 1.05, 0.10, 0.50, 0.82, 0.38}, 0.06, 0.5, 150, 190, 1u << 1, NIFTI_UINT8, "1"},
};
enum { PRESET_COUNT = sizeof PRESETS / sizeof PRESETS[0] };

/* Native T1 (ms) and proton density per tissue at 1.5 T (blood ~1600 ms, myocardium
 * ~1000 ms, liver ~600 ms, fat ~300 ms), and the 11 inversion times (ms) of the series,
 * spread so the nulls of myocardium (T1 ln 2 ~ 690 ms) and blood (~1110 ms) fall between. */
static const double T1_MS[TISSUE_COUNT] = {1000, 900, 300, 1200, 600, 1600, 1000};
static const double PD[TISSUE_COUNT] = {0, 0.70, 0.90, 0.12, 0.70, 1.0, 0.75};
static const double TI_MS[11] = {100, 180, 260, 350, 500, 800, 1100, 1500, 2000, 2800, 3800};
/* Relative amplitude of fine texture per tissue (lung: its vessels). */
static const double TEXTURE[TISSUE_COUNT] = {0, 0.08, 0.05, 0.4, 0.06, 0.03, 0.05};

static const Preset *find_preset(const char *name)
{
    for (int i = 0; i < PRESET_COUNT; i++)
        if (!strcmp(PRESETS[i].name, name)) return &PRESETS[i];
    return NULL;
}

int synth_defaults(SynthOptions *o, const char *preset)
{
    const Preset *p = find_preset(preset);
    if (!p) return error_set("unknown preset '%s' (acdc, t1 or rvsc)", preset);
    memset(o, 0, sizeof *o);
    snprintf(o->preset, sizeof o->preset, "%s", p->name);
    o->patients = p->patients;
    o->seed = 1;
    o->size = p->size;
    o->noise = 1.0f;
    return 0;
}

/* ---- image formation */

static double uniform(Rng *r, double lo, double hi) { return lo + (hi - lo) * rng_uniform_double(r); }

/* Two independent standard normals (Marsaglia's polar method: Box-Muller without the
 * sine and cosine; about 21% of the candidate points are rejected). */
static void normal_pair(Rng *r, double *a, double *b)
{
    for (;;) {
        double u = 2.0 * rng_u32(r) * (1.0 / 4294967296.0) - 1.0;
        double v = 2.0 * rng_u32(r) * (1.0 / 4294967296.0) - 1.0;
        double s = u * u + v * v;
        if (s > 0 && s < 1) {
            double f = sqrt(-2.0 * log(s) / s);
            *a = u * f;
            *b = v * f;
            return;
        }
    }
}

/* Smooth random texture, unit variance: normals on a grid 4x coarser, bilinearly enlarged. */
static void texture_field(Rng *r, int size, float *out)
{
    int n = size / 4 + 2;
    double *g = xmalloc((size_t)n * n * sizeof *g);
    for (int i = 0; i + 1 < n * n; i += 2) normal_pair(r, &g[i], &g[i + 1]);
    if ((n * n) % 2) { double spare; normal_pair(r, &g[n * n - 1], &spare); }
    for (int y = 0; y < size; y++) {
        double gy = y / 4.0;
        int y0 = (int)gy;
        double ty = gy - y0;
        for (int x = 0; x < size; x++) {
            double gx = x / 4.0;
            int x0 = (int)gx;
            double tx = gx - x0;
            double v = (1 - ty) * ((1 - tx) * g[y0 * n + x0] + tx * g[y0 * n + x0 + 1]) +
                       ty * ((1 - tx) * g[(y0 + 1) * n + x0] + tx * g[(y0 + 1) * n + x0 + 1]);
            out[(size_t)y * size + x] = (float)(v * 1.6);   /* bilinear halves the variance, roughly */
        }
    }
    free(g);
}

/* Coil shading: exp of a random quadratic over the field of view, amplitude `strength`. */
static void bias_field(Rng *r, int size, double strength, float *out)
{
    double c[5];
    for (int i = 0; i < 5; i++) c[i] = strength * 0.5 * (2 * rng_uniform_double(r) - 1);
    for (int y = 0; y < size; y++) {
        double yn = 2.0 * (y + 0.5) / size - 1;
        for (int x = 0; x < size; x++) {
            double xn = 2.0 * (x + 0.5) / size - 1;
            out[(size_t)y * size + x] =
                (float)exp(c[0] * xn + c[1] * yn + c[2] * xn * xn + c[3] * yn * yn + c[4] * xn * yn);
        }
    }
}

/* One image: signal = sum over tissues of fraction * level * (1 + texture), blurred by a
 * small point-spread function ([w, 1-2w, w] in x and y, w = 0.17), times the bias field,
 * with Rician noise sqrt((s + n1)^2 + n2^2), times the gain. */
static void form_image(const float *weights, const double *level, const float *texture,
                       const float *bias, int size, double sigma, double gain, Rng *r, float *tmp,
                       float *out)
{
    size_t n = (size_t)size * size;
    for (size_t i = 0; i < n; i++) {
        const float *w = weights + i * TISSUE_COUNT;
        double s = 0;
        for (int k = 1; k < TISSUE_COUNT; k++)    /* k = 0 is air: no signal */
            if (w[k] != 0) s += w[k] * level[k] * (1 + TEXTURE[k] * texture[i]);
        tmp[i] = (float)s;
    }
    const double wb = 0.17;
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            const float *row = tmp + (size_t)y * size;
            float l = row[x > 0 ? x - 1 : x], c = row[x], rr = row[x + 1 < size ? x + 1 : x];
            out[(size_t)y * size + x] = (float)(wb * l + (1 - 2 * wb) * c + wb * rr);
        }
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            float u = out[(size_t)(y > 0 ? y - 1 : y) * size + x], c = out[(size_t)y * size + x];
            float d = out[(size_t)(y + 1 < size ? y + 1 : y) * size + x];
            tmp[(size_t)y * size + x] = (float)(wb * u + (1 - 2 * wb) * c + wb * d);
        }
    for (size_t i = 0; i < n; i++) {
        double n1, n2;
        normal_pair(r, &n1, &n2);
        double s = tmp[i] * bias[i];
        out[i] = (float)(gain * sqrt((s + sigma * n1) * (s + sigma * n1) + sigma * sigma * n2 * n2));
    }
}

/* ---- one patient */

typedef struct PatientPlan {
    Anatomy anatomy;
    double spacing, gain, sigma;
    double level[TISSUE_COUNT];       /* bSSFP levels, jittered */
    double t1[TISSUE_COUNT], pd[TISSUE_COUNT];
    int slices, frames, es_frame, frame_count;
    int frame_number[11];             /* frameXX numbers of the written frames */
    double t[64];                     /* slice positions, base 0 .. apex 1 */
} PatientPlan;

static void plan_patient(const Preset *p, const SynthOptions *o, Rng *r, PatientPlan *pl)
{
    memset(pl, 0, sizeof *pl);
    anatomy_random(&pl->anatomy, r, -1);
    pl->spacing = uniform(r, p->spacing_lo, p->spacing_hi);
    pl->gain = uniform(r, p->gain_lo, p->gain_hi);
    pl->sigma = p->noise * o->noise * uniform(r, 0.8, 1.25);
    for (int k = 0; k < TISSUE_COUNT; k++) {
        pl->level[k] = p->level[k] * uniform(r, 0.92, 1.08);
        pl->t1[k] = T1_MS[k] * uniform(r, 0.95, 1.05);
        pl->pd[k] = PD[k] * uniform(r, 0.95, 1.05);
    }
    if (pl->anatomy.group != PATHOLOGY_NOR && pl->anatomy.group != PATHOLOGY_ARV)
        pl->t1[TISSUE_MYO] *= uniform(r, 1.04, 1.12);   /* diffuse fibrosis raises native T1 */
    int span = p->slices_max - p->slices_min + 1;
    pl->slices = o->slices > 0 ? o->slices : p->slices_min + (int)rng_below(r, (uint32_t)span);
    double t0 = p->t_first + uniform(r, 0, 0.05), t1 = p->t_last - uniform(r, 0, 0.05);
    for (int i = 0; i < pl->slices; i++)
        pl->t[i] = pl->slices > 1 ? t0 + (t1 - t0) * i / (pl->slices - 1) : (t0 + t1) / 2;
    if (p->inversion_recovery) {
        pl->frames = 11;
        pl->frame_count = 11;
        for (int f = 0; f < 11; f++) pl->frame_number[f] = f + 1;
    } else {
        pl->frames = 2;
        pl->frame_count = !strcmp(p->name, "rvsc") ? 20 : 25 + (int)rng_below(r, 6);
        pl->es_frame = !strcmp(p->name, "rvsc") ? 7 + (int)rng_below(r, 4) : 9 + (int)rng_below(r, 6);
        pl->frame_number[0] = 1;
        pl->frame_number[1] = pl->es_frame;
    }
}

static int write_info_cfg(const char *path, const Preset *p, const PatientPlan *pl, Rng *r)
{
    char text[512];
    const char *group = pathology_name(pl->anatomy.group);
    if (p->inversion_recovery) {
        int n = snprintf(text, sizeof text, "Group: %s\nNbFrame: 11\nTI:", group);
        for (int f = 0; f < 11; f++) n += snprintf(text + n, sizeof text - (size_t)n, " %g", TI_MS[f]);
        snprintf(text + n, sizeof text - (size_t)n, "\n");
    } else {
        double height = uniform(r, 150, 195), weight = uniform(r, 50, 110);
        snprintf(text, sizeof text, "ED: 1\nES: %d\nGroup: %s\nHeight: %.1f\nNbFrame: %d\nWeight: %.1f\n",
                 pl->es_frame, group, height, pl->frame_count, weight);
    }
    return fs_write_text(path, text, 0);
}

static int synth_patient(const char *dir, const Preset *p, const SynthOptions *o, int index)
{
    Rng r;
    rng_seed(&r, o->seed, 0x9a7100000ULL + (uint64_t)index);
    PatientPlan pl;
    plan_patient(p, o, &r, &pl);

    /* synth_write keeps dir below 4000 characters, so these paths fit */
    char id[32], pdir[4096], path[4200];
    snprintf(id, sizeof id, "patient%03d", index + 1);
    if (snprintf(pdir, sizeof pdir, "%s/%s", dir, id) >= (int)sizeof pdir)
        return error_set("%s: path too long", dir);
    if (mkdir(pdir, 0777) != 0) return error_set("%s: cannot create folder: %s", pdir, strerror(errno));
    snprintf(path, sizeof path, "%s/Info.cfg", pdir);
    if (write_info_cfg(path, p, &pl, &r) < 0) return -1;

    int S = o->size, Z = pl.slices;
    size_t plane = (size_t)S * S;
    float *weights = xmalloc(plane * TISSUE_COUNT * sizeof *weights);
    float *texture = xmalloc(plane * sizeof *texture), *bias = xmalloc(plane * sizeof *bias);
    float *tmp = xmalloc(plane * sizeof *tmp);
    uint8_t *labels = xmalloc(plane);
    NiftiVolume img[11], msk[11];
    for (int f = 0; f < pl.frames; f++) {
        img[f] = (NiftiVolume){{S, S, Z, 1}, {(float)pl.spacing, (float)pl.spacing, (float)p->slice_gap, 0}, 0, 0,
                               xmalloc(plane * Z * sizeof(float))};
        msk[f] = img[f];
        msk[f].data = xmalloc(plane * Z * sizeof(float));
    }
    bias_field(&r, S, p->bias, bias);
    TissueLayer layers[ANATOMY_MAX_LAYERS];
    /* bSSFP: frames ED, ES each rendered; IR: one anatomy per slice, 11 contrasts of it. */
    int renders = p->inversion_recovery ? 1 : pl.frames;
    for (int z = 0; z < Z; z++) {
        for (int phase = 0; phase < renders; phase++) {
            int count = anatomy_layers(&pl.anatomy, pl.t[z], phase, 0, 0, layers);
            anatomy_render(layers, count, S, S, pl.spacing, weights, labels);
            texture_field(&r, S, texture);
            int f_lo = p->inversion_recovery ? 0 : phase, f_hi = p->inversion_recovery ? pl.frames : phase + 1;
            for (int f = f_lo; f < f_hi; f++) {
                double level[TISSUE_COUNT];
                for (int k = 0; k < TISSUE_COUNT; k++)
                    level[k] = p->inversion_recovery
                                   ? pl.pd[k] * fabs(1 - 2 * exp(-TI_MS[f] / pl.t1[k]))
                                   : pl.level[k];
                form_image(weights, level, texture, bias, S, pl.sigma, pl.gain, &r, tmp,
                           img[f].data + (size_t)z * plane);
                float *m = msk[f].data + (size_t)z * plane;
                for (size_t i = 0; i < plane; i++) m[i] = p->classes & 1u << labels[i] ? labels[i] : 0;
            }
        }
    }
    int status = 0;
    for (int f = 0; f < pl.frames && !status; f++) {
        snprintf(path, sizeof path, "%s/%s_frame%02d.nii.gz", pdir, id, pl.frame_number[f]);
        status = nifti_write(path, &img[f], p->datatype, 0);
        snprintf(path, sizeof path, "%s/%s_frame%02d_gt.nii.gz", pdir, id, pl.frame_number[f]);
        if (!status) status = nifti_write(path, &msk[f], NIFTI_UINT8, 0);
    }
    for (int f = 0; f < pl.frames; f++) {
        free(img[f].data);
        free(msk[f].data);
    }
    free(weights);
    free(texture);
    free(bias);
    free(tmp);
    free(labels);
    return status;
}

/* ---- the dataset folder */

int synth_write(const char *dir, const SynthOptions *o)
{
    const Preset *p = find_preset(o->preset);
    if (!p) return error_set("unknown preset '%s' (acdc, t1 or rvsc)", o->preset);
    if (o->patients < 1 || o->patients > 9999)
        return error_set("--patients %d: must be 1..9999", o->patients);
    if (o->size < 32 || o->size > 1024) return error_set("--size %d: must be 32..1024", o->size);
    if (o->slices < 0 || o->slices > 64) return error_set("--slices %d: must be 1..64", o->slices);
    if (!(o->noise >= 0 && o->noise <= 10)) return error_set("--noise %g: must be 0..10", (double)o->noise);
    char *tmp = staged_dir_begin(dir);
    if (!tmp) return -1;

    char *errors = xcalloc((size_t)o->patients, 512);
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1)
#endif
    for (int i = 0; i < o->patients; i++)
        if (synth_patient(tmp, p, o, i) < 0)   /* messages are per thread: keep them */
            snprintf(errors + (size_t)i * 512, 512, "%s", error_get());
    int status = 0;
    for (int i = 0; i < o->patients && !status; i++)
        if (errors[(size_t)i * 512]) status = error_set("%s", errors + (size_t)i * 512);
    free(errors);

    if (!status) {
        char cfg[512], path[4200];
        snprintf(cfg, sizeof cfg,
                 "# synthetic dataset written by reusenet data synth\npreset: %s\nclasses: %s\n"
                 "patients: %d\nseed: %llu\nsize: %d\nnoise: %g\n",
                 p->name, p->classes_text, o->patients, (unsigned long long)o->seed, o->size,
                 (double)o->noise);
        snprintf(path, sizeof path, "%s/dataset.cfg", tmp);
        status = fs_write_text(path, cfg, 0);
    }
    if (status) {
        staged_dir_abort(tmp);
        return -1;
    }
    return staged_dir_commit(tmp, dir);
}
