"""score.py on bad rows: a CSV row with the wrong number of fields goes to the rejects
file with its line and the rest of the file is scored, every row keeping its number;
a file whose every row is rejected exits 6 with the status saying so."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from export_helpers import FEATURES, export_late, score_py, summary_of


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    return export_late(tmp_path_factory.mktemp("rejected-rows"))


def test_a_row_with_the_wrong_number_of_fields_is_rejected_with_its_line(package, tmp_path):
    pkg, df, app = package
    rows = df.head(300).reset_index(drop=True)
    lines = rows.to_csv(index=False, lineterminator="\n").splitlines()
    # data rows 10 and 201 (file lines 11 and 202) lose their last field / gain one
    short, long = lines[10], lines[201]
    lines[10] = short.rsplit(",", 1)[0]
    lines[201] = long + ",extra"
    source = tmp_path / "ragged.csv"
    source.write_text("\n".join(lines) + "\n")
    done = score_py(pkg, source, "-o", tmp_path / "out.csv", "--chunksize", "64", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = summary_of(done)
    assert (summary["rows_read"], summary["rows_scored"], summary["rows_rejected"]) == (300, 298, 2)
    assert summary["rows_malformed"] == 2
    rejects = pd.read_csv(tmp_path / "out.rejects.csv", dtype=str, keep_default_na=False)
    assert rejects["input_row"].tolist() == ["10", "201"]
    assert rejects["reason"][0].startswith(f"the row has {len(rows.columns) - 1} field(s) where the header "
                                           f"has {len(rows.columns)} (line 11 of the file")
    assert "line 202 of the file" in rejects["reason"][1] and "extra" in rejects["reason"][1]
    # every other row scored, under its own number, as the app's model scores it
    out = pd.read_csv(tmp_path / "out.csv", dtype={"prediction": object})
    kept = rows.drop(index=[9, 200])
    assert out["input_row"].tolist() == [i + 1 for i in kept.index]
    assert out["row_id"].tolist() == kept["row_id"].tolist()
    proba = app.predict_proba(kept[FEATURES])
    assert np.max(np.abs(out["probability_late"].to_numpy() - proba[:, 0])) <= 1e-12


def test_a_malformed_last_row_and_quoted_line_breaks_keep_the_numbers_right(package, tmp_path):
    pkg, df, _ = package
    rows = df.head(5)[FEATURES].reset_index(drop=True).astype({"carrier": object})
    rows.loc[1, "carrier"] = "U\nA"  # a quoted value over two lines: one row, two lines
    text = rows.to_csv(index=False, lineterminator="\n") + "AA,JFK,1\n"
    source = tmp_path / "tail.csv"
    source.write_text(text)
    done = score_py(pkg, source, "-o", tmp_path / "out.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert summary_of(done)["rows_rejected"] == 1
    rejects = pd.read_csv(tmp_path / "out.rejects.csv", dtype=str)
    assert rejects["input_row"].tolist() == ["6"] and "line 7 of the file" in rejects["reason"][0]
    assert pd.read_csv(tmp_path / "out.csv")["input_row"].tolist() == [1, 2, 3, 4, 5]


def test_every_row_rejected_exits_6(package, tmp_path):
    pkg, df, _ = package
    rows = df.head(50).copy()
    rows["dep_delay"] = "late"  # text in a number column: every row is rejected
    source = tmp_path / "text.csv"
    rows.to_csv(source, index=False)
    done = score_py(pkg, source, "-o", tmp_path / "out.csv", cwd=tmp_path)
    assert done.returncode == 6, (done.returncode, done.stderr)
    summary = summary_of(done)
    assert summary["status"] == "all rows rejected" and summary["rows_rejected"] == 50
    assert "every one of the 50 rows was rejected" in done.stderr
    assert len(pd.read_csv(tmp_path / "out.rejects.csv")) == 50
    # a file with a header only has nothing to reject: still a success
    empty = tmp_path / "empty.csv"
    empty.write_text(",".join(df.columns) + "\n")
    header_only = score_py(pkg, empty, "-o", tmp_path / "e.csv", cwd=tmp_path)
    assert header_only.returncode == 0 and summary_of(header_only)["status"] == "ok", header_only.stderr
    # one good row among bad ones: a success with rejects
    rows.loc[rows.index[0], "dep_delay"] = "3"
    rows.to_csv(source, index=False)
    some = score_py(pkg, source, "-o", tmp_path / "out.csv", cwd=tmp_path)
    assert some.returncode == 0 and summary_of(some)["rows_scored"] == 1
