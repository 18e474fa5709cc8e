"""Validate: validate_model end to end — the verdict against the baseline, permutation
importance and partial dependence against sklearn.inspection, a multiclass pipeline on
the penguins sample, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.impute import SimpleImputer
from sklearn.inspection import partial_dependence, permutation_importance
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlops_desktop.core.errors import InvalidChoiceError, JobCancelled, NotFoundError
from mlops_desktop.core.jobs import CancelToken
from mlops_desktop.core.validate import (ModelCard, ValidationError, ValidationReport, model_card_html,
                                         model_card_markdown, validate_model)

PENGUINS = Path(__file__).resolve().parent.parent / "resources" / "samples" / "penguins.csv"
FAST = dict(n_bootstrap=100, importance_repeats=0, top_features=0)


def binary_data(n: int, seed: int, signal: bool = True):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "x3": rng.normal(size=n),
                      "colour": rng.choice(["red", "green", "blue"], size=n),
                      "group": rng.choice(["a", "b"], size=n)})
    logit = (2.0 * X.x1 - 1.0 * X.x2 + 1.0 * (X.colour == "red")) if signal else 0 * X.x1
    y = pd.Series(np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no"))
    return X, y


def pipeline(final):
    ct = make_column_transformer((StandardScaler(), ["x1", "x2", "x3"]),
                                 (OneHotEncoder(handle_unknown="ignore"), ["colour"]))
    return make_pipeline(ct, final)


@pytest.fixture(scope="module")
def fitted():
    X, y = binary_data(1500, 0)
    model = pipeline(LogisticRegression()).fit(X[:800], y[:800])
    base = pipeline(DummyClassifier(strategy="prior")).fit(X[:800], y[:800])
    return model, base, X[800:].reset_index(drop=True), y[800:].reset_index(drop=True)


def test_a_good_model_beats_the_baseline(fitted):
    model, base, X, y = fitted
    r = validate_model(model, X, y, baseline=base, **FAST)
    assert r.beats_baseline
    assert r.baseline_verdict.startswith("Beats the baseline: ROC AUC")
    assert "excludes zero" in r.baseline_verdict and "do not overlap" in r.baseline_verdict
    assert r.difference("roc_auc").low > 0
    assert r.baseline_description == "DummyClassifier(strategy='prior')"
    json.dumps(r.to_dict(), allow_nan=False)


def test_a_model_trained_on_noise_does_not_beat_the_baseline():
    X, y = binary_data(1400, 1, signal=False)
    model = pipeline(LogisticRegression()).fit(X[:700], y[:700])
    base = pipeline(DummyClassifier(strategy="prior")).fit(X[:700], y[:700])
    r = validate_model(model, X[700:], y[700:], baseline=base, **FAST)
    assert not r.beats_baseline
    assert r.difference("roc_auc").low <= 0
    assert r.baseline_verdict.startswith(("Does not beat the baseline", "Worse than the baseline"))


def test_a_regression_model_on_noise_does_not_beat_the_mean():
    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(600, 5)), columns=list("abcde"))
    y = pd.Series(rng.normal(50, 10, size=600))
    model = LinearRegression().fit(X[:300], y[:300])
    base = DummyRegressor(strategy="mean").fit(X[:300], y[:300])
    r = validate_model(model, X[300:], y[300:], baseline=base, **FAST)
    assert not r.beats_baseline and r.primary_metric == "rmse"
    assert r.difference("rmse").high >= 0


def test_without_a_baseline_one_is_fitted_on_the_holdout_and_said_so(fitted):
    model, _, X, y = fitted
    r = validate_model(model, X, y, **FAST)
    assert "fitted on the holdout" in r.baseline_description
    assert any("No baseline model was given" in n for n in r.notes)
    # the prior of the holdout itself
    share = (y == "yes").mean()
    assert r.metric("log_loss", baseline=True).value == pytest.approx(
        log_loss(y, np.full(len(y), share)))


def test_permutation_importance_equals_sklearn(fitted):
    model, base, X, y = fitted
    r = validate_model(model, X, y, baseline=base, n_bootstrap=0, importance_repeats=3,
                       top_features=0, seed=5)
    # the pipeline takes every raw column it was fitted on ("group" is dropped inside it)
    columns = list(model.feature_names_in_)
    assert columns == ["x1", "x2", "x3", "colour", "group"]
    ref = permutation_importance(model, X[columns], y, scoring="roc_auc", n_repeats=3, random_state=5)
    expected = {c: (m, s) for c, m, s in zip(columns, ref.importances_mean, ref.importances_std)}
    assert [row["feature"] for row in r.importance] == sorted(expected, key=lambda c: -expected[c][0])
    for row in r.importance:
        assert (row["mean"], row["std"]) == pytest.approx(expected[row["feature"]])
    assert r.importance[0]["feature"] == "x1"
    assert "ROC AUC" in r.importance_metric


def test_partial_dependence_equals_sklearn(fitted):
    model, base, X, y = fitted
    r = validate_model(model, X, y, baseline=base, n_bootstrap=0, importance_repeats=2,
                       top_features=4, seed=0)
    by_feature = {p["feature"]: p for p in r.partial_dependence}
    assert set(by_feature) == {"x1", "x2", "x3", "colour"}
    Xm = X[list(model.feature_names_in_)]
    ref = partial_dependence(model, Xm, ["x1"], grid_resolution=20, kind="average")
    assert by_feature["x1"]["grid"] == pytest.approx(ref["grid_values"][0].tolist())
    assert by_feature["x1"]["average"] == pytest.approx(ref["average"][0].tolist())
    ref = partial_dependence(model, Xm, ["colour"], categorical_features=["colour"], kind="average")
    assert by_feature["colour"]["grid"] == ref["grid_values"][0].tolist()
    assert by_feature["colour"]["average"] == pytest.approx(ref["average"][0].tolist())
    assert by_feature["colour"]["kind"] == "categorical"
    # the probability of "yes" rises with x1, falls with x2
    assert by_feature["x1"]["average"][-1] > by_feature["x1"]["average"][0]
    assert by_feature["x2"]["average"][-1] < by_feature["x2"]["average"][0]


def test_fixed_threshold_and_cost_rule(fitted):
    model, base, X, y = fitted
    r = validate_model(model, X, y, baseline=base, threshold=0.3, **FAST)
    assert r.threshold == 0.3 and r.threshold_rule == "fixed"
    p = model.predict_proba(X)[:, 1]
    assert r.metric("accuracy").value == pytest.approx(accuracy_score(y == "yes", p >= 0.3))
    r = validate_model(model, X, y, baseline=base, threshold_rule="cost", cost_fp=1, cost_fn=5, **FAST)
    assert r.threshold_rule == "cost" and "5 × false negatives" in r.threshold_reason
    # missing a positive is expensive: a lower threshold than F1's
    r_f1 = validate_model(model, X, y, baseline=base, **FAST)
    assert r.threshold < r_f1.threshold


def test_positive_class_can_be_chosen(fitted):
    model, base, X, y = fitted
    r = validate_model(model, X, y, baseline=base, positive_class="no", **FAST)
    assert r.positive_class == "no"
    p_no = model.predict_proba(X)[:, 0]
    assert r.metric("roc_auc").value == pytest.approx(roc_auc_score(y == "no", p_no))
    assert r.confusion_matrix["labels"] == ["yes", "no"]


def test_progress_reaches_the_end_and_cancel_stops(fitted):
    model, base, X, y = fitted
    seen = []
    validate_model(model, X, y, baseline=base, n_bootstrap=300, importance_repeats=1, top_features=1,
                   progress=lambda f, m: seen.append((f, m)))
    fractions = [f for f, _ in seen if f is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("Bootstrap" in m for _, m in seen)
    token = CancelToken()
    token.cancel()
    with pytest.raises(JobCancelled):
        validate_model(model, X, y, baseline=base, cancel=token)


def test_report_round_trips_through_json(fitted):
    model, base, X, y = fitted
    r = validate_model(model, X.assign(group=X.group), y, baseline=base, subgroup_columns=["group"],
                       n_bootstrap=50, importance_repeats=1, top_features=2)
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    again = ValidationReport.from_dict(d)
    assert again.to_dict() == d
    assert d["curves"]["roc"]["thresholds"][0] is None  # scikit-learn's +inf first threshold


@pytest.fixture(scope="module")
def penguins():
    df = pd.read_csv(PENGUINS)
    X = df.drop(columns=["species", "year"])
    y = df["species"]
    return train_test_split(X, y, test_size=0.4, stratify=y, random_state=0)


def penguin_pipeline(final):
    numeric = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    categorical = ["island", "sex"]
    ct = make_column_transformer(
        (make_pipeline(SimpleImputer(), StandardScaler()), numeric),
        (make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
         categorical))
    return make_pipeline(ct, final)


def test_multiclass_penguins_species(penguins):
    X_train, X_test, y_train, y_test = penguins
    model = penguin_pipeline(LogisticRegression(max_iter=1000)).fit(X_train, y_train)
    base = penguin_pipeline(DummyClassifier(strategy="prior")).fit(X_train, y_train)
    r = validate_model(model, X_test, y_test, baseline=base, n_bootstrap=200, subgroup_columns=["sex"],
                       segment_column="island", importance_repeats=2, top_features=3)
    assert r.task == "multiclass" and r.classes == ["Adelie", "Chinstrap", "Gentoo"]
    P = model.predict_proba(X_test)
    assert r.metric("log_loss").value == pytest.approx(log_loss(y_test, P, labels=model.classes_), rel=1e-9)
    assert r.beats_baseline and r.baseline_verdict.startswith("Beats the baseline: ROC AUC")
    assert r.metric("accuracy").value > 0.9
    sex = next(g for g in r.subgroups if g["column"] == "sex")
    assert "(missing)" in [g["value"] for g in sex["groups"]]
    assert sum(g["count"] for g in sex["groups"]) == len(y_test)
    assert next(g for g in r.subgroups if g["column"] == "island")["kind"] == "segment"
    assert len(r.partial_dependence) == 3
    for p in r.partial_dependence:
        assert set(p["average_by_class"]) == set(r.classes)
        assert all(len(v) == len(p["grid"]) for v in p["average_by_class"].values())
    json.dumps(r.to_dict(), allow_nan=False)
    # the card draws one ROC curve per class and a line per class in partial dependence
    html = model_card_html(ModelCard(model_name="species", version=1, task="multiclass", validation=r))
    assert "Gentoo vs rest" in html and html.count("<polyline") >= 3 + 3
    assert "Chinstrap" in model_card_markdown(ModelCard(model_name="species", version=1, validation=r))


def test_missing_values_in_numeric_and_categorical_columns_for_partial_dependence(penguins):
    X_train, X_test, y_train, y_test = penguins
    y_train, y_test = y_train == "Gentoo", y_test == "Gentoo"
    model = penguin_pipeline(LogisticRegression(max_iter=1000)).fit(X_train, y_train)
    r = validate_model(model, X_test, y_test, n_bootstrap=50, importance_repeats=1, top_features=6)
    assert {p["feature"] for p in r.partial_dependence} == set(X_test.columns)
    sex = next(p for p in r.partial_dependence if p["feature"] == "sex")
    assert sorted(sex["grid"]) == ["female", "male"]
    assert r.positive_class == "True"


# -- bad input ----------------------------------------------------------------------------

def test_empty_holdout_is_a_clear_error(fitted):
    model, base, X, y = fitted
    with pytest.raises(ValidationError, match="no rows"):
        validate_model(model, X.iloc[:0], y.iloc[:0], baseline=base)
    with pytest.raises(ValidationError, match="no rows"):
        validate_model(model, X, pd.Series([np.nan] * len(X)), baseline=base)


def test_single_class_holdout_gives_a_report_with_undefined_auc(fitted):
    model, base, X, y = fitted
    only_no = (y == "no").to_numpy()
    r = validate_model(model, X[only_no], y[only_no], baseline=base, n_bootstrap=50,
                       importance_repeats=2, top_features=1)
    assert r.metric("roc_auc").value is None and r.metric("roc_auc").low is None
    assert r.metric("pr_auc").value is None
    assert r.metric("log_loss").value is not None and r.metric("accuracy").value is not None
    assert not r.beats_baseline and r.baseline_verdict.startswith("Not decided")
    assert any("one class only" in n for n in r.notes)
    assert r.curves["roc"] is None and r.importance == []
    json.dumps(r.to_dict(), allow_nan=False)


def test_missing_target_values_are_left_out_with_a_note(fitted):
    model, base, X, y = fitted
    y = y.astype(object).copy()
    y.iloc[[0, 5, 9]] = np.nan
    r = validate_model(model, X, y, baseline=base, **FAST)
    assert r.n_rows == len(y) - 3
    assert any("3 holdout row(s) without a target value" in n for n in r.notes)
    keep = y.notna().to_numpy()
    p = model.predict_proba(X[keep])[:, 1]
    assert r.metric("roc_auc").value == pytest.approx(roc_auc_score(y[keep], p))


def test_unknown_columns_are_clear_errors(fitted):
    model, base, X, y = fitted
    with pytest.raises(NotFoundError, match="'gender' is not in the data"):
        validate_model(model, X, y, baseline=base, subgroup_columns=["gender"], **FAST)
    with pytest.raises(NotFoundError, match="'region' is not in the data"):
        validate_model(model, X, y, baseline=base, segment_column="region", **FAST)
    with pytest.raises(NotFoundError, match="'x2'"):
        validate_model(model, X.drop(columns="x2"), y, baseline=base, **FAST)


def test_other_bad_choices(fitted):
    model, base, X, y = fitted
    with pytest.raises(ValidationError, match="never saw"):
        validate_model(model, X, y.replace({"no": "maybe"}), baseline=base, **FAST)
    with pytest.raises(ValidationError, match="not been fitted"):
        validate_model(pipeline(LogisticRegression()), X, y, **FAST)
    with pytest.raises(InvalidChoiceError, match="threshold rule"):
        validate_model(model, X, y, baseline=base, threshold_rule="youden", **FAST)
    with pytest.raises(ValidationError, match="binary model"):
        validate_model(model, X, y, baseline=base, task="regression", **FAST)
    with pytest.raises(ValidationError, match="rows but"):
        validate_model(model, X, y[:10], baseline=base, **FAST)
    with pytest.raises(InvalidChoiceError, match="target recall"):
        validate_model(model, X, y, baseline=base, threshold_rule="recall", **FAST)
    other = pipeline(DummyClassifier()).fit(X, y.replace({"no": "n"}))
    with pytest.raises(ValidationError, match="same target"):
        validate_model(model, X, y, baseline=other, **FAST)
    reg = LinearRegression().fit(X[["x1"]], X.x2)
    with pytest.raises(ValidationError, match="numeric"):
        validate_model(reg, X, y, **FAST)


def test_the_baseline_labels_rows_by_its_own_rule_not_at_the_models_threshold():
    """With a low threshold for the model, the prior baseline must still score as "always
    the majority class" (scikit-learn's accuracy of that), not call every row positive."""
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"x": rng.normal(size=1500)})
    y = pd.Series(np.where(rng.random(1500) < 1 / (1 + np.exp(-(X["x"] * 1.5 - 1.2))), "yes", "no"))
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X[:1000], y[:1000])
    report = validate_model(model, X[1000:], y[1000:], threshold=0.1, **FAST)
    base = {m.name: m.value for m in report.baseline_metrics}
    majority = DummyClassifier(strategy="most_frequent").fit(X[1000:], y[1000:])
    assert base["accuracy"] == pytest.approx(accuracy_score(y[1000:], majority.predict(X[1000:])))
    assert any("likelier class" in n for n in report.notes)
