/* Overlap and surface-distance metrics of one class in a predicted and a reference mask,
 * as MedPy (medpy.metric.binary) defines them, the definitions the ACDC challenge used:
 *
 *   dice  = 2 |P ∩ G| / (|P| + |G|)
 *   surface of a mask A: A XOR erode(A), erosion with the 6-connected 3-D cross (4-connected
 *         in 2-D), voxels outside the volume counting as background (scipy's
 *         binary_erosion with border_value 0), so a mask touching the edge has surface there
 *   d(a, B) = Euclidean distance in mm, voxel spacing applied, from surface voxel a of one
 *         mask to the nearest surface voxel of the other (an exact distance transform)
 *   hd95  = 95th percentile (linear interpolation, numpy's default) of d over both
 *         directions pooled: {d(p, S_G) : p in S_P} ∪ {d(g, S_P) : g in S_G}
 *   assd  = mean(mean_p d(p, S_G), mean_g d(g, S_P)): the mean of the two directions'
 *         average distances (medpy.metric.binary.assd).
 * Empty masks (MedPy raises an error): both empty -> dice 1, hd95 0, assd 0 (the prediction
 * is right); one empty -> dice 0, hd95 and assd NaN (undefined; left out of means).
 *
 * Volumes are (nx, ny, nz, nt), x fastest. A volume with nz = 1 is 2-D (4-connected
 * erosion, as MedPy gives a 2-D array); a 4-D volume is scored frame by frame in 3-D with
 * the frames' distances pooled. */
#ifndef REUSENET_SURFACE_METRICS_H
#define REUSENET_SURFACE_METRICS_H

#include <stdint.h>

typedef struct SurfaceScore {
    double dice, hd95, assd;
    int64_t inter, pred, truth;     /* voxel counts |P ∩ G|, |P|, |G| (for pooled Dice) */
} SurfaceScore;

/* Squared Euclidean distance transform (Felzenszwalb & Huttenlocher 2012, separable, one
 * lower envelope of parabolas per line): out[i] = min over voxels j with feature[j] != 0 of
 * sum_a (spacing[a] (i_a - j_a))^2; INFINITY when there is no feature. dim = {nx, ny, nz}. */
void edt_squared(const uint8_t *feature, const int dim[3], const double spacing[3], double *out);

/* The surface of mask (voxels with value == label), as 0/1 into border. */
void surface_of(const uint8_t *mask, uint8_t label, const int dim[3], uint8_t *border);

/* Metrics of class `label` between pred and truth, volumes of dims dim[4]. */
void surface_score(const uint8_t *pred, const uint8_t *truth, const int dim[4],
                   const double spacing[3], uint8_t label, SurfaceScore *out);

/* The q-th percentile (0..100) of x[0..n) with linear interpolation, as numpy.percentile;
 * sorts x. n >= 1. */
double percentile_linear(double *x, int64_t n, double q);

#endif
