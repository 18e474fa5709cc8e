"""A content fingerprint: SHA-256 over a canonical form of a table.

The same data gets the same fingerprint whatever file it came from: integers of
any width and floats that hold only whole numbers hash as 64-bit integers, other
numbers as 64-bit floats, NaN as missing, dates and times as microseconds since
1970 (UTC for zoned values), categories as their text. Column names and order
count; the file format, encoding and delimiter do not.

The canonical form is a header (rows, column names and tags), then column by column
its validity bits, its values (and for text the bytes). It is computed chunk by chunk,
so a table larger than memory is fingerprinted by streaming its columns
(:func:`fingerprint_columns`) and gets the fingerprint it would get read whole.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Optional, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_INT64_LIMIT = 2.0 ** 63


@dataclass
class ColumnSource:
    """A column read in chunks: ``chunks()`` yields its arrays in row order, anew at
    every call (the canonical form reads a column two or three times)."""

    name: str
    type: pa.DataType
    chunks: Callable[[], Iterable[pa.Array]]
    #: known to hold no missing value and no NaN (spares a pass to find the missing ones)
    all_valid: bool = False


def fingerprint(table: pa.Table, on_column: Optional[Callable[[int], None]] = None) -> str:
    """The fingerprint of a table in memory."""
    sources = [ColumnSource(name, col.type, lambda col=col: col.chunks)
               for name, col in zip(table.column_names, table.columns)]
    return fingerprint_columns(sources, table.num_rows, on_column=on_column)


def fingerprint_columns(columns: Sequence[ColumnSource], rows: int, *,
                        tags: Optional[Sequence[str]] = None,
                        on_column: Optional[Callable[[int], None]] = None) -> str:
    """The fingerprint of ``rows`` rows given column by column. ``tags`` (from
    :class:`TagTracker`, when the chunks were seen before) spares a pass over the numbers."""
    if tags is None:
        tags = [column_tag(c) for c in columns]
    h = hashlib.sha256()
    header = {"rows": rows, "columns": [[c.name, tag] for c, tag in zip(columns, tags)]}
    h.update(json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    # One thread turns the columns into their canonical bytes while this one hashes them
    # (both release the GIL); the queue bounds what waits in between.
    pieces: queue.Queue = queue.Queue(maxsize=8)
    stop = threading.Event()

    def produce() -> None:
        try:
            for i, (col, tag) in enumerate(zip(columns, tags)):
                for piece in _pieces(col, tag, rows):
                    if stop.is_set():
                        return
                    pieces.put(piece)
                pieces.put(i)
        except BaseException as exc:  # handed to the hashing thread, which raises it
            pieces.put(exc)
        pieces.put(None)

    worker = threading.Thread(target=produce, name="fingerprint", daemon=True)
    worker.start()
    try:
        while (item := pieces.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            if isinstance(item, int):
                if on_column is not None:
                    on_column(item)
            else:
                h.update(item)
    finally:
        stop.set()
        while worker.is_alive():  # let a producer blocked on a full queue finish
            try:
                pieces.get_nowait()
            except queue.Empty:
                worker.join(0.01)
    return h.hexdigest()


def _plain_type(t: pa.DataType) -> pa.DataType:
    return t.value_type if pa.types.is_dictionary(t) else t


def _plain(chunk: pa.Array) -> pa.Array:
    return chunk.cast(chunk.type.value_type) if pa.types.is_dictionary(chunk.type) else chunk


def _is_number(t: pa.DataType) -> bool:
    return pa.types.is_floating(t) or pa.types.is_decimal(t)


def _whole_numbers(chunk: pa.Array) -> bool:
    """Whether a float chunk holds only finite whole numbers within int64 (NaN and
    missing count as 0): such a column hashes as integers."""
    values = pc.fill_null(_plain(chunk).cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
    values = np.where(np.isnan(values), 0.0, values)
    return bool(np.isfinite(values).all() and (np.abs(values) < _INT64_LIMIT).all()
                and np.array_equal(values, np.trunc(values)))


def _base_tag(t: pa.DataType) -> str:
    if pa.types.is_null(t):
        return "z"
    if pa.types.is_boolean(t):
        return "b"
    if pa.types.is_integer(t):
        return "i"
    if _is_number(t):
        return "f"
    if pa.types.is_temporal(t):
        return "t"
    return "s"


def column_tag(column: ColumnSource) -> str:
    """The column's tag in the header: z (all missing type), b, i, f, t or s."""
    tag = _base_tag(_plain_type(column.type))
    if tag == "f" and all(_whole_numbers(chunk) for chunk in column.chunks()):
        return "i"
    return tag


class TagTracker:
    """Works out the tags while the chunks stream past once (the import's writer)."""

    def __init__(self, schema: pa.Schema) -> None:
        self._tags = [_base_tag(_plain_type(t)) for t in schema.types]
        self._whole = [tag == "f" for tag in self._tags]

    def add(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Take one more chunk into account: a column stays whole-numbered only while every
        chunk's values are."""
        for i, whole in enumerate(self._whole):
            if whole:
                col = batch.column(i)
                chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
                self._whole[i] = all(_whole_numbers(c) for c in chunks)

    @property
    def tags(self) -> list[str]:
        """Each column's tag for the fingerprint, "i" for a number column whose values were
        all whole."""
        return ["i" if whole else tag for tag, whole in zip(self._tags, self._whole)]


class _Bits:
    """Packs validity bits as ``np.packbits`` of the whole column would, chunk by chunk."""

    def __init__(self) -> None:
        self._carry = np.zeros(0, dtype=bool)

    def add(self, valid: np.ndarray) -> bytes:
        bits = np.concatenate([self._carry, valid]) if len(self._carry) else valid
        whole = len(bits) - len(bits) % 8
        self._carry = bits[whole:]
        return np.packbits(bits[:whole]).tobytes()

    def end(self) -> bytes:
        return np.packbits(self._carry).tobytes() if len(self._carry) else b""


def _valid(chunk: pa.Array, tag: str) -> np.ndarray:
    valid = pc.is_valid(chunk)
    if _is_number(chunk.type) or (tag in "if" and pa.types.is_floating(chunk.type)):
        as_float = chunk.cast(pa.float64())
        valid = pc.and_(valid, pc.invert(pc.fill_null(pc.is_nan(as_float), True)))
    return valid.to_numpy(zero_copy_only=False)


def _validity(column: ColumnSource, tag: str, rows: int) -> Iterator[bytes]:
    if column.all_valid:  # every bit set: no need to read the column for it
        yield b"\xff" * (rows // 8) + (bytes([(0xFF << (8 - rows % 8)) & 0xFF]) if rows % 8 else b"")
        return
    bits = _Bits()
    for chunk in column.chunks():
        yield bits.add(_valid(chunk if pa.types.is_dictionary(chunk.type) else _plain(chunk), tag))
    yield bits.end()


def _values(chunk: pa.Array, tag: str) -> bytes | memoryview:
    t = chunk.type
    if chunk.null_count == 0 and _plain_bytes(t, tag):  # the buffer is the canonical form already
        return memoryview(chunk.buffers()[1])[chunk.offset * 8:(chunk.offset + len(chunk)) * 8]
    if pa.types.is_boolean(t):
        return pc.cast(pc.fill_null(chunk, False), pa.uint8()).to_numpy(zero_copy_only=False).tobytes()
    if pa.types.is_integer(t):
        return pc.fill_null(chunk, 0).to_numpy(zero_copy_only=False).astype(np.int64, copy=False).tobytes()
    if _is_number(t):
        values = pc.fill_null(chunk.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
        values = np.where(np.isnan(values), 0.0, values)
        return (values.astype(np.int64) if tag == "i" else values.astype(np.float64)).tobytes()
    if pa.types.is_date(t) or pa.types.is_timestamp(t):
        micros = pc.cast(chunk, pa.timestamp("us", tz=getattr(t, "tz", None)), safe=False).cast(pa.int64())
    else:  # times and durations
        micros = chunk.cast(pa.int64())
    return pc.fill_null(micros, 0).to_numpy(zero_copy_only=False).tobytes()


def _plain_bytes(t: pa.DataType, tag: str) -> bool:
    """Whether values of type ``t`` without missing ones are stored as their canonical bytes."""
    if tag == "i":
        return t == pa.int64()
    if tag == "t":
        return pa.types.is_timestamp(t) and t.unit == "us"
    return False


def _text(chunk: pa.Array) -> pa.Array:
    if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
        chunk = pa.array([None if v is None else str(v) for v in chunk.to_pylist()], pa.large_string())
    return pc.fill_null(chunk.cast(pa.large_string()), "")


def _offsets(arr: pa.Array) -> np.ndarray:
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    return np.frombuffer(arr.buffers()[1], dtype=width)[arr.offset:arr.offset + len(arr) + 1]


def _pieces(column: ColumnSource, tag: str, rows: int) -> Iterator[bytes | memoryview]:
    if tag == "z":
        yield sum(len(c) for c in column.chunks()).to_bytes(8, "little")
        return
    yield from _validity(column, tag, rows)
    if tag != "s":
        for chunk in column.chunks():
            yield _values(_plain(chunk), tag)
        return
    for chunk in column.chunks():
        yield _text_lengths(chunk)
    for chunk in column.chunks():
        yield _text_body(chunk)


def _is_text_type(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _text_lengths(chunk: pa.Array) -> bytes:
    """The length in bytes of each value as int64 (0 for a missing one)."""
    if pa.types.is_dictionary(chunk.type) and _is_text_type(chunk.type.value_type):
        # a dictionary's few values measured once, then looked up: no text is copied
        sizes = pc.binary_length(chunk.dictionary).to_numpy(zero_copy_only=False).astype(np.int64)
        index = pc.fill_null(chunk.indices, 0).to_numpy(zero_copy_only=False)
        lengths = sizes[index] if len(sizes) else np.zeros(len(chunk), dtype=np.int64)
    elif _is_text_type(chunk.type):
        lengths = np.diff(_offsets(chunk)).astype(np.int64)
    else:
        return np.diff(_offsets(_text(_plain(chunk)))).astype(np.int64).tobytes()
    if chunk.null_count:
        lengths = np.where(pc.is_valid(chunk).to_numpy(zero_copy_only=False), lengths, 0)
    return lengths.tobytes()


def _text_body(chunk: pa.Array) -> bytes | memoryview:
    """The values' bytes one after the other (nothing for a missing one)."""
    chunk = _plain(chunk)
    if not _is_text_type(chunk.type) or chunk.null_count:
        chunk = _text(chunk)
    offsets, data = _offsets(chunk), chunk.buffers()[2]
    if data is None or not len(offsets):
        return b""
    return memoryview(data)[int(offsets[0]):int(offsets[-1])]
