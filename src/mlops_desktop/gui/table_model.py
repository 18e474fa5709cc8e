"""A table model over an Arrow table that formats only the cells a view asks for,
so a grid over millions of rows scrolls smoothly. Copy and CSV export read the Arrow
table directly (whole columns at a time), never cell by cell."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

if TYPE_CHECKING:
    import pyarrow as pa

_MISSING_BRUSH = QBrush(QColor(128, 128, 128))
Index = QModelIndex | QPersistentModelIndex


def format_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        return f"{value:.6g}"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") if (value.hour or value.minute or value.second) \
            else value.strftime("%Y-%m-%d")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class ArrowTableModel(QAbstractTableModel):
    """Read-only view of a ``pyarrow.Table``; row headers count from 1."""

    def __init__(self, table: Optional["pa.Table"] = None, parent: Any = None) -> None:
        super().__init__(parent)
        self._columns: list["pa.Array"] = []
        self._names: list[str] = []
        self._numeric: list[bool] = []
        self._rows = 0
        self._table: Optional["pa.Table"] = None
        if table is not None:
            self.set_table(table)

    @property
    def table(self) -> Optional["pa.Table"]:
        """The Arrow table shown (all its rows), or None."""
        return self._table

    def set_table(self, table: Optional["pa.Table"]) -> None:
        import pyarrow as pa

        self.beginResetModel()
        self._table = table
        if table is None:
            self._columns, self._names, self._numeric, self._rows = [], [], [], 0
        else:
            # one contiguous array per column: O(1) indexing for each visible cell
            self._columns = [c.chunk(0) if c.num_chunks == 1 else c.combine_chunks()
                             for c in table.columns]
            self._names = list(table.column_names)
            self._numeric = [pa.types.is_integer(c.type) or pa.types.is_floating(c.type)
                             for c in table.columns]
            self._rows = table.num_rows
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else self._rows

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return format_value(self._columns[index.column()][index.row()].as_py())
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if self._numeric[index.column()]:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole:
            if not self._columns[index.column()][index.row()].is_valid:
                return _MISSING_BRUSH
        return None

    def block_values(self, rows: Sequence[int], columns: Sequence[int]) -> list[list[Any]]:
        """The values of some rows and columns as Python objects, row by row (for Copy):
        pyarrow converts whole columns, which stays fast for large selections."""
        import pyarrow as pa

        if self._table is None or not rows or not columns:
            return []
        contiguous = rows[-1] - rows[0] + 1 == len(rows)
        taken = [self._columns[c].slice(rows[0], len(rows)) if contiguous
                 else self._columns[c].take(pa.array(rows, type=pa.int64())) for c in columns]
        return [list(values) for values in zip(*(col.to_pylist() for col in taken))]

    def write_csv(self, path: Path | str) -> None:
        """Write every row to ``path`` as CSV with pyarrow's writer, UTF-8 with a byte-order
        mark so spreadsheets read accents right, text that a spreadsheet would run as a
        formula neutralised. Write to a temporary name: the caller renames it (see
        gui.table_actions.export_csv)."""
        import pyarrow.csv as pacsv
        from mlops_model_support.spreadsheet import neutralise_table

        if self._table is None:
            raise ValueError("no table to write")
        with open(path, "wb") as fh:
            fh.write("\ufeff".encode("utf-8"))
            pacsv.write_csv(neutralise_table(self._table), fh)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self._names[section] if section < len(self._names) else None
        return str(section + 1)
