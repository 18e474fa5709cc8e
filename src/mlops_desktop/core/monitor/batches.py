"""Current batches: a file (CSV, Excel, Parquet, SQLite), a registered dataset or a
DataFrame, optionally split into periods by a date column (month, week or day)."""

from __future__ import annotations

import datetime as dt
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlops_model_support import drift as metrics

from ..errors import NotFoundError
from .errors import DriftError

if TYPE_CHECKING:
    import pandas as pd

    from ..data.on_disk import OnDiskTable

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

def split_batch(batch: Batch, column: str, freq: str, *, prefix: bool = False) -> list[Batch]:
    """One batch per period of ``column`` (``freq``: M, W or D), in time order. Rows
    without a date are left out (the first batch's source says how many). Labels are
    "2013-01", "2013-W05", "2013-01-31", after the batch's label when ``prefix``."""
    freq = (freq or "").upper()
    if freq not in FREQUENCIES:
        raise DriftError(f"Unknown frequency {freq!r}; use M (month), W (week) or D (day).")
    if column not in batch.column_names:
        raise DriftError(f"The batch {batch.label} has no column {column!r} to split by. Columns: "
                         f"{', '.join(batch.column_names)}.")
    if batch.table is None:
        raise DriftError(f"The batch {batch.label} is larger than memory and cannot be split by date here. "
                         "Split the file by period first and compare each part.")
    stamps = _timestamps(batch.table.column(column), column, batch.label)
    valid = ~np.isnat(stamps)
    if not valid.any():
        raise DriftError(f"Column {column!r} of {batch.label} has no dates to split by.")
    keys = _period_keys(stamps, freq)
    index = np.flatnonzero(valid)
    order = index[np.argsort(keys[index], kind="stable")]
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    ends = np.r_[starts[1:], len(order)]
    out = []
    dropped = int((~valid).sum())
    for i, (a, b) in enumerate(zip(starts, ends)):
        period = _period_label(int(sorted_keys[a]), freq)
        source = {**batch.source, "period": period, "split_by": column, "freq": freq}
        if i == 0 and dropped:
            source["rows_without_date"] = dropped
        out.append(Batch(f"{batch.label} {period}" if prefix else period,
                         batch.table.take(pa.array(order[a:b])), source))
    return out


def _timestamps(col: pa.ChunkedArray, column: str, label: str) -> np.ndarray:
    """datetime64[us] values (NaT for missing); a clear error for a column without dates."""
    t = col.type
    if pa.types.is_timestamp(t):
        if t.tz is not None:
            col = pc.local_timestamp(col)  # group by the wall-clock time of the column's zone
        return pc.cast(col, pa.timestamp("us")).to_numpy(zero_copy_only=False)
    if pa.types.is_date(t):
        return pc.cast(pc.cast(col, pa.timestamp("ms")), pa.timestamp("us")).to_numpy(zero_copy_only=False)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
        import pandas as pd

        from pandas.tseries.api import guess_datetime_format

        text = col.to_pandas()
        given = text.notna() & (text.astype(str).str.strip() != "")
        first = text[given].iloc[0] if given.any() else None
        with warnings.catch_warnings():  # pandas warns about the day-first guesses it makes
            warnings.simplefilter("ignore", UserWarning)
            fmt = guess_datetime_format(str(first)) if first is not None else None
            parsed = pd.to_datetime(text, errors="coerce", format=fmt or "mixed")
            if fmt and (given & parsed.isna()).any():  # not one format: each value on its own
                parsed = pd.to_datetime(text, errors="coerce", format="mixed", dayfirst=fmt.startswith("%d"))
        bad = given & parsed.isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DriftError(f"Column {column!r} of {label} does not hold dates: {text.iloc[row]!r} "
                             f"(row {row + 1}) cannot be read as a date. Split by a date column.")
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_localize(None)
        return parsed.to_numpy(dtype="datetime64[us]")
    raise DriftError(f"Column {column!r} of {label} holds {_kind_words(t)}, not dates. "
                     "Split by a date column.")


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
