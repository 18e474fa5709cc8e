"""Importing a CSV or Parquet file larger than memory: read in batches, each typed as
the whole-file import types it, written to the snapshot as it comes; the column facts
and the fingerprint then come from the snapshot, column by column.

The result is the dataset the whole-file import would register: the same columns,
kinds and fingerprint (``tests/test_import_streamed.py`` checks this on files that
fit). Where a decision made from the first rows proves wrong further on (a text
column read as dates, a CSV column typed from its first block), the file is read
again with the decision corrected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import DataImportError, JobCancelled
from ..jobs import CancelToken, ProgressCallback, no_progress
from ..regular_files import open_regular_file
from . import sniff
from .engine import connect, parquet_source, quoted
from .on_disk import OUT_OF_CORE_BYTES, parquet_for_parts
from .fingerprint import ColumnSource, TagTracker, fingerprint_columns
from .readers import ImportOptions, _ProgressFile, _text_error, _tidy_column_names
from .types import DATE_PROBE, TEXT_SAMPLE, ColumnFacts, column_kind, date_format, parse_dates, plain_column

#: files at least this large are streamed (smaller ones are read whole)
STREAM_ABOVE_BYTES = OUT_OF_CORE_BYTES
#: rows per batch read from a Parquet file (each becomes a row group of the snapshot, the
#: size the whole-file import writes; smaller groups write markedly slower)
BATCH_ROWS = 1024 * 1024
#: bytes per block read from a CSV file; its first block types the columns
CSV_BLOCK_BYTES = 16 * 1024 * 1024
#: rows held back while the first values decide which text columns hold dates
MAX_HELD_ROWS = 1_000_000
_MAX_RESTARTS = 8


def streams(path: Path, fmt: str, threshold: Optional[int] = None) -> bool:
    """Whether a file of format ``fmt`` is imported in batches."""
    limit = STREAM_ABOVE_BYTES if threshold is None else threshold
    return fmt in ("csv", "parquet") and path.stat().st_size >= limit


@dataclass
class StreamedSnapshot:
    """What streaming a file gave: its options, row count, column facts, fingerprint."""

    format: str
    options: dict[str, Any]
    names: list[str]
    types: list[pa.DataType]
    rows: int
    facts: list[ColumnFacts]
    fingerprint: str


@dataclass
class _Decisions:
    """Choices that a restart corrects: text columns that are not dates, CSV column types."""

    not_dates: set[str] = field(default_factory=set)
    csv_types: dict[str, pa.DataType] = field(default_factory=dict)
    encoding: Optional[str] = None


class _Restart(Exception):
    pass


@dataclass
class _Tally:
    """Per column, what the batches tell as they stream past."""

    missing: list[int]
    nan_seen: list[bool]
    text_samples: list[list[str]]


def write_streamed_snapshot(path: Path, fmt: str, options: ImportOptions, tmp: Path, *,
                            spill_dir: Path, progress: ProgressCallback = no_progress,
                            cancel: Optional[CancelToken] = None,
                            count_distinct: bool = True) -> StreamedSnapshot:
    """Stream ``path`` into the Parquet file ``tmp`` (overwritten on a restart) and
    describe it. Progress: reading is 0..0.7, counting distinct values 0.7..0.85, the
    fingerprint 0.85..1. Without ``count_distinct`` (a drift batch) the column facts
    are left out."""
    decisions = _Decisions()
    for _ in range(_MAX_RESTARTS):
        try:
            used, schema, rows, tally, tags = _write(path, fmt, options, tmp, decisions,
                                                     lambda f: progress(0.7 * f, "Reading the file"), cancel)
            break
        except _Restart:
            tmp.unlink(missing_ok=True)
    else:  # pragma: no cover - every restart settles one column for good
        raise DataImportError(f"{path} could not be read consistently; import it as Parquet.")
    names = schema.names
    facts = []
    # what Arrow's allocator kept from reading and writing goes back before the engine counts
    pa.default_memory_pool().release_unused()
    progress(0.7, "Counting distinct values")
    distinct = _distinct_counts(tmp, schema, spill_dir, cancel) if count_distinct else []
    for i, t in enumerate(schema.types[:len(distinct)]):
        n_distinct = distinct[i] - (1 if tally.nan_seen[i] else 0)
        sample = pa.array(tally.text_samples[i], pa.string()) if tally.text_samples[i] else None
        facts.append(ColumnFacts(column_kind(t, tally.missing[i], n_distinct, rows, sample),
                                 tally.missing[i], n_distinct))
    progress(0.85, "Computing the fingerprint")
    fp = fingerprint_columns([_snapshot_column(tmp, name, t, tally.missing[i] == 0)
                              for i, (name, t) in enumerate(zip(names, schema.types))],
                             rows, tags=tags,
                             on_column=lambda i: _step(cancel, progress, 0.85 + 0.15 * (i + 1) / len(names)))
    return StreamedSnapshot(fmt, used, names, list(schema.types), rows, facts, fp)


def _step(cancel: Optional[CancelToken], progress: ProgressCallback, fraction: float) -> None:
    if cancel is not None:
        cancel.check()
    progress(fraction, "Computing the fingerprint")


def _snapshot_column(tmp: Path, name: str, t: pa.DataType, all_valid: bool) -> ColumnSource:
    # text read as the dictionary Parquet stores it: the fingerprint measures the few
    # distinct values instead of copying every one
    text = [name] if pa.types.is_string(t) or pa.types.is_large_string(t) else None

    def chunks() -> Iterator[pa.Array]:
        with open_regular_file(tmp) as fh:
            for batch in parquet_for_parts(fh, read_dictionary=text).iter_batches(batch_size=BATCH_ROWS,
                                                                                  columns=[name]):
                yield batch.column(0)

    return ColumnSource(name, t, chunks, all_valid)


def _distinct_counts(tmp: Path, schema: pa.Schema, spill_dir: Path,
                     cancel: Optional[CancelToken]) -> list[int]:
    """Each column's count of distinct values, missing left out (NaN counted once), out of
    core: DuckDB spills what does not fit."""
    out = []
    with connect(spill_dir) as con:
        for name, t in zip(schema.names, schema.types):
            if cancel is not None:
                cancel.check()
            if pa.types.is_null(t):
                out.append(0)
                continue
            out.append(int(con.execute(f"SELECT count(DISTINCT {quoted(name)}) FROM "
                                       f"{parquet_source(tmp)}").fetchone()[0]))
    return out


# -- reading in batches ----------------------------------------------------------------

def _batches(path: Path, fmt: str, options: ImportOptions, decisions: _Decisions,
             progress: Callable[[float], None], cancel: Optional[CancelToken],
             used: dict[str, Any]) -> Iterator[pa.Table]:
    if fmt == "parquet":
        yield from _parquet_batches(path, progress, cancel)
    else:
        yield from _csv_batches(path, options, decisions, progress, cancel, used)


def _parquet_batches(path: Path, progress: Callable[[float], None],
                     cancel: Optional[CancelToken]) -> Iterator[pa.Table]:
    try:
        with open_regular_file(path, error=DataImportError) as fh:
            pf = parquet_for_parts(fh)
            total = max(pf.metadata.num_rows, 1)
            if pf.schema_arrow.names == []:
                raise DataImportError(f"{path} has no columns.")
            if pf.metadata.num_rows == 0:
                raise DataImportError(f"{path} has columns but no rows.")
            done = 0
            for batch in pf.iter_batches(batch_size=BATCH_ROWS):
                if cancel is not None:
                    cancel.check()
                done += batch.num_rows
                progress(done / total)
                yield pa.Table.from_batches([batch]).replace_schema_metadata(None)
    except (pa.ArrowException, OSError) as exc:
        raise DataImportError(f"{path} is not a readable Parquet file (corrupt or another format: "
                              f"{exc}).") from None


def _csv_batches(path: Path, options: ImportOptions, decisions: _Decisions,
                 progress: Callable[[float], None], cancel: Optional[CancelToken],
                 used: dict[str, Any]) -> Iterator[pa.Table]:
    import pyarrow.csv as pacsv

    fmt = sniff.sniff_text_format(path, encoding=options.encoding, delimiter=options.delimiter,
                                  decimal=options.decimal)
    if decisions.encoding is not None:
        fmt.encoding = decisions.encoding
    used.update(format="csv", encoding=fmt.encoding, delimiter=fmt.delimiter, decimal=fmt.decimal)
    arrow_encoding = "utf8" if fmt.encoding in ("utf-8", "utf-8-sig") else fmt.encoding
    # the same reading options as the whole-file import (readers._read_text)
    read_opts = pacsv.ReadOptions(encoding=arrow_encoding, use_threads=True, block_size=CSV_BLOCK_BYTES)
    parse_opts = pacsv.ParseOptions(delimiter=fmt.delimiter, newlines_in_values=True)
    convert_opts = pacsv.ConvertOptions(decimal_point=fmt.decimal, strings_can_be_null=True,
                                        quoted_strings_can_be_null=True,
                                        column_types=dict(decisions.csv_types))
    source = _ProgressFile(path, lambda f, m: progress(f), cancel)
    rows = 0
    try:
        with pacsv.open_csv(source, read_options=read_opts, parse_options=parse_opts,
                            convert_options=convert_opts) as stream:
            schema = stream.schema
            undecoded = [n for n, t in zip(schema.names, schema.types)
                         if pa.types.is_binary(t) or pa.types.is_large_binary(t)]
            if undecoded:
                _not_utf8(path, options, fmt, decisions, f"column {undecoded[0]!r} holds text")
            while True:
                try:
                    batch = stream.read_next_batch()
                except StopIteration:
                    break
                except pa.ArrowInvalid as exc:
                    _retype(str(exc), schema, path, options, fmt, decisions)
                    raise
                rows += batch.num_rows
                yield pa.Table.from_batches([batch])
    except (JobCancelled, DataImportError, _Restart):
        raise
    except (pa.ArrowInvalid, pa.ArrowException, UnicodeDecodeError, OSError) as exc:
        if cancel is not None:
            cancel.check()
        raise _text_error(path, fmt, exc) from None
    finally:
        source.close()
    if rows == 0:
        raise DataImportError(f"{path} has a header row but no data rows.")


def _not_utf8(path: Path, options: ImportOptions, fmt: sniff.TextFormat, decisions: _Decisions,
              what: str) -> None:
    """Text that is not UTF-8 further on: most often a Windows export (as the whole-file
    import decides)."""
    if options.encoding is not None or fmt.encoding not in ("utf-8", "utf-8-sig"):
        raise DataImportError(f"{path}: {what} that is not valid {fmt.encoding}. Choose another encoding.")
    decisions.encoding = "cp1252"
    raise _Restart()


#: a column whose first block typed it narrower than a later block needs, widened one step
#: (as pyarrow widens it when it reads the whole file)
_WIDER = {"null": pa.string(), "bool": pa.string(), "int64": pa.float64(), "double": pa.string()}


def _retype(message: str, schema: pa.Schema, path: Path, options: ImportOptions,
            fmt: sniff.TextFormat, decisions: _Decisions) -> None:
    """Restart with a wider type for the column a later block does not fit, if the error
    names one; else let the error through."""
    if "UTF8" in message:
        _not_utf8(path, options, fmt, decisions, "it holds text")
    if "CSV conversion error" not in message or "column #" not in message:
        return
    try:
        index = int(message.split("column #", 1)[1].split(":", 1)[0])
    except ValueError:
        return
    name = schema.names[index]
    current = decisions.csv_types.get(name, schema.types[index])
    wider = _WIDER.get(str(current), pa.string())
    if wider == current:
        return
    decisions.csv_types[name] = wider
    raise _Restart()


# -- typing and writing ----------------------------------------------------------------

def _write(path: Path, fmt: str, options: ImportOptions, tmp: Path, decisions: _Decisions,
           progress: Callable[[float], None], cancel: Optional[CancelToken]
           ) -> tuple[dict[str, Any], pa.Schema, int, _Tally, list[str]]:
    import pyarrow.parquet as pq

    used: dict[str, Any] = {"format": fmt}
    batches = _batches(path, fmt, options, decisions, progress, cancel, used)
    held: list[pa.Table] = []
    formats: Optional[dict[str, Optional[str]]] = None
    writer: Optional[pq.ParquetWriter] = None
    schema: Optional[pa.Schema] = None
    tally: Optional[_Tally] = None
    tags: Optional[TagTracker] = None
    rows = 0
    names: Optional[list[str]] = None
    pending: list[pa.Table] = []

    def put(table: pa.Table) -> None:
        nonlocal writer, schema, tally, tags, rows
        typed = _typed(table, formats or {}, decisions)
        if writer is None:
            schema = typed.schema
            writer = pq.ParquetWriter(tmp, schema, compression="snappy")
            tally = _Tally([0] * len(schema), [False] * len(schema), [[] for _ in schema])
            tags = TagTracker(schema)
        elif typed.schema != schema:
            typed = _conform(typed, schema, decisions)
        _count(typed, tally)
        tags.add(typed)
        pending.append(typed)
        rows += typed.num_rows
        if sum(t.num_rows for t in pending) >= BATCH_ROWS:
            flush()

    def flush() -> None:
        if pending:  # CSV blocks gathered into row groups of BATCH_ROWS: fewer, faster writes
            writer.write_table(pa.concat_tables(pending), row_group_size=BATCH_ROWS)
            pending.clear()

    try:
        for table in batches:
            if names is None:
                names = _tidy_column_names(table, path).column_names
            table = table.rename_columns(names)
            if formats is None:
                held.append(table)
                if _probes_ready(held) or sum(t.num_rows for t in held) >= MAX_HELD_ROWS:
                    formats = _date_formats(held, decisions)
                    for t in held:
                        put(t)
                    held = []
            else:
                put(table)
        if formats is None and held:
            formats = _date_formats(held, decisions)
            for t in held:
                put(t)
        flush()
    finally:
        batches.close()  # the file is closed now, also on a restart
        if writer is not None:
            writer.close()
    if writer is None:
        raise DataImportError(f"{path} has no rows.")
    return used, schema, rows, tally, tags.tags


def _text_columns(table: pa.Table) -> list[str]:
    return [n for n, t in zip(table.column_names, table.schema.types)
            if pa.types.is_string(_plain_type(t)) or pa.types.is_large_string(_plain_type(t))
            or pa.types.is_string_view(_plain_type(t))]


def _plain_type(t: pa.DataType) -> pa.DataType:
    return t.value_type if pa.types.is_dictionary(t) else t


def _probes_ready(held: list[pa.Table]) -> bool:
    """Whether every text column has shown the values that decide whether it holds dates."""
    first = held[0]
    for name in _text_columns(first):
        seen = sum(len(t.column(name)) - t.column(name).null_count for t in held)
        if seen < DATE_PROBE:
            return False
    return True


def _date_formats(held: list[pa.Table], decisions: _Decisions) -> dict[str, Optional[str]]:
    """The date format of each text column, decided on its first values as the whole-file
    import decides (None: it stays text)."""
    out: dict[str, Optional[str]] = {}
    for name in _text_columns(held[0]):
        if name in decisions.not_dates:
            out[name] = None
            continue
        probe: list[str] = []
        for t in held:
            probe += plain_column(t.column(name)).drop_null().slice(0, DATE_PROBE - len(probe)).to_pylist()
            if len(probe) >= DATE_PROBE:
                break
        out[name] = date_format(probe)
    return out


def _typed(table: pa.Table, formats: dict[str, Optional[str]], decisions: _Decisions) -> pa.Table:
    columns = []
    for name, col in zip(table.column_names, table.columns):
        col = plain_column(col)
        fmt = formats.get(name)
        if fmt is not None:
            parsed = parse_dates(col, fmt)
            if parsed is None:  # a later value is no date: the whole column stays text
                decisions.not_dates.add(name)
                raise _Restart()
            col = parsed
        columns.append(col)
    return pa.table(columns, names=table.column_names)


def _conform(table: pa.Table, schema: pa.Schema, decisions: _Decisions) -> pa.Table:
    """A batch typed differently from the first (a column all missing so far, dates parsed
    to another unit): cast to the first batch's types, or restart with the column as text."""
    columns = []
    for name, col, want in zip(table.column_names, table.columns, schema.types):
        if col.type != want:
            try:
                col = col.cast(want)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                if pa.types.is_timestamp(want):
                    decisions.not_dates.add(name)
                else:
                    decisions.csv_types[name] = pa.string()
                raise _Restart() from None
        columns.append(col)
    return pa.table(columns, schema=schema)


def _count(table: pa.Table, tally: _Tally) -> None:
    for i, col in enumerate(table.columns):
        t = col.type
        tally.missing[i] += col.null_count
        if pa.types.is_floating(t):
            nan = int(pc.sum(pc.is_nan(col)).as_py() or 0)
            tally.missing[i] += nan
            tally.nan_seen[i] = tally.nan_seen[i] or nan > 0
        if (pa.types.is_string(t) or pa.types.is_large_string(t)) and len(tally.text_samples[i]) < TEXT_SAMPLE:
            need = TEXT_SAMPLE - len(tally.text_samples[i])
            tally.text_samples[i] += col.drop_null().slice(0, need).to_pylist()

