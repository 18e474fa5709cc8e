"""Splitting a batch larger than memory by date (issue 18): out of core, each period is
written to a batch on disk, with the periods, labels, rows (in the file's order),
fingerprints and errors of the in-memory split. Checked on a small file, with the size
limit, the rows read at a time, the periods written at once and the rows held lowered,
so that it takes the out-of-core path in several parts, readings and writes."""

from __future__ import annotations

import gc
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import run_cli
from mlops_desktop.core.data import on_disk, streaming
from mlops_desktop.core.jobs import CancelToken, JobCancelled
from mlops_desktop.core.monitor import batches as batches_module
from mlops_desktop.core.monitor.batches import batch_from_file, split_batch
from mlops_desktop.core.monitor.errors import DriftError

ROWS = 6000


def _table() -> pa.Table:
    rng = np.random.default_rng(4)
    when = (np.datetime64("2024-01-01T00:00") + rng.integers(0, 300 * 24 * 60, ROWS).astype("timedelta64[m]")
            ).astype("datetime64[s]")
    missing = rng.random(ROWS) < 0.03
    days = when.astype("datetime64[D]")
    iso = days.astype(str).astype(object)
    mixed = iso.copy()
    mixed[4500:4510] = [f"{d.day:02d}/{d.month:02d}/{d.year}" for d in days[4500:4510].tolist()]
    not_dates = iso.copy()
    not_dates[3700] = "soon"
    return pa.table({
        "when": pa.array(when, mask=missing),
        "zoned": pa.array(when.astype("datetime64[us]"), pa.timestamp("us", tz="UTC")).cast(
            pa.timestamp("us", tz="America/New_York")),
        "day_first": pa.array([f"{d.day:02d}/{d.month:02d}/{d.year}" for d in days.tolist()]),
        # ISO dates, and ten day-first ones late in the file: each value is read on its own
        "mixed": pa.array(mixed, pa.string()),
        "not_dates": pa.array(not_dates, pa.string()),
        "blank": pa.array([None] * ROWS, pa.string()),
        "amount": pa.array(np.round(rng.lognormal(3, 1, ROWS), 2)),
        "shop": pa.array(rng.choice([f"shop {i}" for i in range(40)], ROWS)),
    })


@pytest.fixture(params=["parquet", "csv"])
def batch_file(request, tmp_path):
    path = tmp_path / f"batch.{request.param}"
    table = _table()
    if request.param == "parquet":
        pq.write_table(table, path, row_group_size=1000)
    else:
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, path)
    return path


def _out_of_core(monkeypatch) -> None:
    monkeypatch.setattr(on_disk, "OUT_OF_CORE_BYTES", 0)
    monkeypatch.setattr(streaming, "STREAM_ABOVE_BYTES", 0)
    monkeypatch.setattr(streaming, "BATCH_ROWS", 1024)
    monkeypatch.setattr(on_disk, "READ_ROWS", 700)
    monkeypatch.setattr(batches_module, "OPEN_PERIODS", 3)
    monkeypatch.setattr(batches_module, "PERIOD_BUFFER_BYTES", 20_000)


def leftovers(folder):
    """The temporary files and folders of this process in ``folder``, but the engine's spill."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".tmp-") and "spill" not in p.name)


@pytest.mark.parametrize("column, freq", [("when", "M"), ("when", "W"), ("zoned", "D"), ("day_first", "M"),
                                          ("mixed", "W")])
def test_a_batch_on_disk_is_split_as_in_memory_period_by_period(batch_file, tmp_path, monkeypatch, column, freq):
    in_memory = split_batch(batch_from_file(batch_file), column, freq, prefix=True)
    _out_of_core(monkeypatch)
    batch = batch_from_file(batch_file, work_dir=tmp_path)
    assert batch.table is None
    periods = split_batch(batch, column, freq, prefix=True)
    assert len(periods) == len(in_memory) > 3  # more periods than are written at once
    for mine, theirs in zip(periods, in_memory):
        assert mine.table is None and mine.label == theirs.label and mine.source == theirs.source
        assert mine.rows == theirs.rows
        # the same rows, in the same order (a CSV file streamed to disk keeps its times in
        # milliseconds, one read whole in seconds: the same values)
        assert pq.read_table(mine.on_disk.path).cast(theirs.table.schema).equals(theirs.table)
        assert mine.fingerprint() == theirs.fingerprint()
    assert periods[0].source.get("rows_without_date") == in_memory[0].source.get("rows_without_date")
    folders = [p.on_disk.spill_dir for p in periods]
    assert all(f.parent == batch.on_disk.spill_dir and f.name.startswith(".tmp-") for f in folders)
    del batch, periods, mine
    gc.collect()
    assert not any(f.exists() for f in folders)  # each period's file goes with its batch


@pytest.mark.parametrize("column", ["amount", "not_dates", "blank", "shop"])
def test_a_batch_on_disk_refuses_what_memory_refuses_and_leaves_nothing(batch_file, tmp_path, monkeypatch, column):
    with pytest.raises(DriftError) as in_memory:
        split_batch(batch_from_file(batch_file), column, "M")
    _out_of_core(monkeypatch)
    batch = batch_from_file(batch_file, work_dir=tmp_path)
    with pytest.raises(DriftError) as out_of_core:
        split_batch(batch, column, "M")
    assert str(out_of_core.value) == str(in_memory.value)
    assert leftovers(batch.on_disk.spill_dir) == []


def test_the_refusals_name_the_value_and_the_row(batch_file, tmp_path, monkeypatch):
    _out_of_core(monkeypatch)
    batch = batch_from_file(batch_file, work_dir=tmp_path)
    with pytest.raises(DriftError, match=r"'not_dates' of batch\.\w+ does not hold dates: 'soon' \(row 3701\)"):
        split_batch(batch, "not_dates", "M")
    with pytest.raises(DriftError, match="'blank' of batch.* has no dates to split by"):
        split_batch(batch, "blank", "M")
    with pytest.raises(DriftError, match="'amount' of batch.* holds numbers, not dates"):
        split_batch(batch, "amount", "M")


class CancelAfter(CancelToken):
    """A token that cancels at its ``checks``-th check (a cancel in the middle of the work)."""

    def __init__(self, checks: int) -> None:
        super().__init__()
        self.left = checks

    def check(self) -> None:
        self.left -= 1
        if self.left <= 0:
            self.cancel()
        super().check()


def test_a_cancelled_split_leaves_nothing(batch_file, tmp_path, monkeypatch):
    _out_of_core(monkeypatch)
    batch = batch_from_file(batch_file, work_dir=tmp_path)
    reading = -(-ROWS // 700)  # the parts of the date column, read once to find the periods
    with pytest.raises(JobCancelled):  # while the second group of periods is written (the first is)
        split_batch(batch, "when", "D", cancel=CancelAfter(reading + 10))
    assert leftovers(batch.on_disk.spill_dir) == []


def test_the_drift_command_splits_a_file_larger_than_memory_by_month(tmp_path, monkeypatch):
    from mlops_desktop.core.workspace import Workspace

    table = _table()
    pq.write_table(table.slice(0, 2000), tmp_path / "reference.parquet")
    pq.write_table(table, tmp_path / "batch.parquet")
    with Workspace.create(tmp_path / "ws", actor="ann") as ws:
        ws.import_file(tmp_path / "reference.parquet", name="reference", actor="ann")
    args = ["drift", "--reference", "reference", "--current", str(tmp_path / "batch.parquet"), "--split-by",
            "when", "--json", "--no-store", "--workspace", str(tmp_path / "ws")]

    def run() -> dict:
        result = run_cli(*args)
        assert "Traceback" not in result.stderr and result.returncode in (0, 4), result.stderr
        return json.loads(result.stdout)

    in_memory = run()
    _out_of_core(monkeypatch)
    out_of_core = run()
    assert out_of_core["timeline"] == in_memory["timeline"]
    assert len(out_of_core["timeline"]["labels"]) == 10
    for mine, theirs in zip(out_of_core["batches"], in_memory["batches"]):
        assert mine["batch"] == theirs["batch"]
        _same(mine["features"], theirs["features"])


def _same(mine, theirs) -> None:
    """Equal, floats to 1e-9 (a mean counted out of core adds in another order)."""
    if isinstance(theirs, dict):
        assert mine.keys() == theirs.keys()
        for key in theirs:
            _same(mine[key], theirs[key])
    elif isinstance(theirs, list):
        assert len(mine) == len(theirs)
        for a, b in zip(mine, theirs):
            _same(a, b)
    elif isinstance(theirs, float):
        assert mine == pytest.approx(theirs, rel=1e-9, abs=1e-12)
    else:
        assert mine == theirs
