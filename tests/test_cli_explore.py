"""The ``profile`` and ``check`` commands, run as a user runs them:
``python -m mlops_desktop`` in a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from markupsafe import escape

from conftest import SAMPLES, run_cli
from mlops_desktop.core.checks import VERDICTS
from mlops_desktop.core.workspace import Workspace

REGRESSION_CHECKS = {"obs_per_parameter", "vif", "linearity_reset", "normality_residuals",
                     "heteroscedasticity", "influence", "independence", "rare_categories"}


def _no_constant(name: str):
    raise AssertionError(f"JSON holds {name}, which is not JSON")


def _ok(result) -> str:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result.stdout


def _json(result):
    return json.loads(_ok(result), parse_constant=_no_constant)


def _user_error(result) -> str:
    """Exit code 2, one line on stderr, nothing on stdout, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Path:
    """A workspace holding the penguins, for the tests that change nothing."""
    root = tmp_path_factory.mktemp("cli-explore") / "ws"
    with Workspace.create(root, actor="setup") as ws:
        ws.import_file(SAMPLES / "penguins.csv", actor="setup")
    return root


@pytest.fixture
def own(tmp_path) -> Path:
    """A workspace of the test's own, for the tests that record something."""
    root = tmp_path / "own-ws"
    with Workspace.create(root, actor="setup") as ws:
        ws.import_file(SAMPLES / "penguins.csv", actor="setup")
    return root


def _accepted_entries(root: Path) -> list:
    with Workspace.open(root) as ws:
        return [e for e in ws.audit_entries() if e.action == "check.warning_accepted"]


# -- profile -------------------------------------------------------------------------------

def test_import_then_profile_as_json(tmp_path, penguins_csv):
    ws = str(tmp_path / "ws")
    _json(run_cli("import", str(penguins_csv), "--workspace", ws, "--json"))
    data = _json(run_cli("profile", "penguins", "--target", "species", "--workspace", ws, "--json"))

    assert {"dataset", "rows", "columns", "correlations", "target", "alerts"} <= set(data)
    assert data["dataset"]["name"] == "penguins" and data["rows"] == 344
    df = pd.read_csv(penguins_csv)
    assert [c["name"] for c in data["columns"]] == list(df.columns)
    mass = next(c for c in data["columns"] if c["name"] == "body_mass_g")
    assert mass["missing"] == df["body_mass_g"].isna().sum()
    assert mass["stats"]["mean"] == pytest.approx(df["body_mass_g"].mean())
    assert mass["stats"]["std"] == pytest.approx(df["body_mass_g"].std())
    assert data["target"]["column"] == "species" and data["target"]["task"] == "classification"
    assert {c["value"]: c["count"] for c in data["target"]["classes"]} == df["species"].value_counts().to_dict()
    names = data["correlations"]["columns"]
    i, j = names.index("flipper_length_mm"), names.index("body_mass_g")
    assert data["correlations"]["pearson"][i][j] == pytest.approx(df["flipper_length_mm"].corr(df["body_mass_g"]))
    assert "rank_cache" not in data["correlations"]


def test_profile_writes_a_report(shared, tmp_path):
    report = tmp_path / "penguins.html"
    out = _ok(run_cli("profile", "penguins", "--target", "species", "--report", str(report),
                      "--workspace", str(shared)))
    assert out.startswith("Profile of penguins: 344 rows × 8 columns")
    assert f"Report written to {report}" in out
    html = report.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html
    assert "Target: species (classification)" in html and "id='col-body_mass_g'" in html


@pytest.mark.parametrize("args, expected", [
    (["profile", "no-such-data"], "no-such-data"),
    (["profile", "penguins", "--target", "weight"], "'weight'"),
    (["profile", "penguins", "--report", "/no/such/folder/r.html"], "does not exist"),
])
def test_profile_errors_are_one_line(shared, args, expected):
    line = _user_error(run_cli(*args, "--workspace", str(shared), "--json"))
    assert line.startswith("error: ") and expected in line


# -- check ---------------------------------------------------------------------------------

def test_check_as_json_with_a_report(shared, tmp_path):
    report = tmp_path / "checks.html"
    data = _json(run_cli("check", "penguins", "--target", "body_mass_g", "--report", str(report),
                         "--workspace", str(shared), "--json"))
    assert data["target"] == "body_mass_g" and data["task"] == "regression"
    assert {c["id"] for c in data["checks"]} == REGRESSION_CHECKS
    assert all(c["verdict"] in ("ok", "warning", "problem", "not_applicable") for c in data["checks"])
    assert set(VERDICTS) == {"ok", "warning", "problem", "not_applicable"}
    assert data["n_rows"] == 344 and 0 < data["n_used"] <= 344
    assert data["report"] == str(report)
    html = report.read_text(encoding="utf-8")
    for c in data["checks"]:
        assert escape(c["name"]) in html


def test_accepting_a_warning_is_recorded(own):
    ws = str(own)
    reason = "The curve is mild and the model is for ranking only."
    data = _json(run_cli("check", "penguins", "--target", "body_mass_g", "--accept", "linearity_reset",
                         "--reason", reason, "--as", "alice", "--workspace", ws, "--json"))
    accepted = {c["id"]: c["accepted"] for c in data["checks"]}
    assert accepted["linearity_reset"]["accepted_by"] == "alice"
    assert accepted["linearity_reset"]["reason"] == reason
    assert all(v is None for k, v in accepted.items() if k != "linearity_reset")

    audit = _json(run_cli("audit", "--workspace", ws, "--json"))
    assert audit[0]["action"] == "check.warning_accepted" and audit[0]["actor"] == "alice"
    assert audit[0]["details"]["check_id"] == "linearity_reset" and audit[0]["details"]["reason"] == reason

    later = _json(run_cli("check", "penguins", "--target", "body_mass_g", "--workspace", ws, "--json"))
    check = next(c for c in later["checks"] if c["id"] == "linearity_reset")
    assert check["accepted"]["accepted_by"] == "alice" and check["accepted"]["reason"] == reason

    # taken back: recorded as a withdrawal, the acceptance stays in the audit log
    withdrawn = _json(run_cli("check", "penguins", "--target", "body_mass_g", "--withdraw", "linearity_reset",
                              "--reason", "rechecked", "--as", "bob", "--workspace", ws, "--json"))
    assert all(c["accepted"] is None for c in withdrawn["checks"])
    audit = _json(run_cli("audit", "--workspace", ws, "--json"))
    assert [a["action"] for a in audit[:2]] == ["check.warning_withdrawn", "check.warning_accepted"]
    assert audit[0]["actor"] == "bob" and audit[0]["details"]["reason"] == "rechecked"
    again = run_cli("check", "penguins", "--target", "body_mass_g", "--withdraw", "linearity_reset", "--as", "bob",
                    "--workspace", ws)
    assert again.returncode == 2 and "nothing to withdraw" in again.stderr


@pytest.mark.parametrize("extra, expected", [
    ([], "--reason"),
    (["--reason", "   "], "--reason"),
    (["--reason", "fine"], "'no_such_check'"),
], ids=["no reason", "blank reason", "unknown check"])
def test_accept_needs_a_reason_and_a_check_that_ran(shared, extra, expected):
    check = "no_such_check" if "fine" in extra else "linearity_reset"
    line = _user_error(run_cli("check", "penguins", "--target", "body_mass_g", "--accept", check, *extra,
                               "--as", "alice", "--workspace", str(shared)))
    assert expected in line
    assert _accepted_entries(shared) == []


@pytest.mark.parametrize("args, expected", [
    (["--target", "body_mass_g", "--task", "classification"], "classes"),
    (["--target", "body_mass_g", "--features", "bill_length_mm,beak"], "'beak'"),
    (["--target", "body_mass_g", "--time-column", "when"], "'when'"),
    (["--target", "weight"], "'weight'"),
])
def test_check_errors_are_one_line(shared, args, expected):
    line = _user_error(run_cli("check", "penguins", *args, "--workspace", str(shared), "--json"))
    assert line.startswith("error: ") and expected in line


def test_check_with_a_time_column_and_chosen_features(shared):
    data = _json(run_cli("check", "penguins", "--target", "body_mass_g", "--time-column", "year",
                         "--features", "bill_length_mm,flipper_length_mm,island",
                         "--workspace", str(shared), "--json"))
    assert data["time_column"] == "year"
    assert data["features"] == ["bill_length_mm", "flipper_length_mm", "island"]
    ids = {c["id"] for c in data["checks"]}
    assert {"stationarity", "time_leakage"} <= ids and REGRESSION_CHECKS <= ids
    assert all(c["verdict"] in VERDICTS for c in data["checks"])


def test_check_classification_of_a_category(shared):
    data = _json(run_cli("check", "penguins", "--target", "species", "--task", "classification",
                         "--workspace", str(shared), "--json"))
    assert data["task"] == "classification" and data["task_inferred"] is False
    assert {"class_balance", "events_per_variable", "separation"} <= {c["id"] for c in data["checks"]}
