"""Check and Train on a dataset larger than memory work on a stated, recorded,
reproducible sample: drawn with the run's seed (the same seed, the same rows), stratified
by a categorical target (each class keeps its share), recorded with the run and rebuilt
from the record, and said on the model card. Checked on data that fits, with the size
limit lowered so that it takes the out-of-core path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlops_desktop.core.checks.for_dataset import check_dataset
from mlops_desktop.core.data import on_disk, rows_sample
from mlops_desktop.core.train import TrainSpec, load_split, train
from mlops_desktop.core.train.prepare import prepare
from mlops_desktop.core.validate.card import limitations_from_facts
from mlops_desktop.core.validate.for_version import model_card

ROWS = 6000


@pytest.fixture
def large(workspace, tmp_path, monkeypatch):
    rng = np.random.default_rng(5)
    x = rng.normal(size=ROWS)
    # a rare class: a plain random sample of 900 rows would miss its share by several rows
    y = np.where(rng.random(ROWS) < 0.03 + 0.05 * (x > 1), "fraud", "ok")
    path = tmp_path / "payments.csv"
    pd.DataFrame({"x": x, "z": rng.normal(size=ROWS), "shop": rng.choice(["a", "b", "c"], ROWS),
                  "y": y}).to_csv(path, index=False)
    workspace.import_file(path, actor="tester", name="payments")
    monkeypatch.setattr(on_disk, "OUT_OF_CORE_BYTES", 0)
    monkeypatch.setattr(rows_sample, "TRAIN_ROWS", 900)
    monkeypatch.setattr(rows_sample, "CHECK_ROWS", 700)
    return pd.Series(y)


def test_train_uses_a_stratified_seeded_sample_and_the_card_says_so(workspace, large):
    spec = TrainSpec(dataset="payments", target="y", models=["logistic"], seed=7)
    prep = prepare(workspace, spec)
    assert prep.sample is not None and prep.sample.to_dict() == {"rows": 900, "of": ROWS, "seed": 7,
                                                                 "stratified_by": "y"}
    assert len(prep.frame) == 900
    # each class keeps its share of the whole dataset, to the row
    full = large.value_counts()
    got = prep.frame["y"].value_counts()
    for label, count in full.items():
        assert abs(got[label] - count * 900 / ROWS) < 1, label
    # the same seed draws the same rows; another seed other rows
    again = prepare(workspace, spec)
    pd.testing.assert_frame_equal(again.frame, prep.frame)
    other = prepare(workspace, TrainSpec(dataset="payments", target="y", models=["logistic"], seed=8))
    assert not other.frame["x"].reset_index(drop=True).equals(prep.frame["x"].reset_index(drop=True))

    result = train(workspace, spec, actor="tester")
    assert any("larger than memory" in n for n in result.notes)
    train_df, holdout_df = load_split(workspace, result.run_id)  # rebuilt from the record
    assert len(train_df) + len(holdout_df) == 900
    card = model_card(workspace, result.model)
    assert card.dataset["sample"] == {"rows": 900, "of": ROWS, "seed": 7, "stratified_by": "y"}
    assert any("900 of its 6,000 rows" in line and "seed 7" in line for line in limitations_from_facts(card))


def test_a_numeric_target_gets_a_simple_random_sample_and_check_says_so(workspace, large):
    spec = TrainSpec(dataset="payments", target="x", models=["ols"], seed=3)
    prep = prepare(workspace, spec)
    assert prep.sample.stratified_by is None and len(prep.frame) == 900
    report = check_dataset(workspace, "payments", target="y", features=["x", "z"])
    assert report.n_rows == 700
    assert "700 of its 6,000 rows" in report.notes[0] and "stratified by y" in report.notes[0]
