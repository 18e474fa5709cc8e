"""Validate: every metric, interval and curve equals scikit-learn called directly.

Point values are compared with sklearn.metrics on the holdout; bootstrap intervals with
a slow reference loop that redraws the same resamples (``bootstrap_indices``) and calls
sklearn on each; curves with roc_curve, precision_recall_curve and calibration_curve.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_diabetes
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import (accuracy_score, average_precision_score, balanced_accuracy_score,
                             brier_score_loss, confusion_matrix, f1_score, log_loss,
                             mean_absolute_error, mean_absolute_percentage_error,
                             mean_squared_error, precision_recall_curve, precision_score, r2_score,
                             recall_score, roc_auc_score, roc_curve)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlops_desktop.core.validate import bootstrap_indices, validate_model
from mlops_desktop.core.validate.metrics import (BinaryScorer, MulticlassScorer, RegressionScorer,
                                                 point)

TOL = dict(rel=1e-9, abs=1e-12)


def binary_data(n: int = 600, seed: int = 1, strength: float = 1.5):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                      "colour": rng.choice(["red", "green", "blue"], size=n),
                      "region": rng.choice(["north", "south", "east"], size=n, p=[0.5, 0.45, 0.05])})
    logit = strength * X.x1 - 0.7 * X.x2 + 0.8 * (X.colour == "red")
    y = pd.Series(np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no"), name="bought")
    return X, y


def classifier_pipeline(final):
    ct = make_column_transformer((StandardScaler(), ["x1", "x2"]),
                                 (OneHotEncoder(handle_unknown="ignore"), ["colour"]))
    return make_pipeline(ct, final)


@pytest.fixture(scope="module")
def binary_case():
    X, y = binary_data(1200)
    train, test = slice(0, 700), slice(700, None)
    model = classifier_pipeline(LogisticRegression()).fit(X[train], y[train])
    base = classifier_pipeline(DummyClassifier(strategy="prior")).fit(X[train], y[train])
    Xh, yh = X[test].reset_index(drop=True), y[test].reset_index(drop=True)
    report = validate_model(model, Xh, yh, baseline=base, n_bootstrap=60, seed=7,
                            subgroup_columns=["region"], segment_column="colour",
                            importance_repeats=2, top_features=1)
    return model, base, Xh, yh, report


def test_binary_point_metrics_equal_sklearn(binary_case):
    model, base, X, y, r = binary_case
    p = model.predict_proba(X)[:, 1]
    pred = np.where(p >= r.threshold, "yes", "no")
    expected = {
        "roc_auc": roc_auc_score(y, p), "pr_auc": average_precision_score(y, p, pos_label="yes"),
        "log_loss": log_loss(y, p), "brier": brier_score_loss(y, p, pos_label="yes"),
        "accuracy": accuracy_score(y, pred), "balanced_accuracy": balanced_accuracy_score(y, pred),
        "f1": f1_score(y, pred, pos_label="yes"), "precision": precision_score(y, pred, pos_label="yes"),
        "recall": recall_score(y, pred, pos_label="yes")}
    assert [m.name for m in r.metrics] == list(expected)
    for name, value in expected.items():
        assert r.metric(name).value == pytest.approx(value, **TOL), name
    assert r.positive_class == "yes" and r.classes == ["no", "yes"]
    cm = confusion_matrix(y, pred, labels=["no", "yes"])
    assert r.confusion_matrix == {"labels": ["no", "yes"], "matrix": cm.tolist(), "threshold": r.threshold}
    # the baseline predicts the training share of "yes" for every row
    b = base.predict_proba(X)[:, 1]
    assert r.metric("roc_auc", baseline=True).value == pytest.approx(0.5)
    assert r.metric("log_loss", baseline=True).value == pytest.approx(log_loss(y, b), **TOL)
    assert r.metric("brier", baseline=True).value == pytest.approx(
        brier_score_loss(y, b, pos_label="yes"), **TOL)


def test_binary_intervals_equal_a_reference_loop_over_the_same_resamples(binary_case):
    model, base, X, y, r = binary_case
    p = model.predict_proba(X)[:, 1]
    b = base.predict_proba(X)[:, 1]
    yv = y.to_numpy()
    pred = np.where(p >= r.threshold, "yes", "no")
    funcs = {"roc_auc": lambda i, s: roc_auc_score(yv[i], s[i]),
             "pr_auc": lambda i, s: average_precision_score(yv[i], s[i], pos_label="yes"),
             "log_loss": lambda i, s: log_loss(yv[i], s[i], labels=["no", "yes"]),
             "brier": lambda i, s: brier_score_loss(yv[i], s[i], pos_label="yes")}
    resamples = list(bootstrap_indices(len(y), 60, 7))
    for name, f in funcs.items():
        model_values = np.array([f(i, p) for i in resamples])
        low, high = np.percentile(model_values, [2.5, 97.5])
        m = r.metric(name)
        assert (m.low, m.high) == (pytest.approx(low, **TOL), pytest.approx(high, **TOL)), name
        assert m.low <= m.value <= m.high, name
        # paired: the difference is taken within each resample
        diff = model_values - np.array([f(i, b) for i in resamples])
        d = r.difference(name)
        assert (d.low, d.high) == tuple(pytest.approx(v, **TOL) for v in np.percentile(diff, [2.5, 97.5]))
    for name, f in {"accuracy": accuracy_score, "balanced_accuracy": balanced_accuracy_score,
                    "f1": lambda a, c: f1_score(a, c, pos_label="yes")}.items():
        values = [f(yv[i], pred[i]) for i in resamples]
        assert (r.metric(name).low, r.metric(name).high) == tuple(
            pytest.approx(v, **TOL) for v in np.percentile(values, [2.5, 97.5])), name


def test_ties_in_scores_are_handled_like_sklearn():
    rng = np.random.default_rng(3)
    n = 400
    y = rng.random(n) < 0.3
    # few distinct scores: ties everywhere (the matrix-product path), then many with some ties
    for scores in (np.round(rng.random(n), 1), np.round(rng.random(n), 2)):
        scores = np.where(y, np.minimum(scores + 0.2, 1), scores)
        got = point(BinaryScorer(y, scores, 0.5), n)
        assert got["roc_auc"] == pytest.approx(roc_auc_score(y, scores), **TOL)
        assert got["pr_auc"] == pytest.approx(average_precision_score(y, scores), **TOL)
        for i in list(bootstrap_indices(n, 5, 0)):
            w = np.bincount(i, minlength=n)[None, :]
            out = BinaryScorer(y, scores, 0.5).metrics(w)
            assert out["roc_auc"][0] == pytest.approx(roc_auc_score(y[i], scores[i]), **TOL)
            assert out["pr_auc"][0] == pytest.approx(average_precision_score(y[i], scores[i]), **TOL)


def test_curves_equal_sklearn(binary_case):
    model, _, X, y, r = binary_case
    p = model.predict_proba(X)[:, 1]
    fpr, tpr, thr = roc_curve(y, p, pos_label="yes")
    assert r.curves["roc"]["fpr"] == pytest.approx(fpr.tolist())
    assert r.curves["roc"]["tpr"] == pytest.approx(tpr.tolist())
    assert r.curves["roc"]["thresholds"][1:] == pytest.approx(thr[1:].tolist())
    precision, recall, _ = precision_recall_curve(y, p, pos_label="yes")
    assert r.curves["pr"]["precision"] == pytest.approx(precision.tolist())
    assert r.curves["pr"]["recall"] == pytest.approx(recall.tolist())
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="quantile", pos_label="yes")
    cal = r.curves["calibration"]
    assert cal["observed"] == pytest.approx(prob_true.tolist())
    assert cal["mean_predicted"] == pytest.approx(prob_pred.tolist())
    assert sum(cal["rows"]) == len(y)
    # the chosen threshold's point lies on the ROC curve's step
    at = r.curves["roc"]["at_threshold"]
    pred = p >= r.threshold
    assert at["tpr"] == pytest.approx(recall_score(y, np.where(pred, "yes", "no"), pos_label="yes"))


def test_subgroup_and_segment_metrics_equal_sklearn_on_each_group(binary_case):
    model, _, X, y, r = binary_case
    p = model.predict_proba(X)[:, 1]
    by_column = {g["column"]: g for g in r.subgroups}
    assert by_column["colour"]["kind"] == "segment" and by_column["region"]["kind"] == "subgroup"
    for column, block in by_column.items():
        assert sum(g["count"] for g in block["groups"]) == len(y)
        for g in block["groups"]:
            rows = (X[column] == g["value"]).to_numpy()
            assert g["count"] == rows.sum()
            # reliable by events, not rows (issue 13, C11): ten of each class at least
            assert g["reliable"] == (min((y[rows] == "yes").sum(), (y[rows] == "no").sum()) >= 10)
            pred = np.where(p[rows] >= r.threshold, "yes", "no")
            m = g["metrics"]
            assert m["roc_auc"] == pytest.approx(roc_auc_score(y[rows], p[rows]), **TOL)
            assert m["accuracy"] == pytest.approx(accuracy_score(y[rows], pred), **TOL)
            assert m["f1"] == pytest.approx(f1_score(y[rows], pred, pos_label="yes"), **TOL)
            assert m["log_loss"] == pytest.approx(log_loss(y[rows], p[rows], labels=["no", "yes"]), **TOL)
    # "east" holds about 5% of 500 rows: flagged, and named in the notes
    east = next(g for g in by_column["region"]["groups"] if g["value"] == "east")
    assert not east["reliable"]
    assert any("region" in n and "unreliable" in n for n in r.notes)


def test_multiclass_metrics_and_intervals_equal_sklearn():
    rng = np.random.default_rng(5)
    n = 450
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    y = pd.Series(np.select([X.x1 + 0.3 * rng.normal(size=n) > 0.5,
                             X.x2 + 0.3 * rng.normal(size=n) > 0], ["a", "b"], "c"))
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X[:250], y[:250])
    Xh, yh = X[250:].reset_index(drop=True), y[250:].reset_index(drop=True)
    r = validate_model(model, Xh, yh, n_bootstrap=40, seed=2, importance_repeats=0, top_features=0)
    P = model.predict_proba(Xh)
    pred = model.classes_[P.argmax(axis=1)]
    labels = list(model.classes_)
    expected = {"log_loss": log_loss(yh, P, labels=labels),
                "roc_auc": roc_auc_score(yh, P, multi_class="ovr", average="macro", labels=labels),
                "pr_auc": average_precision_score(pd.get_dummies(yh)[labels].to_numpy(), P, average="macro"),
                "brier": brier_score_loss(yh, P, labels=labels), "accuracy": accuracy_score(yh, pred),
                "balanced_accuracy": balanced_accuracy_score(yh, pred),
                "f1_macro": f1_score(yh, pred, average="macro")}
    for name, value in expected.items():
        assert r.metric(name).value == pytest.approx(value, **TOL), name
    yv = yh.to_numpy()
    resamples = list(bootstrap_indices(len(yh), 40, 2))
    for name, f in {"log_loss": lambda i: log_loss(yv[i], P[i], labels=labels),
                    "f1_macro": lambda i: f1_score(yv[i], pred[i], average="macro"),
                    "roc_auc": lambda i: roc_auc_score(yv[i], P[i], multi_class="ovr", labels=labels)}.items():
        low, high = np.percentile([f(i) for i in resamples], [2.5, 97.5])
        assert (r.metric(name).low, r.metric(name).high) == (pytest.approx(low, **TOL),
                                                             pytest.approx(high, **TOL)), name
    assert r.confusion_matrix["matrix"] == confusion_matrix(yh, pred, labels=labels).tolist()
    assert r.threshold is None and r.primary_metric == "roc_auc"
    assert [c["class"] for c in r.curves["by_class"]] == labels


@pytest.fixture(scope="module")
def regression_case():
    data = load_diabetes(as_frame=True)
    X, y = data.data, data.target
    model = make_pipeline(StandardScaler(), LinearRegression()).fit(X[:300], y[:300])
    base = make_pipeline(StandardScaler(), DummyRegressor(strategy="mean")).fit(X[:300], y[:300])
    Xh, yh = X[300:].reset_index(drop=True), y[300:].reset_index(drop=True)
    return model, base, Xh, yh


def test_regression_metrics_intervals_and_curves_equal_sklearn(regression_case):
    model, base, X, y = regression_case
    X = X.assign(sex_group=np.where(X.sex > 0, "one", "two"))
    r = validate_model(model, X, y, baseline=base, n_bootstrap=50, seed=4, subgroup_columns=["sex_group"],
                       importance_repeats=0, top_features=0)
    pred = model.predict(X.drop(columns="sex_group"))
    expected = {"rmse": mean_squared_error(y, pred) ** 0.5, "mae": mean_absolute_error(y, pred),
                "r2": r2_score(y, pred), "mape": mean_absolute_percentage_error(y, pred)}
    assert [m.name for m in r.metrics] == list(expected)
    for name, value in expected.items():
        assert r.metric(name).value == pytest.approx(value, **TOL), name
    yv = y.to_numpy()
    resamples = list(bootstrap_indices(len(y), 50, 4))
    for name, f in {"rmse": lambda a, b: mean_squared_error(a, b) ** 0.5, "r2": r2_score,
                    "mape": mean_absolute_percentage_error}.items():
        low, high = np.percentile([f(yv[i], pred[i]) for i in resamples], [2.5, 97.5])
        assert (r.metric(name).low, r.metric(name).high) == (pytest.approx(low, **TOL),
                                                             pytest.approx(high, **TOL)), name
    assert r.beats_baseline and r.primary_metric == "rmse"
    c = r.curves
    assert c["residuals_vs_fitted"]["fitted"] == pytest.approx(pred.tolist())
    assert c["residuals_vs_fitted"]["residual"] == pytest.approx((yv - pred).tolist())
    assert c["predicted_vs_actual"]["actual"] == pytest.approx(yv.tolist())
    assert sum(c["residual_histogram"]["counts"]) == len(y)
    group = r.subgroups[0]["groups"][0]
    rows = (X.sex_group == group["value"]).to_numpy()
    assert group["metrics"]["rmse"] == pytest.approx(mean_squared_error(yv[rows], pred[rows]) ** 0.5, **TOL)
    assert group["metrics"]["r2"] == pytest.approx(r2_score(yv[rows], pred[rows]), **TOL)
    assert group["metrics"]["mean_residual"] == pytest.approx((yv[rows] - pred[rows]).mean(), **TOL)


def test_mape_is_left_out_when_the_target_has_zeros(regression_case):
    model, base, X, y = regression_case
    y = y.copy()
    y.iloc[:3] = 0
    r = validate_model(model, X, y, baseline=base, n_bootstrap=20, importance_repeats=0, top_features=0)
    assert "mape" not in [m.name for m in r.metrics]
    assert any("MAPE is left out" in n for n in r.notes)


def test_scorers_agree_with_sklearn_on_unit_weights_directly():
    rng = np.random.default_rng(9)
    y = rng.normal(10, 3, size=200)
    pred = y + rng.normal(size=200)
    got = point(RegressionScorer(y, pred, with_mape=True), 200)
    assert got["rmse"] == pytest.approx(mean_squared_error(y, pred) ** 0.5, **TOL)
    P = rng.dirichlet([1, 1, 1, 1], size=200)
    yi = rng.integers(0, 4, size=200)
    got = point(MulticlassScorer(yi, P), 200)
    assert got["log_loss"] == pytest.approx(log_loss(yi, P, labels=[0, 1, 2, 3]), **TOL)
    assert got["brier"] == pytest.approx(brier_score_loss(yi, P, labels=[0, 1, 2, 3]), **TOL)
