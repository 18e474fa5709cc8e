"""A Parquet file larger than memory read where it lies, without a copy (a drift batch):
the engine counts its columns, and its fingerprint is the one an import would give it.

The file is opened once through :mod:`..regular_files` and held open; the engine reads
that open file through the system's name for it (``/proc/self/fd/N`` on Linux,
``/dev/fd/N`` on macOS), so what was checked is what is read, even if the path is
swapped meanwhile. Where the system has no such name, None is returned and the caller
copies the file into a temporary snapshot instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Optional

import pyarrow as pa

from ..errors import DataImportError
from ..regular_files import open_regular_file
from .fingerprint import ColumnSource, fingerprint_columns
from .on_disk import READ_ROWS, OnDiskTable
from .types import DATE_PROBE, date_format, parse_dates

_FD_FOLDERS = ("/proc/self/fd", "/dev/fd")


def _fd_folder() -> Optional[str]:
    return next((f for f in _FD_FOLDERS if os.path.isdir(f)), None)


def open_in_place(path: Path, spill_dir: Path) -> Optional[OnDiskTable]:
    """The Parquet file at ``path``, typed as the importer types it, held open."""
    import pyarrow.parquet as pq

    folder = _fd_folder()
    if folder is None:
        return None
    fh = open_regular_file(path, error=DataImportError)
    try:
        by_fd = Path(folder) / str(fh.fileno())
        try:
            pf = pq.ParquetFile(fh)
            meta = pf.metadata
            schema = pf.schema_arrow
        except (pa.ArrowException, OSError) as exc:
            raise DataImportError(f"{path} is not a readable Parquet file (corrupt or another format: "
                                  f"{exc}).") from None
        if not schema.names:
            raise DataImportError(f"{path} has no columns.")
        groups = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        table = OnDiskTable(by_fd, spill_dir, list(schema.names), [], sum(groups), groups)
        formats = {name: _date_format_of(table, name) for name, t in zip(schema.names, schema.types)
                   if _is_text(_plain_type(t))}
        table.types = [_typed_type(table, name, t, formats.get(name)) for name, t in zip(schema.names, schema.types)]
        complete = _complete_columns(meta, schema)
        table.fingerprinter = lambda: fingerprint_columns(
            [ColumnSource(name, t, _chunks(table, name, formats.get(name)),
                          all_valid=name in complete and not pa.types.is_floating(t))
             for name, t in zip(table.names, table.types)], table.rows)
        table.hold(fh)
        return table
    except BaseException:
        fh.close()
        raise


def _plain_type(t: pa.DataType) -> pa.DataType:
    return t.value_type if pa.types.is_dictionary(t) else t


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _plain(chunk: pa.Array) -> pa.Array:
    """As ``types.normalise_table`` types a column, dates aside."""
    t = chunk.type
    if pa.types.is_dictionary(t):
        chunk = chunk.cast(t.value_type)
        t = chunk.type
    if pa.types.is_decimal(t):
        return chunk.cast(pa.float64())
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return chunk.cast(pa.string())
    return chunk


def _raw_chunks(table: OnDiskTable, name: str) -> Iterator[pa.Array]:
    for batch in table.batches([name], READ_ROWS):
        yield batch.column(0)


def _date_format_of(table: OnDiskTable, name: str) -> Optional[str]:
    """The date format a text column is read with, when its first values are dates and
    every value reads with it (as the whole-file import decides)."""
    probe: list[str] = []
    for chunk in _raw_chunks(table, name):
        probe += _plain(chunk).drop_null().slice(0, DATE_PROBE - len(probe)).to_pylist()
        if len(probe) >= DATE_PROBE:
            break
    fmt = date_format(probe)
    if fmt is None:
        return None
    for chunk in _raw_chunks(table, name):
        if parse_dates(_plain(chunk), fmt) is None:
            return None
    return fmt


def _typed_type(table: OnDiskTable, name: str, t: pa.DataType, fmt: Optional[str]) -> pa.DataType:
    if fmt is None:
        plain = _plain_type(t)
        if pa.types.is_decimal(plain):
            return pa.float64()
        return pa.string() if _is_text(plain) else plain
    first = next(_raw_chunks(table, name))
    return parse_dates(_plain(first), fmt).type


def _chunks(table: OnDiskTable, name: str, fmt: Optional[str]):
    def chunks() -> Iterator[pa.Array]:
        for chunk in _raw_chunks(table, name):
            chunk = _plain(chunk)
            yield parse_dates(chunk, fmt).combine_chunks() if fmt is not None else chunk

    return chunks


def _complete_columns(meta, schema: pa.Schema) -> set[str]:
    """Columns whose statistics say no value is missing in any row group."""
    out = set()
    for i, name in enumerate(schema.names):
        try:
            stats = [meta.row_group(g).column(i).statistics for g in range(meta.num_row_groups)]
        except (IndexError, pa.ArrowException):  # nested columns: no one-to-one statistics
            continue
        if all(s is not None and s.has_null_count and s.null_count == 0 for s in stats):
            out.add(name)
    return out
