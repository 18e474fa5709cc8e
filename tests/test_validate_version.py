"""Validating a registered version: its exact holdout, a baseline refitted on the same
training rows, the result recorded with an audit entry, and its model card."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.metrics import mean_squared_error

from conftest import run_cli
from mlops_desktop.core.errors import MlopsError
from mlops_desktop.core.store import validations
from mlops_desktop.core.train import SplitSpec, TrainSpec, find_version, load_model, load_split, train
from mlops_desktop.core.validate import model_card_html, model_card_markdown
from mlops_desktop.core.validate.for_version import model_card, validate_version


@pytest.fixture
def trained(workspace, penguins_csv):
    workspace.import_file(penguins_csv, actor="ann")
    result = train(workspace, TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"],
                                        model_name="mass"), actor="ann")
    return workspace, result


def test_validation_uses_the_runs_holdout_and_is_recorded(trained):
    ws, result = trained
    out = validate_version(ws, "mass", actor="bob", n_bootstrap=200)
    mv = find_version(ws, "mass")
    train_df, holdout = load_split(ws, mv.run_id)
    holdout = holdout[holdout["body_mass_g"].notna()]
    model = load_model(ws, "mass")
    rmse = {m.name: m.value for m in out.report.metrics}["rmse"]
    expected = mean_squared_error(holdout["body_mass_g"], model.predict(holdout[mv.features])) ** 0.5
    assert rmse == pytest.approx(expected)
    baseline = DummyRegressor().fit(train_df[mv.features], train_df["body_mass_g"])
    base_rmse = {m.name: m.value for m in out.report.baseline_metrics}["rmse"]
    assert base_rmse == pytest.approx(mean_squared_error(holdout["body_mass_g"],
                                                         baseline.predict(holdout[mv.features])) ** 0.5)
    assert out.report.beats_baseline
    stored = validations.latest(ws.registry, mv.id)
    assert stored["id"] == out.validation_id and stored["beats_baseline"] is True
    entry = ws.audit_entries(limit=1)[0]
    assert (entry.action, entry.actor, entry.entity_id) == ("model.validated", "bob", str(mv.id))
    assert ws.verify_audit() == []


def test_model_card_has_data_coefficients_and_validation(trained):
    ws, _ = trained
    validate_version(ws, "mass", actor="bob", n_bootstrap=100)
    card = model_card(ws, "mass:1", purpose="Estimate body mass from measurements.")
    assert card.dataset["fingerprint"] and card.validation is not None
    assert {c["name"] for c in card.coefficients} >= {"(intercept)", "flipper_length_mm"}
    md = model_card_markdown(card)
    html = model_card_html(card)
    assert "Estimate body mass" in md and "flipper_length_mm" in md and "RMSE" in md
    assert "<script" not in html and "flipper_length_mm" in html


def test_validation_on_another_dataset_and_bad_requests(trained, tmp_path):
    ws, _ = trained
    other = ws.import_file(_copy(tmp_path), name="fresh",
                           actor="ann").dataset
    out = validate_version(ws, "mass", data=other.id, actor="bob", n_bootstrap=100)
    assert "fresh" in out.data and out.report.n_rows == int(np.sum(~ws.load_dataframe(other)["body_mass_g"].isna()))
    with pytest.raises(MlopsError, match="no registered model|There is no registered model"):
        validate_version(ws, "nope", actor="bob")
    with pytest.raises(MlopsError, match="lacks column"):
        validate_version(ws, "mass", subgroups=["nope"], actor="bob")


def test_a_version_trained_on_every_row_needs_other_data(workspace, penguins_csv):
    workspace.import_file(penguins_csv, actor="ann")
    train(workspace, TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"], model_name="all",
                               split=SplitSpec(kind="random", test_size=0.0)), actor="ann")
    with pytest.raises(MlopsError, match="trained on every row"):
        validate_version(workspace, "all", actor="bob")


def test_cli_validate(trained, tmp_path):
    ws, _ = trained
    root = str(ws.root)
    ws.close()
    card = tmp_path / "card.html"
    done = run_cli("validate", "mass:1", "--workspace", root, "--json", "--bootstrap", "100",
                   "--report", str(card), "--as", "carol")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["model"] == "mass:1" and data["beats_baseline"] is True
    assert {m["name"] for m in data["metrics"]} >= {"rmse", "mae", "r2"}
    assert card.is_file() and "mass" in card.read_text()
    bad = run_cli("validate", "mass:9", "--workspace", root)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    bad = run_cli("validate", "mass", "--workspace", root, "--threshold-cost", "x")
    assert bad.returncode == 2 and "FP,FN" in bad.stderr


def _copy(tmp_path):
    import shutil

    from conftest import SAMPLES

    dest = tmp_path / "fresh.csv"
    shutil.copy(SAMPLES / "penguins.csv", dest)
    return dest


def test_a_random_split_of_timed_rows_is_named_in_the_run_and_on_the_card(workspace, tmp_path):
    """Rows that carry a time, split at random: the run's notes and the model card say the
    holdout may flatter the model; a time-ordered split does not get the warning."""
    import numpy as np
    import pandas as pd

    from mlops_desktop.core.train import SplitSpec, TrainSpec, train
    from mlops_desktop.core.validate import model_card_markdown
    from mlops_desktop.core.validate.for_version import model_card

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"day": pd.date_range("2024-01-01", periods=400, freq="D").astype(str),
                          "x": rng.normal(size=400)})
    frame["y"] = frame["x"] * 2 + rng.normal(size=400)
    frame.to_csv(tmp_path / "timed.csv", index=False)
    workspace.import_file(tmp_path / "timed.csv", actor="ann")
    assert workspace.dataset("timed").column("day").kind == "datetime"
    random = train(workspace, TrainSpec(dataset="timed", target="y", features=["x"], models=["ols"],
                                        split=SplitSpec(kind="random"), model_name="random"), actor="ann")
    assert any("drawn at random" in n and "day" in n for n in random.notes)
    assert "drawn at random (random split)" in model_card_markdown(model_card(workspace, "random:1"))
    timed = train(workspace, TrainSpec(dataset="timed", target="y", features=["x"], models=["ols"],
                                       split=SplitSpec(kind="time", column="day"), model_name="timed"),
                  actor="ann")
    assert not any("drawn at random" in n for n in timed.notes)
    assert "drawn at random" not in model_card_markdown(model_card(workspace, "timed:1"))
