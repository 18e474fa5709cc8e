"""A content fingerprint: SHA-256 over a canonical form of a table.

The same data gets the same fingerprint whatever file it came from: integers of
any width and floats that hold only whole numbers hash as 64-bit integers, other
numbers as 64-bit floats, NaN as missing, dates and times as microseconds since
1970 (UTC for zoned values), categories as their text. Column names and order
count; the file format, encoding and delimiter do not.
"""

from __future__ import annotations

import hashlib
import json
from typing import Callable, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_INT64_LIMIT = 2.0 ** 63


def fingerprint(table: pa.Table, on_column: Optional[Callable[[int], None]] = None) -> str:
    h = hashlib.sha256()
    parts = []
    for i, col in enumerate(table.columns):
        tag, buffers = _canonical(col)
        parts.append((tag, buffers))
        if on_column is not None:
            on_column(i)
    header = {"rows": table.num_rows,
              "columns": [[name, tag] for name, (tag, _) in zip(table.column_names, parts)]}
    h.update(json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    for tag, buffers in parts:
        for buf in buffers:
            h.update(buf)
    return h.hexdigest()


def _validity(col: pa.ChunkedArray, extra_missing: Optional[pa.ChunkedArray] = None) -> bytes:
    valid = pc.is_valid(col)
    if extra_missing is not None:
        valid = pc.and_(valid, pc.invert(pc.fill_null(extra_missing, True)))
    return np.packbits(valid.to_numpy(zero_copy_only=False)).tobytes()


def _canonical(col: pa.ChunkedArray) -> tuple[str, list[bytes]]:
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = col.type
    if pa.types.is_null(t):
        return "z", [len(col).to_bytes(8, "little")]
    if pa.types.is_boolean(t):
        values = pc.cast(pc.fill_null(col, False), pa.uint8()).to_numpy()
        return "b", [_validity(col), values.tobytes()]
    if pa.types.is_integer(t):
        values = pc.fill_null(col, 0).to_numpy().astype(np.int64, copy=False)
        return "i", [_validity(col), values.tobytes()]
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        col = col.cast(pa.float64())
        nan = pc.is_nan(col)
        values = pc.fill_null(col, 0.0).to_numpy()
        values = np.where(np.isnan(values), 0.0, values)
        finite = values[np.isfinite(values)]
        if (np.isfinite(values).all() and (np.abs(finite) < _INT64_LIMIT).all()
                and np.array_equal(finite, np.trunc(finite))):
            return "i", [_validity(col, nan), values.astype(np.int64).tobytes()]
        return "f", [_validity(col, nan), values.astype(np.float64).tobytes()]
    if pa.types.is_temporal(t):
        if pa.types.is_date(t) or pa.types.is_timestamp(t):
            tz = getattr(t, "tz", None)
            micros = pc.cast(col, pa.timestamp("us", tz=tz), safe=False).cast(pa.int64())
        else:  # times and durations
            micros = col.cast(pa.int64())
        values = pc.fill_null(micros, 0).to_numpy()
        return "t", [_validity(col), values.tobytes()]
    if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
        col = pa.chunked_array([pa.array([None if v is None else str(v) for v in col.to_pylist()],
                                         pa.large_string())])
    arr = pc.fill_null(col.cast(pa.large_string()), "").combine_chunks()
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset:arr.offset + len(arr) + 1]
    data = arr.buffers()[2]
    start, end = (int(offsets[0]), int(offsets[-1])) if len(offsets) else (0, 0)
    body = memoryview(data)[start:end] if data is not None else b""
    return "s", [_validity(col), np.diff(offsets).tobytes(), body]
