"""Independent NumPy/SciPy implementations of the predictors of reuse/ (tests/test_predictors.c
runs this and compares): linear assignment, unbiased linear CKA, LogME, LEEP, Kendall's tau-b.

usage: predictors_ref.py lsa COST.npy            -> the column of each row, then the total
       predictors_ref.py cka X.npy Y.npy         -> CKA
       predictors_ref.py logme F.npy Y.npy       -> LogME
       predictors_ref.py leep P.npy Y.npy        -> LEEP (P: N x Z softmax probabilities)
       predictors_ref.py kendall XY.npy          -> tau-b of the two rows
Numbers are printed with 17 significant digits."""
import sys

import numpy as np
import scipy.optimize
import scipy.stats


def hsic1(k, l):
    """Unbiased HSIC (Song et al. 2012, eq. 5) of two Gram matrices."""
    n = k.shape[0]
    k = k.copy()
    l = l.copy()
    np.fill_diagonal(k, 0)
    np.fill_diagonal(l, 0)
    one = np.ones(n)
    return (np.trace(k @ l) + (one @ k @ one) * (one @ l @ one) / ((n - 1) * (n - 2))
            - 2.0 / (n - 2) * (one @ k @ l @ one)) / (n * (n - 3))


def cka(x, y):
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    x = x - x.mean(0)
    y = y - y.mean(0)
    k, l = x @ x.T, y @ y.T
    return hsic1(k, l) / np.sqrt(hsic1(k, k) * hsic1(l, l))


def logme(f, y):
    """You et al. 2021 (Algorithm 1, with the 1e-5 of their code in the denominators), the
    fixed point iterated to convergence."""
    eps = 1e-5
    f = f.astype(np.float64)
    n, d = f.shape
    s, v = np.linalg.eigh(f.T @ f)
    s = np.clip(s, 0, None)
    evidences = []
    for c in range(int(y.max()) + 1):
        t = (y == c).astype(np.float64)
        z = v.T @ (f.T @ t)
        alpha, beta = 1.0, 1.0
        for _ in range(1000):
            gamma = (beta * s / (alpha + beta * s)).sum()
            m = v @ (beta * z / (alpha + beta * s))
            a_new = gamma / (m @ m + eps)
            b_new = (n - gamma) / (((t - f @ m) ** 2).sum() + eps)
            done = abs(a_new / b_new - alpha / beta) <= 1e-12 * (alpha / beta)
            alpha, beta = a_new, b_new
            if done:
                break
        m = v @ (beta * z / (alpha + beta * s))
        ev = (d / 2 * np.log(alpha) + n / 2 * np.log(beta) - 0.5 * np.log(alpha + beta * s).sum()
              - beta / 2 * (((t - f @ m) ** 2).sum() + eps) - alpha / 2 * (m @ m + eps) - n / 2 * np.log(2 * np.pi))
        evidences.append(ev / n)
    return float(np.mean(evidences))


def leep(p, y):
    """Nguyen et al. 2020, eq. 1-2."""
    p = p.astype(np.float64)
    n = p.shape[0]
    onehot = np.zeros((n, int(y.max()) + 1))
    onehot[np.arange(n), y] = 1
    joint = onehot.T @ p / n
    cond = joint / joint.sum(0, keepdims=True)
    return float(np.mean(np.log((p @ cond.T)[np.arange(n), y])))


def main():
    what, args = sys.argv[1], [np.load(a) for a in sys.argv[2:]]
    if what == "lsa":
        rows, cols = scipy.optimize.linear_sum_assignment(args[0])
        print(" ".join(str(c) for c in cols))
        print("%.17g" % args[0][rows, cols].sum())
    elif what == "cka":
        print("%.17g" % cka(*args))
    elif what == "logme":
        print("%.17g" % logme(*args))
    elif what == "leep":
        print("%.17g" % leep(*args))
    elif what == "kendall":
        print("%.17g" % scipy.stats.kendalltau(args[0][0], args[0][1]).statistic)
    else:
        sys.exit("unknown: " + what)


if __name__ == "__main__":
    main()
