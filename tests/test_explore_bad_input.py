"""Awkward data for the Explore profile: no crash, nothing that is not a number in its
JSON (no NaN or infinity), a report that renders, and messages that say what is wrong."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlops_desktop.core.data.types import infer_column
from mlops_desktop.core.errors import NotFoundError
from mlops_desktop.core.explore import profile_dataset, profile_table
from mlops_desktop.core.report import render_report


def _kinds(table: pa.Table) -> dict[str, str]:
    return {c: infer_column(table.column(c), table.num_rows).kind for c in table.column_names}


def _walk_numbers(value, path="$"):
    if isinstance(value, float):
        assert math.isfinite(value), path
    elif isinstance(value, dict):
        for k, v in value.items():
            _walk_numbers(v, f"{path}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _walk_numbers(v, f"{path}[{i}]")


def _sound(profile) -> dict:
    """The profile serialises as strict JSON and renders as a report."""
    data = profile.to_dict()
    _walk_numbers(data)
    text = json.dumps(data, allow_nan=False)  # raises on NaN or infinity anywhere
    assert json.loads(text)["rows"] == profile.n_rows
    html = render_report(profile=profile)
    assert not re.search(r"\b(nan|NaN|inf|Infinity)\b", html)
    for col in profile.columns:
        assert col.name in html
    return data


def _alert_kinds(profile, column: str) -> set[str]:
    return {a.kind for a in profile.alerts if column in a.columns}


RNG = np.random.default_rng(0)
N = 60


# -- through profile_table -----------------------------------------------------------------

def test_unknown_target_is_a_clear_not_found_error():
    table = pa.table({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]})
    with pytest.raises(NotFoundError) as err:
        profile_table(table, kinds=_kinds(table), target="price")
    message = str(err.value)
    assert "'price'" in message and "a, b" in message


@pytest.mark.parametrize("values", [["same"] * N, [7.5] * N, [1] * N])
def test_constant_target(values):
    table = pa.table({"y": values, "x": RNG.normal(size=N), "c": RNG.choice(["p", "q"], N)})
    profile = profile_table(table, kinds=_kinds(table), target="y")
    _sound(profile)
    assert profile.target["task"] == "classification"
    assert "constant_target" in _alert_kinds(profile, "y")
    assert not [a for a in profile.alerts if a.kind == "leakage"]


def test_target_with_one_class_and_missing_values():
    table = pa.table({"y": ["yes"] * 40 + [None] * 20, "x": RNG.normal(size=N),
                      "c": RNG.choice(["p", "q"], N)})
    profile = profile_table(table, kinds=_kinds(table), target="y")
    data = _sound(profile)
    assert data["target"]["classes"] == [{"value": "yes", "count": 40, "share": 1.0}]
    assert data["target"]["binary"] is False
    alert = next(a for a in profile.alerts if a.kind == "constant_target")
    assert alert.severity == "problem" and "single value" in alert.message


def test_target_missing_in_every_row():
    table = pa.table({"y": pa.array([None] * N, pa.float64()), "x": RNG.normal(size=N)})
    profile = profile_table(table, kinds={"y": "numeric", "x": "numeric"}, target="y")
    _sound(profile)
    alert = next(a for a in profile.alerts if a.kind == "constant_target")
    assert "missing in every row" in alert.message


@pytest.mark.parametrize("column", [pa.nulls(N), pa.array([None] * N, pa.string()),
                                    pa.array([None] * N, pa.float64()), pa.array([np.nan] * N)],
                         ids=["null-type", "string", "float-null", "float-nan"])
def test_column_missing_in_every_row(column):
    table = pa.table({"y": RNG.normal(size=N), "gone": column, "x": RNG.normal(size=N)})
    kinds = {"y": "numeric", "x": "numeric", "gone": "numeric"}
    profile = profile_table(table, kinds=kinds, target="y")
    _sound(profile)
    col = profile.column("gone")
    assert col.count == 0 and col.missing == N and col.missing_share == 1.0
    alert = next(a for a in profile.alerts if a.kind == "empty")
    assert alert.columns == ["gone"] and alert.severity == "problem"
    assert "gone" not in profile.correlations["columns"]


def test_text_column():
    words = np.array(["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dogs", "again"])
    text = [" ".join(RNG.choice(words, 12)) for _ in range(N)]
    table = pa.table({"y": RNG.choice(["a", "b"], N), "note": text, "x": RNG.normal(size=N)})
    kinds = _kinds(table)
    assert kinds["note"] == "text"
    profile = profile_table(table, kinds=kinds, target="y")
    _sound(profile)
    col = profile.column("note")
    assert col.stats["mean_length"] == pytest.approx(np.mean([len(t) for t in text]))
    assert "note" not in [r["column"] for r in profile.target["relations"]]  # text is no feature


@pytest.mark.parametrize("rows", [2, 1, 0])
def test_tiny_tables(rows):
    table = pa.table({"y": [1.5, 2.5][:rows], "x": [3.0, -1.0][:rows], "c": ["a", "b"][:rows],
                      "t": pa.array([pd.Timestamp("2020-01-01"), pd.Timestamp("2020-02-01")][:rows])})
    kinds = {"y": "numeric", "x": "numeric", "c": "categorical", "t": "datetime"}
    for target in ("y", "c", None):
        profile = profile_table(table, kinds=kinds, target=target)
        data = _sound(profile)
        assert data["rows"] == rows
        assert profile.column("x").count == rows
        if rows:
            assert profile.column("x").stats["min"] == min([3.0, -1.0][:rows])
            assert profile.column("x").stats["skewness"] is None  # needs three values


def test_only_categorical_columns():
    table = pa.table({"a": RNG.choice(["p", "q"], N), "b": RNG.choice(["u", "v", "w"], N),
                      "c": RNG.choice(["m", "n"], N)})
    profile = profile_table(table, kinds=_kinds(table), target="a")
    data = _sound(profile)
    assert data["correlations"]["columns"] == []
    assert profile.associations["columns"] == ["a", "b", "c"]
    assert {r["column"] for r in profile.target["relations"]} == {"b", "c"}
    assert all(r["auc"] is not None for r in profile.target["relations"])


@pytest.mark.parametrize("target", ["a", None])
def test_only_one_numeric_column(target):
    table = pa.table({"a": RNG.normal(size=N)})
    profile = profile_table(table, kinds={"a": "numeric"}, target=target)
    data = _sound(profile)
    assert len(data["correlations"]["columns"]) == 1
    assert profile.column("a").stats["mean"] == pytest.approx(table.column("a").to_pandas().mean())
    if target:
        assert profile.target["relations"] == [] and profile.target["task"] == "regression"


def test_infinite_values_everywhere_in_a_column():
    table = pa.table({"y": RNG.normal(size=N), "x": pa.array([np.inf, -np.inf] * (N // 2))})
    profile = profile_table(table, kinds={"y": "numeric", "x": "numeric"}, target="y")
    _sound(profile)
    col = profile.column("x")
    assert col.stats["infinite"] == N and col.stats.get("mean") is None and col.chart is None


def test_times_of_day_and_durations():
    """A Parquet file can hold times of day and durations; the importer calls them
    datetime. They are profiled (their values counted), not crashed on."""
    import datetime as dt

    times = [dt.time(i % 5, 30) for i in range(N)]
    table = pa.table({"y": RNG.normal(size=N), "at": pa.array(times, pa.time64("us")),
                      "at32": pa.array(times, pa.time32("s")),
                      "took": pa.array([dt.timedelta(minutes=i % 3) for i in range(N)])})
    kinds = _kinds(table)
    assert kinds["at"] == kinds["at32"] == kinds["took"] == "datetime"
    profile = profile_table(table, kinds=kinds, target="y")
    _sound(profile)
    for name, distinct in (("at", 5), ("at32", 5), ("took", 3)):
        col = profile.column(name)
        assert col.count == N and col.distinct == distinct
        assert sum(t["count"] for t in col.stats["top"]) == N
    assert profile.duplicates["count"] == 0


# -- through a workspace, as the app and the CLI do ----------------------------------------

CSV_CASES = {
    "constant target": ("y,x\n" + "".join(f"1,{i * 0.37 % 5}\n" for i in range(30)), "y"),
    "all-missing column": ("y,x,gone\n" + "".join(f"{i % 7 * 1.1},{i * 0.3},\n" for i in range(30)), "y"),
    "two rows": ("y,x,c\n1.5,3,a\n2.5,4,b\n", "y"),
    "one row": ("y,x,c\n1.5,3,a\n", "c"),
    "only categories": ("y,c\n" + "".join(f"{'ab'[i % 2]},{'uvw'[i % 3]}\n" for i in range(30)), "y"),
    "one numeric column": ("v\n" + "".join(f"{i * 1.7 % 11}\n" for i in range(30)), "v"),
}


@pytest.mark.parametrize("case", list(CSV_CASES))
def test_imported_awkward_datasets_profile_soundly(workspace, tmp_path: Path, case):
    text, target = CSV_CASES[case]
    path = tmp_path / "data.csv"
    path.write_text(text, encoding="utf-8")
    workspace.import_file(path, actor="tester")
    profile = profile_dataset(workspace, "data", target=target)
    data = _sound(profile)
    assert data["dataset"]["name"] == "data" and data["target"]["column"] == target
    if case == "constant target":
        assert "constant_target" in _alert_kinds(profile, "y")
    if case == "all-missing column":
        assert "empty" in _alert_kinds(profile, "gone")


def test_unknown_target_of_a_dataset(workspace, penguins_csv):
    workspace.import_file(penguins_csv, actor="tester")
    with pytest.raises(NotFoundError, match="'weight'"):
        profile_dataset(workspace, "penguins", target="weight")
    with pytest.raises(NotFoundError):
        profile_dataset(workspace, "no-such-dataset")
