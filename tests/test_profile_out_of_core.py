"""Profile and alerts out of core: a dataset larger than memory is profiled by the engine
and one streaming pass, and gives the profile the in-memory code gives the same table
(every per-column figure, histogram, duplicate count, missing pattern, correlation,
target relation and alert). Checked on data that fits, with the size limit lowered so
that it takes the out-of-core path."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlops_desktop.core.data import on_disk
from mlops_desktop.core.explore import on_disk as explore_on_disk
from mlops_desktop.core.explore import profile_dataset
from mlops_desktop.core.explore.profile import profile_table


def _table(rows: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    amount = np.round(rng.lognormal(3, 1, rows), 2)
    amount[rng.random(rows) < 0.01] = np.inf
    amount[:2] = [1e7, -3e6]  # far outside the quartiles
    ratio = rng.random(rows)
    ratio[rng.random(rows) < 0.03] = np.nan
    shops = [f"shop {i}" for i in range(40)]
    p = 1 / np.arange(1, 41) ** 1.3
    score = rng.normal(0, 1, rows)
    defaulted = rng.random(rows) < 1 / (1 + np.exp(-(score * 2 - 2)))
    numbers = rng.geometric(0.05, rows).astype(str).astype(object)  # no ties among the most frequent
    numbers[rng.random(rows) < 0.02] = "n/a"
    numbers[rng.random(rows) < 0.005] = "--"
    table = pa.table({
        "id": pa.array(np.arange(rows)),
        "amount": pa.array(amount, mask=rng.random(rows) < 0.02),
        "count": pa.array(rng.poisson(3, rows), mask=rng.random(rows) < 0.05),
        "ratio": pa.array(ratio),
        "score": pa.array(score),
        "constant": pa.array(np.full(rows, 7.0)),
        "shop": pa.array(rng.choice(shops, rows, p=p / p.sum()), mask=rng.random(rows) < 0.01),
        "numbers": pa.array(numbers.tolist()),
        "flag": pa.array(rng.random(rows) < 0.97),
        "day": pa.array(np.datetime64("2024-01-01") + np.sort(rng.integers(0, 300, rows)).astype("timedelta64[D]")),
        "defaulted": pa.array(np.where(defaulted, "yes", "no")),
    })
    # a few rows repeated (ids included) for the duplicate count
    return pa.concat_tables([table, table.slice(100, 3), table.slice(7, 1)])


def _same(a, b, path="") -> None:
    """Equal, floats to 1e-9 relative (the engine sums in another order)."""
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            if k not in ("rank_cache", "seconds", "notes"):
                _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert (math.isnan(a) and math.isnan(b)) or b == pytest.approx(a, rel=1e-9, abs=1e-12), path
    else:
        assert a == b, path


@pytest.fixture
def dataset(workspace, tmp_path):
    path = tmp_path / "loans.parquet"
    pq.write_table(_table(20000, 3), path, row_group_size=3000)
    return workspace.import_file(path, actor="tester", name="loans").dataset


def test_a_dataset_on_disk_gets_the_in_memory_profile(workspace, dataset, monkeypatch):
    in_memory = profile_dataset(workspace, "loans", target="defaulted")
    used = []
    real = explore_on_disk.profile_on_disk
    monkeypatch.setattr(explore_on_disk, "profile_on_disk", lambda *a, **k: used.append(1) or real(*a, **k))
    monkeypatch.setattr(on_disk, "OUT_OF_CORE_BYTES", 0)
    out_of_core = profile_dataset(workspace, "loans", target="defaulted")
    assert used  # it took the out-of-core path
    a, b = in_memory.to_dict(), out_of_core.to_dict()
    _same(a, b)
    # what the comparison rests on is there: a far outlier, the strays in a column of
    # numbers, the duplicates, a pattern of missing values, the leak-free target relations
    assert b["duplicates"]["count"] == 4 and b["duplicates"]["examples"] == [20001, 20002, 20003, 20004]
    amount = out_of_core.column("amount")
    assert amount.stats["far_outliers"] >= 2 and amount.stats["infinite"] > 0
    assert out_of_core.column("numbers").stats["non_numbers"][0]["value"] == "n/a"
    assert b["missing_patterns"]["patterns"]
    assert b["target"]["classes"][0]["count"] + b["target"]["classes"][1]["count"] == 20004
    kinds = {a.kind for a in out_of_core.alerts}  # the alerts are in the compared dict; some matter here
    assert {"constant", "duplicates"} <= kinds, kinds
    assert any("larger than memory" in note for note in out_of_core.notes)


def test_a_sampled_profile_on_disk_uses_the_in_memory_sample_and_counts_classes_in_full(workspace, dataset,
                                                                                       monkeypatch):
    from mlops_desktop.core.data.catalog import snapshot_path
    from mlops_desktop.core.data.on_disk import OnDiskTable

    ds = workspace.dataset("loans")
    kinds = {c.name: c.kind for c in ds.columns}
    in_memory = profile_table(workspace.load_table(ds), kinds=kinds, target="defaulted", sample_rows=5000)
    table = OnDiskTable.open(snapshot_path(workspace, ds), workspace.snapshots_dir)
    out_of_core = explore_on_disk.profile_on_disk(table, kinds=kinds, target="defaulted", sample_rows=5000)
    assert out_of_core.sample == in_memory.sample and out_of_core.sample["sampled"]
    _same(in_memory.correlations, out_of_core.correlations)
    # the measures are those of the same rows; a chart of categories lists them in the
    # order the sample meets them, the in-memory one in the order the whole table does
    for section in (in_memory.target, out_of_core.target):
        for relation in section["relations"]:
            relation.pop("chart", None)
    _same(in_memory.target, out_of_core.target)
    _same([c.to_dict() for c in in_memory.columns], [c.to_dict() for c in out_of_core.columns])


def test_a_row_is_read_by_its_position_from_the_row_group_holding_it(workspace, dataset, tmp_path):
    """The Check page shows a row by its position (catalog.row_at, through the on-disk
    table's reader); rows across row groups come back as the whole table has them."""
    from mlops_desktop.core.data.catalog import row_at
    from mlops_desktop.core.data.on_disk import OnDiskTable
    from mlops_desktop.core.errors import InvalidChoiceError

    whole = _table(20000, 3)
    path = tmp_path / "groups.parquet"
    pq.write_table(whole, path, row_group_size=3000)
    table = OnDiskTable.open(path, tmp_path)
    assert len(table.row_groups) == 7
    for start, count in ((0, 1), (2999, 2), (5990, 3020), (20003, 1), (19990, 50)):
        got, expected = table.rows_at(start, count).to_pandas(), whole.slice(start, count).to_pandas()
        pd.testing.assert_frame_equal(got, expected, obj=f"rows {start} to {start + count}")  # NaN equal to NaN
    ds = workspace.dataset("loans")
    rows = workspace.load_table(ds).to_pandas()
    for position in (0, 2999, 3000, ds.n_rows - 1):
        pd.testing.assert_series_equal(pd.Series(row_at(workspace, ds, position)), rows.iloc[position],
                                       check_names=False, check_dtype=False)
    with pytest.raises(InvalidChoiceError, match="has no row 20,005"):
        row_at(workspace, ds, ds.n_rows)
