"""The paired bootstrap of the swap scan (reuse/bootstrap.c) recomputed with NumPy and
SciPy, from the files tests/test_swap_stats.c writes:

    counts.npy   int64 (2, P, 3, K): per-patient TP, |P_c|, |G_c| of baseline and modified
    draw.npy     int64 (B, P): the C program's resamples (indices into the P patients)
    evaluated    the classes in the mean, as a bit mask (argv[2])

Prints: lo hi (the 2.5th and 97.5th percentiles of the resampled differences of pooled
mean Dice, np.percentile's default linear rule), then the p-value of a chi-square test
that the drawn indices are uniform over the patients.

Usage: python3 tests/check_bootstrap.py DIR EVALUATED
"""
import sys

import numpy as np
from scipy import stats


def pooled_mean(counts, evaluated):
    """counts (..., 3, K) summed over patients already: Dice per class, mean over evaluated."""
    tp, pred, truth = counts[..., 0, :], counts[..., 1, :], counts[..., 2, :]
    denom = pred + truth
    dice = np.where(denom > 0, 2.0 * tp / np.maximum(denom, 1), 1.0)
    k = counts.shape[-1]
    mask = np.array([(evaluated >> c) & 1 for c in range(k)], dtype=bool)
    return dice[..., mask].mean(axis=-1)


def main():
    d, evaluated = sys.argv[1], int(sys.argv[2])
    counts = np.load(f"{d}/counts.npy")
    draw = np.load(f"{d}/draw.npy")
    base = counts[0][draw].sum(axis=1)          # (B, 3, K)
    mod = counts[1][draw].sum(axis=1)
    delta = pooled_mean(mod, evaluated) - pooled_mean(base, evaluated)
    lo, hi = np.percentile(delta, [2.5, 97.5])
    patients = counts.shape[1]
    freq = np.bincount(draw.ravel(), minlength=patients)
    p = stats.chisquare(freq).pvalue
    print(f"{lo:.17g} {hi:.17g} {p:.6g}")


if __name__ == "__main__":
    main()
