"""Verdicts of the checks that were wrong or misleading on real data (issue 13, C1 and
C9), each on simulated data with the same property, with the statistics compared to
scipy and statsmodels computed independently."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.diagnostic import het_breuschpagan

from mlops_desktop.core.checks import run_checks


def wages(seed: int = 13, n: int = 6000) -> pd.DataFrame:
    """Wages with log-normal errors and a few extreme earners (0.25% earn 12 times more).

    The property reproduced: in levels the residuals are extremely heavy-tailed
    (kurtosis in the hundreds) and their spread doubles from the lowest to the highest
    fitted values, yet Breusch–Pagan's auxiliary R² stays near 0.0005 because a handful
    of squared residuals dominate it; in logs the spread is constant.
    """
    rng = np.random.default_rng(seed)
    educ = rng.integers(8, 21, n).astype(float)
    exper = rng.uniform(0, 40, n)
    log_wage = 2.4 + 0.07 * educ + 0.02 * exper - 0.0003 * exper ** 2 + 0.4 * rng.standard_normal(n)
    log_wage[rng.random(n) < 0.0025] += np.log(12)
    return pd.DataFrame({"educ": educ, "exper": exper, "wage": np.exp(log_wage) * 20,
                         "log_wage": log_wage})


def _groups(fitted: np.ndarray, resid: np.ndarray, k: int = 5) -> list[np.ndarray]:
    """Residuals in k equal-count groups of fitted values (pandas, not the app's code)."""
    codes = pd.qcut(fitted, k, labels=False)
    return [resid[codes == g] for g in range(k)]


def test_heavy_tailed_heteroscedasticity_in_levels_is_flagged_and_the_log_model_is_not():
    df = wages()
    X = sm.add_constant(df[["educ", "exper"]].to_numpy())
    levels = run_checks(df[["educ", "exper", "wage"]], "wage", task="regression")
    logs = run_checks(df[["educ", "exper", "log_wage"]], "log_wage", task="regression")
    het = levels.check("heteroscedasticity")

    res = sm.OLS(df["wage"].to_numpy(), X).fit()
    assert stats.kurtosis(res.resid, fisher=False) > 100  # the property: extreme tails...
    lm, lm_p, _, _ = het_breuschpagan(res.resid, X, robust=True)
    assert lm / len(df) < 0.002  # ...that swamp Breusch–Pagan's R², the old effect size
    spreads = [stats.median_abs_deviation(g, scale="normal") for g in _groups(res.fittedvalues, res.resid)]
    assert spreads[-1] / spreads[0] > 1.8  # ...while the spread plainly rises

    assert het.verdict in ("warning", "problem"), het.decided_by
    assert het.effect == pytest.approx(max(spreads) / min(spreads), rel=1e-9)
    np.testing.assert_allclose([g["spread"] for g in het.figures["spread_by_fitted"]["groups"]],
                               spreads, rtol=1e-9)
    bf = stats.levene(*_groups(res.fittedvalues, res.resid), center="median")
    assert het.figures["spread_by_fitted"]["p"] == pytest.approx(bf.pvalue, rel=1e-6, abs=1e-300)
    assert het.statistic == pytest.approx(lm, rel=1e-6) and het.p_value == pytest.approx(lm_p, rel=1e-6)
    assert "spread of the residuals" in het.decided_by
    # the chart's guide line is the same robust spread, so verdict and plot agree
    guide = het.chart["reference"]["binned_spread"]["y"]
    assert guide[-1] > 1.5 * guide[0]

    log_het = logs.check("heteroscedasticity")
    assert log_het.verdict == "ok", log_het.decided_by
    assert log_het.effect < 1.2


def test_power_caveat_names_rows_and_residual_degrees_of_freedom():
    """12 rows and 3 coefficients leave 9 residual degrees of freedom: the caveat must not
    call them 9 rows."""
    rng = np.random.default_rng(5)
    x1, x2 = rng.uniform(1, 10, 12), rng.normal(size=12)
    df = pd.DataFrame({"x1": x1, "x2": x2, "y": 2 + 1.5 * x1 - x2 + rng.normal(size=12)})
    report = run_checks(df, "y")
    text = report.check("normality_residuals").decided_by
    assert "only 9 rows" not in text
    assert "12 rows and only 9 residual degrees of freedom" in text
    assert sm.OLS(df["y"], sm.add_constant(df[["x1", "x2"]])).fit().df_resid == 9
