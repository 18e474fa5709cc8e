"""Drift out of core: a reference dataset and a batch file larger than memory are counted
by the engine, feature by feature, and give the report the in-memory comparison gives
(the same counts per bin, measures, verdicts and batch fingerprint). Checked on data
that fits, with the size limit lowered so that it takes the out-of-core path."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlops_desktop.core.data import on_disk, streaming
from mlops_desktop.core.monitor import compare_batch
from mlops_desktop.core.monitor.batches import batch_from_dataset, batch_from_file
from mlops_desktop.core.monitor.reference import Reference

FEATURES = ["amount", "count", "ratio", "shop", "flag", "level"]


def _table(rows: int, seed: int, shift: float = 0.0) -> pa.Table:
    rng = np.random.default_rng(seed)
    amount = np.round(rng.lognormal(3 + shift, 1, rows), 2)
    amount[rng.random(rows) < 0.01] = np.inf  # infinite counts as missing
    amount[:3] = [-0.0, 0.0, -12.5]  # -0.0 and 0.0 are one value
    ratio = rng.random(rows)
    ratio[rng.random(rows) < 0.03] = np.nan
    shops = [f"shop {i}" for i in range(60)]
    p = 1 / np.arange(1, 61) ** (1.0 + shift)
    return pa.table({
        "amount": pa.array(amount, mask=rng.random(rows) < 0.02),
        "count": pa.array(rng.poisson(3 + 2 * shift, rows)),
        "ratio": pa.array(ratio),
        "shop": pa.array(rng.choice(shops, rows, p=p / p.sum()), mask=rng.random(rows) < 0.01),
        "flag": pa.array(rng.random(rows) < 0.2 + shift / 5),
        "level": pa.array(rng.choice(["low", "mid", "high"], rows)),
        "when": pa.array(np.datetime64("2024-01-01") + rng.integers(0, 300, rows).astype("timedelta64[D]")),
    })


def _same_report(a, b) -> None:
    assert a.batch["fingerprint"] == b.batch["fingerprint"]
    assert a.batch["rows"] == b.batch["rows"]
    assert a.verdict == b.verdict
    for x, y in zip(a.features, b.features):
        assert (x.name, x.verdict, x.comparable) == (y.name, y.verdict, y.comparable)
        for key, value in x.metrics.items():
            other = y.metrics[key]
            if isinstance(value, float) and isinstance(other, float):
                assert other == pytest.approx(value, rel=1e-9, abs=1e-12), (x.name, key)
            else:
                assert other == value, (x.name, key)


@pytest.fixture
def reference_dataset(workspace, tmp_path):
    path = tmp_path / "reference.parquet"
    pq.write_table(_table(30000, 1), path)
    return workspace.import_file(path, actor="tester", name="reference").dataset


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_a_reference_and_a_batch_on_disk_give_the_in_memory_report(workspace, tmp_path, monkeypatch,
                                                                    reference_dataset, suffix):
    batch_path = tmp_path / f"batch.{suffix}"
    table = _table(20000, 2, shift=0.3)
    if suffix == "parquet":
        pq.write_table(table, batch_path)
    else:
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, batch_path)
    in_memory = compare_batch(Reference.from_dataset(workspace, "reference", features=FEATURES),
                              batch_from_file(batch_path))
    monkeypatch.setattr(on_disk, "OUT_OF_CORE_BYTES", 0)
    monkeypatch.setattr(streaming, "STREAM_ABOVE_BYTES", 0)
    monkeypatch.setattr(streaming, "BATCH_ROWS", 4096)
    reference = Reference.from_dataset(workspace, "reference", features=FEATURES)
    batch = batch_from_file(batch_path, work_dir=tmp_path)
    assert batch.table is None and batch.on_disk is not None  # it took the out-of-core path
    out_of_core = compare_batch(reference, batch)
    _same_report(in_memory, out_of_core)
    assert out_of_core.drifted
    folder = batch.on_disk.spill_dir
    assert folder.parent == tmp_path
    if suffix == "parquet":  # read where it lies, through the descriptor the app opened
        assert batch.on_disk.path.parent != folder
    del batch
    import gc

    gc.collect()
    assert not folder.exists()  # the temporary snapshot and the engine's spill go with the batch


def test_a_dataset_on_disk_as_a_batch(workspace, tmp_path, monkeypatch, reference_dataset):
    path = tmp_path / "later.parquet"
    pq.write_table(_table(20000, 5), path)
    workspace.import_file(path, actor="tester", name="later")
    in_memory = compare_batch(Reference.from_dataset(workspace, "reference", features=FEATURES),
                              batch_from_dataset(workspace, "later"))
    monkeypatch.setattr(on_disk, "OUT_OF_CORE_BYTES", 0)
    batch = batch_from_dataset(workspace, "later")
    assert batch.table is None
    _same_report(in_memory, compare_batch(Reference.from_dataset(workspace, "reference", features=FEATURES),
                                          batch))


def test_text_where_the_reference_holds_numbers_is_not_comparable_on_disk(workspace, tmp_path, monkeypatch,
                                                                           reference_dataset):
    table = _table(2000, 3).set_column(0, "amount", pa.array(["12.5", " 3 ", "n/a"] * 666 + ["1", "2"]))
    path = tmp_path / "text.parquet"
    pq.write_table(table, path)
    monkeypatch.setattr(on_disk, "OUT_OF_CORE_BYTES", 0)
    monkeypatch.setattr(streaming, "STREAM_ABOVE_BYTES", 0)
    report = compare_batch(Reference.from_dataset(workspace, "reference", features=FEATURES),
                           batch_from_file(path, work_dir=tmp_path))
    amount = report.feature("amount")
    assert not amount.comparable
    assert "'n/a'" in amount.reason
