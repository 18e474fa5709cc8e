"""Inferring what each column holds (its kind) and what it is for (its role)."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

ID_MIN_ROWS = 20  # below this, "unique per row" says little
TEXT_MIN_MEAN_LENGTH = 30

DEFAULT_ROLE = {"id": "id", "constant": "ignore", "text": "ignore"}


@dataclass
class ColumnFacts:
    kind: str
    n_missing: int
    n_distinct: int


def normalise_table(table: pa.Table) -> pa.Table:
    """Give every column a plain Arrow type: decode dictionaries, read decimals as
    floats and ISO-looking or day-first/month-first date strings as timestamps."""
    columns = []
    for col in table.columns:
        t = col.type
        if pa.types.is_dictionary(t):
            col = col.cast(t.value_type)
            t = col.type
        if pa.types.is_decimal(t):
            col = col.cast(pa.float64())
        elif pa.types.is_large_string(t) or pa.types.is_string_view(t) or pa.types.is_string(t):
            # one inference for every format: pandas 3 writes Parquet text as large_string,
            # a CSV reader gives string; both must reach the same date detection
            col = _maybe_dates(col if pa.types.is_string(t) else col.cast(pa.string()))
        columns.append(col)
    return pa.table(columns, names=table.column_names)


def _maybe_dates(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """Strings that all parse with one date format become timestamps."""
    import pandas as pd

    valid = col.drop_null()
    if len(valid) == 0:
        return col
    probe = valid.slice(0, 200).to_pylist()
    if not all(any(ch.isdigit() for ch in v) and 6 <= len(v) <= 35 for v in probe):
        return col
    from pandas.tseries.api import guess_datetime_format

    fmt = guess_datetime_format(probe[0])
    if fmt is None:
        return col
    try:
        pd.to_datetime(pd.Series(probe), format=fmt)
        parsed = pd.to_datetime(col.to_pandas(), format=fmt)
    except (ValueError, TypeError, OverflowError):
        return col
    return pa.chunked_array([pa.array(parsed, from_pandas=True)])


def infer_column(col: pa.ChunkedArray, n_rows: int) -> ColumnFacts:
    t = col.type
    n_missing = col.null_count
    if pa.types.is_null(t):  # every value missing (e.g. an empty CSV column): no kernels for it
        return ColumnFacts("constant", n_missing, 0)
    if pa.types.is_floating(t):
        n_missing += int(pc.sum(pc.is_nan(col)).as_py() or 0)
    n_distinct = int(pc.count_distinct(col, mode="only_valid").as_py()) if len(col) else 0
    if pa.types.is_floating(t):
        n_distinct -= 1 if pc.any(pc.is_nan(col)).as_py() else 0
    n_valid = n_rows - n_missing
    if n_distinct <= 1:
        kind = "constant"
    elif pa.types.is_boolean(t):
        kind = "boolean"
    elif pa.types.is_temporal(t):
        kind = "datetime"
    elif pa.types.is_integer(t):
        kind = "id" if _unique_per_row(n_distinct, n_valid, n_rows) else "numeric"
    elif pa.types.is_floating(t):
        kind = "numeric"
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        kind = _string_kind(col, n_distinct, n_valid, n_rows)
    else:
        kind = "text"
    return ColumnFacts(kind, n_missing, n_distinct)


def _unique_per_row(n_distinct: int, n_valid: int, n_rows: int) -> bool:
    return n_rows >= ID_MIN_ROWS and n_valid == n_rows and n_distinct == n_rows


def _string_kind(col: pa.ChunkedArray, n_distinct: int, n_valid: int, n_rows: int) -> str:
    sample = col.drop_null().slice(0, 2000)
    lengths = pc.utf8_length(sample)
    mean_len = pc.mean(lengths).as_py() or 0.0
    spaced = pc.mean(pc.cast(pc.match_substring(sample, " "), pa.int8())).as_py() or 0.0
    mostly_unique = n_valid and n_distinct / n_valid > 0.5
    if mostly_unique and (mean_len >= TEXT_MIN_MEAN_LENGTH or spaced > 0.5):
        return "text"
    if _unique_per_row(n_distinct, n_valid, n_rows):
        return "id"
    return "categorical"


def default_role(kind: str) -> str:
    return DEFAULT_ROLE.get(kind, "feature")
