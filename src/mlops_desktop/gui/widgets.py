"""Small reusable widgets, and what every table shares: copy the selection as
tab-separated text (Ctrl+C), export all its rows as CSV, from a right-click menu."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QKeySequence, QPalette
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QComboBox, QFileDialog, QHBoxLayout,
                               QLabel, QLineEdit, QMenu, QMessageBox, QPlainTextEdit, QPushButton,
                               QTableWidget, QTableWidgetItem, QTextEdit, QVBoxLayout, QWidget)

from ..core import numbers

#: the value behind a formatted cell ("1,234" shows 1234): what Copy and CSV export write
RAW_ROLE = Qt.ItemDataRole.UserRole + 32
#: more cells than this are not put on the clipboard; Export as CSV handles any size
COPY_CELL_LIMIT = 1_000_000
MISSING = "—"


def write_user_file(path: Path | str, write: Callable[[Path], None], *, what: str) -> Path:
    """Write a file the user asked for through a temporary name (whole or absent), with a
    clear MlopsError for a missing folder or a failed write."""
    from ..core.errors import MlopsError
    from ..core.storage import atomic_write

    path = Path(path).expanduser()
    if not path.parent.is_dir():
        raise MlopsError(f"Cannot save {what}: the folder {path.parent} does not exist.")
    try:
        atomic_write(path, write)
    except OSError as exc:
        raise MlopsError(f"Cannot save {what} to {path}: {exc.strerror or exc}.") from None
    return path


# -- tables: values, copy, CSV ------------------------------------------------------------


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


def dark_palette() -> QPalette:
    """A dark palette for the Fusion style, used when the system asks for dark and the
    platform does not provide one itself."""
    p = QPalette()
    colours = {QPalette.ColorRole.Window: "#2b2b2b", QPalette.ColorRole.WindowText: "#e6e6e6",
               QPalette.ColorRole.Base: "#1f1f1f", QPalette.ColorRole.AlternateBase: "#2b2b2b",
               QPalette.ColorRole.ToolTipBase: "#2b2b2b", QPalette.ColorRole.ToolTipText: "#e6e6e6",
               QPalette.ColorRole.Text: "#e6e6e6", QPalette.ColorRole.Button: "#353535",
               QPalette.ColorRole.ButtonText: "#e6e6e6", QPalette.ColorRole.BrightText: "#ff6b6b",
               QPalette.ColorRole.Link: "#7fb0ff", QPalette.ColorRole.Highlight: "#3d6fb6",
               QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.PlaceholderText: "#8a8a8a",
               QPalette.ColorRole.Light: "#505050", QPalette.ColorRole.Midlight: "#404040",
               QPalette.ColorRole.Mid: "#303030", QPalette.ColorRole.Dark: "#151515",
               QPalette.ColorRole.Shadow: "#000000"}
    for role, colour in colours.items():
        p.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7f7f7f"))
    return p


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def set_app_palette(app: QApplication, palette: QPalette) -> None:
    """Change the whole app's palette. Widgets with their own style sheet keep the colours
    they were polished with, so they are polished again."""
    app.setPalette(palette)
    for widget in app.allWidgets():
        if widget.styleSheet():
            widget.setStyleSheet(widget.styleSheet())


def follow_system_color_scheme(app: QApplication) -> None:
    """Follow the system's light or dark setting, now and when it changes. Where the
    platform already gives a dark palette nothing is changed; where it does not (some
    Linux desktops, older Windows styles), the Fusion style with a dark palette is used.
    Charts re-colour themselves on the palette change."""
    hints = app.styleHints()
    original = {"palette": QPalette(app.palette()), "style": app.style().name()}

    def apply(*_args: Any) -> None:
        scheme = hints.colorScheme()
        ours = bool(app.property("mlopsDarkPalette"))
        if scheme == Qt.ColorScheme.Dark and not is_dark(app.palette()):
            if app.style().name().lower() != "fusion":
                app.setStyle("Fusion")  # native light-only styles ignore a dark palette
            set_app_palette(app, dark_palette())
            app.setProperty("mlopsDarkPalette", True)
        elif scheme != Qt.ColorScheme.Dark and ours:
            if app.style().name() != original["style"]:
                app.setStyle(original["style"])
            set_app_palette(app, original["palette"])
            app.setProperty("mlopsDarkPalette", False)

    hints.colorSchemeChanged.connect(apply)
    apply()


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
    label.setTextFormat(Qt.TextFormat.PlainText)  # headings name datasets, columns, checks
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 1.35)
    font.setBold(True)
    label.setFont(font)
    return label


def find_data(combo: QComboBox, value: Any) -> int:
    """The index of the item holding ``value``, compared by value, or -1. (Qt's
    ``findData`` compares Python objects such as tuples by identity.)"""
    return next((i for i in range(combo.count()) if combo.itemData(i) == value), -1)


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


class _ReadsWhenStale:
    """Re-reads the workspace when something changed: at once while the page shows, else
    the next time it appears (a hidden page does no work). Subclasses implement
    ``reload()`` and clear ``stale`` there."""

    stale = True

    def reload(self) -> None:
        raise NotImplementedError

    def mark_stale(self) -> None:
        self.stale = True
        if self.isVisible():  # type: ignore[attr-defined]
            self.reload()


class ReloadingPage(_ReadsWhenStale, QWidget):
    """A flow page that re-reads the workspace when something changed (see ``mark_stale``)."""

    def showEvent(self, event: Any) -> None:
        if self.stale:
            self.reload()
        super().showEvent(event)

    def go_to(self, title: str) -> None:
        """Show another page of the main window."""
        go = getattr(self.window(), "go_to", None)
        if go is not None:
            go(title)


class LazyPage(QWidget):
    """A flow page whose charts are built the first time it is shown, so that start-up
    never imports pyqtgraph. ``build()`` makes the widgets once; ``on_show()`` refreshes
    what the page shows each time it appears. ``page_built`` is emitted after ``build()``
    (the window then restores the page's splitter positions)."""

    page_built = Signal()

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
            self.page_built.emit()

    def build(self) -> None:
        raise NotImplementedError

    def on_show(self) -> None:
        """Called every time the page appears, after ``build()``."""

    def showEvent(self, event: Any) -> None:
        self.ensure_built()
        self.on_show()
        super().showEvent(event)


class LazyReloadingPage(_ReadsWhenStale, LazyPage):
    """A lazy page (charts built when first shown) that re-reads the workspace only
    after something changed (see ``mark_stale``), never while hidden."""

    def on_show(self) -> None:
        if self.stale:
            self.reload()
