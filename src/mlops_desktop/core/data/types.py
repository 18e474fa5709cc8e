"""Inferring what each column holds (its kind) and what it is for (its role)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pyarrow as pa
import pyarrow.compute as pc

ID_MIN_ROWS = 20  # below this, "unique per row" says little
TEXT_MIN_MEAN_LENGTH = 30
TEXT_SAMPLE = 2000  # the values whose length and spaces tell text from categories
DATE_PROBE = 200  # the values that decide whether a text column holds dates

DEFAULT_ROLE = {"id": "id", "constant": "ignore", "text": "ignore"}


@dataclass
class ColumnFacts:
    """What a column's values say about it: its kind, and its missing and distinct counts."""
    kind: str
    n_missing: int
    n_distinct: int


def plain_column(col: Any) -> Any:
    """A column (or one chunk of it) in its plain Arrow type, dates aside: dictionaries
    decoded, decimals as floats, every kind of text as ``string``. The one rule the
    whole-file import, the streamed import and the on-disk reader share."""
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = col.type
    if pa.types.is_decimal(t):
        return col.cast(pa.float64())
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return col.cast(pa.string())
    return col


def normalise_table(table: pa.Table) -> pa.Table:
    """Give every column a plain Arrow type (:func:`plain_column`) and read ISO-looking or
    day-first/month-first date strings as timestamps."""
    columns = []
    for col in table.columns:
        col = plain_column(col)
        if pa.types.is_string(col.type):
            # one inference for every format: pandas 3 writes Parquet text as large_string,
            # a CSV reader gives string; both reach the same date detection
            col = _maybe_dates(col)
        columns.append(col)
    return pa.table(columns, names=table.column_names)


def _maybe_dates(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """Strings that all parse with one date format become timestamps."""
    fmt = date_format(col.drop_null().slice(0, DATE_PROBE).to_pylist())
    parsed = parse_dates(col, fmt) if fmt is not None else None
    return col if parsed is None else parsed


def date_format(probe: list[str]) -> Optional[str]:
    """The date format of a column whose first ``DATE_PROBE`` values are ``probe``, if
    they all read as dates with it; else None (the column stays text)."""
    import pandas as pd
    from pandas.tseries.api import guess_datetime_format

    if not probe or not all(any(ch.isdigit() for ch in v) and 6 <= len(v) <= 35 for v in probe):
        return None
    fmt = guess_datetime_format(probe[0])
    if fmt is None:
        return None
    try:
        pd.to_datetime(pd.Series(probe), format=fmt)
    except (ValueError, TypeError, OverflowError):
        return None
    return fmt


def parse_dates(col: pa.ChunkedArray | pa.Array, fmt: str) -> Optional[pa.ChunkedArray]:
    """The column read as dates with ``fmt``; None when a value does not read."""
    import pandas as pd

    try:
        parsed = pd.to_datetime(col.to_pandas(), format=fmt)
    except (ValueError, TypeError, OverflowError):
        return None
    return pa.chunked_array([pa.array(parsed, from_pandas=True)])


def infer_column(col: pa.ChunkedArray, n_rows: int) -> ColumnFacts:
    """The kind of a column (numeric, categorical, datetime, id, text, ...) from its values."""
    t = col.type
    n_missing = col.null_count
    if pa.types.is_null(t):  # every value missing (e.g. an empty CSV column): no kernels for it
        return ColumnFacts("constant", n_missing, 0)
    if pa.types.is_floating(t):
        n_missing += int(pc.sum(pc.is_nan(col)).as_py() or 0)
    n_distinct = int(pc.count_distinct(col, mode="only_valid").as_py()) if len(col) else 0
    if pa.types.is_floating(t):
        n_distinct -= 1 if pc.any(pc.is_nan(col)).as_py() else 0
    sample = col.drop_null().slice(0, TEXT_SAMPLE) if _is_text(t) else None
    return ColumnFacts(column_kind(t, n_missing, n_distinct, n_rows, sample), n_missing, n_distinct)


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def column_kind(t: pa.DataType, n_missing: int, n_distinct: int, n_rows: int,
                text_sample: Optional[pa.ChunkedArray | pa.Array] = None) -> str:
    """A column's kind from its type and counts (NaN counted as missing, not as a value);
    ``text_sample``: the first ``TEXT_SAMPLE`` values of a text column that are not missing."""
    n_valid = n_rows - n_missing
    if pa.types.is_null(t) or n_distinct <= 1:
        return "constant"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_temporal(t):
        return "datetime"
    if pa.types.is_integer(t):
        return "id" if _unique_per_row(n_distinct, n_valid, n_rows) else "numeric"
    if pa.types.is_floating(t):
        return "numeric"
    if _is_text(t):
        return _string_kind(text_sample, n_distinct, n_valid, n_rows)
    return "text"


def _unique_per_row(n_distinct: int, n_valid: int, n_rows: int) -> bool:
    return n_rows >= ID_MIN_ROWS and n_valid == n_rows and n_distinct == n_rows


def _string_kind(sample: pa.ChunkedArray | pa.Array, n_distinct: int, n_valid: int, n_rows: int) -> str:
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
    """The role a column of this kind takes until the analyst changes it."""
    return DEFAULT_ROLE.get(kind, "feature")
