"""A table kept on disk instead of in memory: a Parquet file (a dataset's snapshot, or a
large batch file streamed to a temporary snapshot) read a column, a count or a sample at
a time.

Counts come from the engine (:mod:`.engine`) under its memory limit; a sample is drawn
from a seed, row group by row group, so it is the same rows on every computer.
"""

from __future__ import annotations

import shutil
import weakref
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Sequence

import numpy as np
import pyarrow as pa

from ..errors import InvalidChoiceError
from ..regular_files import open_regular_file
from .engine import connect, parquet_source, quoted

if TYPE_CHECKING:
    import pyarrow.parquet as pq

    from ..jobs import CancelToken

#: tables whose snapshot is at least this large are worked on out of core
OUT_OF_CORE_BYTES = 256 * 1024 * 1024
#: rows per batch when a column is read in parts
READ_ROWS = 128 * 1024


def too_large_for_memory(size_bytes: int) -> bool:
    """Whether a table of ``size_bytes`` on disk (Parquet) is worked on out of core."""
    return size_bytes >= OUT_OF_CORE_BYTES


class TooLargeForMemory(InvalidChoiceError):
    """Work that reads every row of a dataset into memory, asked of one larger than memory."""


def refuse_if_too_large(datasets: Sequence[Any], work: str, way_out: str) -> None:
    """Raise :class:`TooLargeForMemory` when ``datasets`` together (registered datasets)
    are worked on out of core: ``work`` (what reads their rows into memory, "validation
    reads every row") and ``way_out`` (what to do instead) make the message."""
    from .. import numbers

    size = sum(int(ds.snapshot_bytes) for ds in datasets)
    if not too_large_for_memory(size):
        return
    rows = sum(int(ds.n_rows) for ds in datasets)
    names = ", ".join(repr(ds.name) for ds in datasets)
    raise TooLargeForMemory(
        f"{'Dataset' if len(datasets) == 1 else 'Datasets'} {names} {'is' if len(datasets) == 1 else 'are'} larger "
        f"than memory ({rows:,} rows, {numbers.file_size(size)} on disk), and {work} into memory, so it was not "
        f"started. {way_out}")


def parquet_for_parts(source: Any, **options: Any) -> "pq.ParquetFile":
    """A Parquet file to read a part at a time. Pre-buffering is off: with pyarrow's
    default it reads ahead of ``iter_batches``, and importing 50M rows peaked at 1.6 GB
    instead of 0.6 GB (and was no faster)."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(source, pre_buffer=False, **options)


@dataclass
class OnDiskTable:
    """A Parquet file the app wrote (or checked) and its shape."""

    path: Path
    #: the folder the engine spills to (a workspace's snapshots folder, or a temporary one)
    spill_dir: Path
    names: list[str]
    types: list[pa.DataType]
    rows: int
    row_groups: list[int] = field(default_factory=list)
    fingerprint: Optional[str] = None
    #: computes the fingerprint when it is not known yet (a file read in place)
    fingerprinter: Optional[Callable[[], str]] = None
    #: text columns of a file read in place that are typed as dates, and their format
    date_formats: dict[str, str] = field(default_factory=dict)
    _held: Any = field(default=None, repr=False)
    _con: Any = field(default=None, repr=False)

    @classmethod
    def open(cls, path: Path, spill_dir: Path, *, fingerprint: Optional[str] = None) -> "OnDiskTable":
        """The table of a Parquet file, read from its footer only (names, types, row groups);
        nothing is loaded."""
        import pyarrow.parquet as pq

        with open_regular_file(path) as fh:
            pf = pq.ParquetFile(fh)
            schema = pf.schema_arrow
            groups = [pf.metadata.row_group(i).num_rows for i in range(pf.num_row_groups)]
        return cls(Path(path), Path(spill_dir), schema.names, list(schema.types), sum(groups), groups,
                   fingerprint)

    def content_fingerprint(self) -> str:
        """The fingerprint of the rows (as a dataset of the same data gets)."""
        if self.fingerprint is None:
            assert self.fingerprinter is not None
            self.fingerprint = self.fingerprinter()
        return self.fingerprint

    def hold(self, fh: Any) -> None:
        """Keep ``fh`` open as long as this table: ``path`` is its name by descriptor."""
        self._held = fh
        weakref.finalize(self, fh.close)

    def remove_with(self, owner: object, folder: Path) -> None:
        """Delete ``folder`` (holding this file) once ``owner`` is gone."""
        weakref.finalize(owner, shutil.rmtree, folder, True)

    def type_of(self, name: str) -> pa.DataType:
        """The Arrow type of a column; raises ValueError for a name the table does not have."""
        return self.types[self.names.index(name)]

    def batches(self, columns: Optional[Sequence[str]] = None,
                batch_rows: int = READ_ROWS) -> Iterator[pa.RecordBatch]:
        """The rows in order, ``batch_rows`` at a time."""
        with open_regular_file(self.path) as fh:
            yield from parquet_for_parts(fh).iter_batches(batch_size=batch_rows,
                                                          columns=list(columns) if columns is not None else None)

    def typed_batches(self, columns: Optional[Sequence[str]] = None,
                      batch_rows: int = READ_ROWS) -> Iterator[pa.RecordBatch]:
        """The rows in order, ``batch_rows`` at a time, typed as ``types`` says (a file read
        in place holds its own types: dictionaries, decimals, dates as text), so that a
        batch is what the same rows read into memory give."""
        from .types import parse_dates, plain_column

        names = list(columns) if columns is not None else list(self.names)
        schema = pa.schema([(n, self.type_of(n)) for n in names])
        for batch in self.batches(names, batch_rows):
            arrays = []
            for field_, col in zip(schema, batch.columns):
                if col.type != field_.type:
                    col = plain_column(col)
                    fmt = self.date_formats.get(field_.name)
                    if fmt is not None:
                        parsed = parse_dates(col, fmt)
                        assert parsed is not None  # the format was chosen because every value reads
                        col = parsed.combine_chunks()
                    if col.type != field_.type:
                        col = col.cast(field_.type)
                arrays.append(col)
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)

    def row_group(self, group: int, columns: Optional[Sequence[str]] = None) -> pa.Table:
        """The rows of one row group (the Data page pages through a large snapshot by them)."""
        import pyarrow.parquet as pq

        with open_regular_file(self.path) as fh:
            return pq.ParquetFile(fh).read_row_group(group, columns=list(columns) if columns is not None else None)

    def rows_at(self, start: int, count: int, columns: Optional[Sequence[str]] = None) -> pa.Table:
        """Rows ``start`` to ``start + count`` (only the row groups holding them are read)."""
        import pyarrow.parquet as pq

        pieces = []
        with open_regular_file(self.path) as fh:
            pf = pq.ParquetFile(fh)
            first = 0
            for group, size in enumerate(self.row_groups):
                end = first + size
                if end > start and first < start + count:
                    part = pf.read_row_group(group, columns=list(columns) if columns is not None else None)
                    lo = max(start - first, 0)
                    pieces.append(part.slice(lo, min(start + count, end) - first - lo))
                first = end
                if first >= start + count:
                    break
        if not pieces:
            return self.empty(columns)
        return pa.concat_tables(pieces)

    def empty(self, columns: Optional[Sequence[str]] = None) -> pa.Table:
        """A table with no rows and the given columns' types (all columns by default)."""
        names = list(columns) if columns is not None else self.names
        return pa.table([pa.array([], self.type_of(n)) for n in names], names=names)

    def sample(self, n: int, seed: int, columns: Optional[Sequence[str]] = None,
               cancel: Optional["CancelToken"] = None) -> pa.Table:
        """``n`` rows drawn without replacement with ``seed`` (all rows when there are no
        more), in file order; read row group by row group."""
        if n >= self.rows:
            return self.rows_at(0, self.rows, columns)
        return self.take_rows(np.sort(np.random.default_rng(seed).choice(self.rows, n, replace=False)),
                              columns, cancel)

    def take_rows(self, chosen: np.ndarray, columns: Optional[Sequence[str]] = None,
                  cancel: Optional["CancelToken"] = None) -> pa.Table:
        """The rows numbered ``chosen`` (sorted), read row group by row group."""
        import pyarrow.parquet as pq

        pieces = []
        with open_regular_file(self.path) as fh:
            pf = pq.ParquetFile(fh)
            first = 0
            for group, size in enumerate(self.row_groups):
                lo, hi = np.searchsorted(chosen, [first, first + size])
                if hi > lo:
                    if cancel is not None:
                        cancel.check()
                    part = pf.read_row_group(group, columns=list(columns) if columns is not None else None)
                    pieces.append(part.take(pa.array(chosen[lo:hi] - first)))
                first += size
        return pa.concat_tables(pieces) if pieces else self.empty(columns)

    @contextmanager
    def engine(self) -> Iterator[None]:
        """One engine connection for every count and query of this table inside the block,
        from one thread (outside one, each opens its own): a comparison counts every
        feature, and opening a connection each time cost a tenth of its time."""
        if self._con is not None:
            yield
            return
        with connect(self.spill_dir) as con:
            self._con = con
            try:
                yield
            finally:
                self._con = None

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        if self._con is not None:
            yield self._con
        else:
            with connect(self.spill_dir) as con:
                yield con

    def value_counts(self, expression: str, *, where: str = "") -> pa.Table:
        """``value`` (the SQL ``expression`` over the columns) and ``n``, its row count,
        for every distinct value (missing included)."""
        sql = (f"SELECT {expression} AS value, count(*) AS n FROM {parquet_source(self.path)} "
               f"{('WHERE ' + where) if where else ''} GROUP BY ALL")
        with self._connection() as con:
            return con.sql(sql).to_arrow_table()

    def query_one(self, sql_select: str) -> tuple:
        """One row of ``SELECT sql_select FROM the table``."""
        with self._connection() as con:
            return con.execute(f"SELECT {sql_select} FROM {parquet_source(self.path)}").fetchall()[0]

    def sql_column(self, name: str) -> str:
        """A column as an SQL expression (for :meth:`value_counts` and :meth:`query_one`)."""
        return quoted(name)
