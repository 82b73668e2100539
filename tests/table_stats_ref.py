"""Reference for tests/test_table_stats.c: SciPy's Student t quantiles and Wilcoxon
signed-rank test on seeded random differences. Writes one case per line:
  t  q df value
  w  mode p r_plus n d_1 ... d_n
"""
import sys
import warnings

import numpy as np
from scipy import stats

warnings.simplefilter("ignore")      # "sample size too small for normal approximation"
rng = np.random.default_rng(7)
out = []
for df in (1, 2, 3, 4, 5, 9, 14, 29, 60, 200):
    for q in (0.975, 0.5, 0.9, 0.025, 0.999):
        out.append("t %r %r %r" % (q, df, float(stats.t.ppf(q, df))))
cases = []
for n in (1, 2, 3, 5, 8, 12, 20, 24):              # exact: no ties, no zeros
    cases.append(("exact", rng.normal(0.01, 0.02, n)))
cases.append(("exact", np.array([0.0, 0.03, -0.01, 0.02, 0.05, 0.0, 0.04])))   # zeros dropped
for n in (25, 30, 50):                              # approximation
    cases.append(("approx", rng.normal(0.005, 0.02, n)))
cases.append(("approx", np.array([0.01, -0.01, 0.02, 0.02, 0.03, -0.02, 0.01, 0.04])))  # ties
for mode, d in cases:
    nz = d[d != 0]
    # zero_method="wilcox" drops the zeros; SciPy 1.10 then refuses its exact mode, so the
    # exact reference is taken on the non-zero differences, which is that rule's definition
    res = stats.wilcoxon(nz if mode == "exact" else d, zero_method="wilcox",
                         correction=False, mode=mode)
    r_plus = float(np.sum(stats.rankdata(np.abs(nz))[nz > 0]))
    out.append("w %s %r %r %d %s" % (mode, float(res.pvalue), r_plus, len(d),
                                     " ".join(repr(float(x)) for x in d)))
sys.stdout.write("\n".join(out) + "\n")
