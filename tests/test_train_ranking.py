"""The ranking metric: one owner (core.train.metrics), the analyst's choice ranks the
candidates and the settings a search tries, and is recorded with the run."""

from __future__ import annotations

import pytest

from conftest import SAMPLES
from mlops_desktop.core.errors import InvalidChoiceError
from mlops_desktop.core.train import TrainSpec, run, runs, train
from mlops_desktop.core.train import metrics
from mlops_desktop.core.validate.metrics import PRIMARY
from mlops_desktop.core.workspace import Workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("ranking") / "ws"
    with Workspace.create(root, actor="setup") as w:
        w.import_file(SAMPLES / "penguins.csv", actor="setup")
        yield w


def test_one_owner_for_the_primary_metric():
    # Validate's table is the owner's answer, and the owner's answer is the documented rule
    assert PRIMARY == {t: metrics.primary_metric(t) for t in ("binary", "multiclass", "regression")}
    assert PRIMARY == {"binary": "roc_auc", "multiclass": "roc_auc", "regression": "rmse"}
    assert metrics.ranking_metric("binary") == "roc_auc" and metrics.ranking_metric("regression") == "rmse"
    assert metrics.ranking_metric("multiclass", "log_loss") == "log_loss"
    with pytest.raises(InvalidChoiceError, match="'rmse' cannot rank classification models"):
        metrics.ranking_metric("binary", "rmse")
    assert metrics.best_first([0.3, None, 0.1, 0.2], "rmse") == [2, 3, 0, 1]
    assert metrics.best_first([0.3, None, 0.1, 0.2], "r2") == [0, 3, 2, 1]
    assert "log loss ranks" not in (metrics.__doc__ or "") and "ROC AUC rather" in metrics.__doc__


@pytest.mark.parametrize("rank_by", ["rmse", "mae", "r2"])
def test_the_chosen_metric_picks_the_winner_and_is_recorded(ws, rank_by):
    result = train(ws, TrainSpec(dataset="penguins", target="body_mass_g", models=["ols", "tree", "ridge"],
                                 ranking_metric=rank_by, model_name=f"mass-{rank_by}"), actor="ann")
    ok = [c for c in result.candidates if c["status"] == "succeeded"]
    best = ok[metrics.best_first([c["cv"][rank_by]["mean"] for c in ok], rank_by)[0]]
    assert result.chosen == best["family"] and result.ranking_metric == rank_by
    assert result.primary_metric == "rmse"  # Validate's verdict stays on the primary metric
    recorded = run(ws, result.run_id)
    assert recorded.details["ranking_metric"] == rank_by and recorded.spec["ranking_metric"] == rank_by


def test_the_search_keeps_the_setting_best_by_the_chosen_metric(ws):
    result = train(ws, TrainSpec(dataset="penguins", target="species", models=["tree"], search_candidates=6,
                                 ranking_metric="accuracy", model_name="species-accuracy"), actor="ann")
    tree = result.candidates[0]
    tried = [t for t in tree["search"] if not t.get("error")]
    best = tried[metrics.best_first([t["cv"]["accuracy"]["mean"] for t in tried], "accuracy")[0]]
    assert tree["hyperparameters"] == best["params"]


def test_a_metric_of_the_other_task_is_refused_before_a_run_starts(ws):
    before = len(runs(ws))
    with pytest.raises(InvalidChoiceError, match="cannot rank classification models"):
        train(ws, TrainSpec(dataset="penguins", target="species", models=["logistic"], ranking_metric="mae"),
              actor="ann")
    with pytest.raises(InvalidChoiceError, match="Unknown ranking metric 'auc'"):
        TrainSpec(dataset="penguins", target="species", ranking_metric="auc").validate()
    assert len(runs(ws)) == before
