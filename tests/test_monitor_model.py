"""A model version as the reference, through ``Reference.from_frame``: prediction drift
on the model's scores, performance on a labelled batch next to the holdout's, the
batch's drifted share weighted by permutation importance, the model's thresholds and
audit entity, and agreement with the stored-profile path of an exported package."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp, wasserstein_distance
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from conftest import DATA
from mlops_desktop.core.monitor import (Reference, batch_from_frame, compare, compare_batch, drift_reports,
                                        run_drift, set_thresholds)

NUMERIC = ["dep_delay", "distance", "hour"]
CATEGORIES = ["carrier", "origin"]
KINDS = {**{c: "numeric" for c in NUMERIC}, **{c: "categorical" for c in CATEGORIES}, "late": "boolean"}
IMPORTANCE = {"dep_delay": 0.30, "distance": 0.01, "hour": 0.02, "carrier": 0.03, "origin": 0.0}


def evaluate(model, features: pd.DataFrame, target: pd.Series) -> dict[str, float]:
    """The metric function the Validate page passes in (here: AUC and accuracy)."""
    scores = model.predict_proba(features)[:, 1]
    return {"roc_auc": roc_auc_score(target, scores), "accuracy": accuracy_score(target, scores >= 0.5)}


@pytest.fixture(scope="module")
def model_and_data():
    df = pd.read_csv(DATA / "flights_6000.csv")
    df = df[df["arr_delay"].notna()].assign(late=lambda d: d["arr_delay"] > 15)
    train, later = df[df.month <= 6], df[df.month > 6]
    pipe = make_pipeline(
        ColumnTransformer([("num", make_pipeline(SimpleImputer(), StandardScaler()), NUMERIC),
                           ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORIES)]),
        LogisticRegression(max_iter=500))
    pipe.fit(train[NUMERIC + CATEGORIES], train["late"])
    reference = Reference.from_frame(train, KINDS, model=pipe, importance=IMPORTANCE, name="late arrivals",
                                     model_name="late", model_version=3, version_id=17, target="late",
                                     holdout_metrics={"roc_auc": 0.9, "accuracy": 0.8}, evaluate=evaluate)
    return reference, pipe, train, later


def test_prediction_drift_is_measured_on_the_models_scores(model_and_data):
    reference, pipe, train, later = model_and_data
    later = later.assign(dep_delay=later["dep_delay"] + 30)  # later departures: more late arrivals predicted
    report = compare_batch(reference, batch_from_frame(later, label="July–December"))
    p = report.prediction
    assert p is not None and p.kind == "numeric" and p.drifted
    ref_scores = pipe.predict_proba(train[NUMERIC + CATEGORIES])[:, 1]
    cur_scores = pipe.predict_proba(later[NUMERIC + CATEGORIES])[:, 1]
    assert p.metrics["wasserstein"] == pytest.approx(wasserstein_distance(ref_scores, cur_scores), rel=1e-9)
    assert p.metrics["ks_statistic"] == pytest.approx(ks_2samp(ref_scores, cur_scores).statistic, rel=1e-12)
    assert p.metrics["mean_change"] == pytest.approx(cur_scores.mean() - ref_scores.mean(), rel=1e-9)
    assert report.dataset.prediction_drifted and "The model's scores drifted" in report.summary
    assert reference.features == NUMERIC + CATEGORIES and reference.target == "late"


def test_performance_next_to_the_holdout_and_importance_weights(model_and_data):
    reference, pipe, _, later = model_and_data
    report = compare_batch(reference, batch_from_frame(later, label="July–December"))
    perf = report.performance
    assert perf is not None and perf["rows"] == len(later) and perf["target"] == "late"
    assert perf["holdout"] == {"roc_auc": 0.9, "accuracy": 0.8}
    assert perf["current"] == pytest.approx(evaluate(pipe, later[NUMERIC + CATEGORIES], later["late"]))
    assert "holdout 0.9" in report.summary
    assert report.dataset.weighting == "importance"
    assert {f.name: f.weight for f in report.features} == IMPORTANCE
    unlabelled = compare_batch(reference, batch_from_frame(later.drop(columns=["late"]), label="scores only"))
    assert unlabelled.performance is None and unlabelled.prediction.comparable


def test_importance_decides_the_batch_verdict(model_and_data):
    reference, _, train, later = model_and_data
    shifted = later.assign(distance=later["distance"] * 1.5)
    report = compare_batch(reference, batch_from_frame(shifted, label="longer flights"))
    assert [f.name for f in report.features if f.drifted] == ["distance"]
    assert report.dataset.drifted_share == pytest.approx(0.01 / sum(IMPORTANCE.values()))
    assert "the most important one, distance" in report.summary and "consider retraining" in report.summary


def test_a_batch_the_model_cannot_score(model_and_data):
    reference, _, _, later = model_and_data
    report = compare_batch(reference, batch_from_frame(later.drop(columns=["origin"]), label="no origin"))
    assert report.prediction.reason == "the batch lacks columns the model needs: origin"
    assert report.feature("origin").reason == "the batch has no column 'origin'"


def test_model_thresholds_lineage_and_audit(workspace, model_and_data):
    reference, _, _, later = model_and_data
    set_thresholds(workspace, {"psi_moderate": 0.05}, model_name="late", actor="lead")
    run = run_drift(workspace, reference, [batch_from_frame(later, label="H2")], actor="analyst")
    assert run.thresholds["psi_moderate"] == 0.05
    [row] = drift_reports(workspace, model_name="late", model_version=3)
    assert row.reference_type == "model_version" and row.reference_label == "model late version 3"
    assert row.id == run.reports[0].id
    [entry] = workspace.audit_entries(entity_type="model_version", entity_id=17)  # as Train's entries
    assert entry.action == "drift.report_created" and entry.details["reference"]["model"] == "late"


def test_the_stored_profile_agrees_with_the_app(model_and_data):
    """What an exported package's ``score.py --drift`` computes from the stored profile
    (no training data) matches the app's comparison."""
    reference, pipe, _, later = model_and_data
    app = compare_batch(reference, batch_from_frame(later, label="H2"))
    profile = reference.stored_profile(thresholds={"psi_moderate": 0.1})
    assert profile["thresholds"]["psi_moderate"] == 0.1 and profile["importance"] == IMPORTANCE
    scores = pipe.predict_proba(later[NUMERIC + CATEGORIES])[:, 1]
    package = compare(profile, later, predictions=scores)
    for a, b in zip(app.features, package.features):
        assert (a.name, a.verdict, a.metrics["psi"], a.noise) == (b.name, b.verdict, b.metrics["psi"], b.noise)
    assert package.prediction.verdict == app.prediction.verdict
    assert package.prediction.metrics["psi"] == app.prediction.metrics["psi"]
    assert package.dataset.drifted_share == app.dataset.drifted_share
    assert np.isclose(package.prediction.metrics["wasserstein"], app.prediction.metrics["wasserstein"],
                      atol=package.prediction.metrics.get("sketch_error", {}).get("wasserstein", 0) + 1e-12)
