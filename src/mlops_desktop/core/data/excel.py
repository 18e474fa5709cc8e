"""Reading an Excel workbook (.xlsx) within bounds a laptop can hold.

A workbook is a zip of XML parts, and a small file can unpack into gigabytes: a
megabyte of repeated shared strings, or a sheet whose rows each reach the last column
(XFD), once made the importer run for many minutes and use gigabytes. So, before
openpyxl reads anything, the zip's directory is checked, and the sheet is then
streamed (openpyxl's read-only mode) with a cell budget:

- a part openpyxl reads whole into memory (shared strings, styles, the workbook) may
  unpack to at most ``MAX_WHOLE_PART_BYTES``. Measured here: 50 MB of short shared
  strings took 14 s and 370 MB to load, so the limit (100 MB) means about half a
  minute and 0.75 GB. A real text column of a million 20-character values is ~40 MB;
- a part over a megabyte may not unpack to more than ``MAX_RATIO`` times its
  compressed size: workbooks compress 5-30 times (a sheet of one repeated value:
  27 times), a zip bomb hundreds of times;
- at most ``MAX_CELLS`` cells are read from a sheet, counting the empty cells openpyxl
  fills in up to each row's last cell, and the table they make (rows × its widest row)
  may hold no more. pandas' reader took 7.4 µs and about 130 bytes a cell here, so the
  limit (10 million: 500,000 rows of 20 columns) means about 75 s and 1.3 GB. Larger
  tables belong in CSV or Parquet, which are read without this cost.

The sheet's declared size (its ``dimension``) is not trusted: writers get it wrong, and
openpyxl is told to find the real extent while reading.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import IO, Any, Optional

from ..errors import DataImportError
from ..regular_files import open_regular_file

MAX_WHOLE_PART_BYTES = 100 * 1024 * 1024
MAX_RATIO = 200
RATIO_FROM_BYTES = 1024 * 1024
MAX_CELLS = 10_000_000
#: parts read row by row; every other part is read whole
_STREAMED = "xl/worksheets/"


def _mb(n: float) -> str:
    return f"{n / 1024 / 1024:,.0f} MB"


def check_workbook(fh: IO[bytes], path: Path) -> None:
    """Refuse a workbook whose parts would unpack beyond the limits (see the module)."""
    try:
        with zipfile.ZipFile(fh) as zf:
            parts = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DataImportError(f"{path} is not a readable .xlsx workbook ({exc}).") from None
    finally:
        fh.seek(0)
    for part in parts:
        size, packed = part.file_size, max(part.compress_size, 1)
        if not part.filename.startswith(_STREAMED) and size > MAX_WHOLE_PART_BYTES:
            raise DataImportError(
                f"{path} cannot be imported: its part {part.filename} unpacks to {_mb(size)}, more than "
                f"the {_mb(MAX_WHOLE_PART_BYTES)} this app reads into memory from a workbook. Save the "
                "sheet as CSV and import that.")
        if size > RATIO_FROM_BYTES and size / packed > MAX_RATIO:
            raise DataImportError(
                f"{path} cannot be imported: its part {part.filename} unpacks {size / packed:,.0f} times "
                f"larger than it is stored ({_mb(size)}); real workbooks compress far less, so it is "
                "damaged or made to exhaust memory.")


def _open(path: Path) -> tuple[IO[bytes], Any]:
    """The file, checked, and the workbook opened on it in read-only mode."""
    import openpyxl

    fh = open_regular_file(path, error=DataImportError)
    try:
        check_workbook(fh, path)
        return fh, openpyxl.load_workbook(fh, read_only=True, data_only=True, keep_links=False)
    except DataImportError:
        fh.close()
        raise
    except Exception as exc:
        fh.close()
        raise DataImportError(f"{path} is not a readable .xlsx workbook ({type(exc).__name__}: {exc}).") from None


def list_sheets(path: Path | str) -> list[str]:
    """The sheet names of an .xlsx workbook, in order."""
    path = Path(path)
    fh, wb = _open(path)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()
        fh.close()


def read_sheet(path: Path, sheet: Optional[str], max_rows: Optional[int]) -> tuple[Any, str, list[str]]:
    """(DataFrame, the sheet read, every sheet name): the sheet (the first when None),
    its first row as the header, at most ``max_rows`` data rows; as ``pandas.read_excel``
    makes it, within the cell budget."""
    from pandas.errors import EmptyDataError
    from pandas.io.parsers import TextParser

    fh, wb = _open(path)
    try:
        sheets = list(wb.sheetnames)
        name = sheets[0] if sheet is None else sheet
        if name not in sheets:
            raise DataImportError(f"{path} has no sheet {name!r}. Sheets: {', '.join(sheets)}.")
        try:
            data = _cells(wb[name], path, name, None if max_rows is None else max_rows + 1)
        except DataImportError:
            raise
        except Exception as exc:
            raise DataImportError(f"{path} is not a readable .xlsx workbook ({type(exc).__name__}: "
                                  f"{exc}).") from None
    finally:
        wb.close()
        fh.close()
    import pandas as pd

    try:
        frame = TextParser(data, header=0, skip_blank_lines=False, nrows=max_rows).read(nrows=max_rows)
    except EmptyDataError:
        frame = pd.DataFrame()
    except (ValueError, TypeError) as exc:
        raise DataImportError(f"Sheet {name!r} of {path} cannot be read as a table ({exc}).") from None
    return frame, name, sheets


def _cells(ws: Any, path: Path, sheet: str, rows_needed: Optional[int]) -> list[list[Any]]:
    """The sheet's values as ``pandas.read_excel`` sees them (empty cells as "", errors as
    NaN, whole numbers as int), trailing empty cells and rows dropped, rows padded to
    the widest; refused beyond the cell budget."""
    from openpyxl.cell.cell import TYPE_ERROR, TYPE_NUMERIC

    ws.reset_dimensions()  # the declared size may be wrong: find the real extent
    data: list[list[Any]] = []
    scanned = width = 0
    last_with_data = -1
    for row in ws.rows:
        scanned += max(len(row), 1)
        values = []
        for cell in row:
            value = cell.value
            if value is None:
                values.append("")
            elif cell.data_type == TYPE_ERROR:
                values.append(float("nan"))
            elif cell.data_type == TYPE_NUMERIC:
                values.append(int(value) if int(value) == value else float(value))
            else:
                values.append(value)
        while values and values[-1] == "":
            values.pop()
        if values:
            last_with_data = len(data)
        width = max(width, len(values))
        data.append(values)
        if scanned > MAX_CELLS or len(data) * width > MAX_CELLS:
            raise _too_large(path, sheet, len(data), max(width, len(row)))
        if rows_needed is not None and len(data) >= rows_needed:
            break
    data = data[:last_with_data + 1]
    return [r + [""] * (width - len(r)) for r in data]


def _too_large(path: Path, sheet: str, rows: int, columns: int) -> DataImportError:
    from openpyxl.utils import get_column_letter

    return DataImportError(
        f"Sheet {sheet!r} of {path} is too large to import from Excel: it reaches row {rows:,} and column "
        f"{get_column_letter(min(max(columns, 1), 18278))} ({columns:,} columns), more than the "
        f"{MAX_CELLS:,} cells this app reads from a workbook. Save the sheet as CSV or Parquet and import "
        "that, or delete its unused rows and columns.")
