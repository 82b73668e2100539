"""Reference for tests/test_report_kinds.c: the report's "Which kinds matter" numbers from
NumPy/SciPy. Each argument is a case, its lists comma-separated and split by '/':
  mean:X             a kind's deltas over layers
  bn:RM/RV/RW/RB     d_l = (RM + RV) / 2 - (RW + RB) / 2
  conv:W/B           d_l = W - B
Prints per case "mean lo hi p": the mean, its 95 % t-interval and the Wilcoxon
signed-rank p (exact; zeros dropped, no continuity correction), as %.17g.
"""
import sys
import warnings

import numpy as np
from scipy import stats

warnings.simplefilter("ignore")


def lists(spec):
    return [np.array([float(v) for v in part.split(",")]) for part in spec.split("/")]


for arg in sys.argv[1:]:
    what, spec = arg.split(":", 1)
    x = lists(spec)
    if what == "mean":
        d = x[0]
    elif what == "bn":
        d = (x[0] + x[1]) / 2 - (x[2] + x[3]) / 2
    else:
        d = x[0] - x[1]
    n = len(d)
    lo, hi = stats.t.interval(0.95, n - 1, loc=d.mean(), scale=stats.sem(d))
    p = stats.wilcoxon(d, zero_method="wilcox", correction=False, mode="exact").pvalue
    print("%.17g %.17g %.17g %.17g" % (d.mean(), lo, hi, p))
