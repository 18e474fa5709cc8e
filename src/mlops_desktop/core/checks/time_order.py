"""Checks that need a time-order column: stationarity of the target (ADF and KPSS),
and whether a random split would leak information from the future."""

from __future__ import annotations

import warnings
from typing import Optional

import numpy as np
import pandas as pd
from scipy import stats

from .. import numbers
from . import rules
from .prepare import Prepared
from .result import NOT_APPLICABLE, OK, PROBLEM, WARNING, CheckResult, thin

MIN_TIME_POINTS = 20
#: ADF chooses its lag by AIC up to statsmodels' default (12·(n/100)^¼); above this many
#: time points the search stops at ADF_MAX_LAG_LARGE, which keeps it to about a second.
ADF_LARGE_N = 10_000
ADF_MAX_LAG_LARGE = 12


def target_series(prep: Prepared) -> tuple[Optional[np.ndarray], Optional[pd.Series], str]:
    """The target in time order (the mean per time point when times repeat), its time
    points, and a description; (None, None, reason) when there is no numeric series."""
    assert prep.time is not None
    if prep.task == "regression":
        values = prep.y.astype(float)
        what = f"the target {prep.target!r}"
    elif len(prep.classes) == 2:
        values = (prep.y == 1).astype(float)
        what = f"the share of class {prep.classes[1]!r}"
    else:
        return None, None, ("stationarity is tested on a numeric or two-class target; this "
                            f"target has {len(prep.classes)} classes")
    t = prep.time.reset_index(drop=True)
    if t.duplicated().any():
        grouped = pd.Series(values).groupby(t.to_numpy(), sort=True).mean()
        return grouped.to_numpy(), pd.Series(grouped.index), f"{what} (averaged per time point)"
    return values, t, what


def drift(values: np.ndarray) -> Optional[float]:
    """Difference of the means of the last and first third, in pooled standard deviations."""
    k = len(values) // 3
    if k < 2:
        return None
    a, b = values[:k], values[-k:]
    sd = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    if sd == 0:
        return None if a.mean() == b.mean() else float("inf")
    return float((b.mean() - a.mean()) / sd)


def adf(values: np.ndarray) -> dict:
    """The augmented Dickey–Fuller test of a series (null: a unit root), as a dict."""
    from statsmodels.tsa.stattools import adfuller

    maxlag = ADF_MAX_LAG_LARGE if len(values) > ADF_LARGE_N else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = adfuller(values, maxlag=maxlag, autolag="AIC", result_object=False)
    return {"statistic": float(out[0]), "p": float(out[1]), "lags": int(out[2]),
            "maxlag": maxlag, "n": int(out[3])}


def kpss_test(values: np.ndarray) -> dict:
    """The KPSS test of a series (null: stationary around a level), as a dict."""
    from statsmodels.tsa.stattools import kpss

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # p-values outside 0.01..0.1 are clipped, with a warning
        out = kpss(values, regression="c", nlags="auto", result_object=False)
    return {"statistic": float(out[0]), "p": float(out[1]), "lags": int(out[2])}


# -- stationarity ---------------------------------------------------------------------------

ST_ID, ST_NAME = "stationarity", "Stationarity of the target over time"
ST_WHY = ("If the target's level drifts over time, a model trained on the past is off for the "
          "future, and scores from a random split are optimistic.")


def stationarity(prep: Prepared) -> CheckResult:
    """Whether the target keeps a stable level over time (ADF and KPSS)."""
    values, times, what = target_series(prep)
    tested = (f"Whether {what} keeps a stable level over time (augmented Dickey–Fuller: null of a "
              "unit root; KPSS: null of stationarity).")
    if values is None:
        return CheckResult(ST_ID, ST_NAME, tested, NOT_APPLICABLE, decided_by=what, why=ST_WHY,
                           action="Nothing to do for this check; see the reason.")
    if len(values) < MIN_TIME_POINTS:
        reason = f"only {len(values)} time points; the tests need at least {MIN_TIME_POINTS}"
    elif np.ptp(values) == 0:
        reason = "the series is constant over time"
    else:
        reason = None
    if reason:
        return CheckResult(ST_ID, ST_NAME, tested, NOT_APPLICABLE, decided_by=reason, why=ST_WHY,
                           action="Nothing to do for this check; see the reason.")
    a = adf(values)
    k = kpss_test(values)
    d = drift(values)
    n = len(values)
    adf_rejects, kpss_rejects = a["p"] < rules.ALPHA, k["p"] < rules.ALPHA
    tests = (f"ADF {numbers.p_phrase(a['p'])} ({'rejects' if adf_rejects else 'does not reject'} a unit root), "
             f"KPSS {numbers.p_phrase(k['p'])} ({'rejects' if kpss_rejects else 'does not reject'} stationarity)")
    drift_text = rules.bounds_text("the drift (last third against first third, in standard "
                                   "deviations)", d, rules.DRIFT)
    if n >= rules.LARGE_SAMPLE:
        if not adf_rejects:
            verdict = PROBLEM
            decided = (f"p-value: with {n:,} time points the ADF test still cannot reject a unit "
                       f"root; {tests}")
        else:
            verdict = (OK, WARNING, PROBLEM)[rules.level(d, rules.DRIFT)]
            why = ("KPSS rejects even negligible changes" if kpss_rejects else
                   "the tests say little about the size of a change")
            decided = (f"effect size (large sample): with {n:,} time points {why}, so the "
                       f"verdict rests on {drift_text}; {tests}")
    else:
        if adf_rejects and not kpss_rejects:
            verdict, how = OK, "both tests agree the series is stationary"
        elif kpss_rejects and not adf_rejects:
            verdict, how = PROBLEM, "both tests agree the series is not stationary"
        elif adf_rejects and kpss_rejects:
            verdict, how = WARNING, ("the tests disagree: no unit root, but the level is not "
                                     "constant (a trend or a break)")
        else:
            verdict, how = WARNING, ("inconclusive: neither test rejects, often a sign of too few "
                                     "time points")
        decided = f"p-values: {how}; {tests}; {drift_text}" + rules.power_caveat(n)
    if a["maxlag"] is not None:
        decided += f"; ADF lags chosen by AIC up to {a['maxlag']} (capped for speed)"
    action = ("Nothing to do." if verdict == OK else
              "Use a time-ordered split, add trend or season features, or model changes "
              "(differences) rather than levels.")
    idx = thin(n)
    chart = {"kind": "line", "title": f"{what[0].upper()}{what[1:]} over time", "x": idx.tolist(),
             "y": values[idx].tolist(), "labels": [str(v) for v in times.iloc[idx]],
             "x_label": f"position in the order of {prep.time_column!r}", "y_label": prep.target,
             "reference": {}}
    return CheckResult(ST_ID, ST_NAME, tested, verdict, statistic=a["statistic"],
                       statistic_name="ADF statistic", p_value=a["p"], effect=d,
                       effect_name="drift in standard deviations", decided_by=decided, why=ST_WHY,
                       action=action,
                       figures={"adf": a, "kpss": k, "drift": d, "time_points": n,
                                "series": what,
                                "kpss_note": "KPSS p-values are read from a table between 0.01 "
                                             "and 0.10 and clipped outside it"},
                       chart=chart)


# -- leakage through a random split -------------------------------------------------------------

LK_ID, LK_NAME = "time_leakage", "Random split leaks the future"
LK_WHY = ("A random split mixes past and future: when rows close in time are alike, the model "
          "is tested on rows whose neighbours in time it was trained on, so validation scores "
          "are optimistic.")


def _transitions(codes: np.ndarray, k: int) -> tuple[np.ndarray, float, float]:
    """Table of consecutive class pairs, the agreement beyond chance (kappa) and its
    chi-square p-value."""
    table = np.zeros((k, k))
    np.add.at(table, (codes[:-1], codes[1:]), 1)
    n = table.sum()
    observed = np.trace(table) / n
    expected = float((table.sum(axis=1) / n) @ (table.sum(axis=0) / n))
    kappa = (observed - expected) / (1 - expected) if expected < 1 else 0.0
    keep_r, keep_c = table.sum(axis=1) > 0, table.sum(axis=0) > 0
    sub = table[np.ix_(keep_r, keep_c)]
    p = float(stats.chi2_contingency(sub, correction=False)[1]) if min(sub.shape) > 1 else 1.0
    return table, float(kappa), p


def time_leakage(prep: Prepared) -> CheckResult:
    """Whether rows close in time have similar targets, so a random split would leak the future."""
    from statsmodels.stats.diagnostic import acorr_ljungbox
    from statsmodels.tsa.stattools import acf

    tested = ("Whether rows close in time have similar targets, so that a random split would let "
              "the model learn from rows that come after the rows it is tested on.")
    if prep.task == "regression":
        values, _, what = target_series(prep)
        assert values is not None
        n = len(values)
        if n < MIN_TIME_POINTS or np.ptp(values) == 0:
            return CheckResult(LK_ID, LK_NAME, tested, NOT_APPLICABLE,
                               decided_by=(f"only {n} time points; the check needs at least "
                                           f"{MIN_TIME_POINTS}" if n < MIN_TIME_POINTS else
                                           "the target is constant over time"),
                               why=LK_WHY, action="Nothing to do for this check; see the reason.")
        lags = max(1, min(10, n // 5))
        lb = acorr_ljungbox(values, lags=[lags], return_df=True)
        stat, p = float(lb["lb_stat"].iloc[0]), float(lb["lb_pvalue"].iloc[0])
        ac = acf(values, nlags=min(20, n - 1), fft=True)
        r1 = float(ac[1])
        effect_name = f"lag-1 autocorrelation of {what}"
        statistic_name = f"Ljung–Box Q ({lags} lags)"
        chart = {"kind": "bars", "title": f"Autocorrelation of {what} by lag",
                 "x": list(range(1, len(ac))), "y": ac[1:].tolist(), "labels": None,
                 "x_label": "lag (time points)", "y_label": "autocorrelation",
                 "reference": {"warning": rules.AUTOCORRELATION[0],
                               "problem": rules.AUTOCORRELATION[1]}}
        figures = {"ljung_box": stat, "ljung_box_p": p, "lags": lags, "lag1_autocorrelation": r1,
                   "autocorrelation": ac[1:].tolist(), "series": what}
        effect, test = r1, "Ljung–Box test"
    else:
        codes = prep.y
        n = len(codes)
        table, kappa, p = _transitions(codes, len(prep.classes))
        stat = None
        effect_name = "agreement of consecutive rows' classes beyond chance (kappa)"
        statistic_name = None
        same = float(np.trace(table) / table.sum())
        shares = np.bincount(codes, minlength=len(prep.classes)) / n
        chart = {"kind": "bars", "title": "Consecutive rows in the same class",
                 "x": ["observed", "expected if independent"],
                 "y": [same, float(shares @ shares)], "labels": None, "x_label": "",
                 "y_label": "share of consecutive pairs", "reference": {}}
        figures = {"transitions": table.astype(int).tolist(), "classes": prep.classes,
                   "kappa": kappa, "chi2_p": p, "same_class_share": same}
        effect, test = kappa, "chi-square test of consecutive classes"
    verdict, decided = rules.test_verdict(
        p, rules.level(effect, rules.AUTOCORRELATION), n, test=test,
        effect_text=rules.bounds_text(effect_name, effect, rules.AUTOCORRELATION))
    action = ("A random split is acceptable; a time-ordered split stays the honest choice if the "
              "model will score future data." if verdict == OK else
              "Use a time-ordered split in Train: train on the earlier rows and validate on the "
              "later ones.")
    return CheckResult(LK_ID, LK_NAME, tested, verdict, statistic=stat,
                       statistic_name=statistic_name, p_value=p, effect=effect,
                       effect_name=effect_name, decided_by=decided, why=LK_WHY, action=action,
                       figures=figures, chart=chart)
