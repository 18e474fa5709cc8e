"""Reason codes: ``score.py --reasons N [--reasons-for adverse|all]`` in an exported
package and ``mlops-desktop explain`` in the app, on a simulated credit-default task.

- The package's reasons equal the app's for the same rows (columns, values,
  contributions), and on every row base + listed contributions + the others = the score.
- A logistic model's contributions are its coefficient times (value - training mean),
  computed here from the training rows themselves.
- Adverse reasons go to the rows flagged at the threshold only, and name only columns
  that pushed towards the flag.
- Requests the package cannot honour exit 2 with a message; a forest's row limit is in
  the README and stops a run that would pass it, leaving no output.
- A validation keeps the holdout's contributions (the Validate page's chart, the card's
  section); a kept row explained again is the same row, with its reasons in words.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import run_cli
from credit_default import FEATURES, STRONGEST, TARGET, credit_default
from export_helpers import approve

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    """A workspace with logistic, gradient boosting and random forest versions of the
    credit model (approved, so with a decision threshold) and a least-squares regression,
    each exported; and a batch of new applicants."""
    from mlops_desktop.core.export import export_version
    from mlops_desktop.core.train import TrainSpec, train
    from mlops_desktop.core.workspace import Workspace

    base = tmp_path_factory.mktemp("reasons")
    credit_default(2500, seed=5).to_csv(base / "credit.csv", index=False)
    batch = credit_default(400, seed=6).drop(columns=[TARGET])
    batch.to_csv(base / "batch.csv", index=False)
    refs = {}
    with Workspace.create(base / "ws", actor="ann") as ws:
        ws.import_file(base / "credit.csv", name="credit", actor="ann")
        ws.update_column("credit", "applicant", role="id", actor="ann")
        for family, target, features in (("logistic", TARGET, FEATURES), ("hgb", TARGET, FEATURES),
                                         ("random_forest", TARGET, FEATURES),
                                         ("ols", "income", ["debt_ratio", "age", "late_payments", "student"])):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                train(ws, TrainSpec(dataset="credit", target=target, models=[family], features=features,
                                    model_name=family, cv_folds=2), actor="ann")
            approve(ws, f"{family}:1")
            export_version(ws, f"{family}:1", base / f"pkg-{family}", actor="carl")
            refs[family] = f"{family}:1"
    return base, batch, refs


def _score(pkg: Path, *args, cwd: Path):
    return subprocess.run([sys.executable, str(pkg / "score.py"), *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def _scored(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"prediction": object, "label_at_threshold": object}, keep_default_na=False,
                       na_values=[""])


def _listed(scored: pd.DataFrame, top: int) -> np.ndarray:
    return sum(scored[f"reason_{k}_contribution"].fillna(0.0).to_numpy() for k in range(1, top + 1))


def _text(cell):
    """A value cell as read back: an empty cell is a missing value."""
    return None if isinstance(cell, float) and np.isnan(cell) else str(cell)


@pytest.mark.parametrize("family", ["logistic", "hgb"])
def test_the_packages_reasons_add_up_and_equal_the_apps(packages, family, tmp_path):
    from mlops_desktop.core.validate.explanations import explain_rows
    from mlops_desktop.core.workspace import Workspace

    base, batch, refs = packages
    out = tmp_path / "scored.csv"
    done = _score(base / f"pkg-{family}", base / "batch.csv", "-o", out, "--reasons", 3, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["rows_with_reasons"] == len(batch)
    scored = _scored(out)
    assert list(scored.columns[-12:]) == ["reason_base", "reason_1", "reason_1_value", "reason_1_contribution",
                                          "reason_2", "reason_2_value", "reason_2_contribution", "reason_3",
                                          "reason_3_value", "reason_3_contribution", "reason_others", "reason_score"]
    total = scored["reason_base"] + _listed(scored, 3) + scored["reason_others"]
    assert np.abs(total - scored["reason_score"]).max() <= TOLERANCE
    # the score is the log-odds of the positive class the threshold is for
    assert np.abs(1 / (1 + np.exp(-scored["reason_score"])) - scored["probability_yes"]).max() <= 1e-9
    # each row's reasons push towards its decision: up for the flagged, down for the others
    flagged = (scored["label_at_threshold"] == "yes").to_numpy()
    first = scored["reason_1_contribution"].to_numpy()
    assert (first[flagged] > 0).all() and (first[~flagged & ~np.isnan(first)] < 0).all()
    with Workspace.open(base / "ws") as ws:
        app = explain_rows(ws, refs[family], str(base / "batch.csv"), rows="all", top=3)
    assert len(app.rows) == len(scored)
    for i, row in enumerate(app.rows):
        package = [(scored[f"reason_{k}"][i], _text(scored[f"reason_{k}_value"][i]), scored[f"reason_{k}_contribution"][i])
                   for k in range(1, 4) if isinstance(scored[f"reason_{k}"][i], str)]
        assert [(r.column, r.value) for r in row.reasons] == [(c, v) for c, v, _ in package]
        assert np.allclose([r.contribution for r in row.reasons], [x for _, _, x in package], atol=1e-12)
        assert abs(row.base - scored["reason_base"][i]) <= 1e-12 and abs(row.score - scored["reason_score"][i]) <= 1e-9
        assert row.decision == scored["label_at_threshold"][i]


def test_a_logistic_models_contributions_are_coefficient_times_distance_from_the_training_mean(packages, tmp_path):
    from mlops_desktop.core.train import find_version, load_model, load_split
    from mlops_desktop.core.workspace import Workspace

    base, batch, _ = packages
    out = tmp_path / "scored.csv"
    assert _score(base / "pkg-logistic", base / "batch.csv", "-o", out, "--reasons", 5, cwd=tmp_path).returncode == 0
    scored = _scored(out)
    with Workspace.open(base / "ws") as ws:
        model = load_model(ws, "logistic:1")
        train, _ = load_split(ws, find_version(ws, "logistic:1").run_id)
    params = dict(zip(["const", *model[:-1].get_feature_names_out()], model.named_steps["model"].params_[:, 0]))
    expected = {"late_payments": params["late_payments"] * (batch["late_payments"] - train["late_payments"].mean()),
                "age": params["age"] * (batch["age"] - train["age"].mean()),
                "student": params["student_yes"] * ((batch["student"] == "yes") - (train["student"] == "yes").mean())}
    found = 0
    for k in range(1, 6):
        for column, values in expected.items():
            here = (scored[f"reason_{k}"] == column).to_numpy()
            assert np.allclose(scored[f"reason_{k}_contribution"][here], values[here], atol=1e-9)
            found += here.sum()
    assert found > len(batch)


def test_adverse_reasons_go_to_the_flagged_rows_only(packages, tmp_path):
    base, _, _ = packages
    out = tmp_path / "adverse.csv"
    done = _score(base / "pkg-hgb", base / "batch.csv", "-o", out, "--reasons", 2, "--reasons-for", "adverse",
                  cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    scored = _scored(out)
    flagged = (scored["label_at_threshold"] == "yes").to_numpy()
    assert 0 < flagged.sum() < len(scored)
    assert json.loads(done.stdout.strip().splitlines()[-1])["rows_with_reasons"] == flagged.sum()
    assert scored["reason_base"].notna().to_numpy().tolist() == flagged.tolist()
    assert scored["reason_1"].isna()[~flagged].all() and (scored["reason_1_contribution"][flagged] > 0).all()


def test_requests_the_package_cannot_honour_exit_2_with_a_message(packages, tmp_path):
    base, _, _ = packages
    regression = _score(base / "pkg-ols", base / "batch.csv", "-o", tmp_path / "a.csv", "--reasons", 2,
                        "--reasons-for", "adverse", cwd=tmp_path)
    assert regression.returncode == 2 and "decision threshold" in regression.stderr
    assert not (tmp_path / "a.csv").exists() and "Traceback" not in regression.stderr
    for args, message in ((("--reasons", 0), "from 1 to 20"), (("--reasons-for", "all"), "goes with --reasons")):
        bad = _score(base / "pkg-hgb", base / "batch.csv", "-o", tmp_path / "b.csv", *args, cwd=tmp_path)
        assert bad.returncode == 2 and message in bad.stderr
    value = _score(base / "pkg-ols", base / "batch.csv", "-o", tmp_path / "c.csv", "--reasons", 2, cwd=tmp_path)
    assert value.returncode == 0, value.stderr
    scored = _scored(tmp_path / "c.csv")
    total = scored["reason_base"] + _listed(scored, 2) + scored["reason_others"]
    assert np.abs(total - scored["prediction"].astype(float)).max() <= TOLERANCE


def test_a_forest_states_its_row_limit_and_stops_a_run_past_it(packages, tmp_path):
    from mlops_desktop.core.export.files import support_modules
    from mlops_model_support.scoring import InputError

    base, _, _ = packages
    limits = {f: json.loads((base / f"pkg-{f}" / "reasons.json").read_text())["row_limit"]
              for f in ("random_forest", "hgb", "logistic")}
    assert limits["random_forest"] < limits["hgb"] < limits["logistic"]
    assert f"at most {limits['random_forest']:,} rows" in (base / "pkg-random_forest" / "README.md").read_text()
    with support_modules(base / "pkg-random_forest") as scoring:  # the package's own estimators module
        package = scoring.ModelPackage(base / "pkg-random_forest")
        codes = package.reason_codes(3)
        codes.row_limit = 150  # as if the forest were a hundred times larger
        with pytest.raises(InputError, match="at most 150 rows.*in parts of at most 150 rows"):
            package.score_file(base / "batch.csv", tmp_path / "out.csv", chunk_rows=100, reason_codes=codes)
    assert not (tmp_path / "out.csv").exists()


def test_the_explain_command(packages):
    base, _, refs = packages
    text = run_cli("explain", refs["hgb"], "--data", str(base / "batch.csv"), "--rows", "2,5-6",
                   "--workspace", str(base / "ws"))
    assert text.returncode == 0, text.stderr
    assert "Row 2, decided" in text.stdout and "Row 6" in text.stdout and "not causes" in text.stdout
    data = json.loads(run_cli("explain", refs["logistic"], "--data", str(base / "batch.csv"), "--top", "2",
                              "--workspace", str(base / "ws"), "--json").stdout)
    assert [r["row"] for r in data["rows"]] == list(range(1, 11)) and data["positive_class"] == "yes"
    first = data["rows"][0]
    assert abs(first["base"] + sum(first["contributions"].values()) - first["score"]) <= TOLERANCE
    assert set(first["contributions"]) == set(FEATURES)
    bad = run_cli("explain", refs["hgb"], "--data", str(base / "batch.csv"), "--rows", "399-420",
                  "--workspace", str(base / "ws"))
    assert bad.returncode == 2 and "rows 1 to 400" in bad.stderr


def test_a_validation_keeps_the_holdouts_contributions_for_the_page_and_the_card(packages):
    from mlops_desktop.core.train import find_version, load_model, load_split
    from mlops_desktop.core.validate.card_markdown import model_card_markdown
    from mlops_desktop.core.validate.explanations import holdout_view
    from mlops_desktop.core.validate.for_version import latest_validation, model_card
    from mlops_desktop.core.workspace import Workspace

    base, _, refs = packages
    with Workspace.open(base / "ws") as ws:
        stored = latest_validation(ws, refs["logistic"])
        model = load_model(ws, refs["logistic"])
        _, holdout = load_split(ws, find_version(ws, refs["logistic"]).run_id)
        markdown = model_card_markdown(model_card(ws, refs["logistic"], validation=stored.report))
    holdout = holdout[holdout[TARGET].notna()].reset_index(drop=True)
    view = holdout_view(stored.report.contributions)
    assert view.columns[0].column == STRONGEST and view.dataset is None
    assert [c.mean_abs for c in view.columns] == sorted((c.mean_abs for c in view.columns), reverse=True)
    points = stored.report.contributions["points"]
    # each kept row is the holdout row its number says: its score is the model's own log-odds
    proba = model.predict_proba(holdout.iloc[np.asarray(points["row"]) - 1][FEATURES])[:, 1]
    assert np.abs(np.log(proba / (1 - proba)) - np.asarray(points["score"])).max() <= TOLERANCE
    total = np.asarray(points["base"]) + sum(np.asarray(v) for v in points["contributions"].values())
    assert np.abs(total - np.asarray(points["score"])).max() <= TOLERANCE
    # colours: a numeric column's values from lowest (0) to highest (1), none for a category
    late = next(c for c in view.columns if c.column == "late_payments")
    values = np.asarray(points["values"]["late_payments"], dtype=float)
    shades = np.asarray(late.shades, dtype=float)
    assert shades[values.argmin()] == 0 and shades[values.argmax()] == 1
    assert np.all(np.diff(shades[np.argsort(values, kind="stable")]) >= 0)
    assert all(s is None for s in next(c for c in view.columns if c.column == "student").shades)
    assert "## Contributions per column" in markdown and "not causes" in markdown


def test_a_kept_row_explained_again_is_the_same_row_with_its_reasons_in_words(packages):
    from mlops_desktop.core.validate.errors import ValidationError
    from mlops_desktop.core.validate.explanations import explain_row
    from mlops_desktop.core.validate.for_version import latest_validation
    from mlops_desktop.core.workspace import Workspace

    base, _, refs = packages
    with Workspace.open(base / "ws") as ws:
        points = latest_validation(ws, refs["hgb"]).report.contributions["points"]
        i = int(np.argmax(points["score"]))
        row = explain_row(ws, refs["hgb"], points["row"][i], top=3)
        with pytest.raises(ValidationError, match="has rows 1 to"):
            explain_row(ws, refs["hgb"], 10 ** 6)
    for column, kept in points["contributions"].items():
        assert abs(row.contributions[column] - kept[i]) <= TOLERANCE
    assert row.decision == "yes" and row.reasons[0].column == STRONGEST
    words = row.sentences()
    assert len(words) == len(row.reasons) and words[0].startswith(f"{STRONGEST} = {row.values[STRONGEST]} raised")
    names, steps = row.steps(top=2)
    assert len(names) == 3 and names[-1] == f"{len(FEATURES) - 2} other columns"
    assert abs(row.base + sum(steps) - row.score) <= TOLERANCE
