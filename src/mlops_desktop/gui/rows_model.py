"""A table model over a list of plain rows (dicts), for lists that can hold thousands
of entries: no widget item per cell, so filling 10,000 rows costs one model reset."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from ..core import numbers

Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class Column:
    """One column: its header, the row key it shows and, optionally, how to show it."""

    header: str
    key: str
    text: Optional[Callable[[Any], str]] = None
    tip: Optional[Callable[[dict], str]] = None


class RowsModel(QAbstractTableModel):
    """Read-only rows; numbers are right-aligned and formatted like every other table.
    Sorting is by the raw value (numbers as numbers, missing last)."""

    def __init__(self, columns: list[Column], parent: Any = None) -> None:
        super().__init__(parent)
        self.columns = columns
        self.rows: list[dict] = []
        self._sorted_by: Optional[tuple[int, Qt.SortOrder]] = None

    def set_rows(self, rows: list[dict]) -> None:
        """Show these rows, in the order the table was last sorted by, if any."""
        self.beginResetModel()
        self.rows = self._sorted(list(rows)) if self._sorted_by else list(rows)
        self.endResetModel()

    def row(self, index: int) -> dict:
        return self.rows[index]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section].header
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        column = self.columns[index.column()]
        row = self.rows[index.row()]
        value = row.get(column.key)
        if role == Qt.ItemDataRole.DisplayRole:
            if column.text is not None:
                return column.text(value)
            return value if isinstance(value, str) else numbers.cell(value)
        if role == Qt.ItemDataRole.TextAlignmentRole and isinstance(value, (int, float)) \
                and not isinstance(value, bool):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and column.tip is not None:
            return column.tip(row)
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sorted_by = (column, order)
        self.layoutAboutToBeChanged.emit()
        self.rows = self._sorted(self.rows)
        self.layoutChanged.emit()

    def _sorted(self, rows: list[dict]) -> list[dict]:
        column, order = self._sorted_by  # type: ignore[misc]
        key = self.columns[column].key

        def sort_key(row: dict) -> tuple:
            v = row.get(key)
            if v is None:
                return (1, 0, "")
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return (0, v, "")
            return (0, 0, str(v).lower())

        missing = [r for r in rows if r.get(key) is None]
        present = sorted((r for r in rows if r.get(key) is not None), key=sort_key,
                         reverse=order == Qt.SortOrder.DescendingOrder)
        return present + missing  # missing values last in both directions
