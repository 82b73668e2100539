/* reusenet predict: label masks for new scans (train/predict.h does the per-slice work). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "datasets/case_list.h"
#include "datasets/dataset.h"
#include "datasets/nifti.h"
#include "datasets/pngio.h"
#include "engine/blas.h"
#include "engine/error.h"
#include "engine/fsutil.h"
#include "engine/npy.h"
#include "models/checkpoint.h"
#include "train/evaluate.h"
#include "train/predict.h"
#include "util/progress.h"

typedef struct PredictRun {
    Predictor pred;
    bool probabilities, quiet;
    const char *overlays;      /* folder for image | prediction PNGs, or NULL */
    float png_spacing;         /* mm per pixel of PNG input */
} PredictRun;

/* path with its extension ext replaced by "_prob" + new_ext; caller frees. */
static char *prob_path(const char *path, const char *ext, const char *new_ext)
{
    size_t n = strlen(path) - strlen(ext);
    char *p = xmalloc(n + strlen(new_ext) + 6);
    sprintf(p, "%.*s_prob%s", (int)n, path, new_ext);
    return p;
}

/* OVERLAYS/<case>[_tT_zZ].png: the image, and the image with the predicted labels. */
static int write_overlay(const PredictRun *r, const char *name, int t, int z, int volume,
                         const float *img, const uint8_t *labels, int h, int w)
{
    char path[4096], flat[1024];
    snprintf(flat, sizeof flat, "%s", name);
    for (char *c = flat; *c; c++)
        if (*c == '/') *c = '_';
    if (volume) snprintf(path, sizeof path, "%s/%s_t%02d_z%02d.png", r->overlays, flat, t, z);
    else snprintf(path, sizeof path, "%s/%s.png", r->overlays, flat);
    float lo = img[0], hi = img[0];
    for (size_t i = 0; i < (size_t)h * w; i++) {
        lo = img[i] < lo ? img[i] : lo;
        hi = img[i] > hi ? img[i] : hi;
    }
    uint8_t *rgb = xmalloc((size_t)h * w * 6);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t p = (size_t)y * w + x;
            float g = hi > lo ? (img[p] - lo) / (hi - lo) : 0;
            overlay_pixel(g, 0, rgb + ((size_t)y * 2 * w + x) * 3);
            overlay_pixel(g, labels[p], rgb + ((size_t)y * 2 * w + w + x) * 3);
        }
    int rc = pngio_write_rgb(path, rgb, 2 * w, h, 0);
    free(rgb);
    return rc;
}

/* Every 2-D plane (rows y, columns x, as the dataset loader reads them) of a volume. */
static int predict_nifti(PredictRun *r, const CaseFile *in, const char *out, const char *ext)
{
    NiftiVolume img, mask;
    NiftiHeader hdr;
    if (nifti_read_with_header(in->path, &img, &hdr)) return -1;
    const int nx = img.dim[0], ny = img.dim[1], nz = img.dim[2], nt = img.dim[3];
    const int k = r->pred.model->cfg.classes;
    const size_t plane = (size_t)nx * ny, nvox = nifti_voxel_count(&img);
    const float spacing[2] = {img.spacing[1], img.spacing[0]};
    int rh, rw;                  /* every plane has this grid: refused before any work */
    if (predict_grid(&r->pred, ny, nx, spacing, &rh, &rw)) {
        nifti_free(&img);
        return error_prefix("%s", in->path);
    }
    mask = img;
    mask.data = xmalloc(sizeof(float) * nvox);
    float *prob = r->probabilities ? xmalloc(sizeof(float) * nvox * (size_t)k) : NULL;
    float *pp = xmalloc(sizeof(float) * plane * (size_t)k);
    uint8_t *labels = xmalloc(plane);
    Progress pr;
    if (!r->quiet) progress_begin(&pr, in->name, (long)nz * nt);
    int rc = 0;
    for (int t = 0; t < nt && !rc; t++)
        for (int z = 0; z < nz && !rc; z++) {
            size_t at = ((size_t)t * nz + z) * plane;
            rc = predict_slice(&r->pred, img.data + at, ny, nx, spacing, prob ? pp : NULL, labels);
            for (size_t i = 0; i < plane && !rc; i++) mask.data[at + i] = labels[i];
            for (int c = 0; prob && c < k && !rc; c++)     /* class c is the 5th dimension */
                memcpy(prob + (size_t)c * nvox + at, pp + (size_t)c * plane, plane * sizeof(float));
            if (!rc && r->overlays)
                rc = write_overlay(r, in->name, t, z, 1, img.data + at, labels, ny, nx);
            if (!r->quiet) progress_update(&pr, (long)t * nz + z + 1, "slices");
        }
    if (!r->quiet) progress_end(&pr, out);
    if (!rc) rc = nifti_write_like(out, &mask, 1, NIFTI_UINT8, &hdr);
    if (!rc && prob) {
        char *pth = prob_path(out, ext, ext);
        NiftiVolume pv = mask;
        pv.data = prob;
        rc = nifti_write_like(pth, &pv, k, NIFTI_FLOAT32, &hdr);
        free(pth);
    }
    free(prob);
    free(pp);
    free(labels);
    nifti_free(&mask);
    nifti_free(&img);
    return rc;
}

/* A PNG slice -> an 8-bit PNG of labels (and OUT_prob.npy, float32 (K, H, W)). */
static int predict_png(PredictRun *r, const CaseFile *in, const char *out)
{
    GrayImage g;
    if (pngio_read_gray(in->path, &g)) return -1;
    const int h = g.height, w = g.width, k = r->pred.model->cfg.classes;
    const size_t n = (size_t)h * w;
    float *img = xmalloc(sizeof(float) * n), *prob = r->probabilities ? xmalloc(sizeof(float) * n * k) : NULL;
    uint8_t *labels = xmalloc(n);
    uint16_t *px = xmalloc(sizeof(uint16_t) * n);
    for (size_t i = 0; i < n; i++) img[i] = g.pixels[i];
    const float spacing[2] = {r->png_spacing, r->png_spacing};
    int rc = predict_slice(&r->pred, img, h, w, spacing, prob, labels);
    for (size_t i = 0; i < n; i++) px[i] = labels[i];
    if (!rc) rc = pngio_write_gray(out, px, w, h, 8, 1);
    if (!rc && prob) {
        char *pth = prob_path(out, ".png", ".npy");
        rc = npy_write_f32(pth, 3, (int[]){k, h, w}, prob);
        free(pth);
    }
    if (!rc && r->overlays) rc = write_overlay(r, in->name, 0, 0, 0, img, labels, h, w);
    if (!r->quiet && !rc) fprintf(stderr, "%s -> %s\n", in->path, out);
    pngio_free(&g);
    free(img);
    free(prob);
    free(labels);
    free(px);
    return rc;
}

/* One input file: its output must have a matching extension. */
static int predict_file(PredictRun *r, const char *input, const char *out)
{
    const char *ext = case_extension(input), *out_ext = case_extension(out);
    if (!ext) return error_set("%s: not a .nii, .nii.gz or .png file", input);
    int png = !strcmp(ext, ".png");
    if (!out_ext || png != !strcmp(out_ext, ".png"))
        return error_set("%s: the output of %s must end in %s", out, input,
                         png ? ".png" : ".nii or .nii.gz");
    if (fs_check_output(out, &input, 1)) return -1;
    const char *base = strrchr(input, '/') ? strrchr(input, '/') + 1 : input;
    char name[1024];                         /* the case name: file name without extension */
    snprintf(name, sizeof name, "%.*s", (int)(strlen(base) - strlen(ext)), base);
    CaseFile f = {(char *)input, name, (char *)input, png};
    return png ? predict_png(r, &f, out) : predict_nifti(r, &f, out, out_ext);
}

/* Every case of a folder into OUT/<the same path>. */
static int predict_folder(PredictRun *r, const char *input, const char *out)
{
    CaseList cases;
    if (case_list(input, CASE_IMAGES, &cases)) return -1;
    if (fs_is_file(out)) {
        case_list_free(&cases);
        return error_set("%s: is a file; for the folder %s give an output folder", out, input);
    }
    const char *root = cases.root;      /* masks have the images' names: they would replace them */
    if (fs_check_output(out, &root, 1)) {
        case_list_free(&cases);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < cases.count && !rc; i++) {
        const CaseFile *f = &cases.files[i];
        char *path = fs_join(out, f->rel), *slash = strrchr(path, '/');
        *slash = '\0';
        rc = make_dirs(path);
        *slash = '/';
        if (!rc) rc = f->png ? predict_png(r, f, path)
                             : predict_nifti(r, f, path, case_extension(f->rel));
        free(path);
    }
    if (!rc && !r->quiet) fprintf(stderr, "%d cases -> %s\n", cases.count, out);
    case_list_free(&cases);
    return rc;
}

int cmd_predict(int argc, char **argv)
{
    const char *weights = NULL, *input = NULL, *out = NULL, *overlays = NULL;
    int size = 0, threads = 0;
    bool probabilities = false, quiet = false;
    const Option opts[] = {
        {"--weights", OPT_STRING, &weights, "FILE  segmentation checkpoint", true},
        {"--input", OPT_STRING, &input, "IN  .nii/.nii.gz (2-D to 4-D) or .png file, or a folder "
         "of them (flat, ACDC layout, or PNG layout's images/)", true},
        {"-o", OPT_STRING, &out, "OUT  mask file (same kind as IN), or a folder for a folder", true},
        {"--probabilities", OPT_FLAG, &probabilities, "also write class probabilities (float32): "
         "OUT_prob.nii[.gz] (classes along dim 5) or OUT_prob.npy (K,H,W) for PNG", false},
        {"--size", OPT_INT, &size, "S  window size (default: the checkpoint's training size, "
         "else 128)", false},
        {"--overlays", OPT_STRING, &overlays, "DIR  write image | prediction PNGs per slice", false},
        {"--threads", OPT_INT, &threads, THREADS_HELP, false},
        {"--quiet", OPT_FLAG, &quiet, "no progress output", false},
    };
    const OptionSpec spec = {"reusenet predict", "Label masks (uint8, on the input's grid and "
                             "header) for new scans, with the training preprocessing applied "
                             "and undone.", NULL, 0, 0, opts, sizeof opts / sizeof opts[0]};
    int rc = options_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return rc == 1 ? 0 : rc;
    engine_set_threads(threads);
    Model m;
    CheckpointPreprocess pp;
    if (checkpoint_load_preprocess(&m, weights, &pp)) {
        return cli_fail("predict");
    }
    PredictRun r = {.probabilities = probabilities, .quiet = quiet, .overlays = overlays,
                    .png_spacing = 1.0f};
    int s = size > 0 ? size : pp.size > 0 ? pp.size : 128;
    int dir = fs_is_dir(input);
    rc = predictor_init(&r.pred, &m, s, pp.spacing_mm) ? error_prefix("%s", weights) : 0;
    if (!rc && !dir && !fs_is_file(input)) rc = error_set("%s: no such file or folder", input);
    if (!rc && overlays) rc = make_dirs(overlays);
    ClassMap classes;
    if (!rc && dir) rc = dataset_cfg_describe(input, &r.png_spacing, &classes);
    if (!rc) rc = dir ? predict_folder(&r, input, out) : predict_file(&r, input, out);
    if (rc) cli_fail("predict");
    predictor_free(&r.pred);
    model_free(&m);
    return rc ? 1 : 0;
}
