"""Registering a candidate that was not chosen: refitted from the run's record, checked
against the recorded predictions and metrics, registered and audited like the winner."""

from __future__ import annotations

import json

import pytest

from conftest import SAMPLES
from mlops_desktop.core.errors import InvalidChoiceError
from mlops_desktop.core.train import TrainError, TrainSpec, load_model, run, runs, train
from mlops_desktop.core.train.candidates import register_candidate, registered_candidates
from mlops_desktop.core.train.cv import predict_for_metrics
from mlops_desktop.core.train.metrics import prediction_hash
from mlops_desktop.core.train.runner import load_split
from mlops_desktop.core.workspace import Workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("candidates") / "ws"
    with Workspace.create(root, actor="setup") as w:
        w.import_file(SAMPLES / "penguins.csv", actor="setup")
        yield w


@pytest.mark.parametrize("segment_by", [None, "species"])
def test_a_candidate_is_refitted_checked_and_registered(ws, segment_by):
    name = f"mass-{segment_by or 'global'}"
    first = train(ws, TrainSpec(dataset="penguins", target="body_mass_g", models=["ols", "tree", "random_forest"],
                                segment_by=segment_by, min_segment_rows=60, model_name=name), actor="ann")
    other = next(c for c in first.candidates if c["family"] != first.chosen)
    result = register_candidate(ws, first.run_id, other["family"], actor="bob")
    assert (result.model, result.version, result.chosen) == (name, 2, other["family"])
    assert result.prediction_sha256 == other["prediction_sha256"]
    assert result.metrics == {"cv": other["cv"], "holdout": other["holdout"]}  # the candidate as recorded
    # the registered model file is that candidate: its holdout predictions hash the same
    model = load_model(ws, f"{name}:2")
    _train_part, holdout = load_split(ws, first.run_id)
    assert prediction_hash(predict_for_metrics(model, holdout, None)) == other["prediction_sha256"]
    refit = run(ws, result.run_id)
    assert refit.details["refit_of"]["run_id"] == first.run_id and refit.family == other["family"]
    assert refit.spec["models"] == [other["family"]] and refit.seed == run(ws, first.run_id).seed
    entries = [e for e in ws.audit_entries(limit=4)]
    assert [e.action for e in entries[:2]] == ["model.version_created", "run.finished"]
    assert f"candidate of run {first.run_id}" in entries[0].summary and entries[0].actor == "bob"
    assert entries[1].details["refit_of"]["family"] == other["family"]
    assert registered_candidates(ws, first.run_id) == {first.chosen: f"{name}:1", other["family"]: f"{name}:2"}
    from mlops_desktop.core.workspace.integrity import verify_workspace

    assert verify_workspace(ws).ok


def test_what_cannot_be_registered_is_refused_with_the_reason(ws):
    first = train(ws, TrainSpec(dataset="penguins", target="species", models=["logistic", "tree"],
                                model_name="species"), actor="ann")
    other = next(c for c in first.candidates if c["family"] != first.chosen)
    before = len(runs(ws))
    with pytest.raises(InvalidChoiceError, match="registered already, as species:1"):
        register_candidate(ws, first.run_id, first.chosen, actor="bob")
    with pytest.raises(InvalidChoiceError, match="has no candidate 'hgb'; its candidates are"):
        register_candidate(ws, first.run_id, "hgb", actor="bob")
    assert len(runs(ws)) == before  # refused before a run starts
    result = register_candidate(ws, first.run_id, other["family"], actor="bob", model_name="species-tree")
    assert (result.model, result.version) == ("species-tree", 1)
    with pytest.raises(InvalidChoiceError, match="registered already, as species-tree:1"):
        register_candidate(ws, first.run_id, other["family"], actor="bob")


def test_a_refit_that_differs_from_the_record_registers_nothing(ws):
    first = train(ws, TrainSpec(dataset="penguins", target="flipper_length_mm", models=["ols", "tree"],
                                model_name="flipper"), actor="ann")
    other = next(c for c in first.candidates if c["family"] != first.chosen)
    details = run(ws, first.run_id).details
    for c in details["candidates"]:
        if c["family"] == other["family"]:
            c["prediction_sha256"] = "0" * 64  # as if the libraries had changed what the model predicts
    with ws.registry.transaction() as db:
        db.execute("UPDATE runs SET details = ? WHERE id = ?", (json.dumps(details), first.run_id))
    files = sorted(p.name for p in ws.artifacts_dir.iterdir())
    with pytest.raises(TrainError, match="differs from the record \\(its holdout predictions\\)") as err:
        register_candidate(ws, first.run_id, other["family"], actor="bob")
    failed = run(ws, err.value.run_id)
    assert failed.status == "failed" and failed.model is None
    assert sorted(p.name for p in ws.artifacts_dir.iterdir()) == files  # no model file left behind
    assert registered_candidates(ws, first.run_id) == {first.chosen: "flipper:1"}


def test_the_cli_registers_a_candidate(ws, capsys):
    from mlops_desktop.cli import run as cli

    first = train(ws, TrainSpec(dataset="penguins", target="bill_depth_mm", models=["ols", "tree"],
                                model_name="depth"), actor="ann")
    other = next(c["family"] for c in first.candidates if c["family"] != first.chosen)
    root = ws.root
    code = cli(["runs", "show", str(first.run_id), "--workspace", str(root)])
    assert code == 0 and f"runs register {first.run_id} FAMILY" in capsys.readouterr().out
    code = cli(["runs", "register", str(first.run_id), other, "--as", "cid", "--json", "--workspace", str(root)])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and (out["model"], out["version"], out["chosen"]) == ("depth", 2, other)
    code = cli(["runs", "register", str(first.run_id), other, "--as", "cid", "--workspace", str(root)])
    assert code == 2 and "registered already, as depth:2" in capsys.readouterr().err
