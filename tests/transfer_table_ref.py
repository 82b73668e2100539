"""Reference for tests/test_transfer.c: Table 1 recomputed with NumPy and SciPy from the
runs' final Dice (transfer/runs.csv), compared with transfer/table.csv.
  python3 tests/transfer_table_ref.py STUDY_DIR
Per (n, configuration): mean and sd (ddof=1) of mean_dice, the 95 % t-interval of the mean,
the paired difference to random init on the same seed and subset with its t-interval, and
SciPy's two-sided Wilcoxon signed-rank p (exact); a plan's rows (S freeze, S fine-tune) the
same against S all fine-tune. Prints "ok ROWS" or the first mismatch.
"""
import csv
import math
import sys

import numpy as np
from scipy import stats


def t_interval(x):
    x = np.asarray(x, dtype=float)
    if len(x) < 2:
        return float(x.mean()), math.nan, math.nan
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    return float(x.mean()), float(x.mean() - half), float(x.mean() + half)


def paired(mine, base, key, cols):
    """mean paired difference to base (by seed and subset), t-interval, Wilcoxon p"""
    d = [float(r["mean_dice"]) - base[key(r)] for r in mine]
    nz = [v for v in d if v != 0]
    p = (float(stats.wilcoxon(nz, zero_method="wilcox", correction=False, mode="exact").pvalue)
         if len(d) > 1 and nz else math.nan)
    return dict(zip(cols, t_interval(d) + (p,)))


def number(cell):
    return math.nan if cell == "" else float(cell)


def main(study):
    with open(f"{study}/transfer/runs.csv") as f:
        runs = list(csv.DictReader(f))
    with open(f"{study}/transfer/table.csv") as f:
        table = list(csv.DictReader(f))
    key = lambda r: (r["seed"], r["subset"])
    for row in table:
        mine = [r for r in runs if r["n"] == row["n"] and r["configuration"] == row["configuration"]]
        base = {key(r): float(r["mean_dice"]) for r in runs
                if r["n"] == row["n"] and r["configuration"] == "random init"}
        x = [float(r["mean_dice"]) for r in mine]
        mean, lo, hi = t_interval(x)
        expect = {"runs": len(x), "mean": mean, "mean_ci_lo": lo, "mean_ci_hi": hi,
                  "mean_sd": float(np.std(x, ddof=1)) if len(x) > 1 else math.nan}
        config = row["configuration"]
        cols = ("delta_random", "delta_ci_lo", "delta_ci_hi", "p_value")
        expect.update(paired(mine, base, key, cols) if config != "random init"
                      else dict.fromkeys(cols, math.nan))
        cols = ("delta_all", "delta_all_ci_lo", "delta_all_ci_hi", "p_all")
        source = config.rsplit(" ", 1)[0]
        all_runs = {key(r): float(r["mean_dice"]) for r in runs
                    if r["n"] == row["n"] and r["configuration"] == source + " all fine-tune"}
        is_plan = config.endswith(" freeze") or (config.endswith(" fine-tune") and
                                                 not config.endswith(" all fine-tune"))
        expect.update(paired(mine, all_runs, key, cols) if is_plan and all_runs
                      else dict.fromkeys(cols, math.nan))
        for col, want in expect.items():
            got = number(row[col])
            # the runs' Dice have 4 decimals, the table's cells 4 decimals (p: 4 digits)
            tol = 2e-4 * max(1.0, abs(want)) if not col.startswith("p_") else 1e-3
            if math.isnan(want) != math.isnan(got) or (not math.isnan(want) and abs(got - want) > tol):
                print(f"mismatch n={row['n']} {row['configuration']} {col}: table {row[col]!r}, "
                      f"reference {want!r}")
                return 1
    print(f"ok {len(table)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
