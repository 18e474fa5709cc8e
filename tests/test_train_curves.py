"""The leaderboard's curves: each candidate's ROC curve or residuals against fitted, with
95% bootstrap bands, checked against scikit-learn and an independent bootstrap loop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from conftest import SAMPLES
from mlops_desktop.core.train import TrainSpec, run, train
from mlops_desktop.core.train.curves import FPR_GRID, RESAMPLES, RESIDUAL_BINS, candidate_curves
from mlops_desktop.core.workspace import Workspace


def step(fpr, tpr, grid):
    """Vertical averaging: the highest true positive rate reached at or before each grid
    value, after the curve's start at (0, 0)."""
    return np.r_[0.0, [tpr[fpr <= g].max() for g in grid]]


def resample(n, seed, b):
    rng = np.random.default_rng([seed, b])
    return rng.integers(0, n, n)


def binary_data(n, seed=1):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.4
    score = np.clip(0.5 * y + rng.normal(0.25, 0.25, n), 0, 1).round(2)  # ties, as probabilities have
    return np.where(y, "yes", "no"), np.column_stack([1 - score, score])


def test_roc_curves_and_bands_equal_scikit_learn_and_a_plain_bootstrap():
    y, proba = binary_data(600)
    classes = np.array(["no", "yes"])
    out = candidate_curves("binary", y, [("m", "Model", proba)], classes=classes, on="the holdout", seed=5)
    assert out["classes"] == ["yes"] and out["kind"] == "roc" and out["rows"] == 600
    c = out["candidates"][0]["by_class"][0]
    positive = y == "yes"
    fpr, tpr, _ = roc_curve(positive, proba[:, 1], drop_intermediate=False)
    assert c["tpr"] == pytest.approx(step(fpr, tpr, FPR_GRID))
    assert c["auc"] == pytest.approx(roc_auc_score(positive, proba[:, 1]))
    curves = []
    for b in range(RESAMPLES):  # the same resamples, scored by scikit-learn
        rows = resample(600, 5, b)
        f, t, _ = roc_curve(positive[rows], proba[rows, 1], drop_intermediate=False)
        curves.append(step(f, t, FPR_GRID))
    low, high = np.percentile(np.vstack(curves), [2.5, 97.5], axis=0)
    assert c["fpr"] == pytest.approx(np.r_[0.0, FPR_GRID])
    assert c["low"] == pytest.approx(low) and c["high"] == pytest.approx(high)
    assert all(lo <= t <= hi for lo, t, hi in zip(c["low"], c["tpr"], c["high"]))


def test_bands_narrow_with_more_rows():
    widths = []
    for n in (200, 5000):
        y, proba = binary_data(n)
        c = candidate_curves("binary", y, [("m", "M", proba)], classes=np.array(["no", "yes"]), on="x",
                             seed=1)["candidates"][0]["by_class"][0]
        widths.append(np.mean(np.subtract(c["high"], c["low"])))
    assert widths[1] < widths[0] / 3


def test_multiclass_curves_are_one_class_against_the_rest():
    rng = np.random.default_rng(2)
    y = rng.choice(["a", "b", "c"], 400)
    proba = rng.dirichlet([1, 1, 1], 400)
    proba[y == "b", 1] += 1
    proba /= proba.sum(axis=1, keepdims=True)
    out = candidate_curves("multiclass", y, [("m", "M", proba)], classes=np.array(["a", "b", "c"]), on="x", seed=0)
    assert out["classes"] == ["a", "b", "c"]
    for k, c in enumerate(out["candidates"][0]["by_class"]):
        assert c["auc"] == pytest.approx(roc_auc_score(y == "abc"[k], proba[:, k]))
    assert out["candidates"][0]["by_class"][1]["auc"] > 0.8


def test_residuals_by_fitted_value_with_bands_equal_a_plain_computation():
    rng = np.random.default_rng(4)
    fitted = rng.normal(size=1000)
    actual = fitted + 0.3 * fitted ** 2 + rng.normal(scale=0.5, size=1000)  # a curve the model missed
    out = candidate_curves("regression", actual, [("ols", "OLS", fitted)], classes=None, on="x", seed=3)
    c = out["candidates"][0]
    frame = pd.DataFrame({"fitted": fitted, "residual": actual - fitted})
    frame["bin"] = pd.Series(np.arange(1000) * RESIDUAL_BINS // 1000, index=frame["fitted"].sort_values().index)
    by_bin = frame.groupby("bin").mean()
    assert c["count"] == [50] * RESIDUAL_BINS
    assert c["fitted"] == pytest.approx(by_bin["fitted"].to_numpy())
    assert c["residual"] == pytest.approx(by_bin["residual"].to_numpy())
    boot = []
    for b in range(RESAMPLES):
        drawn = frame.iloc[resample(1000, 3, b)]
        boot.append(drawn.groupby("bin")["residual"].mean().reindex(range(RESIDUAL_BINS)).to_numpy())
    low, high = np.nanpercentile(np.vstack(boot), [2.5, 97.5], axis=0)
    assert c["low"] == pytest.approx(low) and c["high"] == pytest.approx(high)
    assert c["residual"][0] > 0.5 and abs(c["residual"][RESIDUAL_BINS // 2]) < 0.3  # the missed curve shows
    few = candidate_curves("regression", actual[:100], [("ols", "OLS", fitted[:100])], classes=None, on="x", seed=3)
    assert few["candidates"][0]["count"] == [25] * 4  # a mean of a handful of residuals would be noise


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("curves") / "ws"
    with Workspace.create(root, actor="setup") as w:
        w.import_file(SAMPLES / "penguins.csv", actor="setup")
        yield w


@pytest.mark.parametrize("test_size", [0.2, 0.0])
def test_a_run_records_every_candidates_curve(ws, test_size):
    from mlops_desktop.core.train.spec import SplitSpec

    result = train(ws, TrainSpec(dataset="penguins", target="species", models=["logistic", "tree"],
                                 split=SplitSpec(test_size=test_size)), actor="ann")
    curves = run(ws, result.run_id).details["curves"]
    assert [c["family"] for c in curves["candidates"]] == ["logistic", "tree"]
    assert curves["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    if test_size:
        assert curves["on"] == f"the holdout ({result.rows['holdout']} rows)" and curves["rows"] == result.rows["holdout"]
        aucs = [np.mean([k["auc"] for k in c["by_class"]]) for c in curves["candidates"]]
        assert aucs == pytest.approx([c["holdout"]["roc_auc"] for c in result.candidates])  # as the leaderboard says
    else:
        assert "cross-validation" in curves["on"] and curves["rows"] == result.rows["train"]


def test_many_rows_are_subsampled_and_it_says_so(monkeypatch):
    from mlops_desktop.core.train import curves

    monkeypatch.setattr(curves, "MAX_WORK", 2_000)
    monkeypatch.setattr(curves, "MIN_ROWS", 100)
    y, proba = binary_data(1000)
    out = candidate_curves("binary", y, [(f"m{i}", "M", proba) for i in range(4)], classes=np.array(["no", "yes"]),
                           on="the holdout (1,000 rows)", seed=0)
    assert out["rows"] == 500 and out["on"] == "the holdout (1,000 rows) (a random 500 of them)"
