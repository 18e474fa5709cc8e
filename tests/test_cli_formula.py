"""Model terms from the command line (issue 13, A): ``check DATASET --formula F`` runs
the checks on the formula's design and offers each term its advice calls for;
``train DATASET --formula F`` needs no --target; ``models show --json`` lists the terms."""

from __future__ import annotations

import json

import pytest

from conftest import run_cli
from mlops_desktop.core.workspace import Workspace
from wage_data import TRUE_FORMULA, wage_frame

SQUARED = "wage ~ education + experience + I(experience ** 2) + ethnicity + smsa + parttime"


def _json(result) -> dict:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def workspace_path(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli-formula")
    wage_frame(1500).to_csv(base / "wage.csv", index=False)
    with Workspace.create(base / "ws", actor="setup") as ws:
        ws.import_file(base / "wage.csv", actor="setup")
    return base / "ws"


def test_check_with_a_formula_checks_its_design_and_offers_terms(workspace_path):
    data = _json(run_cli("check", "wage", "--formula", SQUARED, "--workspace", str(workspace_path), "--json"))
    assert data["formula"] == SQUARED and data["target_label"] == "wage"
    assert "I(experience ** 2)" in data["design_columns"]
    checks = {c["id"]: c for c in data["checks"]}
    assert checks["vif"]["verdict"] in ("warning", "problem")
    assert checks["vif"]["suggestion"]["formula"] == \
        "wage ~ education + poly(experience, 2) + ethnicity + smsa + parttime"
    assert checks["normality_residuals"]["suggestion"]["formula"].startswith("log(wage) ~ ")

    # applied: the VIF of the orthogonal polynomial is 1, and log(wage) leaves normal, even residuals
    after = _json(run_cli("check", "wage", "--formula", "log(wage) ~ education + poly(experience, 2) "
                          "+ ethnicity + smsa + education:parttime", "--workspace", str(workspace_path), "--json"))
    checks = {c["id"]: c for c in after["checks"]}
    assert after["target_label"] == "log(wage)"
    assert checks["vif"]["verdict"] == "ok" and checks["vif"]["statistic"] < 1.1
    assert checks["normality_residuals"]["verdict"] == "ok"
    assert checks["heteroscedasticity"]["effect"] < 1.5  # the spread across fitted values: even
    assert all(c["suggestion"] is None for c in after["checks"])

    text = run_cli("check", "wage", "--formula", SQUARED, "--workspace", str(workspace_path))
    assert text.returncode == 0 and "apply: Replace experience + I(experience ** 2) by poly(experience, 2)" \
        in text.stdout


def test_train_with_a_formula_and_models_show_lists_its_terms(workspace_path):
    data = _json(run_cli("train", "wage", "--formula", TRUE_FORMULA, "--model", "ols", "--cv", "3",
                         "--name", "wages", "--workspace", str(workspace_path), "--json", "--as", "carol"))
    assert data["target"] == "wage" and data["formula"] == TRUE_FORMULA
    assert data["terms"]["target_transform"] == "log"
    shown = _json(run_cli("models", "show", "wages:1", "--workspace", str(workspace_path), "--json"))
    assert shown["terms"]["terms"] == ["education", "poly(experience, 2)",
                                       "C(ethnicity, contr.treatment('cauc'))", "smsa", "education:parttime"]
    assert "poly(experience, 2)[2]" in shown["terms"]["columns"]
    assert shown["terms"]["reference_levels"]["C(ethnicity, contr.treatment('cauc'))"] == "cauc"
    assert "Duan's smearing estimate" in shown["terms"]["retransform_note"]
    names = [r["name"] for r in shown["coefficients"]]
    assert "poly(experience, 2)[1]" in names and "education:parttime[T.yes]" in names
    text = run_cli("models", "show", "wages:1", "--workspace", str(workspace_path))
    assert "Terms: education, poly(experience, 2)" in text.stdout


@pytest.mark.parametrize("args, message", [
    (["train", "wage", "--formula", "wage ~ open(education)"], "calls 'open'"),
    (["train", "wage"], "--target"),
    (["check", "wage", "--formula", "wage ~ education", "--features", "education"], "give no --features"),
    (["check", "wage", "--formula", "log(ethnicity) ~ education", "--task", "classification"], "numeric target"),
])
def test_formula_mistakes_are_user_errors(workspace_path, args, message):
    result = run_cli(*args, "--workspace", str(workspace_path))
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and message in result.stderr
