"""Formula fit speed (issue 13, A): a model with terms fitted on 1 million rows, ours
against statsmodels' formula API doing the same fit.

Data: the wage-like table of the tests (log-normal wages rising with education,
concave in experience; ethnicity, smsa and parttime categories), simulated at
``--rows`` rows. Formula: ``log(wage) ~ education + poly(experience, 2) +
C(ethnicity, contr.treatment('cauc')) + smsa + education:parttime``.

"statsmodels" is ``statsmodels.formula.api.ols(F, df).fit()`` with formulaic as its
formula engine (patsy has no ``poly``), ``np.log`` on the left. "Ours" is the pipeline
``train`` fits for the OLS family: the input step (typing every column), the terms
(missing values filled, the design built by formulaic), statsmodels' OLS with the
coefficient table, and the log target with Duan's smearing factor. Each is timed
``--repeat`` times, alternating, after a warm-up; the best time counts. Target: ours
within 1.2x.

    python bench/formula_fit.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))  # the wage-like table the tests simulate

from wage_data import TRUE_FORMULA, wage_frame  # noqa: E402


def ours(df) -> float:
    from mlops_desktop.core.train.families import resolve
    from mlops_desktop.core.train.preprocess import build_pipeline

    start = time.perf_counter()
    model = build_pipeline(resolve(["ols"], "regression")[0], ["education", "experience"],
                           ["ethnicity", "smsa", "parttime"], seed=0, formula=TRUE_FORMULA)
    model.fit(df, df["wage"].to_numpy())
    return time.perf_counter() - start


def statsmodels_formula(df) -> float:
    import statsmodels.formula
    import statsmodels.formula.api as smf

    statsmodels.formula.options.formula_engine = "formulaic"
    start = time.perf_counter()
    smf.ols(TRUE_FORMULA.replace("log(wage)", "np.log(wage)"), df).fit()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    df = wage_frame(args.rows, seed=1)
    print(f"{len(df):,} rows; formula: {TRUE_FORMULA}")
    ours(df.head(20_000))
    statsmodels_formula(df.head(20_000))  # warm-up: imports and first calls
    times: dict[str, list[float]] = {"ours": [], "statsmodels": []}
    for _ in range(args.repeat):
        times["statsmodels"].append(statsmodels_formula(df))
        times["ours"].append(ours(df))
    best = {k: min(v) for k, v in times.items()}
    for name, values in times.items():
        print(f"{name:>12}: best {best[name]:.2f} s (runs: {', '.join(f'{v:.2f}' for v in values)})")
    ratio = best["ours"] / best["statsmodels"]
    print(f"ratio ours / statsmodels: {ratio:.2f} (target at most 1.2): "
          f"{'within' if ratio <= 1.2 else 'OVER'} the target")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
