"""Importing a file in batches (a file larger than memory) registers the dataset the
whole-file import registers: the same fingerprint, rows, column types and counts, and
the same values in the snapshot. Checked on files that fit, streamed in small batches
so that every decision crosses batch boundaries."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pandas as pd
import pytest

from mlops_desktop.core.data import streaming
from mlops_desktop.core.errors import JobCancelled
from mlops_desktop.core.jobs import CancelToken
from mlops_desktop.core.workspace import Workspace


def _table(rows: int = 5000, seed: int = 3) -> pa.Table:
    rng = np.random.default_rng(seed)
    amount = np.round(rng.lognormal(3, 1, rows), 2)
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 400, rows)]
    whole = rng.integers(0, 50, rows).astype(float)  # floats holding whole numbers only
    return pa.table({
        "id": pa.array(np.arange(rows) + 1000),
        "amount": pa.array(amount, mask=rng.random(rows) < 0.05),
        "ratio": pa.array(np.where(rng.random(rows) < 0.02, np.nan, rng.random(rows))),
        "whole": pa.array(whole),
        "shop": pa.DictionaryArray.from_arrays(pa.array(rng.integers(0, 40, rows).astype(np.int32)),
                                               [f"shop {i}" for i in range(40)]),
        "day": pa.array([d.isoformat() for d in days], pa.large_string()),  # dates as text
        "note": pa.array([None if i % 7 else f"a longer remark number {i} about this row" for i in range(rows)]),
        "flag": pa.array(rng.random(rows) < 0.3),
        "empty": pa.array([None] * rows, pa.float64()),
        "price": pa.array([None if i % 11 == 0 else f"{i % 97}.{i % 10}5" for i in range(rows)]).cast(
            pa.decimal128(6, 2)),
    })


def _same_dataset(a, b) -> None:
    assert a.fingerprint == b.fingerprint
    assert a.n_rows == b.n_rows
    assert [(c.name, c.physical_type, c.kind, c.n_missing, c.n_distinct) for c in a.columns] == \
        [(c.name, c.physical_type, c.kind, c.n_missing, c.n_distinct) for c in b.columns]


def test_a_streamed_parquet_file_is_the_dataset_read_whole(workspace, tmp_path, monkeypatch):
    path = tmp_path / "sales.parquet"
    pq.write_table(_table(), path, row_group_size=700)
    whole = workspace.import_file(path, actor="tester", name="whole").dataset
    monkeypatch.setattr(streaming, "STREAM_ABOVE_BYTES", 0)
    monkeypatch.setattr(streaming, "BATCH_ROWS", 512)  # not a multiple of the row groups
    streamed = workspace.import_file(path, actor="tester", name="streamed").dataset
    _same_dataset(whole, streamed)
    assert {c.name: c.kind for c in whole.columns}["day"] == "datetime"
    assert {c.name: c.kind for c in whole.columns}["id"] == "id"
    # the same data shares one snapshot; in a workspace of its own the streamed snapshot
    # holds the same values
    assert streamed.snapshot == whole.snapshot
    other = Workspace.create(tmp_path / "other", actor="tester")
    alone = other.import_file(path, actor="tester").dataset
    pd.testing.assert_frame_equal(other.load_dataframe(alone), workspace.load_dataframe(whole))
    other.close()


def test_a_streamed_csv_file_is_the_dataset_read_whole(workspace, tmp_path, monkeypatch):
    table = _table(rows=20000).drop_columns(["price"])
    table = table.set_column(table.schema.get_field_index("shop"), "shop", table.column("shop").cast(pa.string()))
    path = tmp_path / "sales.csv"
    pacsv.write_csv(table, path)
    whole = workspace.import_file(path, actor="tester", name="whole").dataset
    monkeypatch.setattr(streaming, "STREAM_ABOVE_BYTES", 0)
    monkeypatch.setattr(streaming, "CSV_BLOCK_BYTES", 64 * 1024)
    streamed = workspace.import_file(path, actor="tester", name="streamed").dataset
    _same_dataset(whole, streamed)
    assert streamed.options["delimiter"] == ","


def test_decisions_taken_on_the_first_rows_are_corrected_further_on(workspace, tmp_path, monkeypatch):
    """A column of whole numbers that holds a fraction late in the file, and a column of
    dates that holds a word late in the file: both are typed as the whole file shows."""
    rows = 30000
    counts = [str(i % 50) for i in range(rows)]
    counts[-3] = "2.5"
    days = [(dt.date(2024, 1, 1) + dt.timedelta(days=i % 300)).isoformat() for i in range(rows)]
    days[-2] = "unknown"
    path = tmp_path / "late.csv"
    path.write_text("count,day,value\n" + "".join(f"{c},{d},{i}\n" for i, (c, d) in enumerate(zip(counts, days))))
    whole = workspace.import_file(path, actor="tester", name="whole").dataset
    monkeypatch.setattr(streaming, "STREAM_ABOVE_BYTES", 0)
    monkeypatch.setattr(streaming, "CSV_BLOCK_BYTES", 16 * 1024)
    streamed = workspace.import_file(path, actor="tester", name="streamed").dataset
    _same_dataset(whole, streamed)
    kinds = {c.name: (c.physical_type, c.kind) for c in streamed.columns}
    assert kinds["count"] == ("double", "numeric")
    assert kinds["day"] == ("string", "categorical")


def test_a_cancelled_streamed_import_leaves_nothing(workspace, tmp_path, monkeypatch):
    path = tmp_path / "sales.parquet"
    pq.write_table(_table(), path)
    monkeypatch.setattr(streaming, "STREAM_ABOVE_BYTES", 0)
    monkeypatch.setattr(streaming, "BATCH_ROWS", 500)
    token = CancelToken()
    seen = []

    def progress(fraction, message):
        seen.append(fraction)
        if fraction is not None and fraction > 0.2:
            token.cancel()

    with pytest.raises(JobCancelled):
        workspace.import_file(path, actor="tester", progress=progress, cancel=token)
    assert workspace.datasets() == []
    assert list(workspace.snapshots_dir.iterdir()) == []
    assert seen == sorted(seen)  # progress moves forward
