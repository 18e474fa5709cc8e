"""Small reusable widgets."""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPushButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)


class EmptyState(QWidget):
    """A centred message that says what to do next, with one button per action."""

    def __init__(self, title: str, text: str, actions: Sequence[tuple[str, Callable[[], None]]],
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        heading = QLabel(title)
        heading.setObjectName("emptyTitle")
        heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        heading.setFont(font)
        body = QLabel(text)
        body.setWordWrap(True)
        body.setAlignment(Qt.AlignmentFlag.AlignCenter)
        body.setMaximumWidth(520)
        outer.addWidget(heading)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(body)
        row.addStretch(1)
        outer.addLayout(row)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.buttons: dict[str, QPushButton] = {}
        for label, slot in actions:
            button = QPushButton(label)
            button.setMinimumHeight(32)
            button.clicked.connect(slot)
            buttons.addWidget(button)
            self.buttons[label] = button
        buttons.addStretch(1)
        outer.addSpacing(12)
        outer.addLayout(buttons)
        outer.addStretch(2)


def heading(text: str) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 1.35)
    font.setBold(True)
    label.setFont(font)
    return label


def fmt_number(v: Any) -> str:
    """A number for a table cell: thousands separators for counts, 4 significant digits,
    scientific notation for the very large and very small, a dash for missing."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v != v:
            return "—"
        if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
            return f"{v:.3e}"
        return f"{v:,.4g}"
    return str(v)


def make_table(headers: list[str], *, select_rows: bool = True) -> QTableWidget:
    """A read-only table with compact rows and no row numbers."""
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.verticalHeader().setVisible(False)
    t.verticalHeader().setDefaultSectionSize(24)
    t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    if select_rows:
        t.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        t.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
    return t


def table_item(value: Any) -> QTableWidgetItem:
    """Text as it is; numbers formatted and right-aligned."""
    if isinstance(value, str):
        return QTableWidgetItem(value)
    item = QTableWidgetItem(fmt_number(value))
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def fill_table(table: QTableWidget, rows: list[list[Any]]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.setItem(r, c, table_item(value))
    table.resizeColumnsToContents()


class LazyPage(QWidget):
    """A flow page whose charts are built the first time it is shown, so that start-up
    never imports pyqtgraph. ``build()`` makes the widgets once; ``on_show()`` refreshes
    what the page shows each time it appears."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self._built = False

    @property
    def built(self) -> bool:
        return self._built

    def ensure_built(self) -> None:
        if not self._built:
            self._built = True
            self.build()

    def build(self) -> None:
        raise NotImplementedError

    def on_show(self) -> None:
        """Called every time the page appears, after ``build()``."""

    def showEvent(self, event: Any) -> None:
        self.ensure_built()
        self.on_show()
        super().showEvent(event)
