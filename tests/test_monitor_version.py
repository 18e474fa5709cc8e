"""A model version as the drift reference: its training rows, its scores for prediction
drift, its holdout metrics next to a labelled batch's."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import SAMPLES, run_cli
from mlops_desktop.core.monitor.batches import batch_from_frame
from mlops_desktop.core.monitor.drift import run_drift
from mlops_desktop.core.monitor.reference import resolve_reference
from mlops_desktop.core.train import TrainSpec, load_split, train


@pytest.fixture
def model_ws(workspace, penguins_csv):
    workspace.import_file(penguins_csv, actor="ann")
    train(workspace, TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"], model_name="mass"),
          actor="ann")
    return workspace


def test_version_reference_uses_training_rows_and_scores(model_ws):
    ref = resolve_reference(model_ws, "mass:1")
    train_df, _ = load_split(model_ws, 1)
    batch = pd.read_csv(SAMPLES / "penguins.csv")
    run = run_drift(model_ws, ref, [batch_from_frame(batch, label="all penguins")], actor="bob")
    report = run.reports[0]
    assert report.comparison.prediction is not None  # prediction drift on the model's scores
    assert report.performance is not None and "rmse" in report.performance["current"]
    assert report.reference["rows"] == len(train_df)
    assert not report.drifted


def test_shifted_batch_drifts_and_cli_exit_codes(model_ws, tmp_path):
    batch = pd.read_csv(SAMPLES / "penguins.csv")
    shifted = batch.copy()
    shifted["flipper_length_mm"] = shifted["flipper_length_mm"] + shifted["flipper_length_mm"].std()
    path = tmp_path / "shifted.csv"
    shifted.to_csv(path, index=False)
    same = tmp_path / "same.csv"
    batch.to_csv(same, index=False)
    root = str(model_ws.root)
    model_ws.close()
    done = run_cli("drift", "--reference", "mass:1", "--current", str(path), "--workspace", root, "--json")
    assert done.returncode == 4, done.stderr
    data = json.loads(done.stdout)
    features = {f["name"]: f for f in data["batches"][0]["features"]}
    assert data["batches"][0]["prediction"] is not None
    assert features["flipper_length_mm"]["drifted"]
    done = run_cli("drift", "--reference", "mass", "--current", str(same), "--workspace", root)
    assert done.returncode == 0, done.stderr
    done = run_cli("drift", "--reference", "nothing", "--current", str(same), "--workspace", root)
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_a_segmented_version_is_a_reference_with_its_segment_column(model_ws):
    """A model per segment scores with the segment column even when it is not a feature,
    so the reference holds it, scores batches, and compares it like a feature."""
    train(model_ws, TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"], model_name="by_sex",
                              features=["flipper_length_mm", "bill_length_mm"], segment_by="sex",
                              min_segment_rows=50), actor="ann")
    ref = resolve_reference(model_ws, "by_sex:1")
    batch = pd.read_csv(SAMPLES / "penguins.csv")
    males = batch[batch["sex"] == "male"]
    run = run_drift(model_ws, ref, [batch_from_frame(males, label="males only")], actor="bob")
    report = run.reports[0]
    names = {f.name for f in report.features}
    assert "sex" in names and {"flipper_length_mm", "bill_length_mm"} <= names
    assert next(f for f in report.features if f.name == "sex").drifted  # half the rows became all
    assert report.comparison.prediction is not None
