"""Read-only tables filled from rows of values: numbers formatted, right-aligned and
sorted by value, with the full value kept for Copy and CSV export."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableWidget, QTableWidgetItem

from ..core import numbers
from .table_actions import RAW_ROLE, add_table_actions


def make_table(headers: list[str], *, select_rows: bool = True, name: str = "table") -> QTableWidget:
    """A read-only table with compact rows and no row numbers, with Ctrl+C and a
    right-click menu to copy cells or export every row as CSV (``name``.csv)."""
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.verticalHeader().setVisible(False)
    t.verticalHeader().setDefaultSectionSize(24)
    t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    if select_rows:
        t.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    # several rows can be selected to copy them; the current row still drives the pages
    t.setSelectionMode(QTableWidget.SelectionMode.ExtendedSelection)
    add_table_actions(t, name)
    return t


class _NumberItem(QTableWidgetItem):
    """A formatted number that sorts by its value, not by its text."""

    def __lt__(self, other: QTableWidgetItem) -> bool:
        a, b = self.data(RAW_ROLE), other.data(RAW_ROLE)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return a < b
        # not super().__lt__: the binding dispatches it back here (a recursion that ends in a crash)
        return self.text() < other.text()


def table_item(value: Any) -> QTableWidgetItem:
    """Text as it is; numbers formatted and right-aligned, their full value kept for
    Copy and CSV export."""
    if isinstance(value, str):
        return QTableWidgetItem(value)
    item = _NumberItem(numbers.cell(value))
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if value is not None:
        item.setData(RAW_ROLE, value)
    return item


def fill_table(table: QTableWidget, rows: list[list[Any]]) -> None:
    """Put rows of values into a table (see :func:`table_item`) and fit the columns."""
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.setItem(r, c, table_item(value))
    table.resizeColumnsToContents()
