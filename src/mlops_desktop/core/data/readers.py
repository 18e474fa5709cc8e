"""Reading a file into an Arrow table: CSV/TSV/TXT, Excel, Parquet, SQLite.

Every failure a user can cause becomes a :class:`DataImportError` that names the
file and, where it applies, the line and the problem.
"""

from __future__ import annotations

import csv
import io
import os
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import pyarrow as pa
from mlops_model_support.text_files import column_names

from ..errors import DataImportError, JobCancelled
from ..jobs import CancelToken, ProgressCallback, no_progress
from ..regular_files import check_regular_file, open_regular_file
from . import sniff
from .excel import list_sheets, read_sheet

__all__ = ["ImportOptions", "ReadResult", "check_readable", "detect_format", "list_sheets", "list_tables",
           "options_dict", "read_table"]

TEXT_EXTENSIONS = {".csv", ".tsv", ".txt", ".tab", ".dat"}
EXCEL_EXTENSIONS = {".xlsx", ".xlsm"}
PARQUET_EXTENSIONS = {".parquet", ".pq"}
SQLITE_EXTENSIONS = {".sqlite", ".sqlite3", ".db"}
FORMATS = ("csv", "excel", "parquet", "sqlite")
_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


@dataclass
class ImportOptions:
    """What the user chose; ``None`` means 'detect it'."""

    format: Optional[str] = None
    delimiter: Optional[str] = None
    encoding: Optional[str] = None
    decimal: Optional[str] = None
    sheet: Optional[str] = None
    table: Optional[str] = None

    def __post_init__(self) -> None:
        if self.delimiter is not None:
            self.delimiter = _DELIMITER_NAMES.get(self.delimiter.lower(), self.delimiter)
            if len(self.delimiter) != 1:
                raise DataImportError(f"The delimiter must be one character, not {self.delimiter!r}.")
        if self.decimal is not None and self.decimal not in (".", ","):
            raise DataImportError(f"The decimal mark must be '.' or ',', not {self.decimal!r}.")
        if self.format is not None and self.format not in FORMATS:
            raise DataImportError(f"Unknown format {self.format!r}; use one of {', '.join(FORMATS)}.")


@dataclass
class ReadResult:
    """A file read into a table, with the options used and a name to suggest for it."""
    table: pa.Table
    format: str
    #: the options actually used, detected ones filled in (recorded with the dataset)
    options: dict[str, Any] = field(default_factory=dict)
    #: a dataset name for it: the file name, plus the sheet or the table where one was chosen
    suggested_name: str = ""


def check_readable(path: Path) -> None:
    """Refuse paths that do not exist, folders, named pipes, devices, sockets and
    unreadable files, clearly, without waiting on any of them."""
    if not path.exists():
        raise DataImportError(f"{path} does not exist.")
    if path.is_dir():
        raise DataImportError(f"{path} is a folder, not a file.")
    try:
        with open_regular_file(path, error=DataImportError) as fh:
            size = os.fstat(fh.fileno()).st_size
    except PermissionError:
        raise DataImportError(f"{path} cannot be read: permission denied.") from None
    except OSError as exc:
        raise DataImportError(f"{path} cannot be read: {exc.strerror or exc}.") from None
    if size == 0:
        raise DataImportError(f"{path} is empty (0 bytes).")


def detect_format(path: Path) -> str:
    """The format to read a file as, from its extension (csv, excel, parquet or sqlite)."""
    ext = path.suffix.lower()
    if ext == ".xls":
        raise DataImportError(f"{path} is an old Excel (.xls) workbook. Save it as .xlsx and import that.")
    for exts, fmt in ((TEXT_EXTENSIONS, "csv"), (EXCEL_EXTENSIONS, "excel"),
                      (PARQUET_EXTENSIONS, "parquet"), (SQLITE_EXTENSIONS, "sqlite")):
        if ext in exts:
            return fmt
    head = sniff.read_sample(path, 16)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    if head.startswith(b"PK\x03\x04"):
        return "excel"
    return "csv"


def read_table(path: Path | str, options: Optional[ImportOptions] = None, *,
               max_rows: Optional[int] = None, progress: ProgressCallback = no_progress,
               cancel: Optional[CancelToken] = None) -> ReadResult:
    """Read ``path`` into an Arrow table (the first ``max_rows`` rows for a preview)."""
    path = Path(path).expanduser()
    options = options or ImportOptions()
    check_readable(path)
    fmt = options.format or detect_format(path)
    reader = {"csv": _read_text, "excel": _read_excel, "parquet": _read_parquet,
              "sqlite": _read_sqlite}[fmt]
    result = reader(path, options, max_rows, progress, cancel)
    result.table = _tidy_column_names(result.table, path)
    result.suggested_name = result.suggested_name or path.stem
    return result


# -- text ------------------------------------------------------------------------------

class _ProgressFile(io.RawIOBase):
    """A file that reports how far it has been read and stops when cancelled."""

    def __init__(self, path: Path, progress: ProgressCallback, cancel: Optional[CancelToken]):
        self._fh = open_regular_file(path, error=DataImportError)
        self._size = max(os.fstat(self._fh.fileno()).st_size, 1)
        self._progress, self._cancel = progress, cancel

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._cancel is not None and self._cancel.cancelled:
            raise JobCancelled("cancelled by the user")
        n = self._fh.readinto(buffer)
        self._progress(self._fh.tell() / self._size, "Reading the file")
        return n

    def close(self) -> None:
        self._fh.close()
        super().close()


def _read_text(path: Path, options: ImportOptions, max_rows: Optional[int],
               progress: ProgressCallback, cancel: Optional[CancelToken]) -> ReadResult:
    import pyarrow.csv as pacsv

    fmt = sniff.sniff_text_format(path, encoding=options.encoding, delimiter=options.delimiter,
                                  decimal=options.decimal)
    used = {"format": "csv", "encoding": fmt.encoding, "delimiter": fmt.delimiter,
            "decimal": fmt.decimal}

    def attempt(encoding: str) -> pa.Table:
        # pyarrow decodes UTF-8 natively and skips a UTF-8 BOM itself; other encodings
        # go through Python's codecs.
        arrow_encoding = "utf8" if encoding in ("utf-8", "utf-8-sig") else encoding
        read_opts = pacsv.ReadOptions(encoding=arrow_encoding, use_threads=True,
                                      block_size=1 << 22)
        # Always allow line breaks inside quoted values. With newlines_in_values=False
        # pyarrow cuts blocks at the last line break, and when that break lies inside a
        # quoted value beyond the sniffed sample the rows can be misparsed without any
        # error to retry on (phantom rows, stray quotes). Reading is not measurably slower.
        parse_opts = pacsv.ParseOptions(delimiter=fmt.delimiter, newlines_in_values=True)
        convert_opts = pacsv.ConvertOptions(decimal_point=fmt.decimal, strings_can_be_null=True,
                                            quoted_strings_can_be_null=True)
        if max_rows is not None:
            with open_regular_file(path, error=DataImportError) as fh, \
                    pacsv.open_csv(fh, read_options=read_opts, parse_options=parse_opts,
                                   convert_options=convert_opts) as stream:
                batches, n = [], 0
                for batch in stream:
                    batches.append(batch)
                    n += batch.num_rows
                    if n >= max_rows:
                        break
                return pa.Table.from_batches(batches, schema=stream.schema).slice(0, max_rows)
        source = _ProgressFile(path, progress, cancel)
        try:
            return pacsv.read_csv(source, read_options=read_opts, parse_options=parse_opts,
                                  convert_options=convert_opts)
        finally:
            source.close()

    try:
        table = attempt(fmt.encoding)
        # pyarrow reads text that is not valid UTF-8 as raw bytes, without an error
        undecoded = [name for name, t in zip(table.column_names, table.schema.types)
                     if pa.types.is_binary(t) or pa.types.is_large_binary(t)]
        if undecoded and fmt.encoding in ("utf-8", "utf-8-sig"):
            if options.encoding is not None:
                raise DataImportError(
                    f"{path}: column {undecoded[0]!r} holds text that is not valid "
                    f"{fmt.encoding}. Choose another encoding.")
            # the sample was UTF-8 but a later part is not: most often a Windows export
            fmt.encoding = used["encoding"] = "cp1252"
            table = attempt(fmt.encoding)
    except (JobCancelled, DataImportError):
        raise
    except (pa.ArrowInvalid, pa.ArrowException, UnicodeDecodeError, OSError) as exc:
        if cancel is not None:
            cancel.check()
        raise _text_error(path, fmt, exc) from None
    if cancel is not None:
        cancel.check()
    if table.num_rows == 0 and table.num_columns > 0 and max_rows != 0:
        raise DataImportError(f"{path} has a header row but no data rows.")
    return ReadResult(table, "csv", used)


def _text_error(path: Path, fmt: sniff.TextFormat, exc: Exception) -> DataImportError:
    """Turn a parser error into a message with the line number where we can find it."""
    message = str(exc)
    if isinstance(exc, UnicodeDecodeError) or "UTF8" in message or "codec" in message:
        return DataImportError(f"{path} is not valid {fmt.encoding} text. Choose another encoding.")
    line = _first_ragged_line(path, fmt)
    if line is not None:
        number, expected, found = line
        return DataImportError(f"{path}, line {number}: expected {expected} fields, found {found} "
                               f"(delimiter {fmt.delimiter!r}). Check quoting or choose another delimiter.")
    if "Empty CSV file" in message:
        return DataImportError(f"{path} has no header row.")
    detail = message.replace("CSV parse error: ", "").strip()
    return DataImportError(f"{path} could not be read as a table: {detail}")


def _first_ragged_line(path: Path, fmt: sniff.TextFormat) -> Optional[tuple[int, int, int]]:
    try:
        with io.TextIOWrapper(open_regular_file(path, error=DataImportError), newline="",
                              encoding=fmt.encoding, errors="replace") as fh:
            reader = csv.reader(fh, delimiter=fmt.delimiter)
            expected = None
            for row in reader:
                if not row:
                    continue
                if expected is None:
                    expected = len(row)
                elif len(row) != expected:
                    return reader.line_num, expected, len(row)
    except csv.Error:
        return None
    return None


# -- Excel -----------------------------------------------------------------------------

def _read_excel(path: Path, options: ImportOptions, max_rows: Optional[int],
                progress: ProgressCallback, cancel: Optional[CancelToken]) -> ReadResult:
    progress(None, f"Reading sheet {options.sheet}" if options.sheet else "Reading the first sheet")
    df, sheet, sheets = read_sheet(path, options.sheet, max_rows)  # within the cell budget
    if cancel is not None:
        cancel.check()
    if df.shape[1] == 0:
        raise DataImportError(f"Sheet {sheet!r} of {path} is empty.")
    if df.shape[0] == 0 and max_rows != 0:
        raise DataImportError(f"Sheet {sheet!r} of {path} has a header row but no data rows.")
    name = path.stem if sheet == sheets[0] else f"{path.stem} - {sheet}"
    return ReadResult(_arrow_from_pandas(df, path), "excel", {"format": "excel", "sheet": sheet},
                      name)


# -- Parquet ---------------------------------------------------------------------------

def _read_parquet(path: Path, options: ImportOptions, max_rows: Optional[int],
                  progress: ProgressCallback, cancel: Optional[CancelToken]) -> ReadResult:
    import pyarrow.parquet as pq

    progress(None, "Reading the Parquet file")
    try:
        with open_regular_file(path, error=DataImportError) as fh:
            pf = pq.ParquetFile(fh)
            if max_rows is not None:
                batches = []
                n = 0
                for batch in pf.iter_batches(batch_size=max(max_rows, 1)):
                    batches.append(batch)
                    n += batch.num_rows
                    if n >= max_rows:
                        break
                table = pa.Table.from_batches(batches, schema=pf.schema_arrow).slice(0, max_rows)
            else:
                table = pf.read()
    except (pa.ArrowException, OSError) as exc:
        raise DataImportError(f"{path} is not a readable Parquet file (corrupt or another format: "
                              f"{exc}).") from None
    table = table.replace_schema_metadata(None)
    if table.num_columns == 0:
        raise DataImportError(f"{path} has no columns.")
    if table.num_rows == 0 and max_rows != 0:
        raise DataImportError(f"{path} has columns but no rows.")
    return ReadResult(table, "parquet", {"format": "parquet"})


# -- SQLite ----------------------------------------------------------------------------

def _connect_readonly(path: Path) -> sqlite3.Connection:
    check_regular_file(path, error=DataImportError)  # SQLite opens by name: checked just before
    uri = path.resolve().as_uri() + "?mode=ro"
    return sqlite3.connect(uri, uri=True)


def list_tables(path: Path | str) -> list[str]:
    """The tables and views of an SQLite file."""
    path = Path(path)
    check_readable(path)
    try:
        with _connect_readonly(path) as conn:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                                "AND name NOT LIKE 'sqlite_%' ORDER BY name").fetchall()
    except sqlite3.DatabaseError as exc:
        raise DataImportError(f"{path} is not a readable SQLite database ({exc}).") from None
    return [r[0] for r in rows]


def _read_sqlite(path: Path, options: ImportOptions, max_rows: Optional[int],
                 progress: ProgressCallback, cancel: Optional[CancelToken]) -> ReadResult:
    import pandas as pd

    tables = list_tables(path)
    if not tables:
        raise DataImportError(f"{path} has no tables.")
    table = options.table
    if table is None:
        if len(tables) > 1:
            raise DataImportError(f"{path} has several tables; choose one: {', '.join(tables)}.")
        table = tables[0]
    if table not in tables:
        raise DataImportError(f"{path} has no table {table!r}. Tables: {', '.join(tables)}.")
    progress(None, f"Reading table {table}")
    quoted = '"' + table.replace('"', '""') + '"'
    sql = f"SELECT * FROM {quoted}" + (f" LIMIT {int(max_rows)}" if max_rows is not None else "")
    try:
        with _connect_readonly(path) as conn:
            df = pd.read_sql_query(sql, conn)
    except (sqlite3.DatabaseError, ValueError) as exc:
        raise DataImportError(f"Table {table!r} of {path} cannot be read ({exc}).") from None
    if df.shape[0] == 0 and max_rows != 0:
        raise DataImportError(f"Table {table!r} of {path} has no rows.")
    return ReadResult(_arrow_from_pandas(df, path), "sqlite", {"format": "sqlite", "table": table},
                      table)


# -- shared ----------------------------------------------------------------------------

def _arrow_from_pandas(df: Any, path: Path) -> pa.Table:
    """Arrow from a DataFrame whose object columns may mix types (Excel, SQLite)."""
    import pandas as pd

    df = df.copy()
    df.columns = ["" if (isinstance(c, str) and c.startswith("Unnamed: ")) else str(c)
                  for c in df.columns]
    for name in df.columns[df.dtypes == object]:
        col = df[name]
        try:
            pa.array(col, from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError):
            df[name] = col.map(lambda v: None if v is None or (isinstance(v, float) and v != v)
                               else str(v)).astype(pd.StringDtype())
    try:
        return pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(None)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise DataImportError(f"{path}: the data cannot be converted to a table ({exc}).") from None


def _tidy_column_names(table: pa.Table, path: Path) -> pa.Table:
    """Name empty header cells ``column_N``; refuse duplicate names."""
    names = column_names(table.column_names)
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            raise DataImportError(f"{path}: the column name {name!r} appears twice (columns "
                                  f"{seen[name] + 1} and {i + 1}). Rename one and import again.")
        seen[name] = i
    return table.rename_columns(names) if names != table.column_names else table


def options_dict(options: ImportOptions) -> dict[str, Any]:
    """The import options that are set, as a dict to record with the dataset."""
    return {k: v for k, v in asdict(options).items() if v is not None}
