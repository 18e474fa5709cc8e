"""Drift out of core: a reference dataset and a batch file larger than memory are counted
by the engine, feature by feature, and give the report the in-memory comparison gives
(the same counts per bin, measures, verdicts and batch fingerprint; a Parquet file read
where it lies is fingerprinted by the SHA-256 of its bytes). Checked on data that fits,
with the size limit lowered so that it takes the out-of-core path."""

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


def _same_report(a, b, *, file_read_in_place=None) -> None:
    if file_read_in_place is None:
        assert a.batch["fingerprint"] == b.batch["fingerprint"]
    else:
        import hashlib

        digest = hashlib.sha256(file_read_in_place.read_bytes()).hexdigest()
        assert b.batch["fingerprint"] == "file-sha256:" + digest != a.batch["fingerprint"]
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
    _same_report(in_memory, out_of_core, file_read_in_place=batch_path if suffix == "parquet" else None)
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


def test_bin_counts_of_a_batch_on_disk_are_numpys_histogram_on_the_reference_edges(workspace, tmp_path,
                                                                                  monkeypatch,
                                                                                  reference_dataset):
    """The batch's count in each PSI bin (reference deciles as fixed edges, the end bins
    open) is numpy.histogram's on the same edges: values beyond the reference's range fall
    in the end bins, missing ones (null, NaN, infinite) in none, whatever the row groups."""
    table = _table(20000, 9, shift=0.5)
    amount = table.column("amount").to_numpy(zero_copy_only=False).astype(float)
    amount[:40] = [1e9, -1e9, np.nan, -np.inf] * 10  # far outside the reference's range, and missing
    ratio = table.column("ratio").to_numpy(zero_copy_only=False).copy()
    ratio[40:60] = 7.5
    table = table.set_column(0, "amount", pa.array(amount, mask=np.arange(len(amount)) % 97 == 5))
    table = table.set_column(2, "ratio", pa.array(ratio))
    path = tmp_path / "batch.parquet"
    pq.write_table(table, path, row_group_size=3000)
    monkeypatch.setattr(on_disk, "OUT_OF_CORE_BYTES", 0)
    monkeypatch.setattr(streaming, "STREAM_ABOVE_BYTES", 0)
    reference = Reference.from_dataset(workspace, "reference", features=FEATURES)
    batch = batch_from_file(path, work_dir=tmp_path)
    assert batch.table is None
    report = compare_batch(reference, batch)
    for name in ("amount", "ratio", "count"):
        values = table.column(name).to_numpy(zero_copy_only=False).astype(float)
        values = values[np.isfinite(values)]
        edges = reference.profile.features[name].edges
        expected, _ = np.histogram(values, bins=np.concatenate(([-np.inf], edges, [np.inf])))
        shares = np.asarray(report.feature(name).bins["current"])
        assert np.allclose(shares * len(values), expected, rtol=0, atol=1e-6), name
        assert report.feature(name).current["missing"] == len(table) - len(values)
