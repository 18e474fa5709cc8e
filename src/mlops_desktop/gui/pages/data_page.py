"""Data page: import files, list datasets, preview them, set column types and roles,
see where each dataset came from, and prepare it with a recipe (the Prepare tab)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QFormLayout, QHeaderView, QLabel,
                               QListWidget, QListWidgetItem, QPushButton, QSplitter,
                               QStackedWidget, QTableView, QTableWidget, QTableWidgetItem,
                               QTabWidget, QVBoxLayout, QWidget)

from ..errors import show_error
from ..import_dialog import ImportDialog, choose_data_file
from ..jobs import JobRunner
from ..state import AppState
from ..paged_table_model import OnDiskTableModel
from ..table_model import ArrowTableModel
from ..undo import RecordedChange, page_stack
from ..page_parts import EmptyState, heading
from ..table_actions import add_table_actions

KINDS = ("numeric", "categorical", "boolean", "datetime", "id", "text", "constant")
ROLES = ("feature", "target", "id", "ignore")
KIND_HELP = {"numeric": "numbers", "categorical": "a few repeated values",
             "boolean": "true/false", "datetime": "dates or times",
             "id": "unique per row, identifies the row", "text": "free text",
             "constant": "one value only (or all missing)"}


def sample_path() -> Path:
    """The bundled penguins sample (installed package, or the source tree)."""
    import importlib.resources

    try:
        p = Path(str(importlib.resources.files("mlops_desktop.resources") / "samples" / "penguins.csv"))
        if p.is_file():
            return p
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parents[4] / "resources" / "samples" / "penguins.csv"


class DataPage(QWidget):
    title = "Data"

    def __init__(self, state: AppState, runner: JobRunner, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        self.current_id: Optional[int] = None
        self._load_generation = 0
        self.undo_stack = page_stack(self, state)  # column types and roles (Edit → Undo)

        self.stack = QStackedWidget()
        self.empty = EmptyState(
            "No datasets yet",
            "Import a CSV, TSV, Excel, Parquet or SQLite file, or start with the sample penguins "
            "dataset. You can also drop a file onto this page. Every import is recorded with a "
            "fingerprint and a snapshot, so models can always be traced back to their data.",
            [("Open a sample dataset", self.open_sample), ("Import a file…", self.import_file)])
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self._build_main())
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.stack)

        state.workspace_changed.connect(lambda: self.refresh(-1))
        state.datasets_changed.connect(self.refresh)
        state.step_suggested.connect(self.suggest_step)
        self.refresh(-1)

    # -- layout -------------------------------------------------------------------------

    def _build_main(self) -> QWidget:
        splitter = QSplitter()
        splitter.setObjectName("dataSplitter")
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.addWidget(heading("Datasets"))
        self.list = QListWidget()
        self.list.currentItemChanged.connect(self._selection_changed)
        ll.addWidget(self.list, 1)
        import_button = QPushButton("Import a file…")
        import_button.clicked.connect(self.import_file)
        sample_button = QPushButton("Open the sample")
        sample_button.clicked.connect(self.open_sample)
        ll.addWidget(import_button)
        ll.addWidget(sample_button)
        hint = QLabel("Tip: drop a file here to import it.")
        hint.setStyleSheet("color: gray")
        ll.addWidget(hint)
        splitter.addWidget(left)

        right = QWidget()
        rl = QVBoxLayout(right)
        self.title_label = heading("")
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        rl.addWidget(self.title_label)
        rl.addWidget(self.summary_label)
        self.tabs = QTabWidget()
        self.memory_model = ArrowTableModel()
        self.disk_model = OnDiskTableModel(self)
        self.preview_model: Any = self.memory_model  # the one shown
        self.preview = QTableView()
        self.preview.setObjectName("dataPreview")  # the data itself: as many columns as the file, so it scrolls
        self.preview.setModel(self.preview_model)
        self.preview.verticalHeader().setDefaultSectionSize(22)
        self.preview.horizontalHeader().setDefaultSectionSize(110)
        self.preview.horizontalHeader().setResizeContentsPrecision(200)  # look at 200 rows, not all
        add_table_actions(self.preview, "data")
        self.tabs.addTab(self.preview, "Preview")
        self.columns_table = QTableWidget(0, 6)
        self.columns_table.setHorizontalHeaderLabels(
            ["Column", "Type", "Role", "Stored as", "Missing", "Distinct"])
        self.columns_table.verticalHeader().setVisible(False)
        self.columns_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.columns_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        add_table_actions(self.columns_table, "columns")
        cols = QWidget()
        cl = QVBoxLayout(cols)
        explain = QLabel("Set what each column holds (type) and what it is for (role). One column "
                         "can be the target, the value a model learns to predict. Id, text and "
                         "constant columns are ignored by default. Every change is recorded.")
        explain.setWordWrap(True)
        cl.addWidget(explain)
        cl.addWidget(self.columns_table, 1)
        self.tabs.addTab(cols, "Columns and roles")
        details = QWidget()
        dl = QVBoxLayout(details)
        self.details_form = QFormLayout()
        dl.addLayout(self.details_form)
        dl.addWidget(QLabel("History"))
        self.history = QTableWidget(0, 3)
        self.history.setHorizontalHeaderLabels(["When (UTC)", "Who", "What"])
        self.history.verticalHeader().setVisible(False)
        self.history.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.history.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        add_table_actions(self.history, "history")
        dl.addWidget(self.history, 1)
        self.tabs.addTab(details, "Details and history")
        from .prepare_panel import PreparePanel

        self.prepare_panel = PreparePanel(self.state, self.runner, self.undo_stack)
        self.tabs.addTab(self.prepare_panel, "Prepare")
        rl.addWidget(self.tabs, 1)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([240, 900])
        return splitter

    # -- listing and selection ------------------------------------------------------------

    def refresh(self, select_id: int = -1) -> None:
        ws = self.state.workspace
        datasets = ws.datasets() if ws is not None else []
        keep = select_id if select_id >= 0 else self.current_id
        self.list.blockSignals(True)
        self.list.clear()
        target_row = 0
        for row, ds in enumerate(datasets):
            item = QListWidgetItem(f"{ds.name}\n{ds.n_rows:,} rows × {ds.n_columns} columns")
            item.setData(Qt.ItemDataRole.UserRole, ds.id)
            item.setToolTip(f"Dataset {ds.id}, imported {ds.created_at[:19].replace('T', ' ')} UTC "
                            f"by {ds.created_by}\n{ds.source_path}")
            self.list.addItem(item)
            if ds.id == keep:
                target_row = row
        self.list.blockSignals(False)
        self.stack.setCurrentIndex(1 if datasets else 0)
        if datasets:
            self.list.setCurrentRow(target_row)
            self._selection_changed(self.list.currentItem(), None)
        else:
            self.current_id = None
            self.prepare_panel.set_dataset(None)

    def _selection_changed(self, item: Optional[QListWidgetItem], _prev: Any) -> None:
        if item is None or self.state.workspace is None:
            return
        dataset_id = int(item.data(Qt.ItemDataRole.UserRole))
        changed = dataset_id != self.current_id
        self.current_id = dataset_id
        self._show_dataset(dataset_id)
        if changed or self.preview_model.rowCount() == 0:
            self._load_preview(dataset_id)
        self.prepare_panel.set_dataset(dataset_id)
        self.state.select_dataset(dataset_id)

    def _show_dataset(self, dataset_id: int) -> None:
        ws = self.state.workspace
        try:
            ds = ws.dataset(dataset_id)
        except Exception as exc:
            show_error(self, "Cannot show the dataset", exc)
            return
        self.title_label.setText(ds.name)
        target = f"target: {ds.target}" if ds.target else "no target set yet"
        self.summary_label.setText(f"{ds.n_rows:,} rows × {ds.n_columns} columns · {target} · "
                                   f"from {Path(ds.source_path).name}")
        self._fill_columns(ds)
        self._fill_details(ds)

    def _fill_columns(self, ds: Any) -> None:
        table = self.columns_table
        table.setRowCount(len(ds.columns))
        for r, col in enumerate(ds.columns):
            table.setItem(r, 0, QTableWidgetItem(col.name))
            kind = QComboBox()
            for k in KINDS:
                kind.addItem(k, k)
                kind.setItemData(kind.count() - 1, KIND_HELP[k], Qt.ItemDataRole.ToolTipRole)
            kind.setCurrentText(col.kind)
            if col.kind != col.inferred_kind:
                kind.setToolTip(f"Inferred as {col.inferred_kind}; changed by a user")
            kind.currentTextChanged.connect(lambda v, c=col.name: self.change_column(c, kind=v))
            table.setCellWidget(r, 1, kind)
            role = QComboBox()
            role.addItems(ROLES)
            role.setCurrentText(col.role)
            role.currentTextChanged.connect(lambda v, c=col.name: self.change_column(c, role=v))
            table.setCellWidget(r, 2, role)
            for c, value in ((3, col.physical_type), (4, f"{col.n_missing:,}"),
                             (5, f"{col.n_distinct:,}")):
                item = QTableWidgetItem(value)
                if c >= 4:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(r, c, item)
        table.resizeColumnsToContents()
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)

    def _fill_details(self, ds: Any) -> None:
        form = self.details_form
        while form.rowCount():
            form.removeRow(0)
        options = ", ".join(f"{k} = {v!r}" for k, v in ds.options.items())
        rows = [("Dataset id", str(ds.id)), ("Source file", ds.source_path),
                *self._made_from(ds, options),
                ("Rows × columns", f"{ds.n_rows:,} × {ds.n_columns}"),
                ("Fingerprint (SHA-256)", ds.fingerprint),
                ("Snapshot", f"{ds.snapshot} ({ds.snapshot_bytes / 1e6:.2f} MB)"),
                ("Prepared" if ds.source_format == "recipe" else "Imported",
                 f"{ds.created_at[:19].replace('T', ' ')} UTC by {ds.created_by}"),
                ("Models trained on it", self._used_by(ds))]
        for label, value in rows:
            field = QLabel(value)
            field.setTextFormat(Qt.TextFormat.PlainText)  # names, paths and steps as typed
            field.setWordWrap(True)
            field.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(f"{label}:", field)
        entries = self.state.workspace.audit_entries(entity_type="dataset", entity_id=ds.id)
        self.history.setRowCount(len(entries))
        for r, e in enumerate(entries):
            for c, text in enumerate((e.at[:19].replace("T", " "), e.actor, e.summary)):
                self.history.setItem(r, c, QTableWidgetItem(text))
        self.history.resizeColumnToContents(0)
        self.history.resizeColumnToContents(1)

    def _used_by(self, ds: Any) -> str:
        """The model versions trained on this dataset, newest first (the Registry page's
        Dataset filter lists them all, with their lineage)."""
        from ...core.registry.lifecycle import search_versions

        page = search_versions(self.state.workspace, dataset=ds.id, limit=8)
        if not page.total:
            return "none yet"
        names = [f"{r.ref} ({r.stage}{', ' + ', '.join(r.aliases) if r.aliases else ''})" for r in page.rows]
        more = f" and {page.total - len(names):,} more" if page.total > len(names) else ""
        return ", ".join(names) + more

    def _show_model(self, model: Any) -> None:
        """Show the grid in memory or the one paging through a snapshot on disk."""
        if self.preview.model() is not model:
            self.preview.setModel(model)
        self.preview_model = model

    def _load_preview(self, dataset_id: int) -> None:
        """Load the snapshot in the background; the grid formats only visible cells. A
        snapshot larger than memory is paged through, never loaded whole."""
        from ...core.data.on_disk import too_large_for_memory

        self._load_generation += 1
        generation = self._load_generation
        root = self.state.workspace.root
        ds = self.state.workspace.dataset(dataset_id)
        self.memory_model.set_table(None)
        self.disk_model.set_on_disk(None)
        paged = too_large_for_memory(ds.snapshot_bytes)
        self._show_model(self.disk_model if paged else self.memory_model)

        def work(progress, cancel):
            from ...core.data.catalog import load_table, snapshot_path
            from ...core.data.on_disk import OnDiskTable
            from ...core.workspace import Workspace

            progress(None, f"Loading {ds.name}")
            with Workspace.open(root) as own:
                if paged:  # the snapshot is checked (hashed) here, then read a row group at a time
                    return OnDiskTable.open(snapshot_path(own, ds), own.snapshots_dir)
                return load_table(own, ds).combine_chunks()  # the copy happens here, not in the UI

        def done(table) -> None:
            if generation == self._load_generation:
                if paged:  # widths stay as they are: the first rows are still being read
                    self.disk_model.set_on_disk(table)
                else:
                    self.memory_model.set_table(table)
                    self.preview.resizeColumnsToContents()

        self.runner.start(f"Loading {ds.name}", work, on_success=done,
                          on_error=lambda e, tb: show_error(self, "Cannot load the dataset", e, tb),
                          visible=ds.n_rows > 100_000)

    # -- actions ------------------------------------------------------------------------

    def change_column(self, column: str, *, kind: Optional[str] = None,
                      role: Optional[str] = None) -> None:
        """Change a column's type or role (recorded); Edit → Undo records the way back."""
        ws, dataset_id = self.state.workspace, self.current_id
        if ws is None or dataset_id is None:
            return
        try:
            ds = ws.dataset(dataset_id)
            col = ds.column(column)
            old = (col.kind, col.role)
            # making another column the target makes the old target a feature: undo restores it
            demoted = ds.target if role == "target" and ds.target not in (None, column) else None
            changed = ws.update_column(dataset_id, column, kind=kind, role=role, actor=self.state.actor)
        except Exception as exc:
            show_error(self, "Cannot change the column", exc)
            self._show_dataset(dataset_id)
            return
        self._show_dataset(dataset_id)
        new = (changed.kind, changed.role)
        if new == old:
            return
        self.undo_stack.push(self._column_change(ds.name, dataset_id, column, old, new, demoted))

    def _column_change(self, name: str, dataset_id: int, column: str, old: tuple[str, str],
                       new: tuple[str, str], demoted: Optional[str]) -> RecordedChange:
        def update(col: str, kind: Optional[str], role: Optional[str]) -> None:
            self.state.workspace.update_column(dataset_id, col, kind=kind, role=role, actor=self.state.actor)

        def backward() -> None:
            update(column, *old)
            if demoted is not None:
                update(demoted, None, "target")

        what = " and ".join(f"{label} {a} → {b}" for label, a, b in (("type", old[0], new[0]), ("role", old[1], new[1]))
                            if a != b)
        return RecordedChange(f"{name}: {column} {what}", self.state, self,
                              forward=lambda: update(column, *new), backward=backward,
                              after=lambda: self.refresh(dataset_id))

    def _made_from(self, ds: Any, options: str) -> list[tuple[str, str]]:
        """How the dataset was made: its format and import options, or the dataset it was
        prepared from and the recipe's steps."""
        from ...core.prepare import PrepareError, recipe_of

        if ds.source_format != "recipe":
            return [("Format", ds.source_format), ("Import options", options)]
        try:
            own = recipe_of(self.state.workspace, ds)
        except PrepareError as exc:
            return [("Prepared from", str(exc))]
        if own is None:
            return [("Format", ds.source_format), ("Import options", options)]
        steps = own.recipe.describe()
        return [("Prepared from", f"{own.parent.name} (dataset {own.parent.id})"),
                (f"Recipe ({len(steps)} step{'s' if len(steps) != 1 else ''})",
                 "\n".join(f"{i}. {step}" for i, step in enumerate(steps, start=1)))]

    def suggest_step(self, dataset_id: int, words: str) -> None:
        """A step offered elsewhere (an Explore alert's): the dataset selected, the Prepare
        tab shown, the step added to its recipe (Edit → Undo takes it back)."""
        if dataset_id != self.current_id:
            self.refresh(dataset_id)
        self.tabs.setCurrentWidget(self.prepare_panel)
        self.prepare_panel.add_step(words)

    def open_sample(self) -> None:
        self.start_import(str(sample_path()), None, None)

    def import_file(self, path: Optional[str] = None) -> None:
        path = path or choose_data_file(self)
        if not path:
            return
        dialog = ImportDialog(path, self.runner, self)
        self.last_dialog = dialog
        dialog.accepted.connect(lambda: self.start_import(str(dialog.path), dialog.options(),
                                                          dialog.dataset_name()))
        dialog.open()

    def start_import(self, path: str, options: Any, name: Optional[str]):
        """Import in the background; the new dataset is selected when done."""
        if self.state.workspace is None:
            return None
        root, actor = self.state.workspace.root, self.state.actor

        def work(progress, cancel):
            from ...core.workspace import Workspace

            with Workspace.open(root) as own:
                return own.import_file(path, options, name=name, actor=actor, progress=progress,
                                       cancel=cancel)

        def done(result) -> None:
            self.current_id = None
            self.state.datasets_changed.emit(result.dataset.id)

        return self.runner.start(f"Importing {Path(path).name}", work, on_success=done,
                                 on_error=lambda e, tb: show_error(self, "Import failed", e, tb))
