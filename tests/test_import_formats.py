"""Importing every supported format: values, Arrow types, inferred kinds and roles, and
the options recorded with the dataset."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from mlops_desktop.core.data.dataset import Column
from mlops_desktop.core.data.importer import build_columns
from mlops_desktop.core.data.readers import ImportOptions, list_sheets, list_tables, read_table
from mlops_desktop.core.data.sniff import SAMPLE_BYTES
from mlops_desktop.core.data.types import normalise_table
from mlops_desktop.core.errors import DataImportError

N = 25  # above types.ID_MIN_ROWS, so a unique integer column reads as an id


def _import(ws, path: Path, options: ImportOptions | None = None, **kw):
    result = ws.import_file(path, options, actor="tester", **kw)
    return result, ws.load_dataframe(result.dataset)


def _by_name(columns: list[Column]) -> dict[str, Column]:
    return {c.name: c for c in columns}


def _kinds(columns: list[Column]) -> dict[str, str]:
    return {c.name: c.kind for c in columns}


def _roles(columns: list[Column]) -> dict[str, str]:
    return {c.name: c.role for c in columns}


# -- delimited text ----------------------------------------------------------------------

def _mixed_rows(delim: str, decimal: str = ".") -> str:
    """A table with one column of each kind, written with ``delim`` and ``decimal``."""
    lines = [delim.join(["customer_id", "segment", "score", "active", "signup", "country",
                         "comment"])]
    for i in range(N):
        score = f"{i * 1.25 + 0.5}".replace(".", decimal)
        lines.append(delim.join([
            str(1000 + i), ("gold", "silver", "bronze")[i % 3], score,
            "true" if i % 2 else "false", f"2024-01-{i + 1:02d}", "NL",
            f"customer {i} said something long about the service they got",
        ]))
    return "\n".join(lines) + "\n"


EXPECTED_KINDS = {"customer_id": "id", "segment": "categorical", "score": "numeric",
                  "active": "boolean", "signup": "datetime", "country": "constant",
                  "comment": "text"}
EXPECTED_ROLES = {"customer_id": "id", "segment": "feature", "score": "feature",
                  "active": "feature", "signup": "feature", "country": "ignore",
                  "comment": "ignore"}


@pytest.mark.parametrize("filename, delim, decimal", [
    ("comma.csv", ",", "."),
    ("semicolon.csv", ";", ","),
    ("tabs.tsv", "\t", "."),
    ("pipes.txt", "|", "."),
])
def test_delimited_text_values_types_kinds_and_options(workspace, tmp_path, filename, delim, decimal):
    path = tmp_path / filename
    path.write_text(_mixed_rows(delim, decimal), encoding="utf-8")

    result, df = _import(workspace, path)
    ds = result.dataset

    assert ds.options == {"format": "csv", "encoding": "utf-8", "delimiter": delim,
                          "decimal": decimal}
    assert ds.source_format == "csv"
    assert ds.name == path.stem
    assert (ds.n_rows, ds.n_columns) == (N, 7)
    assert _kinds(ds.columns) == EXPECTED_KINDS
    assert {c.name: c.inferred_kind for c in ds.columns} == EXPECTED_KINDS
    assert _roles(ds.columns) == EXPECTED_ROLES
    types = {c.name: c.physical_type for c in ds.columns}
    assert types["customer_id"] == "int64"
    assert types["score"] == "double"  # the decimal comma was understood, not left as text
    assert types["active"] == "bool"
    assert types["signup"].startswith(("date32", "timestamp"))
    assert types["segment"] == "string"

    assert df["customer_id"].tolist() == list(range(1000, 1000 + N))
    assert df["score"].tolist() == [i * 1.25 + 0.5 for i in range(N)]
    assert df["active"].tolist() == [bool(i % 2) for i in range(N)]
    assert pd.Timestamp(df["signup"].iloc[4]) == pd.Timestamp("2024-01-05")
    assert df["segment"].iloc[:3].tolist() == ["gold", "silver", "bronze"]
    cols = _by_name(ds.columns)
    assert cols["segment"].n_distinct == 3 and cols["country"].n_distinct == 1
    assert all(c.n_missing == 0 for c in ds.columns)


def test_semicolon_file_with_decimal_comma_and_missing_values(workspace, tmp_path):
    path = tmp_path / "european.csv"
    path.write_text("Artikel;Preis;Menge\nA;1,5;3\nB;2,25;\nC;;7\nD;10,125;1\n", encoding="utf-8")

    result, df = _import(workspace, path)

    assert result.dataset.options["delimiter"] == ";"
    assert result.dataset.options["decimal"] == ","
    assert df["Preis"].tolist()[:2] == [1.5, 2.25]
    assert pd.isna(df["Preis"].iloc[2]) and df["Preis"].iloc[3] == 10.125
    cols = _by_name(result.dataset.columns)
    assert cols["Preis"].physical_type == "double" and cols["Preis"].n_missing == 1
    assert cols["Menge"].n_missing == 1 and cols["Menge"].kind == "numeric"


def test_user_choices_override_detection_and_are_recorded(workspace, tmp_path):
    # Sniffing would pick ';' here; the user says the file is comma-separated.
    path = tmp_path / "forced.csv"
    path.write_text("a,b;c\n1,x;y\n2,z;w\n", encoding="utf-8")

    result, df = _import(workspace, path, ImportOptions(delimiter="comma", encoding="utf-8",
                                                        decimal="."))

    assert list(df.columns) == ["a", "b;c"]
    assert result.dataset.options == {"format": "csv", "encoding": "utf-8", "delimiter": ",",
                                      "decimal": ".",
                                      "chosen_by_user": ["decimal", "delimiter", "encoding"]}


# -- encodings ---------------------------------------------------------------------------

NAMES = ["Müller", "Jürgen Öztürk", "Ana Peña", "François"]


@pytest.mark.parametrize("encoding, recorded", [
    ("utf-8", {"utf-8"}),
    ("utf-8-sig", {"utf-8-sig"}),
    ("cp1252", {"cp1252"}),
    # latin-1 text without bytes 0x80-0x9f reads the same as cp1252, its superset
    ("latin-1", {"latin-1", "cp1252"}),
])
def test_encodings_are_detected_and_text_decoded(workspace, tmp_path, encoding, recorded):
    names = NAMES + (["Preis in €", "„Anführung“"] if encoding in ("utf-8", "utf-8-sig", "cp1252")
                     else ["Ångström ÿ", "45° Nord"])
    text = "name;amount\n" + "".join(f"{n};{i},5\n" for i, n in enumerate(names))
    path = tmp_path / f"people-{encoding}.csv"
    path.write_bytes(text.encode(encoding))

    result, df = _import(workspace, path)

    assert result.dataset.options["encoding"] in recorded
    # a BOM must not end up in the first column's name
    assert list(df.columns) == ["name", "amount"]
    assert df["name"].tolist() == names
    assert df["amount"].tolist() == [i + 0.5 for i in range(len(names))]


def test_latin1_chosen_by_the_user_is_used_and_recorded(workspace, tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("name,city\nJosé,São Paulo\nZoë,Nîmes\n".encode("latin-1"))

    result, df = _import(workspace, path, ImportOptions(encoding="latin-1"))

    assert result.dataset.options["encoding"] == "latin-1"
    assert result.dataset.options["chosen_by_user"] == ["encoding"]
    assert df["city"].tolist() == ["São Paulo", "Nîmes"]


def _ascii_rows_beyond_the_sample() -> bytes:
    rows = b"name,n\n" + b"".join(f"plain{i},{i}\n".encode() for i in range(40000))
    assert len(rows) > SAMPLE_BYTES
    return rows


def test_cp1252_bytes_beyond_the_sample_fall_back_to_cp1252(workspace, tmp_path):
    path = tmp_path / "late-1252.csv"
    path.write_bytes(_ascii_rows_beyond_the_sample() + "Müller €,1\n".encode("cp1252"))

    result, df = _import(workspace, path)

    assert result.dataset.options["encoding"] == "cp1252"
    assert df["name"].iloc[-1] == "Müller €"
    assert _by_name(result.dataset.columns)["name"].physical_type == "string"


def test_utf8_chosen_for_a_file_that_is_not_utf8_is_refused(workspace, tmp_path):
    path = tmp_path / "late-1252.csv"
    path.write_bytes(_ascii_rows_beyond_the_sample() + "Müller,1\n".encode("cp1252"))
    with pytest.raises(DataImportError, match="column 'name' holds text that is not valid utf-8"):
        workspace.import_file(path, ImportOptions(encoding="utf-8"), actor="tester")
    assert workspace.datasets() == []


def test_utf8_character_cut_by_the_sample_end_is_still_utf8(tmp_path):
    # 'é' straddles the end of the 256 KiB sniffing sample: still UTF-8, not cp1252 mojibake
    head = b"name,v\n"
    rows = b"".join(f"row{i},{i}\n".encode() for i in range(30000))
    body = head + rows
    body = body[:body.rfind(b"\n", 0, SAMPLE_BYTES - 100) + 1]
    filler = b"x" * (SAMPLE_BYTES - len(body) - 1)
    data = body + filler + "é".encode() + b",1\nlast,2\n"
    assert data[SAMPLE_BYTES - 1:SAMPLE_BYTES + 1] == "é".encode()
    path = tmp_path / "cut.csv"
    path.write_bytes(data)

    result = read_table(path)

    assert result.options["encoding"] == "utf-8"
    assert result.table.column("name")[-2].as_py() == "x" * len(filler) + "é"


# -- quoted fields -------------------------------------------------------------------------

def test_quoted_fields_with_newlines_delimiters_and_quotes(workspace, tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text('id,note,n\n1,"first line\nsecond line",10\n2,"has, a comma",20\n'
                    '3,"say ""hi""",30\n4,"windows\r\nbreak",40\n', encoding="utf-8", newline="")

    result, df = _import(workspace, path)

    assert result.dataset.n_rows == 4
    assert df["note"].tolist() == ["first line\nsecond line", "has, a comma", 'say "hi"',
                                   "windows\r\nbreak"]
    assert df["n"].tolist() == [10, 20, 30, 40]


def test_quoted_newline_beyond_the_sniffed_sample(workspace, tmp_path):
    lines = ["id,label,note"] + [f"{i},{'abc'[i % 3]},plain note {i}" for i in range(20000)]
    cut = len("\n".join(lines))
    assert cut > SAMPLE_BYTES  # the sniffer never sees the quoted newline
    lines += ['20000,a,"first line\nsecond line"', "20001,b,last"]
    path = tmp_path / "late.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result, df = _import(workspace, path)

    assert result.dataset.n_rows == 20002
    assert df["note"].iloc[-2] == "first line\nsecond line"
    assert df["id"].iloc[-1] == 20001 and df["note"].iloc[-1] == "last"


def test_quoted_newline_at_a_parser_block_boundary_is_not_misparsed(tmp_path):
    """pyarrow reads text in 4 MiB blocks. A quoted value whose line break is the last
    one of a block, and whose continuation looks like a row, must not become a phantom
    row (this silently corrupted data when the sample had no quoted newline)."""
    block = 1 << 22
    parts = ["id,note\n"]
    size, i = len(parts[0]), 0
    while size + 20 <= block - 200:
        row = f"{i:07d},plain note\n"
        parts.append(row)
        size += len(row)
        i += 1
    opening = f'{i:07d},"'
    pad = block - 10 - size - len(opening)
    tricky = "a" * pad + "\n9999999,looks like a row" + "b" * 100
    parts.append(f'{opening}{tricky}"\n')
    parts.append(f"{i + 1:07d},last\n")
    path = tmp_path / "block.csv"
    path.write_text("".join(parts), encoding="utf-8")

    table = read_table(path).table

    assert table.num_rows == i + 2
    ids = table.column("id").to_pylist()
    assert 9999999 not in ids
    assert ids[-2:] == [i, i + 1]
    assert table.column("note")[-2].as_py() == tricky
    assert table.column("note")[-1].as_py() == "last"


# -- Excel -------------------------------------------------------------------------------

@pytest.fixture
def workbook(tmp_path) -> Path:
    path = tmp_path / "book.xlsx"
    people = pd.DataFrame({"name": ["Ann", "Bob", "Cem"], "age": [31, 45, 27]})
    sales = pd.DataFrame({
        "order": list(range(1, N + 1)),
        "region": [("north", "south")[i % 2] for i in range(N)],
        "amount": [i * 10.5 for i in range(N)],
        "paid": [i % 3 == 0 for i in range(N)],
        "day": pd.date_range("2024-03-01", periods=N, freq="D"),
    })
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        people.to_excel(writer, sheet_name="People", index=False)
        sales.to_excel(writer, sheet_name="Sales", index=False)
    return path


def test_excel_first_sheet_by_default(workspace, workbook):
    assert list_sheets(workbook) == ["People", "Sales"]

    result, df = _import(workspace, workbook)

    assert result.dataset.source_format == "excel"
    assert result.dataset.options == {"format": "excel", "sheet": "People"}
    assert result.dataset.name == "book"  # the first sheet: just the file's name
    assert df.to_dict("list") == {"name": ["Ann", "Bob", "Cem"], "age": [31, 45, 27]}


def test_excel_sheet_chosen_by_name(workspace, workbook):
    result, df = _import(workspace, workbook, ImportOptions(sheet="Sales"))
    ds = result.dataset

    assert ds.options == {"format": "excel", "sheet": "Sales", "chosen_by_user": ["sheet"]}
    assert ds.name == "book - Sales"
    assert ds.n_rows == N
    assert _kinds(ds.columns) == {"order": "id", "region": "categorical", "amount": "numeric",
                                  "paid": "boolean", "day": "datetime"}
    assert _roles(ds.columns) == {"order": "id", "region": "feature", "amount": "feature",
                                  "paid": "feature", "day": "feature"}
    assert df["amount"].tolist() == [i * 10.5 for i in range(N)]
    assert df["paid"].tolist() == [i % 3 == 0 for i in range(N)]
    assert pd.Timestamp(df["day"].iloc[2]) == pd.Timestamp("2024-03-03")


def test_excel_unknown_sheet_names_the_sheets(workspace, workbook):
    with pytest.raises(DataImportError, match=r"no sheet 'Nope'.*People, Sales") as err:
        workspace.import_file(workbook, ImportOptions(sheet="Nope"), actor="tester")
    assert str(workbook) in str(err.value)


# -- Parquet -----------------------------------------------------------------------------

def test_parquet_types_kinds_and_values(workspace, tmp_path):
    df = pd.DataFrame({
        "row": range(N),
        "grade": pd.Categorical([("A", "B", "C")[i % 3] for i in range(N)]),
        "weight": [i / 4 for i in range(N)],
        "flag": [i % 2 == 0 for i in range(N)],
        "at": pd.date_range("2023-06-01 08:00", periods=N, freq="h"),
        "same": [7] * N,
        "missing_ints": [None if i % 5 == 0 else i for i in range(N)],
    })
    path = tmp_path / "data.parquet"
    df.to_parquet(path, index=False)

    result, back = _import(workspace, path)
    ds = result.dataset
    cols = _by_name(ds.columns)

    assert ds.source_format == "parquet" and ds.options == {"format": "parquet"}
    assert _kinds(ds.columns) == {"row": "id", "grade": "categorical", "weight": "numeric",
                                  "flag": "boolean", "at": "datetime", "same": "constant",
                                  "missing_ints": "numeric"}
    assert _roles(ds.columns)["same"] == "ignore" and _roles(ds.columns)["row"] == "id"
    assert cols["grade"].physical_type == "string"  # dictionary decoded
    assert cols["missing_ints"].n_missing == 5
    assert back["grade"].tolist()[:3] == ["A", "B", "C"]
    assert back["weight"].tolist() == [i / 4 for i in range(N)]
    assert pd.Timestamp(back["at"].iloc[3]) == pd.Timestamp("2023-06-01 11:00")


# -- SQLite ------------------------------------------------------------------------------

@pytest.fixture
def sqlite_file(tmp_path) -> Path:
    path = tmp_path / "shop.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER, name TEXT, city TEXT)")
    conn.executemany("INSERT INTO customers VALUES (?, ?, ?)",
                     [(i, f"c{i}", ("Oslo", "Bergen")[i % 2]) for i in range(N)])
    conn.execute("CREATE TABLE orders (order_no INTEGER, total REAL, note TEXT)")
    conn.executemany("INSERT INTO orders VALUES (?, ?, ?)",
                     [(1, 9.5, "x"), (2, None, "y"), (3, 12.25, None)])
    conn.commit()
    conn.close()
    return path


def test_sqlite_with_several_tables_needs_a_choice(workspace, sqlite_file):
    assert list_tables(sqlite_file) == ["customers", "orders"]
    with pytest.raises(DataImportError, match="several tables.*customers, orders"):
        workspace.import_file(sqlite_file, actor="tester")


def test_sqlite_table_chosen_by_name(workspace, sqlite_file):
    result, df = _import(workspace, sqlite_file, ImportOptions(table="orders"))
    ds = result.dataset

    assert ds.source_format == "sqlite"
    assert ds.options == {"format": "sqlite", "table": "orders", "chosen_by_user": ["table"]}
    assert ds.name == "orders"
    assert df["order_no"].tolist() == [1, 2, 3]
    assert df["total"].iloc[0] == 9.5 and pd.isna(df["total"].iloc[1])
    assert _by_name(ds.columns)["note"].n_missing == 1

    result, df = _import(workspace, sqlite_file, ImportOptions(table="customers"))
    assert result.dataset.n_rows == N
    assert _kinds(result.dataset.columns) == {"id": "id", "name": "id", "city": "categorical"}
    assert _roles(result.dataset.columns) == {"id": "id", "name": "id", "city": "feature"}


def test_sqlite_single_table_is_chosen_without_asking(workspace, tmp_path):
    path = tmp_path / "one.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE measurements (x REAL, y REAL)")
    conn.executemany("INSERT INTO measurements VALUES (?, ?)", [(1.0, 2.5), (3.0, 4.5)])
    conn.commit()
    conn.close()

    result, df = _import(workspace, path)

    assert result.dataset.options == {"format": "sqlite", "table": "measurements"}
    assert df["y"].tolist() == [2.5, 4.5]


# -- kind and role inference -------------------------------------------------------------

def _one(values, type_=None) -> Column:
    table = normalise_table(pa.table({"c": pa.array(values, type_)}))
    (col,) = build_columns(table)
    return col


@pytest.mark.parametrize("values, kind", [
    ([1, 2, 2, 3, 5] * 5, "numeric"),
    (list(range(N)), "id"),                       # unique integers, enough rows
    (list(range(10)), "numeric"),                 # unique, but too few rows to say "id"
    ([None] + list(range(1, N)), "numeric"),      # an id has no gaps
    ([0.5, 1.5, float("nan"), 2.5] * 6, "numeric"),
    (["red", "green", "blue", "red"] * 6, "categorical"),
    ([f"K{i:04d}" for i in range(N)], "id"),      # unique short codes
    ([f"this is free text number {i} written by a person" for i in range(N)], "text"),
    ([f"short note {i}" for i in range(N)], "text"),  # mostly unique and spaced
    ([True, False, True] * 8, "boolean"),
    ([datetime(2024, 1, 1, h) for h in range(24)], "datetime"),
    ([date(2024, 1, d) for d in range(1, 25)], "datetime"),
    ([f"2024-02-{d:02d}" for d in range(1, 25)], "datetime"),  # ISO strings become dates
    (["same"] * N, "constant"),
    ([3.0, None, 3.0, float("nan")] * 6, "constant"),
    ([None] * N, "constant"),
])
def test_kind_inference(values, kind):
    assert _one(values).kind == kind


@pytest.mark.parametrize("kind, role", [
    ("id", "id"), ("constant", "ignore"), ("text", "ignore"), ("numeric", "feature"),
    ("categorical", "feature"), ("boolean", "feature"), ("datetime", "feature"),
])
def test_default_role_follows_kind(kind, role):
    samples = {
        "id": list(range(N)), "constant": [1] * N, "text": [f"free text {i} here" for i in range(N)],
        "numeric": [1.5, 2.5] * 12, "categorical": ["a", "b"] * 12, "boolean": [True, False] * 12,
        "datetime": [datetime(2024, 1, 1, h) for h in range(24)],
    }
    col = _one(samples[kind])
    assert (col.kind, col.inferred_kind, col.role) == (kind, kind, role)


def test_missing_and_distinct_counts_treat_nan_as_missing():
    col = _one([1.0, float("nan"), None, 2.0, 2.0])
    assert (col.n_missing, col.n_distinct) == (2, 2)
    col = _one(["a", None, "b", "a"])
    assert (col.n_missing, col.n_distinct) == (1, 2)


def test_build_columns_keeps_order_and_physical_types():
    table = pa.table({"z": pa.array([1, 2], pa.int32()), "a": pa.array(["x", "y"]),
                      "m": pa.array([0.5, 1.5], pa.float32())})
    cols = build_columns(table)
    assert [(c.position, c.name, c.physical_type) for c in cols] == [
        (0, "z", "int32"), (1, "a", "string"), (2, "m", "float")]


def test_a_column_with_no_values_at_all_imports_as_constant(workspace, tmp_path):
    # pyarrow reads an all-empty CSV column with the 'null' type, which has no
    # distinct-count kernel: this used to end in an internal error
    path = tmp_path / "empty-column.csv"
    path.write_text("a,empty,c\n1,,x\n2,,y\n3,,z\n", encoding="utf-8")

    result, df = _import(workspace, path)
    cols = _by_name(result.dataset.columns)

    assert (cols["empty"].kind, cols["empty"].role) == ("constant", "ignore")
    assert (cols["empty"].n_missing, cols["empty"].n_distinct) == (3, 0)
    assert df["empty"].isna().all() and df["c"].tolist() == ["x", "y", "z"]
