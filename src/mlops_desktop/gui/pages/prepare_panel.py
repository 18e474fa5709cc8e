"""The Data page's Prepare tab: a recipe of steps shown in words, each editable, with
undo and redo, a live preview of the rows each step changes, and Apply, which makes a
new dataset in the background.

The recipe being edited is the tab's own (nothing is recorded until Apply); its edits
go on the Data page's undo stack, so Edit → Undo takes them back as it takes back a
column's type. The preview belongs to (workspace, dataset, recipe, selected step) and
is drawn from a :class:`Selection`: a preview computed for an earlier recipe is dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QUndoStack
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QListWidget, QListWidgetItem, QPushButton, QSplitter, QVBoxLayout, QWidget)

from ...core import numbers
from ..choice_undo import ChoiceChange
from ..errors import show_error
from ..jobs import JobRunner
from ..selection import Selection
from ..state import AppState
from ..page_parts import heading
from ..tables import make_table, table_item

ERROR_COLOUR = QColor("#b3261e")
#: the kinds of step offered, with the words each starts from (COLUMN: the chosen column)
TEMPLATES = [("Filter rows", "filter COLUMN > 0"), ("Derive a column", "derive new_column = log(COLUMN)"),
             ("Set impossible values to missing", "replace COLUMN == 0 with missing"),
             ("Recode or merge categories", "recode COLUMN: OLD -> NEW"),
             ("Declare an order", "order COLUMN: LEVELS"), ("Cast a type", "cast COLUMN as number"),
             ("Drop columns", "drop COLUMN"), ("Drop duplicate rows", "drop duplicates")]


class StepOffer(QWidget):
    """A row offering recipe steps (an Explore alert's, a check's) with "Add to the
    recipe", which sends them to the dataset's recipe on the Data page's Prepare tab.
    ``lead`` starts the sentence naming the steps; without ``empty``, the row hides when
    there is nothing to offer, with it the row says ``empty`` and the button is greyed."""

    def __init__(self, state: AppState, lead: str, empty: str = "", parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.state, self.lead, self.empty = state, lead, empty
        self.dataset_id: Optional[int] = None
        self.steps: list[str] = []
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.button = QPushButton("Add to the recipe")
        self.button.setToolTip("Add to the dataset's recipe (Data page, Prepare tab), where you see what "
                               "it changes before you apply it")
        self.button.clicked.connect(self.add)
        row.addWidget(self.note, 1)
        row.addWidget(self.button)
        self.offer(None, [])

    def offer(self, dataset_id: Optional[int], steps: list[str]) -> None:
        """Offer ``steps`` (in words) for the dataset ``dataset_id``; none: nothing offered."""
        self.dataset_id = dataset_id
        self.steps = list(steps) if dataset_id is not None else []
        self.note.setText(f"{self.lead}: {'; '.join(self.steps)}" if self.steps else self.empty)
        self.button.setEnabled(bool(self.steps))
        shown = bool(self.steps or self.empty)
        # showing a widget without a parent opens it as a window of its own (for a moment,
        # until a layout takes it): a widget with no parent yet is only ever hidden here
        if self.parentWidget() is not None or not shown:
            self.setVisible(shown)

    def add(self) -> None:
        for words in self.steps:
            self.state.step_suggested.emit(self.dataset_id, words)


class PreparePanel(QWidget):
    """Builds a recipe for the Data page's selected dataset and applies it."""

    def __init__(self, state: AppState, runner: JobRunner, undo_stack: QUndoStack,
                 parent: Optional[QWidget] = None) -> None:
        from ...core.prepare import Recipe

        super().__init__(parent)
        self.state, self.runner, self.undo_stack = state, runner, undo_stack
        self.dataset_id: Optional[int] = None
        self.recipe = Recipe()
        self.selection = Selection(self._render)
        self._own: Any = None  # how the current dataset was prepared, if it was
        #: the preview's rows of the current dataset: (dataset id, fingerprint, rows, table rows)
        self._sample: Optional[tuple[int, str, Any, int]] = None
        self._build()
        state.workspace_changed.connect(self._forget)

    # -- layout -------------------------------------------------------------------------

    def _build(self) -> None:
        from mlops_model_support.expressions import FUNCTIONS

        outer = QVBoxLayout(self)
        self.origin = QLabel()
        self.origin.setWordWrap(True)
        self.origin.setTextFormat(Qt.TextFormat.PlainText)
        self.edit_origin = QPushButton("Edit its recipe")
        self.edit_origin.setToolTip("Start again from the dataset it was prepared from, with its recipe to change")
        self.edit_origin.clicked.connect(self.edit_own_recipe)
        row = QHBoxLayout()
        row.addWidget(self.origin, 1)
        row.addWidget(self.edit_origin)
        self.edit_origin.setVisible(False)
        outer.addLayout(row)

        splitter = QSplitter()
        splitter.setObjectName("prepareSplitter")
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(heading("Recipe"))
        self.steps = QListWidget()
        self.steps.setWordWrap(True)
        self.steps.currentRowChanged.connect(self._step_chosen)
        ll.addWidget(self.steps, 2)
        buttons = QHBoxLayout()
        for text, slot, tip in (("Undo", self.undo_stack.undo, "Take back the last change (Ctrl+Z)"),
                                ("Redo", self.undo_stack.redo, "Make it again (Ctrl+Shift+Z)"),
                                ("Up", lambda: self.move_step(-1), "Move the step earlier"),
                                ("Down", lambda: self.move_step(1), "Move the step later"),
                                ("Remove", self.remove_step, "Remove the step"),
                                ("Clear", self.clear_steps, "Start an empty recipe")):
            b = QPushButton(text)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            buttons.addWidget(b)
            setattr(self, f"{text.lower()}_button", b)
        self.undo_button.setEnabled(False)
        self.redo_button.setEnabled(False)
        self.undo_stack.canUndoChanged.connect(self.undo_button.setEnabled)
        self.undo_stack.canRedoChanged.connect(self.redo_button.setEnabled)
        ll.addLayout(buttons)

        ll.addWidget(QLabel("Step, in words:"))
        kinds = QHBoxLayout()
        self.kind = QComboBox()
        self.kind.addItem("Start a step of a kind…")  # no words: the analyst types them
        for label, words in TEMPLATES:
            self.kind.addItem(label, words)
        self.kind.activated.connect(self._template_chosen)
        kinds.addWidget(self.kind, 1)
        ll.addLayout(kinds)
        self.step_edit = QLineEdit()
        self.step_edit.setPlaceholderText("filter carat <= 2.5   ·   derive log_price = log(price)")
        self.step_edit.textChanged.connect(self._check_words)
        self.step_edit.returnPressed.connect(self.add_step)
        ll.addWidget(self.step_edit)
        self.feedback = QLabel()
        self.feedback.setWordWrap(True)
        self.feedback.setTextFormat(Qt.TextFormat.PlainText)
        ll.addWidget(self.feedback)
        edits = QHBoxLayout()
        self.add_button = QPushButton("Add step")
        self.add_button.clicked.connect(self.add_step)
        self.update_button = QPushButton("Change the selected step")
        self.update_button.clicked.connect(self.update_step)
        edits.addWidget(self.add_button)
        edits.addWidget(self.update_button)
        ll.addLayout(edits)
        help_text = QLabel("Columns (double-click to insert); names with spaces go between backticks. "
                           "Functions: " + ", ".join(FUNCTIONS) + ".")
        help_text.setWordWrap(True)
        help_text.setStyleSheet("color: gray")
        help_text.setToolTip("\n".join(f"{f.name}({f.arguments}): {f.help}" for f in FUNCTIONS.values()))
        ll.addWidget(help_text)
        self.columns = QListWidget()
        self.columns.itemDoubleClicked.connect(self._insert_column)
        ll.addWidget(self.columns, 1)
        splitter.addWidget(left)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        self.preview_title = heading("Preview")
        rl.addWidget(self.preview_title)
        self.preview_note = QLabel("Add a step to see the rows it changes.")
        self.preview_note.setWordWrap(True)
        self.preview_note.setTextFormat(Qt.TextFormat.PlainText)
        rl.addWidget(self.preview_note)
        self.changed = make_table(["—"], name="changed-rows")
        rl.addWidget(self.changed, 1)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([430, 520])
        outer.addWidget(splitter, 1)

        bottom = QHBoxLayout()
        load = QPushButton("Open a recipe…")
        load.clicked.connect(self.open_recipe)
        save = QPushButton("Save the recipe…")
        save.clicked.connect(self.save_recipe)
        bottom.addWidget(load)
        bottom.addWidget(save)
        bottom.addStretch(1)
        bottom.addWidget(QLabel("New dataset:"))
        self.name_edit = QLineEdit()
        self.name_edit.setMinimumWidth(200)
        bottom.addWidget(self.name_edit)
        self.apply_button = QPushButton("Apply the recipe")
        self.apply_button.setToolTip("Make a new dataset from this one with the recipe (recorded, with its "
                                     "own snapshot and fingerprint)")
        self.apply_button.clicked.connect(self.apply)
        bottom.addWidget(self.apply_button)
        outer.addLayout(bottom)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        outer.addWidget(self.status)
        self._render()

    # -- the dataset ----------------------------------------------------------------------

    def set_dataset(self, dataset_id: Optional[int]) -> None:
        """Follow the Data page's selection; the recipe being edited stays (it may be
        applied to another dataset)."""
        if dataset_id == self.dataset_id:
            return
        self.dataset_id = dataset_id
        ws = self.state.workspace
        ds = ws.dataset(dataset_id) if ws is not None and dataset_id is not None else None
        self.columns.clear()
        if ds is not None:
            for col in ds.columns:
                item = QListWidgetItem(f"{col.name}  ·  {col.kind}")
                item.setData(Qt.ItemDataRole.UserRole, col.name)
                self.columns.addItem(item)
            self.name_edit.setText(f"{ds.name} (prepared)")
        self._show_origin(ds)
        self._refresh()

    def _show_origin(self, ds: Any) -> None:
        from ...core.prepare import PrepareError, recipe_of

        self._own = None
        text = ""
        if ds is not None:
            try:
                self._own = recipe_of(self.state.workspace, ds)
            except PrepareError as exc:
                text = str(exc)
            if self._own is not None:
                steps = len(self._own.recipe)
                text = (f"{ds.name} was prepared from {self._own.parent.name} by a recipe of {steps} "
                        f"step{'s' if steps != 1 else ''}: " + "; ".join(self._own.recipe.describe()))
            elif not text:
                text = (f"{ds.name} is an import. Build a recipe of steps below; Apply makes a new dataset and "
                        "leaves this one as it is.")
        self.origin.setText(text)
        self.edit_origin.setVisible(self._own is not None)

    def edit_own_recipe(self) -> None:
        """Go back to the dataset this one was prepared from, with its recipe to edit."""
        if self._own is None:
            return
        own = self._own
        self._change(own.recipe, "Edit the recipe of the dataset")
        self.state.datasets_changed.emit(own.parent.id)  # the Data page selects the parent

    def _forget(self) -> None:
        from ...core.prepare import Recipe

        self._sample = None
        self.dataset_id = None
        self.recipe = Recipe()
        self._fill_steps()
        self.selection.select(None)

    # -- editing ------------------------------------------------------------------------------

    def _current_column(self) -> Optional[str]:
        item = self.columns.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _template_chosen(self, index: int) -> None:
        from mlops_model_support.recipe import column_words

        words = self.kind.itemData(index)
        if not words:
            return
        column = self._current_column()
        if column is not None:
            words = words.replace("COLUMN", column_words(column))
            if words.startswith("order ") and self._sample is not None and column in self._sample[2].columns:
                from mlops_model_support.labels import category_labels
                from mlops_model_support.recipe import value_words

                levels = sorted({v for v in category_labels(self._sample[2][column]) if isinstance(v, str)})
                words = words.replace("LEVELS", " < ".join(value_words(v) for v in levels[:50]))
        self.step_edit.setText(words)
        self.step_edit.setFocus()

    def _insert_column(self, item: QListWidgetItem) -> None:
        from mlops_model_support.recipe import column_words

        self.step_edit.insert(column_words(item.data(Qt.ItemDataRole.UserRole)))
        self.step_edit.setFocus()

    def _parsed(self) -> Any:
        from mlops_model_support.recipe import RecipeError, parse_step

        try:
            return parse_step(self.step_edit.text())
        except RecipeError as exc:
            return exc

    def _check_words(self) -> None:
        if not self.step_edit.text().strip():
            self.feedback.setText("")
            return
        step = self._parsed()
        ok = not isinstance(step, Exception)
        self.feedback.setStyleSheet("" if ok else f"color: {ERROR_COLOUR.name()}")
        self.feedback.setText(f"Reads as: {step.describe()}" if ok else str(step))
        self.add_button.setEnabled(ok)
        self.update_button.setEnabled(ok and self.steps.currentRow() >= 0)

    def add_step(self, words: Optional[str] = None) -> bool:
        """Add the step in the editor (or ``words``) at the end of the recipe."""
        from ...core.prepare import Recipe

        if isinstance(words, str):
            self.step_edit.setText(words)
        step = self._parsed()
        if isinstance(step, Exception):
            self._check_words()
            return False
        self._change(self.recipe + Recipe((step,)), f"Add: {step.describe()}", select=len(self.recipe))
        self.step_edit.clear()
        return True

    def update_step(self) -> None:
        from ...core.prepare import Recipe

        row = self.steps.currentRow()
        step = self._parsed()
        if row < 0 or isinstance(step, Exception):
            return
        steps = list(self.recipe.steps)
        steps[row] = step
        self._change(Recipe(tuple(steps)), f"Change step {row + 1}: {step.describe()}", select=row)

    def move_step(self, by: int) -> None:
        from ...core.prepare import Recipe

        row = self.steps.currentRow()
        to = row + by
        if row < 0 or not 0 <= to < len(self.recipe):
            return
        steps = list(self.recipe.steps)
        steps[row], steps[to] = steps[to], steps[row]
        self._change(Recipe(tuple(steps)), f"Move step {row + 1} {'up' if by < 0 else 'down'}", select=to)

    def remove_step(self) -> None:
        from ...core.prepare import Recipe

        row = self.steps.currentRow()
        if row < 0:
            return
        steps = list(self.recipe.steps)
        gone = steps.pop(row)
        self._change(Recipe(tuple(steps)), f"Remove: {gone.describe()}", select=min(row, len(steps) - 1))

    def clear_steps(self) -> None:
        from ...core.prepare import Recipe

        if len(self.recipe):
            self._change(Recipe(), "Clear the recipe")

    def _change(self, recipe: Any, text: str, select: Optional[int] = None) -> None:
        before = self.recipe
        self.show_recipe(recipe, select)
        self.undo_stack.push(ChoiceChange(text, self.show_recipe, before, recipe))

    def show_recipe(self, recipe: Any, select: Optional[int] = None) -> None:
        """Make ``recipe`` the one being edited (also Undo and Redo)."""
        self.recipe = recipe
        self._fill_steps(select)
        self._refresh()

    def _fill_steps(self, select: Optional[int] = None) -> None:
        keep = self.steps.currentRow() if select is None else select
        self.steps.blockSignals(True)
        self.steps.clear()
        for i, step in enumerate(self.recipe.steps):
            self.steps.addItem(QListWidgetItem(f"{i + 1}. {step.describe()}"))
        if len(self.recipe):
            self.steps.setCurrentRow(max(0, min(keep, len(self.recipe) - 1)))
        self.steps.blockSignals(False)
        self.update_button.setEnabled(self.steps.currentRow() >= 0 and bool(self.step_edit.text().strip()))

    def _step_chosen(self, row: int) -> None:
        if 0 <= row < len(self.recipe):
            self.step_edit.setText(self.recipe.steps[row].describe())
        self._refresh()

    # -- the preview ------------------------------------------------------------------------

    def _refresh(self) -> None:
        """Preview the recipe on the dataset's sample, in the background; a preview that
        belongs to an earlier recipe or step is dropped when it arrives."""
        ws = self.state.workspace
        row = self.steps.currentRow()
        key = (self.state.generation, self.dataset_id, self.recipe.sha256, row)
        if not self.selection.select(key) or ws is None or self.dataset_id is None or not len(self.recipe):
            self._render()
            return
        root, dataset_id, recipe = ws.root, self.dataset_id, self.recipe
        cached = self._sample if self._sample is not None and self._sample[0] == dataset_id else None

        def work(progress, cancel):
            from ...core.prepare import dataset_preview_sample, preview_recipe
            from ...core.workspace import Workspace

            sample = cached
            if sample is None:
                progress(None, "Reading the rows to preview")
                with Workspace.open(root) as own:
                    ds = own.dataset(dataset_id)
                    sample = (ds.id, ds.fingerprint, dataset_preview_sample(own, ds), ds.n_rows)
            cancel.check()
            return sample, preview_recipe(sample[2], recipe, selected=row if row >= 0 else None, of_rows=sample[3])

        def done(result) -> None:
            sample, preview = result
            if self.dataset_id == sample[0]:
                self._sample = sample
            self.selection.show(key, preview)

        self.runner.start("Previewing the recipe", work, on_success=done,
                          on_error=lambda e, tb: show_error(self, "Cannot preview the recipe", e, tb),
                          visible=False)

    def _render(self) -> None:
        """Draw the steps' effects and the selected step's changed rows from the selection."""
        from ...core.prepare import effect_in_words

        preview = self.selection.result
        has_steps = len(self.recipe) > 0
        self.apply_button.setEnabled(has_steps and self.dataset_id is not None)
        for name in ("remove", "up", "down", "clear"):
            getattr(self, f"{name}_button").setEnabled(has_steps)
        for i in range(self.steps.count()):
            item = self.steps.item(i)
            words = f"{i + 1}. {self.recipe.steps[i].describe()}"
            item.setForeground(QBrush())
            item.setToolTip("")
            if preview is not None and i < len(preview.steps):
                words += f"\n     {effect_in_words(preview.steps[i])}"
            elif preview is not None and i == preview.failed_step:
                words += f"\n     cannot be applied: {preview.error}"
                item.setForeground(QBrush(ERROR_COLOUR))
                item.setToolTip(preview.error)
            item.setText(words)
        self._show_changed(preview)

    def _show_changed(self, preview: Any) -> None:
        row = self.steps.currentRow()
        table = self.changed
        if preview is None or row < 0 or row >= len(self.recipe):
            self.preview_title.setText("Preview")
            self.preview_note.setText("Computing the preview…" if has_work(self) else
                                      "Add a step to see the rows it changes.")
            _empty(table)
            return
        step = self.recipe.steps[row]
        self.preview_title.setText(f"Step {row + 1}: {step.describe()}")
        sample = (f"on a sample of {numbers.count(preview.rows)} of {numbers.count(preview.of_rows)} rows"
                  if preview.sampled else f"on all {numbers.count(preview.rows)} rows")
        if row == preview.failed_step:
            self.preview_note.setText(f"This step cannot be applied ({sample}): {preview.error}")
            _empty(table)
            return
        if row >= len(preview.steps):
            self.preview_note.setText("An earlier step cannot be applied; fix it first.")
            _empty(table)
            return
        effect = preview.steps[row]
        from ...core.prepare import effect_in_words

        frame = preview.changed
        listed = 0 if frame is None else len(frame)
        what = ("rows it leaves out" if effect.rows_after != effect.rows_before else "rows it changes")
        self.preview_note.setText(f"{sample[:1].upper()}{sample[1:]}: {effect_in_words(effect)}. "
                                  + (f"The {what}: {numbers.count(preview.changed_total)}"
                                     + (f" (the first {listed} shown)." if listed < preview.changed_total else ".")
                                     if preview.changed_total else "No row changes."))
        if frame is None or not listed:
            _empty(table)
            return
        table.setColumnCount(len(frame.columns))
        table.setHorizontalHeaderLabels([str(c) for c in frame.columns])
        table.setRowCount(listed)
        for r in range(listed):
            for c, name in enumerate(frame.columns):
                table.setItem(r, c, table_item(_shown(frame.iat[r, c])))
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)

    # -- files and applying -----------------------------------------------------------------

    def open_recipe(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a recipe", str(Path.home()), "Recipes (*.json)")
        if path:
            self.load_recipe(path)

    def load_recipe(self, path: str) -> None:
        """Replace the recipe being edited by a recipe file's (every step checked)."""
        from ...core.prepare import read_recipe

        try:
            recipe = read_recipe(path)
        except Exception as exc:
            show_error(self, "Cannot open the recipe", exc)
            return
        self._change(recipe, f"Open {Path(path).name}", select=0)

    def save_recipe(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the recipe", str(Path.home() / "recipe.json"),
                                              "Recipes (*.json)")
        if path:
            self.write_recipe(path)

    def write_recipe(self, path: str) -> None:
        from ..user_files import write_user_file

        text = self.recipe.canonical_json()
        try:
            write_user_file(path, lambda p: p.write_text(text + "\n", encoding="utf-8"), what="the recipe")
        except Exception as exc:
            show_error(self, "Cannot save the recipe", exc)
            return
        self.status.setText(f"Recipe saved to {path}")

    def apply(self):
        """Make the new dataset in the background; the Data page then selects it."""
        ws = self.state.workspace
        if ws is None or self.dataset_id is None or not len(self.recipe):
            return None
        root, actor, dataset_id, recipe = ws.root, self.state.actor, self.dataset_id, self.recipe
        name = self.name_edit.text().strip() or None

        def work(progress, cancel):
            from ...core.prepare import prepare_dataset
            from ...core.workspace import Workspace

            with Workspace.open(root) as own:
                return prepare_dataset(own, dataset_id, recipe, name=name, actor=actor, progress=progress,
                                       cancel=cancel)

        def done(result) -> None:
            ds = result.dataset
            kept = ds.n_rows / result.parent.n_rows if result.parent.n_rows else 0.0
            self.status.setText(f"Made {ds.name}: {numbers.count(ds.n_rows)} rows ({numbers.share(kept)} of "
                                f"{result.parent.name}), {ds.n_columns} columns.")
            self.state.datasets_changed.emit(ds.id)

        self.apply_button.setEnabled(False)
        self.status.setText("Applying the recipe…")
        return self.runner.start(f"Preparing {name or 'a dataset'}", work, on_success=done,
                                 on_error=lambda e, tb: (self.status.setText(""),
                                                         show_error(self, "Cannot apply the recipe", e, tb)),
                                 on_cancel=lambda: self.status.setText("Cancelled: nothing was made."))


def _empty(table: Any) -> None:
    """No rows, and no headers left from another step's preview."""
    table.setRowCount(0)
    table.setColumnCount(1)
    table.setHorizontalHeaderLabels(["—"])


def has_work(panel: PreparePanel) -> bool:
    return panel.dataset_id is not None and len(panel.recipe) > 0


def _shown(value: Any) -> Any:
    """A cell of the preview: numbers as numbers, a missing value as the word, the rest as text."""
    import numpy as np
    import pandas as pd

    if value is None or value is pd.NaT or (isinstance(value, (float, np.floating)) and np.isnan(value)):
        return "missing"
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return str(value)
