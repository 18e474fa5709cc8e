"""Current batches: a file (CSV, Excel, Parquet, SQLite), a registered dataset or a
DataFrame, optionally split into periods by a date column (month, week or day)."""

from __future__ import annotations

import datetime as dt
import shutil
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlops_model_support import drift as metrics

from ..errors import NotFoundError
from .errors import DriftError

if TYPE_CHECKING:
    import pandas as pd

    from ..data.on_disk import OnDiskTable
    from ..jobs import CancelToken

    from ..data.readers import ImportOptions
    from ..workspace import Workspace

#: --freq values and what they mean
FREQUENCIES = {"M": "month", "W": "week", "D": "day"}


#: rows of a batch larger than memory that a model scores (seeded; the report says so)
MODEL_SAMPLE_ROWS = 1_000_000
MODEL_SAMPLE_SEED = 20180


@dataclass
class Batch:
    """One batch of current data with a label for reports and timelines: a table in
    memory, or (a file or dataset larger than memory) a table on disk."""

    label: str
    table: Optional[pa.Table]
    #: where it came from: {"type": "file", "path"} or {"type": "dataset", "dataset_id", "name"}
    #: or {"type": "data"}, plus "period", "split_by", "freq" for a period of a split
    source: dict[str, Any] = field(default_factory=dict)
    _fingerprint: Optional[str] = None
    on_disk: Optional["OnDiskTable"] = None
    #: the batch this one was made from on disk (kept while this one lives: its file is inside)
    _parent: Optional["Batch"] = field(default=None, repr=False)

    @property
    def rows(self) -> int:
        """The batch's number of rows, in memory or on disk."""
        return self.table.num_rows if self.table is not None else self.on_disk.rows

    @property
    def column_names(self) -> list[str]:
        """The batch's columns, in memory or on disk."""
        return self.table.column_names if self.table is not None else list(self.on_disk.names)

    @property
    def dataset_id(self) -> Optional[int]:
        """The registered dataset the batch was read from (None for a file)."""
        return self.source.get("dataset_id")

    def fingerprint(self) -> str:
        """The content fingerprint of the batch (as a dataset of the same data would get);
        for a Parquet file larger than memory read where it lies, the SHA-256 of its bytes
        (see :mod:`..data.in_place`)."""
        if self._fingerprint is None:
            from ..data.fingerprint import fingerprint

            self._fingerprint = (fingerprint(self.table) if self.table is not None
                                 else self.on_disk.content_fingerprint())
        return self._fingerprint

    def distribution(self, name: str, kind: str) -> metrics.Distribution:
        """One column's distribution for a feature of metric ``kind`` (counted out of core
        for a batch on disk)."""
        from . import columns

        if self.table is not None:
            return columns.distribution(self.table.column(name), kind)
        return columns.stored_distribution(self.on_disk, name, kind)

    def frame(self, columns: Optional[list[str]] = None) -> tuple["pd.DataFrame", str]:
        """The rows as a DataFrame (``columns`` of them), and a note: a batch on disk gives
        a seeded sample of ``MODEL_SAMPLE_ROWS`` rows, and the note says so."""
        if self.table is not None:
            table = self.table if columns is None else self.table.select(columns)
            return table.to_pandas(), ""
        sample = self.on_disk.sample(MODEL_SAMPLE_ROWS, MODEL_SAMPLE_SEED, columns)
        note = ""
        if sample.num_rows < self.rows:
            note = (f"The batch is larger than memory: the model scored a random sample of "
                    f"{sample.num_rows:,} of its {self.rows:,} rows (seed {MODEL_SAMPLE_SEED}); prediction "
                    "drift and performance rest on it, every feature's drift on all rows.")
        return sample.to_pandas(), note


def batch_from_file(path: Path | str, options: Optional["ImportOptions"] = None, *,
                    label: Optional[str] = None, work_dir: Optional[Path] = None) -> Batch:
    """Read a file as a batch; unreadable files raise the importer's clear errors. A CSV
    or Parquet file larger than memory is worked on out of core: a Parquet file where it
    lies, a CSV file streamed to a temporary snapshot in ``work_dir`` (default: the
    system's temporary folder), typed as an import types it and removed with the batch."""
    import tempfile

    from ..data import streaming
    from ..data.in_place import open_in_place
    from ..data.on_disk import OnDiskTable
    from ..data.readers import ImportOptions, check_readable, detect_format, read_table
    from ..data.types import normalise_table

    path = Path(path).expanduser()
    options = options or ImportOptions()
    check_readable(path)
    fmt = options.format or detect_format(path)
    source = {"type": "file", "path": str(path.absolute()), "format": fmt}
    if streaming.streams(path, fmt):
        folder = Path(tempfile.mkdtemp(prefix="mlops-batch-", dir=work_dir))
        in_place = open_in_place(path, folder) if fmt == "parquet" else None
        if in_place is not None:  # the folder is for the engine's spill only
            batch = Batch(label or path.name, None, source, None, in_place)
            in_place.remove_with(batch, folder)
            return batch
        try:
            done = streaming.write_streamed_snapshot(path, fmt, options, folder / "batch.parquet",
                                                     spill_dir=folder, count_distinct=False)
            on_disk = OnDiskTable.open(folder / "batch.parquet", folder, fingerprint=done.fingerprint)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        batch = Batch(label or path.name, None, source, done.fingerprint, on_disk)
        on_disk.remove_with(batch, folder)
        return batch
    result = read_table(path, options)
    source["format"] = result.format
    return Batch(label or path.name, normalise_table(result.table), source)


def derived_batch(parent: Batch, label: str, tables: Iterable[pa.Table], source: dict[str, Any],
                  fingerprint: Optional[str] = None) -> Batch:
    """A batch on disk made from ``parent`` (larger than memory), written a table at a
    time to a temporary Parquet file inside the parent's temporary area; removed with the
    batch, and at once on any error or cancel. Parts whose types differ (whole numbers in
    one, a missing value in another) are written as one table of the types that hold them
    all, as the same rows in memory get. Its fingerprint: ``fingerprint``, else the
    content fingerprint of its rows."""
    folder = _temporary_folder(parent)
    with _removed_on_error([folder], f"the rows of {label}"):
        path = _write_tables(tables, folder / "batch.parquet", label)
        return _batch_in(folder, path, parent, label, source, fingerprint)


@contextmanager
def _removed_on_error(folders: Iterable[Path], what: str) -> Iterator[None]:
    """Remove ``folders`` (as they are when it fails) on any error or cancel; a full disk
    is said so."""
    from ..storage import disk_full_error, is_disk_full

    try:
        yield
    except BaseException as exc:
        for folder in list(folders):
            shutil.rmtree(folder, ignore_errors=True)
        if is_disk_full(exc):
            raise disk_full_error(what, next(iter(folders), Path(".")).parent) from None
        raise


def _temporary_folder(parent: Batch) -> Path:
    """A new folder for a batch made from ``parent``, in its temporary area (a workspace's
    snapshots folder, or the batch file's own temporary folder): named as a temporary, so
    a crash's leftovers are removed when the workspace is opened again."""
    from ..storage import temporary_name

    assert parent.on_disk is not None
    folder = parent.on_disk.spill_dir / temporary_name("batch")
    folder.mkdir()
    return folder


def _batch_in(folder: Path, path: Path, parent: Batch, label: str, source: dict[str, Any],
              fingerprint: Optional[str]) -> Batch:
    """The batch of the Parquet file ``path`` in ``folder``, removed with it."""
    from ..data.on_disk import OnDiskTable

    on_disk = OnDiskTable.open(path, folder, fingerprint=fingerprint)  # callers remove the folder on an error
    if fingerprint is None:
        on_disk.fingerprinter = lambda: _content_fingerprint(on_disk)
    batch = Batch(label, None, source, fingerprint, on_disk, parent)
    on_disk.remove_with(batch, folder)
    return batch


def _content_fingerprint(table: "OnDiskTable") -> str:
    """The fingerprint the rows of ``table`` get read whole (streamed column by column)."""
    from ..data.fingerprint import ColumnSource, fingerprint_columns

    return fingerprint_columns([ColumnSource(name, t, lambda name=name: (b.column(0) for b in table.batches([name])))
                                for name, t in zip(table.names, table.types)], table.rows)


def _write_tables(tables: Iterable[pa.Table], path: Path, label: str) -> Path:
    """``tables`` (at least one) written as one Parquet file at ``path``: a run of tables
    of one schema goes to one part; several parts are joined under the schema that holds
    them all."""
    from concurrent.futures import Future, ThreadPoolExecutor

    import pyarrow.parquet as pq

    from ..data.on_disk import parquet_for_parts

    parts: list[Path] = []
    schemas: list[pa.Schema] = []
    writer = None
    writing: Optional[Future] = None  # a part is written while the next is made (one held at most)
    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            for table in tables:
                if writing is not None:
                    writing.result()
                if writer is None or table.schema != schemas[-1]:
                    if writer is not None:
                        writer.close()
                    parts.append(path.with_name(f"part-{len(parts)}.parquet"))
                    schemas.append(table.schema)
                    writer = pq.ParquetWriter(parts[-1], table.schema)
                writing = pool.submit(writer.write_table, table)
            if writing is not None:
                writing.result()
        finally:
            if writing is not None:
                writing.exception()  # waits: the file is closed once nothing writes to it
            if writer is not None:
                writer.close()
    assert parts, "at least one table"
    if len(parts) == 1:
        return parts[0].rename(path)
    try:
        schema = pa.unify_schemas(schemas, promote_options="permissive")
        with pq.ParquetWriter(path, schema) as out:
            for part in parts:
                for batch in parquet_for_parts(part).iter_batches():
                    out.write_table(pa.Table.from_batches([batch]).cast(schema))
                part.unlink()
    except (pa.ArrowTypeError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise DriftError(f"The rows of {label} cannot be written as one table on disk: parts of it hold different "
                         f"kinds of values in one column ({exc}). Compare it in smaller files.") from None
    return path


def batch_from_dataset(ws: "Workspace", ref: str | int, *, label: Optional[str] = None) -> Batch:
    """A registered dataset as a batch (on disk when larger than memory); a prepared one
    says by which recipe (the whole way from its import), so a model trained on data
    prepared the same way takes it as it is."""
    from ..data.catalog import snapshot_path
    from ..data.on_disk import OnDiskTable, too_large_for_memory
    from ..prepare import derivation

    ds = ws.dataset(ref)
    source = {"type": "dataset", "dataset_id": ds.id, "name": ds.name}
    way = derivation(ws, ds)
    if way.prepared:
        source["recipe_sha256"] = way.recipe.sha256
    if too_large_for_memory(ds.snapshot_bytes):
        on_disk = OnDiskTable.open(snapshot_path(ws, ds), ws.snapshots_dir, fingerprint=ds.fingerprint)
        return Batch(label or f"dataset {ds.name}", None, source, ds.fingerprint, on_disk)
    return Batch(label or f"dataset {ds.name}", ws.load_table(ds), source, ds.fingerprint)


def batch_from_frame(df: "pd.DataFrame", *, label: str) -> Batch:
    """A batch to monitor from rows already in memory."""
    return Batch(label, frame_to_table(df, f"The batch {label}"), {"type": "data"})


def frame_to_table(df: "pd.DataFrame", what: str) -> pa.Table:
    """An Arrow table from a DataFrame, as the importer types it; object columns that
    mix types (numbers and text) become text, so that the comparison can say which
    value does not fit."""
    from ..data.types import normalise_table

    df = df.copy()
    df.columns = [str(c) for c in df.columns]
    for name in df.columns[df.dtypes == object]:
        try:
            pa.array(df[name], from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError):
            df[name] = df[name].map(lambda v: None if v is None or (isinstance(v, float) and v != v)
                                    else str(v)).astype(object)
    try:
        table = pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(None)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise DriftError(f"{what} cannot be read as a table ({exc}).") from None
    return normalise_table(table)


def load_batch(spec: str, ws: Optional["Workspace"] = None) -> Batch:
    """A file when ``spec`` names one, else a dataset of the workspace by id or name."""
    path = Path(spec).expanduser()
    if path.exists() or ws is None:
        return batch_from_file(path)
    try:
        return batch_from_dataset(ws, spec)
    except NotFoundError:
        raise DriftError(f"{spec} is neither a file nor a dataset of the workspace "
                         f"({ws.root}).") from None


# -- periods ---------------------------------------------------------------------------

#: periods a batch larger than memory is split into in one reading of it (a file open each)
OPEN_PERIODS = 128
#: bytes of rows held for those periods before the largest part is written out
PERIOD_BUFFER_BYTES = 128 * 1024 * 1024


def split_batch(batch: Batch, column: str, freq: str, *, prefix: bool = False,
                cancel: Optional["CancelToken"] = None) -> list[Batch]:
    """One batch per period of ``column`` (``freq``: M, W or D), in time order. Rows
    without a date are left out (the first batch's source says how many). Labels are
    "2013-01", "2013-W05", "2013-01-31", after the batch's label when ``prefix``. A batch
    larger than memory is split out of core, each period written to a batch on disk."""
    freq = (freq or "").upper()
    if freq not in FREQUENCIES:
        raise DriftError(f"Unknown frequency {freq!r}; use M (month), W (week) or D (day).")
    if column not in batch.column_names:
        raise DriftError(f"The batch {batch.label} has no column {column!r} to split by. Columns: "
                         f"{', '.join(batch.column_names)}.")
    if batch.table is None:
        return _split_on_disk(batch, column, freq, prefix, cancel)
    col = batch.table.column(column)
    reading = _DateReading.of(col.type, col.chunks, column, batch.label)
    stamps, bad = reading.read(col)
    if bad is not None and bad.any() and reading.fmt:  # not one format: each value on its own
        reading.mixed = True
        stamps, bad = reading.read(col)
    reading.refuse_unread(col, bad, 0)
    valid = ~np.isnat(stamps)
    if not valid.any():
        raise DriftError(reading.no_dates())
    keys = _period_keys(stamps, freq)
    index = np.flatnonzero(valid)
    order = index[np.argsort(keys[index], kind="stable")]
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    ends = np.r_[starts[1:], len(order)]
    dropped = int((~valid).sum())
    return [Batch(_period_batch_label(batch, int(sorted_keys[a]), freq, prefix),
                  batch.table.take(pa.array(order[a:b])), _period_source(batch, int(sorted_keys[a]), freq, column,
                                                                         dropped if i == 0 else 0))
            for i, (a, b) in enumerate(zip(starts, ends))]


def _period_batch_label(batch: Batch, key: int, freq: str, prefix: bool) -> str:
    period = _period_label(key, freq)
    return f"{batch.label} {period}" if prefix else period


def _period_source(batch: Batch, key: int, freq: str, column: str, dropped: int) -> dict[str, Any]:
    source = {**batch.source, "period": _period_label(key, freq), "split_by": column, "freq": freq}
    if dropped:
        source["rows_without_date"] = dropped
    return source


@dataclass
class _DateReading:
    """How a column's values are read as dates: its type, for text the format guessed
    from the first value given and whether each value is read on its own (``mixed``: the
    format does not fit every value)."""

    column: str
    label: str
    fmt: Optional[str] = None
    mixed: bool = False

    @classmethod
    def of(cls, t: pa.DataType, chunks: Iterable[pa.Array], column: str, label: str) -> "_DateReading":
        """The reading of a column of type ``t`` whose values are ``chunks`` (read only for
        text, up to the first value given); a clear error for a column of another kind."""
        if pa.types.is_timestamp(t) or pa.types.is_date(t):
            return cls(column, label)
        if not _is_text(t):
            raise DriftError(f"Column {column!r} of {label} holds {_kind_words(t)}, not dates. "
                             "Split by a date column.")
        first = next((str(text.iloc[0]) for text in map(_given, chunks) if len(text)), None)
        from pandas.tseries.api import guess_datetime_format

        with warnings.catch_warnings():  # pandas warns about the day-first guesses it makes
            warnings.simplefilter("ignore", UserWarning)
            return cls(column, label, guess_datetime_format(first) if first is not None else None)

    def read(self, col: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, Optional[np.ndarray]]:
        """datetime64[us] values (NaT for missing), and for text which values given are
        not read as dates."""
        t = col.type
        if pa.types.is_timestamp(t):
            if t.tz is not None:
                col = pc.local_timestamp(col)  # group by the wall-clock time of the column's zone
            return pc.cast(col, pa.timestamp("us")).to_numpy(zero_copy_only=False), None
        if pa.types.is_date(t):
            return pc.cast(pc.cast(col, pa.timestamp("ms")), pa.timestamp("us")).to_numpy(zero_copy_only=False), None
        import pandas as pd

        text = col.to_pandas()
        given = text.notna() & (text.astype(str).str.strip() != "")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            if self.fmt and not self.mixed:
                parsed = pd.to_datetime(text, errors="coerce", format=self.fmt)
            else:
                parsed = pd.to_datetime(text, errors="coerce", format="mixed",
                                        dayfirst=bool(self.fmt and self.fmt.startswith("%d")))
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_localize(None)
        return parsed.to_numpy(dtype="datetime64[us]"), (given & parsed.isna()).to_numpy()

    def refuse_unread(self, col: pa.ChunkedArray | pa.Array, bad: Optional[np.ndarray], first_row: int) -> None:
        """Raise for the first value given that is no date (``first_row``: the number of
        ``col``'s first row in the batch, from 0)."""
        if bad is None or not bad.any():
            return
        row = int(np.flatnonzero(bad)[0])
        raise DriftError(f"Column {self.column!r} of {self.label} does not hold dates: {col[row].as_py()!r} "
                         f"(row {first_row + row + 1}) cannot be read as a date. Split by a date column.")

    def no_dates(self) -> str:
        return f"Column {self.column!r} of {self.label} has no dates to split by."


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t)


def _given(chunk: pa.Array) -> "pd.Series":
    """The values of a part of a text column that are given (not missing, not blank)."""
    text = chunk.to_pandas()
    return text[text.notna() & (text.astype(str).str.strip() != "")]


def _split_on_disk(batch: Batch, column: str, freq: str, prefix: bool,
                   cancel: Optional["CancelToken"]) -> list[Batch]:
    """:func:`split_batch` out of core: one reading of the date column finds how its
    values are read, the periods and the rows without a date (and refuses what the
    in-memory split refuses); then the rows are read a batch at a time and each period's
    rows written, in the order of the file, to its own batch on disk (at most
    ``OPEN_PERIODS`` periods a reading). Nothing is left behind on an error or cancel."""
    reading, keys, dropped = _periods_on_disk(batch, column, freq, cancel)
    folders: dict[int, Path] = {}  # each period's, as they are made
    with _removed_on_error(folders.values(), f"the periods of {batch.label}"):
        for i in range(0, len(keys), OPEN_PERIODS):
            _write_periods(batch, column, freq, reading, keys[i:i + OPEN_PERIODS], folders, cancel)
        return [_batch_in(folders[key], folders[key] / "batch.parquet", batch,
                          _period_batch_label(batch, key, freq, prefix),
                          _period_source(batch, key, freq, column, dropped if i == 0 else 0), None)
                for i, key in enumerate(keys)]


def _date_parts(batch: Batch, column: str, cancel: Optional["CancelToken"]) -> Iterable[pa.Array]:
    assert batch.on_disk is not None
    for part in batch.on_disk.typed_batches([column]):
        if cancel is not None:
            cancel.check()
        yield part.column(0)


def _periods_on_disk(batch: Batch, column: str, freq: str,
                     cancel: Optional["CancelToken"]) -> tuple[_DateReading, list[int], int]:
    """How ``column`` of a batch on disk is read as dates, its periods' keys in order and
    the rows without a date; the in-memory split's errors, the same rows numbered."""
    assert batch.on_disk is not None
    reading = _DateReading.of(batch.on_disk.type_of(column), _date_parts(batch, column, cancel), column, batch.label)
    while True:
        keys: set[int] = set()
        dropped = start = 0
        for part in _date_parts(batch, column, cancel):
            stamps, bad = reading.read(part)
            if bad is not None and bad.any() and reading.fmt and not reading.mixed:
                break  # as in memory: the format does not fit every value, so each is read on its own
            reading.refuse_unread(part, bad, start)
            valid = ~np.isnat(stamps)
            dropped += int((~valid).sum())
            keys.update(np.unique(_period_keys(stamps[valid], freq)).tolist())
            start += len(part)
        else:
            break
        reading.mixed = True
    if not keys:
        raise DriftError(reading.no_dates())
    return reading, sorted(keys), dropped


def _write_periods(batch: Batch, column: str, freq: str, reading: _DateReading, keys: list[int],
                   folders: dict[int, Path], cancel: Optional["CancelToken"]) -> None:
    """The rows of the periods ``keys``, each written to a batch.parquet in a folder of its
    own (put in ``folders`` as it is made); at most ``PERIOD_BUFFER_BYTES`` of rows held."""
    import pyarrow.parquet as pq

    table = batch.on_disk
    assert table is not None
    wanted = np.array(keys, dtype=np.int64)
    held: dict[int, list[pa.RecordBatch]] = {k: [] for k in keys}
    sizes = dict.fromkeys(keys, 0)
    writers: dict[int, Any] = {}

    def write_out(key: int) -> None:
        if not held[key]:
            return
        rows = pa.Table.from_batches(held[key])
        if key not in writers:
            folders[key] = _temporary_folder(batch)
            writers[key] = pq.ParquetWriter(folders[key] / "batch.parquet", rows.schema)
        writers[key].write_table(rows)
        held[key], sizes[key] = [], 0

    at = table.names.index(column)
    try:
        for part in table.typed_batches():
            if cancel is not None:
                cancel.check()
            stamps, _ = reading.read(part.column(at))
            part_keys = _period_keys(stamps, freq)
            rows = np.flatnonzero(~np.isnat(stamps) & np.isin(part_keys, wanted))
            rows = rows[np.argsort(part_keys[rows], kind="stable")]  # each period's rows in file order
            sorted_keys = part_keys[rows]
            starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]) if len(rows) else []
            for a, b in zip(starts, np.r_[starts[1:], len(rows)]):
                piece = part.take(pa.array(rows[a:b]))
                key = int(sorted_keys[a])
                held[key].append(piece)
                sizes[key] += piece.nbytes
            while sum(sizes.values()) > PERIOD_BUFFER_BYTES:
                write_out(max(sizes, key=sizes.__getitem__))
        for key in keys:
            write_out(key)
    finally:
        for writer in writers.values():
            writer.close()


def _kind_words(t: pa.DataType) -> str:
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "numbers"
    if pa.types.is_boolean(t):
        return "true/false values"
    return f"{t} values"


def _period_keys(stamps: np.ndarray, freq: str) -> np.ndarray:
    days = stamps.astype("datetime64[D]")
    if freq == "M":
        return stamps.astype("datetime64[M]").astype(np.int64)
    if freq == "D":
        return days.astype(np.int64)
    d = days.astype(np.int64)
    return d - ((d + 3) % 7)  # the Monday of the week (1970-01-01 was a Thursday)


def _period_label(key: int, freq: str) -> str:
    if freq == "M":
        return str(np.datetime64(key, "M"))
    day = dt.date(1970, 1, 1) + dt.timedelta(days=key)
    if freq == "D":
        return day.isoformat()
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"
