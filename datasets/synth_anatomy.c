#include <math.h>
#include <string.h>

#include "datasets/synth_anatomy.h"
#include "engine/error.h"

const char *pathology_name(Pathology p)
{
    static const char *names[PATHOLOGY_COUNT] = {"NOR", "DCM", "HCM", "MINF", "RV"};
    return p >= 0 && p < PATHOLOGY_COUNT ? names[p] : "?";
}

static double uniform(Rng *r, double lo, double hi) { return lo + (hi - lo) * rng_uniform_double(r); }

/* The heart's sizes and how much it contracts, by group. */
static void draw_heart_sizes(Anatomy *a, Rng *r)
{
    /* Sizes in mm, after typical adult short-axis values (LV diameter ~45-55 mm at ED,
     * wall 7-10 mm; dilated > 60 mm and thin; hypertrophic walls > 13 mm). */
    switch (a->group) {
    case PATHOLOGY_DCM:
        a->r_endo = uniform(r, 29, 36); a->wall = uniform(r, 5, 7);
        a->es_factor = uniform(r, 0.85, 0.93); a->rv_scale = uniform(r, 0.95, 1.15);
        a->rv_es_factor = uniform(r, 0.75, 0.88);
        break;
    case PATHOLOGY_HCM:
        a->r_endo = uniform(r, 17, 22); a->wall = uniform(r, 12, 17);
        a->es_factor = uniform(r, 0.45, 0.58); a->rv_scale = uniform(r, 0.85, 1.0);
        a->rv_es_factor = uniform(r, 0.6, 0.72);
        break;
    case PATHOLOGY_MINF:
        a->r_endo = uniform(r, 25, 31); a->wall = uniform(r, 7, 9);
        a->es_factor = uniform(r, 0.78, 0.88); a->rv_scale = uniform(r, 0.9, 1.1);
        a->rv_es_factor = uniform(r, 0.65, 0.78);
        break;
    case PATHOLOGY_ARV:
        a->r_endo = uniform(r, 20, 25); a->wall = uniform(r, 7, 9);
        a->es_factor = uniform(r, 0.62, 0.72); a->rv_scale = uniform(r, 1.35, 1.6);
        a->rv_es_factor = uniform(r, 0.8, 0.9);
        break;
    default:
        a->r_endo = uniform(r, 21, 26); a->wall = uniform(r, 7, 9.5);
        a->es_factor = uniform(r, 0.62, 0.72); a->rv_scale = uniform(r, 0.9, 1.1);
        a->rv_es_factor = uniform(r, 0.6, 0.72);
        break;
    }
}

/* The heart's position and shape: group features, outline harmonics, RV, papillary
 * muscles and pericardial fat. */
static void draw_heart_form(Anatomy *a, Rng *r)
{
    double endo_shift = uniform(r, 3, 6), infarct_bump = uniform(r, 0.12, 0.22);
    a->endo_shift = a->group == PATHOLOGY_HCM ? endo_shift : 0;
    a->infarct_bump = a->group == PATHOLOGY_MINF ? infarct_bump : 0;

    a->heart_x = uniform(r, -6, 6);
    a->heart_y = uniform(r, -6, 6);
    a->rv_dir = M_PI + uniform(r, 0, 0.4);     /* image left, a little anterior (up) */
    a->infarct_at = a->rv_dir + M_PI + uniform(r, -1.2, 1.2);
    a->lv_ecc = uniform(r, 1.0, 1.12);
    a->lv_rot = uniform(r, 0, M_PI);
    a->lv_h2 = uniform(r, 0, 0.03); a->lv_p2 = uniform(r, 0, 2 * M_PI);
    a->lv_h3 = uniform(r, 0, 0.025); a->lv_p3 = uniform(r, 0, 2 * M_PI);
    a->rv_end = uniform(r, 0.72, 0.88);
    a->rv_h2 = uniform(r, 0, 0.06);
    a->rv_junction = (65 + uniform(r, -8, 8) + (a->group == PATHOLOGY_ARV ? 12 : 0)) * M_PI / 180;
    a->drift_x = uniform(r, -6, 6);
    a->drift_y = uniform(r, -6, 6);
    a->pap_angle = a->rv_dir + M_PI + uniform(r, -0.3, 0.3);
    a->pap_radius = uniform(r, 2.5, 4);
    a->fat_extra = uniform(r, 0.1, 0.3);
    a->fat_h2 = uniform(r, 0.1, 0.22); a->fat_p2 = uniform(r, 0, 2 * M_PI);
    a->fat_h3 = uniform(r, 0.0, 0.08); a->fat_p3 = uniform(r, 0, 2 * M_PI);
}

/* Around the heart: body, lungs, liver, spine and aorta. */
static void draw_thorax(Anatomy *a, Rng *r)
{
    a->body_a = uniform(r, 135, 165);
    a->body_b = uniform(r, 100, 125);
    a->body_y = uniform(r, 20, 35);
    a->body_rot = uniform(r, -0.08, 0.08);
    a->skin_fat = uniform(r, 8, 18);
    a->lung_a = uniform(r, 40, 55);
    a->lung_b = uniform(r, 65, 85);
    a->lung_x = uniform(r, 80, 100);
    a->lung_y = uniform(r, -5, 15);
    a->lung_rot = uniform(r, -0.3, 0.3);
    for (int i = 0; i < 2; i++) {
        a->lung_h2[i] = uniform(r, 0, 0.08);
        a->lung_p2[i] = uniform(r, 0, 2 * M_PI);
    }
    a->liver_a = uniform(r, 70, 90);
    a->liver_b = uniform(r, 45, 60);
    a->liver_x = uniform(r, -80, -60);
    a->liver_y = uniform(r, 50, 70);
    a->liver_rot = uniform(r, -0.4, 0);
    a->liver_start = uniform(r, 0.3, 0.5);
    a->spine_y = a->body_y + a->body_b - uniform(r, 35, 45);
    a->aorta_x = uniform(r, 15, 25);
    a->aorta_y = a->spine_y - uniform(r, 22, 28);
    a->aorta_r = uniform(r, 9, 13);
}

/* The order of the draws is part of the data set: changing it changes every synthetic
 * patient of a seed. */
void anatomy_random(Anatomy *a, Rng *r, int group)
{
    memset(a, 0, sizeof *a);
    /* Always draw the group, so forcing it leaves the other draws unchanged. */
    int drawn = (int)rng_below(r, PATHOLOGY_COUNT);
    a->group = (Pathology)(group >= 0 ? group : drawn);
    draw_heart_sizes(a, r);
    draw_heart_form(a, r);
    draw_thorax(a, r);
}

static Shape ellipse(double cx, double cy, double a, double b, double rot)
{
    Shape s;
    memset(&s, 0, sizeof s);
    s.cx = cx; s.cy = cy; s.a = a; s.b = b; s.rot = rot;
    return s;
}

static TissueLayer layer(Shape s, Tissue tissue, int label)
{
    TissueLayer l = {s, tissue, (uint8_t)label};
    return l;
}

/* sqrt(max(0, 1 - (t / end)^2)): the ellipsoid's radius profile from base to tip. */
static double taper(double t, double end) { double q = t / end; return q < 1 ? sqrt(1 - q * q) : 0; }

/* Body, lungs, liver (apical slices only), spine and aorta, back to front. */
static int thorax_layers(const Anatomy *a, double t, double dx, double dy, TissueLayer *out)
{
    int n = 0;
    /* body: fat under the skin, then muscle and soft tissue */
    out[n++] = layer(ellipse(dx, a->body_y + dy, a->body_a, a->body_b, a->body_rot), TISSUE_FAT, 0);
    out[n++] = layer(ellipse(dx, a->body_y + dy, a->body_a - a->skin_fat, a->body_b - a->skin_fat,
                             a->body_rot), TISSUE_MUSCLE, 0);
    for (int side = 0; side < 2; side++) {
        double sgn = side ? 1 : -1;
        Shape lung = ellipse(sgn * a->lung_x + dx, a->lung_y + dy, a->lung_a, a->lung_b, sgn * a->lung_rot);
        lung.h2 = a->lung_h2[side];
        lung.p2 = a->lung_p2[side];
        out[n++] = layer(lung, TISSUE_LUNG, 0);
    }
    if (t > a->liver_start) {   /* the liver rises into the apical slices */
        double grow = sqrt(fmin(1.0, (t - a->liver_start) / 0.35));
        out[n++] = layer(ellipse(a->liver_x + dx, a->liver_y + dy, a->liver_a * grow,
                                 a->liver_b * grow, a->liver_rot), TISSUE_LIVER, 0);
    }
    out[n++] = layer(ellipse(dx, a->spine_y + dy, 15, 14, 0), TISSUE_FAT, 0);   /* vertebral marrow */
    out[n++] = layer(ellipse(a->aorta_x + dx, a->aorta_y + dy, a->aorta_r, a->aorta_r, 0),
                     TISSUE_BLOOD, 0);
    return n;
}

/* The heart in one slice and phase, in mm. */
typedef struct HeartSlice {
    double endo0, epi0;          /* ED blood-pool and epicardial radii at the base */
    double endo, epi;            /* this slice's and phase's */
    double ux, uy;               /* unit vector LV -> RV */
    double lx, ly;               /* LV centre */
    double k;                    /* the RV's size (no RV when k <= 1) */
    double rv_c, rv_a, rv_b;     /* RV ellipse: centre along (ux, uy) from the LV, axes */
} HeartSlice;

static void heart_slice(const Anatomy *a, double t, int es, double dx, double dy, HeartSlice *h)
{
    /* ES: the base moves towards the apex (t grows), blood pools shrink by the ejection
     * factors, and the myocardial area is kept: epi^2 - endo^2 constant. */
    double te = es ? t * 1.06 : t;
    double endo0 = a->r_endo, epi0 = a->r_endo + a->wall;
    double endo_b = es ? endo0 * a->es_factor : endo0;
    double epi_b = es ? sqrt(endo_b * endo_b + epi0 * epi0 - endo0 * endo0) : epi0;
    h->endo0 = endo0;
    h->epi0 = epi0;
    h->epi = epi_b * taper(te, 1.10);
    h->endo = endo_b * taper(te, 0.97);
    h->ux = cos(a->rv_dir);
    h->uy = sin(a->rv_dir);
    h->lx = a->heart_x + dx + a->drift_x * t - h->ux * 0.45 * epi0;
    h->ly = a->heart_y + dy + a->drift_y * t - h->uy * 0.45 * epi0;

    /* RV: an ellipse along rv_dir whose far side lies T = 0.65 k beyond the LV epicardium
     * (k: the RV's size at this slice and phase) and which meets the LV at +-rv_junction
     * from rv_dir. Its centre c = 0.1 R + T/2 keeps its back (c - a >= -0.9 R) hidden inside
     * the LV drawn over it, so what shows is a crescent. R: the LV's smaller semi-axis. */
    h->k = epi0 * a->rv_scale * taper(te, a->rv_end) * (es ? a->rv_es_factor : 1.0);
    double R = h->epi / a->lv_ecc, T = 0.65 * h->k;
    h->rv_c = 0.1 * R + T / 2;
    h->rv_a = R + T - h->rv_c;
    double jx = (R * cos(a->rv_junction) - h->rv_c) / h->rv_a;
    h->rv_b = R * sin(a->rv_junction) / sqrt(fmax(1 - jx * jx, 0.05));
}

/* Pericardial fat, then the RV's free wall and cavity. */
static int rv_layers(const Anatomy *a, const HeartSlice *h, TissueLayer *out)
{
    int n = 0;
    /* Pericardial fat: an ellipse just inside the outline of both ventricles, so it shows
     * only where its two harmonic lobes and its bump reach beyond the heart (fat sits in
     * the grooves, not as an even ring). */
    double near = -h->epi, far = h->k > 1 ? h->rv_c + h->rv_a + 3 : h->epi;
    double mid = (near + far) / 2;
    Shape fat = ellipse(h->lx + h->ux * mid, h->ly + h->uy * mid, (far - near) / 2 - 2,
                        fmax(h->epi, h->rv_b + 3) - 2, a->rv_dir);
    fat.h2 = a->fat_h2; fat.p2 = a->fat_p2; fat.h3 = a->fat_h3; fat.p3 = a->fat_p3;
    fat.bump = a->fat_extra; fat.bump_at = a->fat_p3 + 1.0; fat.bump_width = 0.5;
    out[n++] = layer(fat, TISSUE_FAT, 0);

    if (h->k > 1) {
        double rcx = h->lx + h->ux * h->rv_c, rcy = h->ly + h->uy * h->rv_c;
        Shape wall = ellipse(rcx, rcy, h->rv_a + 3, h->rv_b + 3, a->rv_dir);   /* RV free wall, unlabelled */
        wall.h2 = a->rv_h2;
        out[n++] = layer(wall, TISSUE_MYO, 0);
        Shape cavity = ellipse(rcx, rcy, h->rv_a, h->rv_b, a->rv_dir);
        cavity.h2 = a->rv_h2;
        out[n++] = layer(cavity, TISSUE_BLOOD, 1);
    }
    return n;
}

/* The LV's myocardium, blood pool and papillary muscles. */
static int lv_layers(const Anatomy *a, const HeartSlice *h, double t, int es, TissueLayer *out)
{
    int n = 0;
    const double epi = h->epi, endo = h->endo;
    Shape epi_s = ellipse(h->lx, h->ly, epi * a->lv_ecc, epi / a->lv_ecc, a->lv_rot);
    epi_s.h2 = a->lv_h2; epi_s.p2 = a->lv_p2; epi_s.h3 = a->lv_h3; epi_s.p3 = a->lv_p3;
    out[n++] = layer(epi_s, TISSUE_MYO, 2);
    if (endo < 1.0) return n;
    /* HCM: the blood pool sits away from the thick septum. MINF: the pool bulges into the
     * thinned infarct wall (a bump in the endocardial radius). */
    double shift = a->endo_shift * endo / h->endo0;
    double ex = h->lx - h->ux * shift, ey = h->ly - h->uy * shift;
    Shape endo_s = ellipse(ex, ey, endo * a->lv_ecc, endo / a->lv_ecc, a->lv_rot);
    endo_s.h2 = a->lv_h2; endo_s.p2 = a->lv_p2;
    endo_s.bump = a->infarct_bump * (epi - endo) / endo;
    endo_s.bump_at = a->infarct_at - a->lv_rot;
    endo_s.bump_width = 0.45;
    out[n++] = layer(endo_s, TISSUE_BLOOD, 3);

    /* Papillary muscles: dark dots in the mid-ventricular blood pool, labelled LV (ACDC
     * includes them in the cavity). */
    if (t > 0.2 && t < 0.75 && endo > 8) {
        double pr = a->pap_radius * (es ? 1.2 : 1.0);
        for (int i = -1; i <= 1; i += 2) {
            double ang = a->pap_angle + i * 0.8;
            out[n++] = layer(ellipse(ex + 0.55 * endo * cos(ang), ey + 0.55 * endo * sin(ang), pr, pr, 0),
                             TISSUE_MYO, 3);
        }
    }
    return n;
}

int anatomy_layers(const Anatomy *a, double t, int es, double dx, double dy, TissueLayer *out)
{
    int n = thorax_layers(a, t, dx, dy, out);
    HeartSlice h;
    heart_slice(a, t, es, dx, dy, &h);
    if (h.epi < 1.0) return n;           /* past the apex */
    n += rv_layers(a, &h, out + n);
    n += lv_layers(a, &h, t, es, out + n);
    CHECK(n <= ANATOMY_MAX_LAYERS, "anatomy_layers: %d layers", n);
    return n;
}

/* Per-layer constants of the distance function, computed once per slice. */
typedef struct Prepared {
    double cos_r, sin_r, inv_a, inv_b, scale;
    int harmonic;
    int x0, x1, y0, y1;      /* pixel bounding box (inclusive) */
} Prepared;

static double shape_distance(const Shape *s, const Prepared *p, double x, double y)
{
    double rx = x - s->cx, ry = y - s->cy;
    double un = (rx * p->cos_r + ry * p->sin_r) * p->inv_a;
    double vn = (-rx * p->sin_r + ry * p->cos_r) * p->inv_b;
    double rho = sqrt(un * un + vn * vn), R = 1;
    if (p->harmonic) {
        double phi = atan2(vn, un);
        R += s->h2 * cos(2 * phi + s->p2) + s->h3 * cos(3 * phi + s->p3);
        if (s->bump != 0) {
            double d = remainder(phi - s->bump_at, 2 * M_PI);
            R += s->bump * exp(-d * d / (2 * s->bump_width * s->bump_width));
        }
    }
    return (rho - R) * p->scale;
}

void anatomy_render(const TissueLayer *layers, int count, int width, int height, double spacing,
                    float *weights, uint8_t *labels)
{
    CHECK(count <= ANATOMY_MAX_LAYERS, "anatomy_render: %d layers", count);
    Prepared prep[ANATOMY_MAX_LAYERS];
    for (int i = 0; i < count; i++) {
        const Shape *s = &layers[i].shape;
        Prepared *p = &prep[i];
        p->cos_r = cos(s->rot);
        p->sin_r = sin(s->rot);
        p->inv_a = 1 / fmax(s->a, 1e-3);
        p->inv_b = 1 / fmax(s->b, 1e-3);
        p->scale = sqrt(fmax(s->a, 1e-3) * fmax(s->b, 1e-3));
        p->harmonic = s->h2 != 0 || s->h3 != 0 || s->bump != 0;
        double reach = fmax(s->a, s->b) * (1 + fabs(s->h2) + fabs(s->h3) + fmax(s->bump, 0)) + 2 * spacing;
        /* pixel x has centre (x + 0.5 - width/2) * spacing */
        p->x0 = (int)floor((s->cx - reach) / spacing + width / 2.0 - 0.5);
        p->x1 = (int)ceil((s->cx + reach) / spacing + width / 2.0 - 0.5);
        p->y0 = (int)floor((s->cy - reach) / spacing + height / 2.0 - 0.5);
        p->y1 = (int)ceil((s->cy + reach) / spacing + height / 2.0 - 0.5);
    }
    for (int y = 0; y < height; y++) {
        double my = (y + 0.5 - height / 2.0) * spacing;
        for (int x = 0; x < width; x++) {
            double mx = (x + 0.5 - width / 2.0) * spacing;
            float w[TISSUE_COUNT] = {1};     /* air until a layer covers it */
            uint8_t label = 0;
            for (int i = 0; i < count; i++) {
                const Prepared *p = &prep[i];
                if (x < p->x0 || x > p->x1 || y < p->y0 || y > p->y1) continue;
                double d = shape_distance(&layers[i].shape, p, mx, my);
                /* fraction of the pixel covered: linear across one pixel around the edge */
                double m = 0.5 - d / spacing;
                if (m <= 0) continue;
                if (m > 1) m = 1;
                for (int k = 0; k < TISSUE_COUNT; k++) w[k] *= (float)(1 - m);
                w[layers[i].tissue] += (float)m;
                if (d < 0) label = layers[i].label;
            }
            memcpy(weights + ((size_t)y * width + x) * TISSUE_COUNT, w, sizeof w);
            labels[(size_t)y * width + x] = label;
        }
    }
}
