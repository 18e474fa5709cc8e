"""The training commands, run as a user runs them: train, runs, reproduce, models."""

from __future__ import annotations

import json

import pytest

from conftest import SAMPLES, run_cli
from mlops_desktop.core.workspace import Workspace


def _json(result) -> dict:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return json.loads(result.stdout)


def _user_error(result) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A workspace with the penguins and one OLS run made through the CLI."""
    ws = tmp_path_factory.mktemp("cli-train") / "ws"
    with Workspace.create(ws, actor="setup") as w:
        w.import_file(SAMPLES / "penguins.csv", actor="setup")
    data = _json(run_cli("train", "penguins", "--target", "body_mass_g", "--model", "ols", "ridge",
                         "--exclude", "year", "--cv", "3", "--seed", "5", "--name", "mass",
                         "--workspace", str(ws), "--json", "--as", "carol"))
    return ws, data


def test_train_prints_the_run_the_version_and_the_metrics(trained):
    ws, data = trained
    assert {"run_id", "model", "version", "metrics"} <= set(data)
    assert (data["model"], data["version"], data["status"]) == ("mass", 1, "succeeded")
    assert set(data["metrics"]) == {"cv", "holdout"}
    assert data["metrics"]["holdout"]["r2"] > 0.6 and data["metrics"]["cv"]["rmse"]["mean"] > 0
    assert [c["family"] for c in data["candidates"]] == ["ols", "ridge"]
    assert {"column": "year", "reason": "excluded by you"} in data["excluded"]
    with Workspace.open(ws) as w:
        assert w.audit_entries(entity_type="run", entity_id=data["run_id"])[-1].actor == "carol"


def test_runs_list_and_show(trained):
    ws, data = trained
    listed = _json(run_cli("runs", "list", "--workspace", str(ws), "--json"))
    assert listed[0]["run_id"] == data["run_id"] and listed[0]["status"] == "succeeded"
    assert listed[0]["model"] == "mass" and listed[0]["created_by"] == "carol"
    shown = _json(run_cli("runs", "show", str(data["run_id"]), "--workspace", str(ws), "--json"))
    assert shown["spec"]["cv_folds"] == 3 and shown["seed"] == 5
    assert shown["library_versions"]["scikit-learn"] and shown["prediction_sha256"] == data["prediction_sha256"]


def test_reproduce_reports_identical_predictions(trained):
    ws, data = trained
    result = _json(run_cli("reproduce", str(data["run_id"]), "--workspace", str(ws), "--json",
                           "--as", "dave"))
    assert result["identical"] is True and result["reproduces"] == data["run_id"]
    assert result["prediction_sha256"]["original"] == result["prediction_sha256"]["reproduced"]
    assert result["metric_differences"] == []


def test_models_show_includes_the_coefficient_table(trained):
    ws, data = trained
    shown = _json(run_cli("models", "show", "mass:1", "--workspace", str(ws), "--json"))
    assert shown["stage"] == "draft" and shown["family"] == data["chosen"]
    if data["chosen"] == "ols":
        rows = shown["coefficients"]
        assert rows[0]["name"] == "(intercept)"
        assert {"name", "estimate", "std_error", "p_value"} <= set(rows[1])
    text = run_cli("models", "show", "mass", "--workspace", str(ws))
    assert text.returncode == 0 and "mass:1 (draft)" in text.stdout


def test_ols_models_show_lists_coefficients_in_text(trained):
    ws, _ = trained
    result = run_cli("train", "penguins", "--target", "body_mass_g", "--model", "linear",
                     "--features", "flipper_length_mm,sex", "--test-size", "0", "--name", "mass-ols",
                     "--workspace", str(ws))
    assert result.returncode == 0, result.stderr
    assert "ols *" in result.stdout and "cross-validation alone" in result.stdout
    text = run_cli("models", "show", "mass-ols", "--workspace", str(ws)).stdout
    assert "flipper_length_mm" in text and "sex_female" in text and "P-VALUE" in text  # male: the most frequent


@pytest.mark.parametrize("args,match", [
    (["train", "nowhere", "--target", "x"], "No dataset with id or name 'nowhere'"),
    (["train", "penguins", "--target", "species", "--split", "time:island"], "date or a number"),
    (["train", "penguins", "--target", "species", "--split", "sideways"], "Unknown split"),
    (["models", "show", "nothing:1"], "no registered model 'nothing'"),
    (["runs", "show", "999"], "no run '999'"),
])
def test_errors_exit_2_with_one_line(trained, args, match):
    ws, _ = trained
    line = _user_error(run_cli(*args, "--workspace", str(ws)))
    assert match in line and line.startswith("error: ")
