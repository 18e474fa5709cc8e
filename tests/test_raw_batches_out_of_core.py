"""A raw batch larger than memory for a model trained on prepared data (issue 18): the
recipe is applied a batch of rows at a time, the rows in the model's scope written to a
temporary batch on disk and compared out of core, with the report of the in-memory
comparison (the same rows prepared, counts, measures, scope note, rows out of scope,
prediction drift and performance). Checked on small files, with the size limit and the
rows read at a time lowered, so that the recipe runs on many parts."""

from __future__ import annotations

import gc

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from diamonds import RECIPE, diamonds
from mlops_desktop.core.data import on_disk, streaming
from mlops_desktop.core.jobs import JobCancelled
from mlops_desktop.core.monitor import batch_from_dataset, batch_from_file, compare_batch
from mlops_desktop.core.monitor import drift as drift_module
from mlops_desktop.core.monitor.errors import DriftError
from mlops_desktop.core.monitor.for_version import reference_for_version
from mlops_desktop.core.prepare import prepare_dataset, recipe_from_words
from mlops_desktop.core.workspace import Workspace
from test_split_out_of_core import CancelAfter, leftovers

PART_ROWS = 250


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from mlops_desktop.core.train import TrainSpec, train

    base = tmp_path_factory.mktemp("raw_big")
    diamonds(1500).to_csv(base / "diamonds.csv", index=False)
    batch = diamonds(2000, seed=11)
    stones = (np.arange(len(batch)) % 3 + 1).astype(object)
    stones[1700:] = None  # whole numbers in the first parts (int64), missing values later (float64)
    batch["stones"] = pd.array(stones, dtype="Int64")
    batch.to_csv(base / "batch.csv", index=False)
    batch.to_parquet(base / "batch.parquet", index=False)
    with Workspace.create(base / "ws", actor="ann") as ws:
        ws.import_file(base / "diamonds.csv", name="diamonds", actor="ann")
        ws.import_file(base / "batch.csv", name="raw batch", actor="ann")
        prepare_dataset(ws, "diamonds", recipe_from_words(RECIPE), name="ready", actor="ann")
        done = train(ws, TrainSpec(dataset="ready", target="log_price", features=["carat", "cut", "color", "x"],
                                   models=["ols"], model_name="price"), actor="ann")
        yield ws, reference_for_version(ws, f"price:{done.version}"), base


def _out_of_core(monkeypatch) -> None:
    monkeypatch.setattr(on_disk, "OUT_OF_CORE_BYTES", 0)
    monkeypatch.setattr(streaming, "STREAM_ABOVE_BYTES", 0)
    monkeypatch.setattr(on_disk, "READ_ROWS", PART_ROWS)


def _same_report(a, b) -> None:
    assert a.batch["rows"] == b.batch["rows"] and a.batch["source"] == b.batch["source"]
    assert a.notes == b.notes and a.verdict == b.verdict and a.summary == b.summary
    for x, y in zip([*a.features, a.prediction], [*b.features, b.prediction]):
        assert (x.name, x.verdict, x.comparable) == (y.name, y.verdict, y.comparable)
        assert x.metrics.keys() == y.metrics.keys()
        for key, value in x.metrics.items():
            if isinstance(value, float):
                assert y.metrics[key] == pytest.approx(value, rel=1e-9, abs=1e-12), (x.name, key)
            else:
                assert y.metrics[key] == value, (x.name, key)
        assert x.to_dict()["bins"] == y.to_dict()["bins"]  # the counts on the reference's bins
    assert a.performance["current"] == pytest.approx(b.performance["current"], rel=1e-9)


@pytest.mark.parametrize("source", ["csv", "parquet", "dataset"])
def test_a_raw_batch_on_disk_is_prepared_in_parts_and_compared_as_in_memory(setup, tmp_path, monkeypatch, source):
    ws, reference, base = setup

    def load():
        if source == "dataset":
            return batch_from_dataset(ws, "raw batch")
        return batch_from_file(base / f"batch.{source}", work_dir=tmp_path)

    batch = load()
    in_memory = compare_batch(reference, batch)
    prepared_in_memory, _ = drift_module._prepared(reference, batch)
    _out_of_core(monkeypatch)
    batch = load()
    assert batch.table is None
    out_of_core = compare_batch(reference, batch)
    _same_report(in_memory, out_of_core)
    outside = int((diamonds(2000, seed=11).carat > 2.5).sum())
    assert out_of_core.batch["source"]["rows_out_of_scope"] == outside > 0
    assert out_of_core.batch["rows"] == 2000 - outside
    assert any(f"{outside} rows of the batch" in n and "carat ≤ 2.5" in n for n in out_of_core.notes)
    if source != "parquet":  # a file read in place is fingerprinted by its bytes
        assert out_of_core.batch["fingerprint"] == in_memory.batch["fingerprint"]

    prepared, note = drift_module._prepared(reference, batch)
    assert prepared.table is None and len(prepared.on_disk.row_groups) > 1  # written in parts
    written = pq.read_table(prepared.on_disk.path)
    assert written.equals(prepared_in_memory.table)  # the same rows, values and types
    assert written.schema.field("stones").type == prepared_in_memory.table.schema.field("stones").type
    folder = prepared.on_disk.spill_dir
    assert folder.parent == batch.on_disk.spill_dir and folder.name.startswith(".tmp-")
    del prepared
    gc.collect()
    assert not folder.exists()
    assert leftovers(batch.on_disk.spill_dir) == []  # the comparisons' prepared batches went too


def test_a_cancelled_or_refused_preparation_leaves_nothing(setup, tmp_path, monkeypatch):
    ws, reference, base = setup
    _out_of_core(monkeypatch)
    batch = batch_from_file(base / "batch.csv", work_dir=tmp_path)
    with pytest.raises(JobCancelled):
        compare_batch(reference, batch, cancel=CancelAfter(4))  # on the fourth part of eight
    assert leftovers(batch.on_disk.spill_dir) == []

    frame = diamonds(600, seed=3)
    frame["carat"] = 3.0  # every row outside the scope
    frame.to_csv(tmp_path / "large.csv", index=False)
    large = batch_from_file(tmp_path / "large.csv", work_dir=tmp_path)
    with pytest.raises(DriftError, match=r"No row of the batch large.csv is in the model's scope \(carat ≤ 2.5\); "
                                         "600 rows lie outside it"):
        compare_batch(reference, large)
    assert leftovers(large.on_disk.spill_dir) == []

    frame = diamonds(600, seed=3).drop(columns=["cut"])
    frame.to_csv(tmp_path / "no_cut.csv", index=False)
    with pytest.raises(DriftError, match="lacks the column.*cut"):
        compare_batch(reference, batch_from_file(tmp_path / "no_cut.csv", work_dir=tmp_path))


def test_a_raw_batch_prepared_by_the_same_recipe_is_taken_as_it_is(setup, monkeypatch):
    ws, reference, _ = setup
    _out_of_core(monkeypatch)
    batch = batch_from_dataset(ws, "ready")
    prepared, note = drift_module._prepared(reference, batch)
    assert prepared is batch and note == ""


def test_a_recipe_that_needs_every_row_at_once_is_refused_by_step(setup):
    """Rows larger than memory go through a recipe in parts only when each step works row
    by row: dropping duplicates compares rows across the table, and is named."""
    from mlops_desktop.core.data.catalog import snapshot_path
    from mlops_desktop.core.data.on_disk import OnDiskTable
    from mlops_desktop.core.prepare import PrepareError
    from mlops_desktop.core.prepare.raw_rows import in_parts

    ws, _, _ = setup
    ds = ws.dataset("raw batch")
    table = OnDiskTable.open(snapshot_path(ws, ds), ws.snapshots_dir)
    recipe = recipe_from_words(["order cut: Fair < Good < Very Good < Premium < Ideal", "drop duplicates"])
    with pytest.raises(PrepareError, match=r"^Dataset 'raw batch' is larger than memory, and step 2 of the recipe "
                                           r"\(drop duplicates\) compares every row with the others"):
        in_parts(table, recipe, "Dataset 'raw batch'", "the recipe")
    assert sum(len(f) for f in in_parts(table, recipe_from_words(RECIPE), "Dataset 'raw batch'", "the recipe")) \
        == ds.n_rows  # an order names levels whichever rows it sees


def test_a_model_scores_a_large_sample_in_parts_with_the_same_predictions(setup, monkeypatch):
    """A batch larger than memory is scored on a sample of a million rows: the model
    scores it a part at a time (a one-hot encoding of a million rows took more than a
    gigabyte), with the predictions and performance it gives scoring every row at once."""
    from sklearn.linear_model import LogisticRegression

    from mlops_desktop.core.monitor import predictions

    ws, reference, base = setup
    whole = compare_batch(reference, batch_from_file(base / "batch.csv"))
    monkeypatch.setattr(predictions, "SCORE_ROWS", 300)
    in_parts = compare_batch(reference, batch_from_file(base / "batch.csv"))
    _same_report(whole, in_parts)

    X = np.random.default_rng(0).normal(size=(1000, 3))
    classifier = LogisticRegression().fit(X, X[:, 0] > 0)
    scored = predictions.scored_in_parts(classifier)
    frame = pd.DataFrame(X)
    assert np.array_equal(scored.predict_proba(frame), classifier.predict_proba(frame))
    assert np.array_equal(scored.classes_, classifier.classes_)
    assert not hasattr(predictions.scored_in_parts(reference.model), "predict_proba")  # a regressor
