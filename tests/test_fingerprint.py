"""The content fingerprint: the same data gives the same fingerprint whatever file it
came from; any change to values, names or column order changes it; identical data
imported twice shares one snapshot."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from mlops_desktop.core.data.fingerprint import fingerprint
from mlops_desktop.core.data.readers import ImportOptions, read_table
from mlops_desktop.core.data.types import normalise_table

CSV_TEXT = (
    "count,price,city,ok,day,stamp\n"
    "3,0.1,Köln,true,2024-01-05,2024-01-05 10:30:00\n"
    ",2.25,Berlin,false,2023-12-31,2023-12-31 23:59:59\n"
    "7,-3.5,,true,2024-02-29,2024-02-29 00:00:01\n"
    "12,,Paris,true,2024-03-01,2024-03-01 12:00:00\n"
    "5,1000000.5,Berlin,false,2024-01-01,2024-01-01 08:15:00\n"
)


def _frame() -> pd.DataFrame:
    """The same data as CSV_TEXT, as pandas holds it: 'count' is an int column with a
    missing value, so pandas stores it as float64 with NaN."""
    return pd.DataFrame({
        "count": [3, None, 7, 12, 5],
        "price": [0.1, 2.25, -3.5, None, 1000000.5],
        "city": ["Köln", "Berlin", None, "Paris", "Berlin"],
        "ok": [True, False, True, True, False],
        "day": pd.to_datetime(["2024-01-05", "2023-12-31", "2024-02-29", "2024-03-01",
                               "2024-01-01"]),
        "stamp": pd.to_datetime(["2024-01-05 10:30:00", "2023-12-31 23:59:59",
                                 "2024-02-29 00:00:01", "2024-03-01 12:00:00",
                                 "2024-01-01 08:15:00"]),
    })


def _fp(path: Path, options: ImportOptions | None = None) -> str:
    return fingerprint(normalise_table(read_table(path, options).table))


@pytest.fixture
def same_data(tmp_path) -> dict[str, Path]:
    paths = {"csv": tmp_path / "d.csv", "semicolon": tmp_path / "d-semi.txt",
             "cp1252": tmp_path / "d-1252.csv", "parquet": tmp_path / "d.parquet",
             "xlsx": tmp_path / "d.xlsx"}
    paths["csv"].write_text(CSV_TEXT, encoding="utf-8")
    semi = CSV_TEXT.replace(",", ";").replace("0.1;", "0,1;").replace("2.25", "2,25") \
        .replace("-3.5", "-3,5").replace("1000000.5", "1000000,5")
    paths["semicolon"].write_text(semi, encoding="utf-8")
    paths["cp1252"].write_bytes(CSV_TEXT.encode("cp1252"))
    df = _frame()
    assert df["count"].dtype == "float64"  # the case the fingerprint must see through
    df.to_parquet(paths["parquet"], index=False)
    df.to_excel(paths["xlsx"], index=False)
    return paths


def test_same_data_same_fingerprint_across_formats(same_data):
    fps = {kind: _fp(path) for kind, path in same_data.items()}
    # make sure the readers really saw different physical types
    csv_types = read_table(same_data["csv"]).table.schema.field("count").type
    pq_types = read_table(same_data["parquet"]).table.schema.field("count").type
    assert pa.types.is_integer(csv_types) and pa.types.is_floating(pq_types)
    assert read_table(same_data["semicolon"]).options["decimal"] == ","
    assert read_table(same_data["cp1252"]).options["encoding"] == "cp1252"

    assert len(set(fps.values())) == 1, fps
    assert re.fullmatch("[0-9a-f]{64}", fps["csv"])


def test_fingerprint_of_an_import_matches_the_core_function(workspace, same_data):
    result = workspace.import_file(same_data["xlsx"], actor="tester")
    assert result.dataset.fingerprint == _fp(same_data["csv"])
    assert result.dataset.snapshot == f"snapshots/{result.dataset.fingerprint}.parquet"
    # the snapshot holds the same data
    assert fingerprint(workspace.load_table(result.dataset)) == result.dataset.fingerprint


@pytest.mark.parametrize("change", [
    lambda t: t.replace("Köln", "Koeln"),                 # one text value
    lambda t: t.replace("12,,Paris", "13,,Paris"),          # one integer value
    lambda t: t.replace("2.25", "2.26"),                    # one float value
    lambda t: t.replace("-3.5,", "-3.5000001,"),            # a tiny float difference
    lambda t: t.replace("3,0.1,", ",0.1,"),                 # a value becomes missing
    lambda t: t.replace("2024-02-29,", "2024-02-28,"),      # one date
    lambda t: t.replace("ok,", "okay,"),                    # a column name
    lambda t: t.replace("false,2023", "true,2023"),         # one boolean
    lambda t: t.rsplit("5,1000000.5", 1)[0],                # a row fewer
], ids=["text", "int", "float", "tiny-float", "missing", "date", "column-name", "bool", "row"])
def test_any_change_changes_the_fingerprint(tmp_path, change):
    original = tmp_path / "a.csv"
    original.write_text(CSV_TEXT, encoding="utf-8")
    changed = tmp_path / "b.csv"
    text = change(CSV_TEXT)
    assert text != CSV_TEXT
    changed.write_text(text, encoding="utf-8")
    assert _fp(original) != _fp(changed)


def test_column_order_changes_the_fingerprint():
    table = pa.table({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    assert fingerprint(table) != fingerprint(table.select(["b", "a"]))
    # and swapping two same-typed columns' names is a change too
    ints = pa.table({"a": [1, 2, 3], "b": [4, 5, 6]})
    assert fingerprint(ints) != fingerprint(ints.rename_columns(["b", "a"]))


def test_value_boundaries_between_cells_count():
    # the same characters split differently across cells must not collide
    assert fingerprint(pa.table({"s": ["ab", "c"]})) != fingerprint(pa.table({"s": ["a", "bc"]}))
    # missing is not the same as an empty string or zero
    assert fingerprint(pa.table({"s": ["", "x"]})) != fingerprint(pa.table({"s": [None, "x"]}))
    assert fingerprint(pa.table({"n": [0, 1]})) != fingerprint(pa.table({"n": [None, 1]}))


def test_equivalent_physical_types_hash_alike():
    ints = pa.table({"n": pa.array([1, None, 3], pa.int64())})
    assert fingerprint(ints) == fingerprint(pa.table({"n": pa.array([1, None, 3], pa.int16())}))
    assert fingerprint(ints) == fingerprint(pa.table({"n": pa.array([1.0, float("nan"), 3.0])}))
    cat = pa.table({"c": pa.array(["x", "y", "x"]).dictionary_encode()})
    assert fingerprint(cat) == fingerprint(pa.table({"c": ["x", "y", "x"]}))


def test_identical_data_imported_twice_reuses_the_snapshot(workspace, same_data):
    first = workspace.import_file(same_data["csv"], actor="tester")
    second = workspace.import_file(same_data["parquet"], actor="tester")
    third = workspace.import_file(same_data["csv"], actor="tester")

    assert first.reused_snapshot is False and first.same_data_as == []
    assert second.reused_snapshot is True and second.same_data_as == [first.dataset.id]
    assert third.reused_snapshot is True
    assert third.same_data_as == [first.dataset.id, second.dataset.id]
    assert first.dataset.fingerprint == second.dataset.fingerprint == third.dataset.fingerprint
    assert first.dataset.snapshot == second.dataset.snapshot == third.dataset.snapshot
    # names stay unique
    assert [first.dataset.name, second.dataset.name, third.dataset.name] == ["d", "d (2)", "d (3)"]
    snapshots = sorted(os.listdir(workspace.snapshots_dir))
    assert snapshots == [f"{first.dataset.fingerprint}.parquet"]
    # the audit entry of the re-import says which dataset holds the same data
    entry = workspace.audit_entries(entity_type="dataset", entity_id=second.dataset.id)[0]
    assert entry.details["same_data_as"] == [first.dataset.id]


def test_a_reused_snapshot_is_not_hashed_again_while_unchanged(workspace, same_data, monkeypatch):
    """A snapshot already read in this session keeps its hash (file_hashes, keyed by the
    file's identity): importing the same data again does not read it through again."""
    from mlops_desktop.core import file_hashes
    from mlops_desktop.core.data import importer

    first = workspace.import_file(same_data["csv"], actor="tester")
    workspace.load_table(first.dataset)  # read (and hashed) as the Data page reads it
    snap = workspace.root / first.dataset.snapshot
    hashed = []
    real = file_hashes.sha256_file
    for module in (file_hashes, importer):  # every name the importer could hash a file by
        monkeypatch.setattr(module, "sha256_file", lambda path: hashed.append(Path(path)) or real(path))
    again = workspace.import_file(same_data["parquet"], actor="tester")
    assert again.reused_snapshot is True and snap not in hashed
    snap.write_bytes(snap.read_bytes())  # rewritten in place (same bytes, a new identity): hashed again
    assert workspace.import_file(same_data["csv"], actor="tester").reused_snapshot is True and snap in hashed


def test_a_damaged_snapshot_is_rewritten_not_reused(workspace, same_data):
    first = workspace.import_file(same_data["csv"], actor="tester")
    snap = workspace.root / first.dataset.snapshot
    snap.write_bytes(b"damaged")

    second = workspace.import_file(same_data["csv"], actor="tester")

    assert second.reused_snapshot is False
    assert second.same_data_as == [first.dataset.id]
    assert fingerprint(workspace.load_table(second.dataset)) == first.dataset.fingerprint


def test_text_hashes_alike_however_it_is_held():
    """Plain, large, dictionary-encoded or sliced text, with missing and empty values:
    one fingerprint (the streamed import reads text as dictionaries)."""
    values = ["a", None, "bcd", "", "a", "Köln"] * 5
    plain = pa.array(values)
    expected = fingerprint(pa.table({"x": plain}))
    for held in (plain.cast(pa.large_string()), plain.dictionary_encode(),
                 pa.chunked_array([plain.slice(0, 7), plain.slice(7)]),
                 pa.chunked_array([plain.slice(0, 13).dictionary_encode(), plain.slice(13).dictionary_encode()])):
        assert fingerprint(pa.table({"x": held})) == expected
    middle = plain.slice(3, 11)
    assert fingerprint(pa.table({"x": middle.dictionary_encode()})) == \
        fingerprint(pa.table({"x": pa.array(values[3:14])}))
    assert fingerprint(pa.table({"x": pa.array(values[:-1])})) != expected


def test_a_table_fingerprinted_in_chunks_is_the_table_whole():
    from mlops_desktop.core.data.fingerprint import ColumnSource, fingerprint_columns

    rows = 1003  # not a multiple of 8: the validity bits carry across chunks
    table = pa.table({"n": pa.array([None if i % 9 == 0 else i for i in range(rows)]),
                      "f": pa.array([i / 3 if i % 5 else float("nan") for i in range(rows)]),
                      "w": pa.array([float(i) for i in range(rows)]),
                      "full": pa.array(range(rows))})
    sources = [ColumnSource(name, col.type, lambda col=col: [col.combine_chunks().slice(i, 97) for i in range(0, rows, 97)],
                            all_valid=(name in ("w", "full")))
               for name, col in zip(table.column_names, table.columns)]
    assert fingerprint_columns(sources, rows) == fingerprint(table)
