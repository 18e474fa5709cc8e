"""The import dialog: detected options the user can override, with a live preview."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from markupsafe import Markup
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QTableView,
                               QVBoxLayout, QWidget)

from .jobs import JobRunner
from .table_model import ArrowTableModel

PREVIEW_ROWS = 200
FILE_FILTER = ("Data files (*.csv *.tsv *.txt *.tab *.dat *.xlsx *.xlsm *.parquet *.pq *.sqlite "
               "*.sqlite3 *.db);;All files (*)")
DELIMITERS = [("Detect", None), ("Comma  ,", ","), ("Semicolon  ;", ";"), ("Tab", "\t"),
              ("Pipe  |", "|")]
ENCODINGS = [("Detect", None), ("UTF-8", "utf-8"), ("UTF-8 with BOM", "utf-8-sig"),
             ("Windows (cp1252)", "cp1252"), ("Latin-1 (ISO 8859-1)", "latin-1"), ("UTF-16", "utf-16")]
DECIMALS = [("Detect", None), ("Point  1.5", "."), ("Comma  1,5", ",")]


def choose_data_file(parent: QWidget) -> Optional[str]:
    path, _ = QFileDialog.getOpenFileName(parent, "Import a data file", "", FILE_FILTER)
    return path or None


class ImportDialog(QDialog):
    """Asks how to read one file. ``options()`` and ``dataset_name()`` give the answer."""

    def __init__(self, path: str, runner: JobRunner, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import a data file")
        self.resize(900, 620)
        self.runner = runner
        self._generation = 0
        self.path = Path(path)
        from ..core.data.readers import detect_format

        try:
            self.format = detect_format(self.path)
        except Exception:
            self.format = "csv"

        layout = QVBoxLayout(self)
        form = QFormLayout()
        path_row = QHBoxLayout()
        self.path_edit = QLineEdit(str(self.path))
        self.path_edit.setReadOnly(True)
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(browse)
        form.addRow("File:", path_row)
        self.name_edit = QLineEdit(self.path.stem)
        self.name_edit.setPlaceholderText("Dataset name")
        self._name_edited = False
        self.name_edit.textEdited.connect(lambda _t: setattr(self, "_name_edited", True))
        form.addRow("Dataset name:", self.name_edit)
        self.format_label = QLabel()
        form.addRow("Format:", self.format_label)

        self.delimiter = self._combo(DELIMITERS)
        self.encoding = self._combo(ENCODINGS)
        self.decimal = self._combo(DECIMALS)
        self.sheet = QComboBox()
        self.table = QComboBox()
        self._rows: dict[str, QWidget] = {}
        for label, widget in (("Delimiter:", self.delimiter), ("Encoding:", self.encoding),
                              ("Decimal mark:", self.decimal), ("Sheet:", self.sheet),
                              ("Table:", self.table)):
            form.addRow(label, widget)
            self._rows[label] = widget
        layout.addLayout(form)

        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.model = ArrowTableModel()
        self.preview = QTableView()
        self.preview.setModel(self.model)
        self.preview.verticalHeader().setDefaultSectionSize(22)
        from .table_actions import add_table_actions

        add_table_actions(self.preview, "preview")
        layout.addWidget(self.preview, 1)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.import_button = self.buttons.addButton("Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        for combo in (self.delimiter, self.encoding, self.decimal, self.sheet, self.table):
            combo.currentIndexChanged.connect(self.refresh_preview)
        self._setup_format()

    @staticmethod
    def _combo(items: list[tuple[str, Any]]) -> QComboBox:
        combo = QComboBox()
        for label, value in items:
            combo.addItem(label, value)
        return combo

    def _browse(self) -> None:
        path = choose_data_file(self)
        if path:
            self.path = Path(path)
            self.path_edit.setText(path)
            self.name_edit.setText(self.path.stem)
            self._name_edited = False
            from ..core.data.readers import detect_format

            try:
                self.format = detect_format(self.path)
            except Exception:
                self.format = "csv"
            self._setup_format()

    def _setup_format(self) -> None:
        from ..core.data.readers import list_sheets, list_tables

        names = {"csv": "Delimited text (CSV, TSV, TXT)", "excel": "Excel workbook",
                 "parquet": "Parquet", "sqlite": "SQLite database"}
        self.format_label.setText(names[self.format])
        text = self.format == "csv"
        for label in ("Delimiter:", "Encoding:", "Decimal mark:"):
            self._set_row_visible(label, text)
        self._set_row_visible("Sheet:", self.format == "excel")
        self._set_row_visible("Table:", self.format == "sqlite")
        for combo, lister in ((self.sheet, list_sheets), (self.table, list_tables)):
            combo.blockSignals(True)
            combo.clear()
            combo.blockSignals(False)
        try:
            if self.format == "excel":
                self.sheet.blockSignals(True)
                self.sheet.addItems(list_sheets(self.path))
                self.sheet.blockSignals(False)
            elif self.format == "sqlite":
                self.table.blockSignals(True)
                self.table.addItems(list_tables(self.path))
                self.table.blockSignals(False)
        except Exception as exc:
            self._show_problem(str(exc))
            return
        self.refresh_preview()

    def _set_row_visible(self, label: str, visible: bool) -> None:
        form = self.layout().itemAt(0).layout()
        form.setRowVisible(self._rows[label], visible)

    def options(self):
        """The user's choices as core import options (``None`` = detect)."""
        from ..core.data.readers import ImportOptions

        if self.format == "csv":
            return ImportOptions(format="csv", delimiter=self.delimiter.currentData(),
                                 encoding=self.encoding.currentData(),
                                 decimal=self.decimal.currentData())
        if self.format == "excel":
            return ImportOptions(format="excel", sheet=self.sheet.currentText() or None)
        if self.format == "sqlite":
            return ImportOptions(format="sqlite", table=self.table.currentText() or None)
        return ImportOptions(format="parquet")

    def dataset_name(self) -> Optional[str]:
        return self.name_edit.text().strip() or None

    def _show_problem(self, message: str) -> None:
        self.status.setText(Markup("<span style='color:#b00020'>{}</span>").format(message))
        self.import_button.setEnabled(False)
        self.model.set_table(None)

    def refresh_preview(self) -> None:
        """Read the first rows in the background; a newer request supersedes older ones."""
        self._generation += 1
        generation = self._generation
        path = self.path
        try:
            options = self.options()
        except Exception as exc:
            self._show_problem(str(exc))
            return
        self.status.setText("Reading a preview…")

        def work(progress, cancel):
            from ..core.data.readers import read_table

            return read_table(path, options, max_rows=PREVIEW_ROWS, cancel=cancel)

        def done(result) -> None:
            if generation != self._generation:
                return
            used = result.options
            parts = []
            if "delimiter" in used:
                shown = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}
                parts.append(f"delimiter {shown.get(used['delimiter'], repr(used['delimiter']))}")
                parts.append(f"encoding {used['encoding']}")
                parts.append(f"decimal mark '{used['decimal']}'")
            if "sheet" in used:
                parts.append(f"sheet {used['sheet']!r}")
            if "table" in used:
                parts.append(f"table {used['table']!r}")
            read = f"Reading with {', '.join(parts)}. " if parts else ""
            if not self._name_edited:
                self.name_edit.setText(result.suggested_name)
            self.status.setText(f"{read}Showing the first {result.table.num_rows} rows and "
                                f"{result.table.num_columns} columns.")
            self.model.set_table(result.table)
            self.preview.resizeColumnsToContents()
            self.import_button.setEnabled(True)

        def failed(exc, tb) -> None:
            if generation == self._generation:
                self._show_problem(str(exc))

        self.runner.start("Preview", work, on_success=done, on_error=failed, visible=False)
