"""A Parquet file larger than memory read where it lies, without a copy (a drift batch):
the engine counts its columns. Its fingerprint is the SHA-256 of its bytes after
:data:`FILE_FINGERPRINT_PREFIX`, not the content fingerprint an import gives: that one
reads every column two or three times more than the counts do (it doubled the time of a
comparison at 50 million rows), while the file's hash is one fast read and still shows a
file that changed.

The file is opened once through :mod:`..regular_files` and held open; the engine reads
that open file through the system's name for it (``/proc/self/fd/N`` on Linux,
``/dev/fd/N`` on macOS), so what was checked is what is read, even if the path is
swapped meanwhile. Where the system has no such name, None is returned and the caller
copies the file into a temporary snapshot instead.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Iterator, Optional

import pyarrow as pa

from ..errors import DataImportError
from ..regular_files import open_regular_file
from .on_disk import READ_ROWS, OnDiskTable
from .types import DATE_PROBE, date_format, parse_dates, plain_column

_FD_FOLDERS = ("/proc/self/fd", "/dev/fd")
#: how the fingerprint of a file read in place begins
FILE_FINGERPRINT_PREFIX = "file-sha256:"


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
        table.date_formats = {name: fmt for name, fmt in formats.items() if fmt is not None}
        # hashed through the descriptor the engine reads: what was checked is what is hashed
        table.fingerprinter = lambda: _file_fingerprint(by_fd)
        table.hold(fh)
        return table
    except BaseException:
        fh.close()
        raise


def _file_fingerprint(path: Path) -> str:
    with open(path, "rb") as fh:
        return FILE_FINGERPRINT_PREFIX + hashlib.file_digest(fh, "sha256").hexdigest()


def _plain_type(t: pa.DataType) -> pa.DataType:
    return t.value_type if pa.types.is_dictionary(t) else t


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _raw_chunks(table: OnDiskTable, name: str) -> Iterator[pa.Array]:
    for batch in table.batches([name], READ_ROWS):
        yield batch.column(0)


def _date_format_of(table: OnDiskTable, name: str) -> Optional[str]:
    """The date format a text column is read with, when its first values are dates and
    every value reads with it (as the whole-file import decides)."""
    probe: list[str] = []
    for chunk in _raw_chunks(table, name):
        probe += plain_column(chunk).drop_null().slice(0, DATE_PROBE - len(probe)).to_pylist()
        if len(probe) >= DATE_PROBE:
            break
    fmt = date_format(probe)
    if fmt is None:
        return None
    for chunk in _raw_chunks(table, name):
        if parse_dates(plain_column(chunk), fmt) is None:
            return None
    return fmt


def _typed_type(table: OnDiskTable, name: str, t: pa.DataType, fmt: Optional[str]) -> pa.DataType:
    if fmt is None:
        plain = _plain_type(t)
        if pa.types.is_decimal(plain):
            return pa.float64()
        return pa.string() if _is_text(plain) else plain
    first = next(_raw_chunks(table, name))
    return parse_dates(plain_column(first), fmt).type
