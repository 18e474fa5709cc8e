"""One type inference for every format (issue 13, C2): date strings are dates whether
they come from a CSV file or from Parquet, where pandas 3 writes text as large_string."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest


def _frame() -> pd.DataFrame:
    days = pd.date_range("2024-01-01", periods=60, freq="D")
    return pd.DataFrame({"day": days.strftime("%Y-%m-%d"), "stamp": (days + pd.Timedelta(hours=9)).strftime("%Y-%m-%d %H:%M:%S"),
                         "amount": [float(i) for i in range(60)]})


@pytest.mark.parametrize("text_type", [pa.large_string(), pa.string(), pa.string_view()])
def test_date_strings_are_dates_in_parquet_and_in_csv(workspace, tmp_path, text_type):
    df = _frame()
    csv = tmp_path / "days.csv"
    df.to_csv(csv, index=False)
    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.cast(pa.schema([pa.field("day", text_type), pa.field("stamp", text_type),
                                  pa.field("amount", pa.float64())]))
    parquet = tmp_path / "days.parquet"
    pq.write_table(table, parquet)
    assert pq.read_schema(parquet).field("day").type == text_type  # the property

    from_csv = workspace.import_file(csv, actor="tester").dataset
    from_parquet = workspace.import_file(parquet, actor="tester", name="days-parquet").dataset
    kinds = {c.name: c.kind for c in from_csv.columns}
    assert kinds == {"day": "datetime", "stamp": "datetime", "amount": "numeric"}
    assert {c.name: c.kind for c in from_parquet.columns} == kinds
    a, b = workspace.load_dataframe(from_csv), workspace.load_dataframe(from_parquet)
    pd.testing.assert_series_equal(a["day"], b["day"])
    assert pd.Timestamp(b["stamp"].iloc[2]) == pd.Timestamp("2024-01-03 09:00")

