"""Calibration figures with intervals, and subgroup metrics with bootstrap intervals whose
reliability is decided by event counts (issue 13, C11), against statsmodels and
scikit-learn computed on each resample independently."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.special import expit, logit
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.metrics import roc_auc_score

from mlops_desktop.core.validate import bootstrap_indices, validate_model
from mlops_desktop.core.validate.metrics import CalibrationScorer


def overconfident(seed: int = 4, n: int = 800):
    """Predictions twice as extreme as the truth on the log-odds scale, and shifted: a
    calibration slope near 0.5 and a non-zero intercept. The property: ROC AUC is the
    truth's, but the probabilities cannot be read as probabilities."""
    rng = np.random.default_rng(seed)
    true_logit = rng.normal(-0.5, 1.2, n)
    y = rng.random(n) < expit(true_logit)
    p = expit(2 * true_logit - 0.6)
    return y, p


def _statsmodels(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    z = logit(p)
    slope = sm.GLM(y.astype(float), sm.add_constant(z), family=sm.families.Binomial(),
                   freq_weights=w).fit().params[1]
    large = sm.GLM(y.astype(float), np.ones((len(y), 1)), family=sm.families.Binomial(),
                   offset=z, freq_weights=w).fit().params[0]
    return float(slope), float(large)


def test_calibration_slope_intercept_and_ece_equal_statsmodels_and_a_loop():
    y, p = overconfident()
    scorer = CalibrationScorer(y, p)
    values = {k: float(v[0]) for k, v in scorer.metrics(np.ones((1, len(y)))).items()}
    slope, large = _statsmodels(y, p, np.ones(len(y)))
    assert values["calibration_slope"] == pytest.approx(slope, rel=1e-8)
    assert values["calibration_intercept"] == pytest.approx(large, rel=1e-8)
    assert 0.4 < slope < 0.65
    bins = pd.qcut(p, 10, labels=False)
    ece = sum((bins == b).mean() * abs(y[bins == b].mean() - p[bins == b].mean()) for b in range(10))
    assert values["ece"] == pytest.approx(ece, rel=1e-10)
    # and in a resample, with its repeated rows as frequency weights
    for idx in list(bootstrap_indices(len(y), 3, seed=5)):
        w = np.bincount(idx, minlength=len(y)).astype(float)
        got = {k: float(v[0]) for k, v in scorer.metrics(w[None, :]).items()}
        slope, large = _statsmodels(y, p, w)
        assert got["calibration_slope"] == pytest.approx(slope, rel=1e-7)
        assert got["calibration_intercept"] == pytest.approx(large, rel=1e-7)


@pytest.fixture(scope="module")
def report():
    """A logistic model validated on 600 rows with a subgroup column: "big" has 525 rows
    but only a handful of events; "small" has 75 rows, a third of them events."""
    rng = np.random.default_rng(6)
    n = 1600
    x = rng.normal(size=n)
    group = np.where(np.arange(n) % 8 == 0, "small", "big")
    base = np.where(group == "big", -5.5, 0.0)
    y = np.where(rng.random(n) < expit(base + 1.2 * x), "yes", "no")
    # the holdout: rows chosen so that the groups have the counts in the docstring
    X = pd.DataFrame({"x": x, "group": group})
    model = make_pipeline(make_column_transformer((OneHotEncoder(), ["group"]), remainder="passthrough"),
                          LogisticRegression()).fit(X.iloc[:1000], y[:1000])
    Xh, yh = X.iloc[1000:].reset_index(drop=True), pd.Series(y[1000:])
    r = validate_model(model, Xh, yh, n_bootstrap=80, seed=11, subgroup_columns=["group"],
                       importance_repeats=0, top_features=0)
    return model, Xh, yh, r


def test_the_report_carries_calibration_with_intervals(report):
    model, X, y, r = report
    names = [m.name for m in r.calibration]
    assert names == ["calibration_slope", "calibration_intercept", "ece"]
    p = model.predict_proba(X)[:, 1]
    slopes = []
    for idx in bootstrap_indices(len(y), 80, seed=11):
        w = np.bincount(idx, minlength=len(y)).astype(float)
        slopes.append(_statsmodels((y == "yes").to_numpy(), p, w)[0])
    slope = r.calibration[0]
    assert slope.low == pytest.approx(np.percentile(slopes, 2.5), rel=1e-6)
    assert slope.high == pytest.approx(np.percentile(slopes, 97.5), rel=1e-6)
    assert slope.low <= slope.value <= slope.high
    # stored and read back
    from mlops_desktop.core.validate.results import ValidationReport

    assert ValidationReport.from_dict(r.to_dict()).calibration == r.calibration


def test_subgroups_have_bootstrap_intervals_and_reliability_by_events(report):
    model, X, y, r = report
    block = r.subgroups[0]
    groups = {g["value"]: g for g in block["groups"]}
    positives = {v: int(((X["group"] == v) & (y == "yes")).sum()) for v in groups}
    assert groups["big"]["count"] >= 300 and positives["big"] < 10  # the property
    assert not groups["big"]["reliable"]  # many rows, too few events
    assert groups["small"]["count"] < 100 and positives["small"] >= 10
    assert groups["small"]["reliable"]
    assert block["reliable_by"] == "events"
    # the interval of each group's ROC AUC is the percentile interval over the same resamples
    p = model.predict_proba(X)[:, 1]
    for value, g in groups.items():
        rows = (X["group"] == value).to_numpy()
        aucs = []
        for idx in bootstrap_indices(len(y), 80, seed=11):
            w = np.bincount(idx, minlength=len(y)).astype(float)[rows]
            yy = y[rows].to_numpy()
            kept = w > 0
            if len(set(yy[kept])) < 2:
                continue
            aucs.append(roc_auc_score(yy[kept], p[rows][kept], sample_weight=w[kept]))
        low, high = g["intervals"]["roc_auc"]
        assert low == pytest.approx(np.percentile(aucs, 2.5), rel=1e-9)
        assert high == pytest.approx(np.percentile(aucs, 97.5), rel=1e-9)
