"""Stage rules, enforced in core for the GUI and the CLI alike, and recorded."""

from __future__ import annotations

import json

import pytest

from conftest import run_cli
from mlops_desktop.core.errors import MlopsError
from mlops_desktop.core.registry.lifecycle import change_stage, stage_history
from mlops_desktop.core.train import TrainSpec, find_version, train
from mlops_desktop.core.validate import model_card_markdown
from mlops_desktop.core.validate.for_version import model_card, validate_version


@pytest.fixture
def ws(workspace, penguins_csv):
    workspace.import_file(penguins_csv, actor="ann")
    train(workspace, TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"], model_name="mass"),
          actor="ann")
    return workspace


def test_the_full_lifecycle_with_four_eyes(ws):
    with pytest.raises(MlopsError, match="no validation on record"):
        change_stage(ws, "mass:1", "validated", actor="ann")
    with pytest.raises(MlopsError, match="only a validated version can be approved"):
        change_stage(ws, "mass:1", "approved", actor="bob", comment="ok")
    validate_version(ws, "mass:1", actor="ann", n_bootstrap=100)
    change_stage(ws, "mass:1", "validated", actor="ann")
    assert find_version(ws, "mass:1").stage == "validated"
    with pytest.raises(MlopsError, match="cannot approve it too"):
        change_stage(ws, "mass:1", "approved", actor="ann", comment="mine")
    with pytest.raises(MlopsError, match="needs a comment"):
        change_stage(ws, "mass:1", "approved", actor="bob")
    change_stage(ws, "mass:1", "approved", actor="bob", comment="Residuals and intervals look sound.")
    change_stage(ws, "mass:1", "retired", actor="bob", comment="replaced")
    with pytest.raises(MlopsError, match="retired"):
        change_stage(ws, "mass:1", "approved", actor="bob", comment="again")
    history = stage_history(ws, "mass:1")
    assert [(h["from_stage"], h["to_stage"], h["changed_by"]) for h in history] == [
        ("draft", "validated", "ann"), ("validated", "approved", "bob"), ("approved", "retired", "bob")]
    actions = [e.action for e in ws.audit_entries(entity_type="model_version", entity_id=find_version(ws, "mass").id)]
    assert actions.count("model.stage_changed") == 3
    assert ws.verify_audit() == []
    card = model_card_markdown(model_card(ws, "mass:1"))
    assert "bob" in card and "Residuals and intervals look sound." in card


def test_not_beating_the_baseline_needs_a_recorded_override(workspace, tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"noise": rng.normal(size=300), "y": rng.normal(size=300)})
    frame.to_csv(tmp_path / "noise.csv", index=False)
    workspace.import_file(tmp_path / "noise.csv", actor="ann")
    train(workspace, TrainSpec(dataset="noise", target="y", models=["ols"], model_name="noise"), actor="ann")
    result = validate_version(workspace, "noise", actor="ann", n_bootstrap=200)
    assert not result.report.beats_baseline
    with pytest.raises(MlopsError, match="did not beat its baseline"):
        change_stage(workspace, "noise:1", "validated", actor="ann")
    done = change_stage(workspace, "noise:1", "validated", actor="ann", override_reason="Benchmark only.")
    assert done["baseline_override"] == "Benchmark only."
    assert stage_history(workspace, "noise:1")[0]["baseline_override"] == "Benchmark only."
    assert model_card(workspace, "noise:1").override["reason"] == "Benchmark only."


def test_cli_models_stage(ws):
    root = str(ws.root)
    validate_version(ws, "mass:1", actor="ann", n_bootstrap=100)
    ws.close()
    done = run_cli("models", "stage", "mass:1", "validated", "--workspace", root, "--as", "ann", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["to"] == "validated"
    bad = run_cli("models", "stage", "mass:1", "approved", "--comment", "fine", "--workspace", root, "--as", "ann")
    assert bad.returncode == 2 and "four eyes" in bad.stderr and "Traceback" not in bad.stderr
    ok = run_cli("models", "stage", "mass:1", "approved", "--comment", "fine", "--workspace", root,
                 "--as", "bob", "--json")
    assert ok.returncode == 0, ok.stderr
    shown = json.loads(run_cli("models", "show", "mass:1", "--workspace", root, "--json").stdout)
    assert shown["stage"] == "approved" and [h["to_stage"] for h in shown["stage_history"]] == ["validated", "approved"]


@pytest.mark.parametrize("approver", ["ANN", "ann ", " Ann", "ann\t"])
def test_case_and_spacing_do_not_make_a_second_person(ws, approver):
    validate_version(ws, "mass:1", actor="ann", n_bootstrap=100)
    change_stage(ws, "mass:1", "validated", actor="ann")
    with pytest.raises(MlopsError, match="cannot approve it too"):
        change_stage(ws, "mass:1", "approved", actor=approver, comment="same person, other spelling")
    assert find_version(ws, "mass:1").stage == "validated"


def test_the_cli_refuses_an_empty_name_and_trims_spaces(ws):
    result = run_cli("models", "stage", "mass:1", "retired", "--comment", "x", "--as", "  ",
                     "--workspace", str(ws.root))
    assert result.returncode == 2 and "--as needs a person's name" in result.stderr
    assert find_version(ws, "mass:1").stage == "draft"
    result = run_cli("models", "tag", "mass:1", "team", "credit", "--as", "  bob  ", "--workspace", str(ws.root))
    assert result.returncode == 0, result.stderr
    assert ws.audit_entries(limit=1)[0].actor == "bob"
