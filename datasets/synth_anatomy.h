/* Anatomy of the synthetic cardiac MRI generator: a patient's heart and surroundings as
 * layers of smooth 2-D shapes, and their rasterisation with partial-volume edges.
 *
 * Short-axis slices run from base (t = 0) to apex (t = 1). The LV is a truncated
 * ellipsoid: blood-pool radius R_endo * sqrt(1 - (t / 0.97)^2) and epicardial radius
 * R_epi * sqrt(1 - (t / 1.10)^2), so the apical slice is a disc of myocardium. The RV is an
 * ellipse on the septal side, its back hidden under the LV: what shows is a crescent
 * meeting the LV about 65 degrees either side of the septum; it ends before the apex. Around them: pericardial fat, lungs, chest wall (muscle under a fat
 * layer), liver (apical slices), spine and descending aorta. End-systole shrinks the blood
 * pools (radius times an ejection factor) with myocardial area conserved, so the wall
 * thickens. Pathology-like variants follow ACDC's groups (NOR, DCM, HCM, MINF, RV). */
#ifndef REUSENET_SYNTH_ANATOMY_H
#define REUSENET_SYNTH_ANATOMY_H

#include <stdint.h>

#include "engine/rng.h"

typedef enum Tissue {
    TISSUE_AIR, TISSUE_MUSCLE, TISSUE_FAT, TISSUE_LUNG, TISSUE_LIVER, TISSUE_BLOOD, TISSUE_MYO,
    TISSUE_COUNT
} Tissue;

typedef enum Pathology {
    PATHOLOGY_NOR, PATHOLOGY_DCM, PATHOLOGY_HCM, PATHOLOGY_MINF, PATHOLOGY_ARV, PATHOLOGY_COUNT
} Pathology;

/* A closed shape: an ellipse (centre, semi-axes a along angle rot, b across) whose
 * normalised radius is modulated by 2nd/3rd harmonics and a Gaussian bump in angle:
 *   R(phi) = 1 + h2 cos(2 phi + p2) + h3 cos(3 phi + p3) + bump exp(-d(phi, at)^2 / 2 w^2).
 * Signed distance (mm, approximate): (rho_n - R(phi)) * sqrt(a b), rho_n the normalised
 * radius; negative inside. */
typedef struct Shape {
    double cx, cy, a, b, rot;
    double h2, p2, h3, p3;
    double bump, bump_at, bump_width;
} Shape;

typedef struct TissueLayer {
    Shape shape;
    Tissue tissue;
    uint8_t label;       /* 0 background, 1 RV, 2 myocardium, 3 LV */
} TissueLayer;

enum { ANATOMY_MAX_LAYERS = 24 };

typedef struct Anatomy {
    Pathology group;
    double heart_x, heart_y;        /* centre of LV + RV, mm from the image centre */
    double rv_dir;                  /* direction LV -> RV, radians (about pi: image left) */
    double r_endo, wall;            /* ED blood-pool radius and wall thickness at the base, mm */
    double lv_ecc, lv_rot, lv_h2, lv_p2, lv_h3, lv_p3;
    double endo_shift;              /* blood pool shifted away from the septum (HCM), mm */
    double infarct_at, infarct_bump;/* MINF: direction and relative thinning of the wall */
    double rv_scale, rv_end, rv_h2; /* RV size factor, t where the RV ends, shape */
    double rv_junction;             /* angle between rv_dir and where the RV meets the LV */
    double drift_x, drift_y;        /* LV centre moves this much from base to apex, mm */
    double es_factor, rv_es_factor; /* ES/ED blood-pool radius ratios */
    double pap_angle, pap_radius;   /* papillary muscles */
    double fat_extra, fat_h2, fat_p2, fat_h3, fat_p3;   /* pericardial fat: bump, lobes */
    double body_a, body_b, body_y, body_rot, skin_fat;
    double lung_a, lung_b, lung_x, lung_y, lung_rot, lung_h2[2], lung_p2[2];
    double liver_a, liver_b, liver_x, liver_y, liver_rot, liver_start;
    double spine_y, aorta_x, aorta_y, aorta_r;
} Anatomy;

/* ACDC group code: "NOR", "DCM", "HCM", "MINF", "RV". */
const char *pathology_name(Pathology p);
/* Draw a random patient (group chosen uniformly unless forced >= 0). */
void anatomy_random(Anatomy *a, Rng *r, int group);
/* The layers of the slice at relative position t in phase es (0 ED, 1 ES), everything
 * moved by (dx, dy) mm, back to front. Returns their number. */
int anatomy_layers(const Anatomy *a, double t, int es, double dx, double dy, TissueLayer *out);
/* Rasterise on a width x height grid of `spacing` mm, centre of the grid at (0, 0):
 * weights[(y*width + x)*TISSUE_COUNT + k] the fraction of tissue k in the pixel (each
 * layer covers a fraction clamp(0.5 - dist/spacing, 0, 1) of what is below it), labels the
 * label of the front-most layer containing the pixel centre. */
void anatomy_render(const TissueLayer *layers, int count, int width, int height, double spacing,
                    float *weights, uint8_t *labels);

#endif
