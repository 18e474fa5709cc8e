"""A table model over an Arrow table that formats only the cells a view asks for,
so a grid over millions of rows scrolls smoothly."""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any, Optional

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
        if table is not None:
            self.set_table(table)

    def set_table(self, table: Optional["pa.Table"]) -> None:
        import pyarrow as pa

        self.beginResetModel()
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

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self._names[section] if section < len(self._names) else None
        return str(section + 1)
