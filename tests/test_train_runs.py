"""Training runs on the penguins: every family for its task, the run and version
records, reproduction, the split of a recorded run, cancel, and the search."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from conftest import SAMPLES
from mlops_desktop.core.workspace.artifacts import ArtifactError
from mlops_desktop.core.errors import JobCancelled
from mlops_desktop.core.jobs import CancelToken
from mlops_desktop.core.train import (SplitSpec, TrainError, TrainSpec, coefficient_table, describe_version,
                                      load_model, load_run_model, load_split, preview, reproduce, run,
                                      runs, train)
from mlops_desktop.core.train.metrics import prediction_hash
from mlops_desktop.core.train.cv import predict_for_metrics as holdout_predictions
from mlops_desktop.core.workspace import Workspace
from wsstate import tmp_leftovers

REGRESSION = ["ols", "ridge", "lasso", "elasticnet", "tree", "random_forest", "hgb"]
CLASSIFICATION = ["logistic", "ridge", "lasso", "elasticnet", "tree", "random_forest", "hgb"]


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("train") / "ws"
    with Workspace.create(root, actor="setup") as w:
        w.import_file(SAMPLES / "penguins.csv", actor="setup")
        yield w


def _train(ws, **kw):
    kw.setdefault("dataset", "penguins")
    return train(ws, TrainSpec(**kw), actor="analyst")


# -- every family, reproduced ----------------------------------------------------------------

@pytest.mark.parametrize("target,family", [("body_mass_g", f) for f in REGRESSION]
                         + [("species", f) for f in CLASSIFICATION]
                         + [("sex", f) for f in ("logistic", "lasso", "hgb")])
def test_every_family_trains_and_reproduces_identically(ws, target, family):
    result = _train(ws, target=target, models=[family], model_name=f"{target}-{family}")
    assert result.status == "succeeded" and result.chosen == family
    assert result.task == {"body_mass_g": "regression", "species": "multiclass", "sex": "binary"}[target]
    holdout = result.metrics["holdout"]
    assert all(v is not None for v in holdout.values()), holdout
    if target == "body_mass_g":
        assert holdout["r2"] > 0.6
    else:
        assert holdout["accuracy"] > 0.75
    again = reproduce(ws, result.run_id, actor="checker")
    assert again.identical, again.to_dict()
    assert again.prediction_sha256["original"] == again.prediction_sha256["reproduced"] == result.prediction_sha256
    assert again.metric_differences == [] and again.reproduces == result.run_id


# -- what a run records ---------------------------------------------------------------------

def test_a_run_records_everything_the_issue_lists(ws):
    result = _train(ws, target="body_mass_g", models=["ols", "hgb"], seed=7, model_name="mass")
    recorded = run(ws, result.run_id)
    assert recorded.status == "succeeded" and recorded.created_by == "analyst"
    ds = ws.dataset("penguins")
    assert recorded.dataset_id == ds.id and recorded.dataset_fingerprint == ds.fingerprint
    assert recorded.target == "body_mass_g" and recorded.task == "regression" and recorded.seed == 7
    assert recorded.features == [f["name"] for f in result.features]
    assert recorded.spec["split"] == {"kind": "auto", "column": None, "test_size": 0.2}
    assert recorded.spec["models"] == ["ols", "hgb"] and recorded.spec["dataset"] == ds.id
    assert recorded.details["split"]["kind"] == "random"
    assert recorded.family == result.chosen and recorded.hyperparameters == {}
    assert set(recorded.metrics) == {"cv", "holdout", "baseline"}
    assert recorded.metrics["cv"]["rmse"]["mean"] == result.metrics["cv"]["rmse"]["mean"]
    assert set(recorded.library_versions) >= {"python", "numpy", "pandas", "scikit-learn", "statsmodels"}
    assert recorded.started_at <= recorded.finished_at and recorded.duration_s > 0
    assert recorded.prediction_sha256 == result.prediction_sha256
    assert (recorded.model, recorded.version) == ("mass", 1)
    assert [c["family"] for c in recorded.details["candidates"]] == ["ols", "hgb"]
    assert recorded.details["baseline"]["family"] == "baseline"

    version = describe_version(ws, "mass:1")
    assert version["stage"] == "draft" and version["run_id"] == result.run_id
    assert version["artifact_sha256"] == result.artifact_sha256
    path = ws.artifacts_dir / result.artifact_sha256
    assert path.is_file()
    actions = [e.action for e in ws.audit_entries(entity_type="run", entity_id=result.run_id)]
    assert actions == ["run.finished", "run.started"]
    assert ws.audit_entries(entity_type="model_version", entity_id=version["id"])[0].action == \
        "model.version_created"
    assert ws.verify_audit() == []
    assert json.loads(json.dumps(result.to_dict(), allow_nan=False))["run_id"] == result.run_id


def test_the_best_family_by_cross_validation_is_chosen_and_beats_the_baseline(ws):
    result = _train(ws, target="species", models=["logistic", "tree", "hgb"], model_name="pick")
    primary = result.primary_metric
    assert primary == "roc_auc"
    means = {c["family"]: c["cv"][primary]["mean"] for c in result.candidates}
    assert means[result.chosen] == max(means.values())
    assert result.baseline["cv"][primary]["mean"] < means[result.chosen]


def test_the_same_name_gets_new_versions(ws):
    first = _train(ws, target="bill_length_mm", models=["ridge"], model_name="bills")
    second = _train(ws, target="bill_length_mm", models=["ridge"], model_name="bills", seed=1)
    assert (first.version, second.version) == (1, 2)
    assert describe_version(ws, "bills")["version"] == 2


def test_the_split_of_a_run_rebuilds_its_exact_holdout(ws):
    result = _train(ws, target="species", models=["ridge"], model_name="split-check")
    train_df, holdout_df = load_split(ws, result.run_id)
    assert len(train_df) == result.rows["train"] and len(holdout_df) == result.rows["holdout"]
    assert set(train_df.index).isdisjoint(holdout_df.index)
    assert list(holdout_df.columns) == [c.name for c in ws.dataset("penguins").columns]
    # the registered model scores the raw holdout rows exactly as the run did
    model = load_model(ws, "split-check")
    predicted = holdout_predictions(model, holdout_df, model.classes_)
    assert prediction_hash(predicted) == result.prediction_sha256
    assert load_run_model(ws, result.run_id).classes_.tolist() == ["Adelie", "Chinstrap", "Gentoo"]


def test_no_holdout_trains_on_every_row_and_says_so(ws):
    result = _train(ws, target="body_mass_g", models=["ols"], split=SplitSpec(test_size=0),
                    model_name="all-rows")
    assert result.rows["holdout"] == 0 and result.rows["train"] == 342
    assert result.metrics["holdout"] is None and result.metrics["cv"]["rmse"]["mean"] > 0
    assert any("cross-validation alone" in n for n in result.notes)
    assert reproduce(ws, result.run_id, actor="checker").identical
    assert len(load_split(ws, result.run_id)[1]) == 0


def test_ols_coefficients_are_in_the_units_of_the_features(ws):
    result = _train(ws, target="body_mass_g", models=["ols"], features=["flipper_length_mm", "species"],
                    robust_errors=True, model_name="ols-units")
    table = describe_version(ws, "ols-units")["coefficients"]
    names = [r["name"] for r in table]
    assert names == ["(intercept)", "flipper_length_mm", "species_Chinstrap", "species_Gentoo"]
    flipper = table[1]
    assert 20 < flipper["estimate"] < 60  # grams per millimetre, not per standard deviation
    assert flipper["statistic_kind"] == "z"  # HC3 errors use the normal distribution
    assert {"std_error", "p_value", "ci_low", "ci_high"} <= set(flipper)
    assert coefficient_table(load_model(ws, "ols-units")) == table
    assert result.features == [{"name": "flipper_length_mm", "kind": "numeric"},
                               {"name": "species", "kind": "categorical"}]


def test_logistic_coefficients_have_odds_ratios(ws):
    _train(ws, target="sex", models=["logistic"], features=["body_mass_g", "bill_depth_mm"],
           model_name="sex-logit")
    table = describe_version(ws, "sex-logit")["coefficients"]
    mass = next(r for r in table if r["name"] == "body_mass_g")
    assert mass["odds_ratio"] == pytest.approx(np.exp(mass["estimate"]))
    assert mass["class"] == "male" and mass["reference_class"] == "female"


def test_trees_have_no_coefficient_table(ws):
    _train(ws, target="sex", models=["tree"], model_name="sex-tree")
    assert describe_version(ws, "sex-tree")["coefficients"] is None


# -- splits -----------------------------------------------------------------------------------

def test_a_time_split_holds_out_the_latest_rows(ws):
    result = _train(ws, target="body_mass_g", models=["ridge"], split=SplitSpec("time", "year", 0.3),
                    cv_folds=3, model_name="by-year")
    train_df, holdout_df = load_split(ws, result.run_id)
    assert train_df["year"].max() <= holdout_df["year"].min()
    assert "year" in [e["column"] for e in result.excluded]
    assert reproduce(ws, result.run_id, actor="checker").identical


def test_a_grouped_split_keeps_each_group_on_one_side(ws):
    result = _train(ws, target="body_mass_g", models=["ridge"], split=SplitSpec("group", "island", 0.3),
                    cv_folds=2, model_name="by-island")
    train_df, holdout_df = load_split(ws, result.run_id)
    assert set(train_df["island"]).isdisjoint(set(holdout_df["island"]))
    assert "island" in [e["column"] for e in result.excluded]


# -- search -----------------------------------------------------------------------------------

def test_the_search_is_bounded_seeded_and_reproducible(ws):
    spec = dict(target="body_mass_g", models=["ridge", "tree"], search_candidates=3, seed=3)
    first = _train(ws, **spec, model_name="searched")
    second = _train(ws, **spec, model_name="searched")
    for a, b in zip(first.candidates, second.candidates):
        assert a["candidates_evaluated"] == 4
        assert [t["params"] for t in a["search"]] == [t["params"] for t in b["search"]]
        assert a["search"][0]["params"] == {}  # the defaults always compete
    assert first.prediction_sha256 == second.prediction_sha256
    chosen = first.chosen_candidate
    best = min(chosen["search"], key=lambda t: t["cv"]["rmse"]["mean"])
    assert chosen["hyperparameters"] == best["params"]
    assert reproduce(ws, first.run_id, actor="checker").identical


def test_a_zero_time_budget_evaluates_only_the_defaults(ws):
    result = _train(ws, target="body_mass_g", models=["ridge"], search_candidates=5,
                    search_time_budget_s=0, model_name="no-time")
    assert result.chosen_candidate["candidates_evaluated"] == 1
    assert any("time budget" in n for n in result.notes)


# -- cancel and failure -----------------------------------------------------------------------

def _rows(ws, sql):
    conn = sqlite3.connect(ws.root / "registry.sqlite")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_a_cancelled_run_is_recorded_and_leaves_no_version_or_artifact(ws):
    token = CancelToken()
    seen = []

    def progress(fraction, message):
        seen.append(fraction)
        if fraction is not None and fraction > 0.5:
            token.cancel()

    before_files = sorted(p.name for p in ws.artifacts_dir.iterdir())
    before_versions = _rows(ws, "SELECT COUNT(*) FROM model_versions")[0][0]
    with pytest.raises(JobCancelled) as caught:
        train(ws, TrainSpec(dataset="penguins", target="species", models=["ridge", "tree", "hgb"],
                            model_name="cancelled"), actor="analyst", progress=progress, cancel=token)
    run_id = caught.value.run_id
    recorded = run(ws, run_id)
    assert recorded.status == "cancelled" and recorded.error == "cancelled by the user"
    assert recorded.finished_at is not None and recorded.model is None
    assert _rows(ws, "SELECT COUNT(*) FROM model_versions")[0][0] == before_versions
    assert sorted(p.name for p in ws.artifacts_dir.iterdir()) == before_files
    assert tmp_leftovers(ws.root) == []
    assert 0.5 < max(seen) < 0.95
    assert ws.audit_entries(entity_type="run", entity_id=run_id)[0].summary.startswith(
        f"Run {run_id} cancelled")
    with pytest.raises(TrainError, match="did not succeed"):
        reproduce(ws, run_id, actor="checker")


def test_a_run_whose_every_family_fails_is_recorded_as_failed(tmp_path):
    import pandas as pd

    rng = np.random.RandomState(0)
    wide = pd.DataFrame(rng.normal(size=(30, 40)), columns=[f"x{i}" for i in range(40)])
    wide["y"] = rng.normal(size=30)
    path = tmp_path / "wide.csv"
    wide.to_csv(path, index=False)
    with Workspace.create(tmp_path / "ws", actor="t") as w:
        w.import_file(path, actor="t")
        with pytest.raises(TrainError, match="more rows than coefficients") as caught:
            train(w, TrainSpec(dataset="wide", target="y", models=["ols"], cv_folds=3), actor="t")
        recorded = run(w, caught.value.run_id)
        assert recorded.status == "failed" and "more rows than coefficients" in recorded.error
        assert list(w.artifacts_dir.iterdir()) == []
        assert [r.status for r in runs(w)] == ["failed"]


def test_a_modified_artifact_refuses_to_load(ws):
    result = _train(ws, target="sex", models=["ridge"], model_name="tampered")
    path = ws.artifacts_dir / result.artifact_sha256
    original = path.read_bytes()
    try:
        path.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
        with pytest.raises(ArtifactError, match="modified"):
            load_model(ws, "tampered")
    finally:
        path.write_bytes(original)
    assert load_model(ws, "tampered:1") is not None


def test_preview_lists_features_exclusions_and_rows_without_training(ws):
    before = len(runs(ws))
    shown = preview(ws, TrainSpec(dataset="penguins", target="species", exclude=["year"]))
    assert shown["task"] == "multiclass" and shown["primary_metric"] == "roc_auc"
    assert {"column": "year", "reason": "excluded by you"} in shown["excluded"]
    assert shown["rows"]["holdout"] == 69
    assert {m["name"] for m in shown["available_models"]} >= {"logistic", "ridge", "hgb"}
    assert len(runs(ws)) == before
