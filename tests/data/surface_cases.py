#!/usr/bin/env python3
"""Mask pairs for `reusenet eval --pred/--gt`, with the metrics computed independently the
way MedPy (medpy.metric.binary) does, from SciPy alone:
  surface = mask XOR binary_erosion(mask, generate_binary_structure(ndim, 1))
  distances = distance_transform_edt(~other_surface, sampling=spacing)[surface]
  hd95 = percentile(hstack(both directions), 95); assd = mean(mean(a->b), mean(b->a))
Empty masks: both empty -> dice 1, hd95 0, assd 0; one empty -> dice 0, distances empty.

  surface_cases.py DIR     DIR/pred/*.nii.gz, DIR/gt/*_gt.nii.gz and DIR/expected.csv
"""
import os
import sys

import numpy as np
import nibabel as nib
from scipy import ndimage


def surface_distances(a, b, spacing):
    st = ndimage.generate_binary_structure(a.ndim, 1)
    sa = a ^ ndimage.binary_erosion(a, structure=st, iterations=1)
    sb = b ^ ndimage.binary_erosion(b, structure=st, iterations=1)
    dt = ndimage.distance_transform_edt(~sb, sampling=spacing)
    return dt[sa]


def metrics(p, g, spacing):
    if not p.any() and not g.any():
        return 1.0, 0.0, 0.0
    dice = 2.0 * (p & g).sum() / (p.sum() + g.sum())
    if not p.any() or not g.any():
        return dice, None, None
    ab, ba = surface_distances(p, g, spacing), surface_distances(g, p, spacing)
    return dice, np.percentile(np.hstack((ab, ba)), 95), np.mean((ab.mean(), ba.mean()))


def blobs(shape, rng, count):
    m = np.zeros(shape, np.uint8)
    grid = np.indices(shape)
    for _ in range(count):
        c = [rng.uniform(0, s) for s in shape]
        r = rng.uniform(2, max(3, min(shape[:2]) / 3))
        label = rng.integers(1, 4)
        d = sum(((grid[i] - c[i]) * (1.0 if i < 2 else 2.5)) ** 2 for i in range(len(shape)))
        m[d < r * r] = label
    return m


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "pred"), exist_ok=True)
    os.makedirs(os.path.join(out, "gt"), exist_ok=True)
    rng = np.random.default_rng(3)
    cases = [("a3d", (23, 19, 7), (1.3, 0.9, 6.5)), ("b3d", (17, 30, 5), (0.7, 1.7, 10.0)),
             ("c2d", (29, 21), (1.1, 0.6)), ("d3d", (15, 14, 4), (2.0, 1.0, 3.0))]
    rows = []
    for name, shape, spacing in cases:
        g = blobs(shape, rng, 4)
        p = g.copy()
        # move, grow and cut: a realistic, imperfect prediction touching the volume's edge
        p = np.roll(p, rng.integers(-2, 3), axis=0)
        p[ndimage.binary_dilation(p == 3) & (p == 0)] = 3
        p[: shape[0] // 5] = 0
        p[-1, :] = np.where(g[-1, :] > 0, 2, p[-1, :])
        if name == "d3d":             # class 1 only in the prediction, class 2 in neither
            g[g == 1] = 0
            p[g == 2] = 0
            g[g == 2] = 0
            p[2:5, 2:5] = 1
        aff = np.diag(list(spacing) + [1.0] * (4 - len(spacing)))
        nib.save(nib.Nifti1Image(p, aff), os.path.join(out, "pred", name + ".nii.gz"))
        nib.save(nib.Nifti1Image(g, aff), os.path.join(out, "gt", name + "_gt.nii.gz"))
        for c in (1, 2, 3):
            d, h, a = metrics(p == c, g == c, spacing)
            rows.append("%s,%d,%.17g,%s,%s" % (name, c, d, "" if h is None else "%.17g" % h,
                                                "" if a is None else "%.17g" % a))
    with open(os.path.join(out, "expected.csv"), "w") as f:
        f.write("case,class,dice,hd95,assd\n" + "\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
