"""What every table shares: copy the selection as tab-separated text (Ctrl+C), select
all, export all its rows as CSV, from a right-click menu; Copy and Select All of the
main window act on whichever widget has the focus."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QComboBox, QFileDialog, QLabel, QLineEdit, QMenu,
                               QMessageBox, QPlainTextEdit, QTextEdit, QWidget)

#: the value behind a formatted cell ("1,234" shows 1234): what Copy and CSV export write
RAW_ROLE = Qt.ItemDataRole.UserRole + 32
#: more cells than this are not put on the clipboard; Export as CSV handles any size
COPY_CELL_LIMIT = 1_000_000
MISSING = "—"


def plain_text(value: Any) -> str:
    """A cell value as text for the clipboard or a CSV file: full precision, no
    thousands separators, empty when missing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    text = str(value)
    return "" if text == MISSING else text


def cell_value(view: QAbstractItemView, row: int, column: int) -> Any:
    """What a cell holds: the raw value when the table kept one, else the text shown,
    else the text of a widget in the cell (a drop-down's choice)."""
    model = view.model()
    index = model.index(row, column)
    raw = index.data(RAW_ROLE)
    if raw is not None:
        return raw
    shown = index.data(Qt.ItemDataRole.DisplayRole)
    if shown is None or shown == "":
        widget = view.indexWidget(index)
        if isinstance(widget, QComboBox):
            return widget.currentText()
        if isinstance(widget, (QLabel, QLineEdit)):
            return widget.text()
    return shown


def column_names(view: QAbstractItemView) -> list[str]:
    model = view.model()
    return [str(model.headerData(c, Qt.Orientation.Horizontal) or "") for c in range(model.columnCount())]


def _selected_block(view: QAbstractItemView) -> tuple[list[int], list[int], Optional[set[tuple[int, int]]]]:
    """Rows and columns touched by the selection (the current cell when nothing is
    selected), and the selected cells when the selection is not one rectangle."""
    selection_model = view.selectionModel()
    ranges = list(selection_model.selection()) if selection_model is not None else []
    if not ranges:
        current = view.currentIndex()
        if not current.isValid():
            return [], [], None
        return [current.row()], [current.column()], None
    rows = sorted({r for rng in ranges for r in range(rng.top(), rng.bottom() + 1)})
    cols = sorted({c for rng in ranges for c in range(rng.left(), rng.right() + 1)})
    area = sum((rng.bottom() - rng.top() + 1) * (rng.right() - rng.left() + 1) for rng in ranges)
    if area == len(rows) * len(cols):
        return rows, cols, None
    cells = {(r, c) for rng in ranges for r in range(rng.top(), rng.bottom() + 1)
             for c in range(rng.left(), rng.right() + 1)}
    return rows, cols, cells


def selection_as_tsv(view: QAbstractItemView, *, headers: bool = False) -> str:
    """The selected cells as tab-separated lines (what spreadsheets paste), with the
    column names first when ``headers``. Cells between selected ones stay empty."""
    rows, cols, cells = _selected_block(view)
    if not rows:
        return ""
    model = view.model()
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    if headers:
        names = column_names(view)
        writer.writerow([names[c] for c in cols])
    block = getattr(model, "block_values", None)
    if block is not None and cells is None:  # the Arrow grid: whole columns at C speed
        for values in block(rows, cols):
            writer.writerow([plain_text(v) for v in values])
    else:
        for r in rows:
            writer.writerow([plain_text(cell_value(view, r, c)) if cells is None or (r, c) in cells else ""
                             for c in cols])
    return out.getvalue()


def selected_cell_count(view: QAbstractItemView) -> int:
    rows, cols, cells = _selected_block(view)
    return len(cells) if cells is not None else len(rows) * len(cols)


def copy_selection(view: QAbstractItemView, *, headers: bool = False) -> str:
    """Put the selected cells on the clipboard as tab-separated text; returns it."""
    count = selected_cell_count(view)
    if count > COPY_CELL_LIMIT:
        _tell(view, "Too much to copy",
              f"{count:,} cells are selected; the clipboard takes up to {COPY_CELL_LIMIT:,}. "
              "Use “Export as CSV…” from the right-click menu for the whole table.")
        return ""
    busy = count > 50_000  # about a second per 500,000 cells: show that it is working
    if busy:
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        text = selection_as_tsv(view, headers=headers)
    finally:
        if busy:
            QApplication.restoreOverrideCursor()
    if text:
        QGuiApplication.clipboard().setText(text)
    return text


def _tell(parent: QWidget, title: str, text: str) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Information, title, text, QMessageBox.StandardButton.Ok, parent)
    box.open()
    return box


class TableActions(QObject):
    """Ctrl+C and a right-click menu (Copy, Copy with column names, Select all, Export as
    CSV…) for one table view. Made by :func:`add_table_actions`."""

    def __init__(self, view: QAbstractItemView, name: str = "table") -> None:
        super().__init__(view)
        self.view = view
        self.name = name
        self.last_menu: Optional[QMenu] = None
        view.installEventFilter(self)
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._show_menu)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        # The view claims Ctrl+C (ShortcutOverride) so it copies the whole selection rather
        # than Qt's default of the current cell, in dialogs too.
        if event.type() in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) \
                and event.matches(QKeySequence.StandardKey.Copy):
            event.accept()
            if event.type() == QEvent.Type.KeyPress:
                copy_selection(self.view)
            return True
        return False

    def menu(self) -> QMenu:
        """The right-click menu for the table."""
        view = self.view
        menu = QMenu(view)
        has_cells = view.model() is not None and view.model().rowCount() > 0
        copy = menu.addAction("Copy", lambda: copy_selection(view))
        copy.setShortcut(QKeySequence(QKeySequence.StandardKey.Copy))
        copy.setEnabled(has_cells)
        menu.addAction("Copy with column names", lambda: copy_selection(view, headers=True)).setEnabled(has_cells)
        if view.selectionMode() in (QAbstractItemView.SelectionMode.ExtendedSelection,
                                    QAbstractItemView.SelectionMode.MultiSelection,
                                    QAbstractItemView.SelectionMode.ContiguousSelection):
            select = menu.addAction("Select all", view.selectAll)
            select.setShortcut(QKeySequence(QKeySequence.StandardKey.SelectAll))
            select.setEnabled(has_cells)
        menu.addSeparator()
        rows = view.model().rowCount() if view.model() is not None else 0
        menu.addAction(f"Export as CSV… ({rows:,} rows)", self.ask_export).setEnabled(has_cells)
        return menu

    def _show_menu(self, pos: QPoint) -> None:
        menu = self.menu()
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.last_menu = menu
        menu.popup(self.view.viewport().mapToGlobal(pos))

    def ask_export(self) -> Optional[Path]:
        """Ask for a file name, then export every row as CSV in the background (see
        :mod:`.table_export`); the file asked for, or None."""
        from .errors import show_error

        path, _ = QFileDialog.getSaveFileName(self.view, "Export the table as CSV",
                                              str(Path.home() / f"{self.name}.csv"), "CSV files (*.csv)")
        if not path:
            return None
        if not path.lower().endswith(".csv"):
            path += ".csv"
        from .table_export import export_in_background

        # written off the UI thread; an error (a missing folder, a full disk) is shown when it ends
        export_in_background(self.view, path,
                             lambda exc, tb: show_error(self.view, "Cannot export the table", exc, tb))
        return Path(path)


def add_table_actions(view: QAbstractItemView, name: str = "table") -> TableActions:
    """Give a table Ctrl+C (the selection as tab-separated text) and a right-click menu
    with Copy, Select all and Export as CSV…; ``name`` is the suggested file name."""
    existing = view.findChild(TableActions)
    if existing is not None:
        existing.name = name
        return existing
    return TableActions(view, name)


# -- the Edit menu: act on whatever has the keyboard focus ---------------------------------


def copy_focused(widget: Optional[QWidget]) -> bool:
    """Copy from the focused widget or the nearest parent that can: a table's selection,
    a chart as an image, a text field's selected text. False when nothing could."""
    w = widget
    while w is not None:
        if isinstance(w, QAbstractItemView):
            copy_selection(w)
            return True
        copy_chart = getattr(w, "copy_to_clipboard", None)
        if callable(copy_chart):
            copy_chart()
            return True
        if isinstance(w, (QLineEdit, QTextEdit, QPlainTextEdit)):
            w.copy()
            return True
        if isinstance(w, QLabel) and w.hasSelectedText():
            QGuiApplication.clipboard().setText(w.selectedText())
            return True
        w = w.parentWidget()
    return False


def select_all_focused(widget: Optional[QWidget]) -> bool:
    """Select everything in the focused table or text field. False when nothing could."""
    w = widget
    while w is not None:
        if isinstance(w, (QAbstractItemView, QLineEdit, QTextEdit, QPlainTextEdit)):
            w.selectAll()
            return True
        w = w.parentWidget()
    return False


# -- light and dark ------------------------------------------------------------------------
