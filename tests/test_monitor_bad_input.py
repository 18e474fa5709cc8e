"""Bad current batches and references: a clear message (an MlopsError) or a per-feature
"not comparable" verdict with its reason, never a crash."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from conftest import DATA
from mlops_desktop.core.errors import DataImportError, MlopsError, NotFoundError
from mlops_desktop.core.monitor import (Batch, DriftError, Reference, batch_from_file, batch_from_frame,
                                        compare_batch, load_batch, resolve_reference, split_batch)


@pytest.fixture(scope="module")
def flights() -> pd.DataFrame:
    return pd.read_csv(DATA / "flights_6000.csv").iloc[:2000]


@pytest.fixture(scope="module")
def reference(flights) -> Reference:
    kinds = {"dep_delay": "numeric", "distance": "numeric", "carrier": "categorical", "origin": "categorical",
             "hour": "numeric", "time_hour": "datetime"}
    return Reference.from_frame(flights, kinds, name="flights")


def _batch(df: pd.DataFrame, label: str = "batch") -> Batch:
    return batch_from_frame(df, label=label)


def _reasons(report) -> dict[str, str]:
    return {f.name: f.reason for f in report.features if not f.comparable}


def test_missing_and_extra_columns(reference, flights):
    df = flights.iloc[1000:][list(reference.kinds)].drop(columns=["distance", "carrier"]).assign(new_column=1)
    report = compare_batch(reference, _batch(df))
    assert _reasons(report) == {"distance": "the batch has no column 'distance'",
                                "carrier": "the batch has no column 'carrier'"}
    assert report.feature("distance").decided_by == "Not comparable: the batch has no column 'distance'."
    assert report.comparison.extra_columns == ["new_column"]
    assert any("new_column" in n for n in report.notes) and "could not be compared" in report.summary
    assert report.has_not_comparable and report.verdict == "no drift"


def test_a_different_type_in_a_column(reference, flights):
    df = flights.iloc[1000:].copy()
    df["dep_delay"] = df["dep_delay"].astype(object)
    df.loc[df.index[3], "dep_delay"] = "late"
    df["carrier"] = np.arange(len(df)) % 3  # numbers where categories were: compared as labels
    df["hour"] = pd.Timestamp("2013-07-01") + pd.to_timedelta(df["hour"], unit="h")
    report = compare_batch(reference, _batch(df))
    reasons = _reasons(report)
    assert reasons["dep_delay"] == "it holds text where the reference holds numbers (for example 'late')"
    assert reasons["hour"] == "it holds dates or times where the reference holds numbers"
    carrier = report.feature("carrier")
    assert carrier.comparable and carrier.verdict == "major" and carrier.metrics["new_share"] == 1.0


def test_numbers_written_as_text_are_read_as_numbers(reference, flights):
    df = flights.iloc[1000:].copy()
    df["distance"] = df["distance"].map(lambda v: f" {v} ")
    assert compare_batch(reference, _batch(df)).feature("distance").verdict == "no drift"


def test_all_missing_columns(reference, flights):
    df = flights.iloc[1000:].copy()
    df["dep_delay"] = np.nan
    df["origin"] = None
    reasons = _reasons(compare_batch(reference, _batch(df)))
    assert reasons["dep_delay"].startswith("every value is missing in the current batch (")
    assert reasons["origin"].startswith("every value is missing in the current batch")


def test_zero_rows_and_a_single_row(reference, flights, tmp_path):
    header_only = tmp_path / "empty.csv"
    header_only.write_text(",".join(flights.columns) + "\n", encoding="utf-8")
    with pytest.raises(DataImportError, match="no data rows"):
        batch_from_file(header_only)
    with pytest.raises(DriftError, match="has no rows"):
        compare_batch(reference, _batch(flights.iloc[:0], "nothing"))
    one = compare_batch(reference, _batch(flights.iloc[:1], "one row"))
    assert one.verdict == "not comparable" and not one.drifted
    assert all(f.reason.startswith("only 1 value in the current batch") for f in one.features)
    assert one.summary.startswith("No feature could be compared with the reference: only 1 value")
    assert one.to_dict()["dataset"]["n_not_comparable"] == 5


def test_split_by_a_column_that_is_not_a_date(flights):
    df = flights.iloc[:50].copy()
    df["when"] = "2013-01-05"
    df.loc[df.index[7], "when"] = "someday"
    batch = batch_from_frame(df, label="b")
    with pytest.raises(DriftError, match=r"Column 'when' of b does not hold dates: 'someday' \(row 8\)"):
        split_batch(batch, "when", "M")
    with pytest.raises(DriftError, match="holds numbers, not dates"):
        split_batch(batch, "distance", "M")
    with pytest.raises(DriftError, match="has no column 'nope' to split by"):
        split_batch(batch, "nope", "M")
    with pytest.raises(DriftError, match="Unknown frequency 'Q'"):
        split_batch(batch, "time_hour", "Q")
    df["when"] = None
    with pytest.raises(DriftError, match="has no dates to split by"):
        split_batch(batch_from_frame(df, label="b"), "when", "M")


def test_dates_as_text_and_rows_without_a_date(flights):
    table = pa.Table.from_pandas(flights.iloc[:60], preserve_index=False)
    table = table.append_column("when", pa.array(["31/01/2013"] * 20 + ["1/2/2013"] * 20 + [None] * 20,
                                                 pa.string()))
    periods = split_batch(Batch("b", table), "when", "M")
    assert [p.label for p in periods] == ["2013-01", "2013-02"] and periods[0].source["rows_without_date"] == 20


def test_bad_references(workspace, flights):
    with pytest.raises(NotFoundError, match=r"a registered model \(MODEL or MODEL:VERSION\) or a dataset"):
        resolve_reference(workspace, "churn:3")
    with pytest.raises(DriftError, match="lacks the columns nope"):
        Reference.from_frame(flights, {"nope": "numeric"}, name="x")
    with pytest.raises(DriftError, match="no feature that can be compared"):
        Reference.from_frame(flights, {"time_hour": "datetime"}, name="x")
    with pytest.raises(DriftError, match="has no rows"):
        Reference.from_frame(flights.iloc[:0], {"distance": "numeric"}, name="x")
    all_missing = flights.assign(gone=np.nan)
    ref = Reference.from_frame(all_missing, {"gone": "numeric", "distance": "numeric"}, name="x")
    assert ref.features == ["distance"] and ref.skipped == {"gone": "every value is missing in the reference"}
    with pytest.raises(DriftError, match="is neither a file nor a dataset"):
        load_batch("no-such-batch", workspace)
    with pytest.raises(DataImportError, match="does not exist"):
        load_batch("/no/such/file.csv")


def test_every_error_here_is_an_mlops_error():
    assert issubclass(DriftError, MlopsError)
