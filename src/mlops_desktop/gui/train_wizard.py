"""The training wizard: dataset → target and task → features → split → preprocessing
→ models → cross-validation and search → segmentation → review. It only gathers
choices into a core ``TrainSpec``; training runs in the background afterwards.

It remembers the last choices made for each dataset (by its fingerprint, so the same
data imported again is remembered too) in the user's settings: a preference, not a
record. Every choice can be undone and redone (Ctrl+Z, Ctrl+Shift+Z, the Undo and Redo
buttons) while the wizard is open."""

from __future__ import annotations

from typing import Any, Optional

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut, QUndoStack
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHeaderView, QLabel,
                               QLineEdit, QListWidget, QListWidgetItem, QSpinBox, QVBoxLayout, QWidget,
                               QWizard, QWizardPage)

from .choice_undo import ChoiceUndo
from .formula_edit import FormulaEdit
from .jobs import JobRunner
from .state import AppState
from .tables import fill_table, make_table

SPLITS = [("Automatic: stratified for classes, random otherwise", "auto"), ("Random", "random"),
          ("Stratified by the target's classes", "stratified"),
          ("Time-ordered: the latest rows are the holdout", "time"),
          ("Grouped: whole groups stay on one side", "group")]
TASKS = [("Infer from the target", None), ("Regression", "regression"),
         ("Binary classification", "binary"), ("Multiclass classification", "multiclass")]
#: where a model family's label is kept on its list item
LABEL_ROLE = Qt.ItemDataRole.UserRole + 1
#: kinds a model cannot use as they are; unticked by default with the reason
UNUSABLE = {"id": "identifies rows", "text": "free text", "constant": "a single value",
            "datetime": "a date (use it to order a time split instead)"}


def _tip(button: QWidget, verb: str) -> Any:
    """A slot naming the step a button would undo or redo. The stack outlives the buttons
    when the wizard is destroyed (and says it is empty then): a button gone is left alone."""
    def show(step: str) -> None:
        if shiboken6.isValid(button):
            button.setToolTip(f"{verb} {step}" if step else "")
    return show


def _page(title: str, subtitle: str) -> tuple[QWizardPage, QVBoxLayout]:
    page = QWizardPage()
    page.setTitle(title)
    page.setSubTitle(subtitle)
    layout = QVBoxLayout(page)
    return page, layout


class TrainWizard(QWizard):
    """Collects a training spec; ``spec()`` returns it once the wizard is accepted."""

    def __init__(self, state: AppState, runner: JobRunner, parent: Optional[QWidget] = None,
                 dataset_id: Optional[int] = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        self.setWindowTitle("Train models")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.resize(760, 600)
        self.dataset: Any = None
        self.leakage: dict[str, str] = {}
        #: the task the target's values call for and why, once worked out (None: not yet, or chosen)
        self.inferred_task: Optional[tuple[str, str]] = None
        #: ticks of the features per target: the analyst's (and remembered) choices
        self._feature_ticks: dict[str, dict[str, bool]] = {}
        self._memory: dict[str, Any] = {}
        self._filling = False
        self.setOption(QWizard.WizardOption.HaveHelpButton, True)
        self.helpRequested.connect(self.open_help)
        QShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents), self, activated=self.open_help)
        self.undo_stack = QUndoStack(self)
        self.choices = ChoiceUndo(self.undo_stack, self)
        self._undo_buttons()
        self._build(dataset_id)
        self.accepted.connect(self.remember)

    def _undo_buttons(self) -> None:
        """Undo and Redo beside Back and Next, with Ctrl+Z and Ctrl+Shift+Z."""
        self.setOption(QWizard.WizardOption.HaveCustomButton1, True)
        self.setOption(QWizard.WizardOption.HaveCustomButton2, True)
        self.setButtonText(QWizard.WizardButton.CustomButton1, "Undo")
        self.setButtonText(QWizard.WizardButton.CustomButton2, "Redo")
        self.setButtonLayout([QWizard.WizardButton.HelpButton, QWizard.WizardButton.CustomButton1,
                              QWizard.WizardButton.CustomButton2, QWizard.WizardButton.Stretch,
                              QWizard.WizardButton.BackButton, QWizard.WizardButton.NextButton,
                              QWizard.WizardButton.FinishButton, QWizard.WizardButton.CancelButton])
        undo, redo = self.button(QWizard.WizardButton.CustomButton1), self.button(QWizard.WizardButton.CustomButton2)
        undo.clicked.connect(self.undo_stack.undo)
        redo.clicked.connect(self.undo_stack.redo)
        undo.setEnabled(False)
        redo.setEnabled(False)
        self.undo_stack.canUndoChanged.connect(undo.setEnabled)
        self.undo_stack.canRedoChanged.connect(redo.setEnabled)
        self.undo_stack.undoTextChanged.connect(_tip(undo, "Undo"))
        self.undo_stack.redoTextChanged.connect(_tip(redo, "Redo"))
        QShortcut(QKeySequence(QKeySequence.StandardKey.Undo), self, activated=self.undo_stack.undo)
        QShortcut(QKeySequence("Ctrl+Shift+Z"), self, activated=self.undo_stack.redo)

    def open_help(self) -> None:
        """F1 or Help: the user guide at the Train section."""
        opener = getattr(self.parentWidget().window() if self.parentWidget() else None, "open_user_guide", None)
        if opener is not None:
            opener("Train")

    # -- pages ------------------------------------------------------------------------

    def _build(self, dataset_id: Optional[int]) -> None:
        ws = self.state.workspace
        page, layout = _page("Dataset", "Which data will the models learn from?")
        self.dataset_combo = QComboBox()
        for ds in ws.datasets() if ws else []:
            self.dataset_combo.addItem(f"{ds.name}  ({ds.n_rows:,} rows × {ds.n_columns} columns)", ds.id)
        if dataset_id is not None and self.dataset_combo.findData(dataset_id) >= 0:
            self.dataset_combo.setCurrentIndex(self.dataset_combo.findData(dataset_id))
        layout.addWidget(self.dataset_combo)
        self.memory_note = QLabel()
        self.memory_note.setWordWrap(True)
        layout.addWidget(self.memory_note)
        layout.addStretch(1)
        self.dataset_combo.currentIndexChanged.connect(self._dataset_changed)
        self.addPage(page)

        page, layout = _page("Target and task", "What should the model predict?")
        form = QFormLayout()
        self.target_combo = QComboBox()
        self.task_combo = QComboBox()
        for label, value in TASKS:
            self.task_combo.addItem(label, value)
        form.addRow("Target:", self.target_combo)
        form.addRow("Task:", self.task_combo)
        layout.addLayout(form)
        self.task_hint = QLabel()
        self.task_hint.setWordWrap(True)
        layout.addWidget(self.task_hint)
        layout.addStretch(1)
        self.target_combo.currentIndexChanged.connect(self._target_changed)
        self.addPage(page)

        page, layout = _page("Features", "Ticked columns are used as inputs. Identifiers, constants, "
                             "free text and suspected leaks of the target are unticked, with the reason.")
        self.features = QListWidget()
        layout.addWidget(self.features)
        form = QFormLayout()
        self.formula = FormulaEdit()
        self.formula.setPlaceholderText("optional: model terms, e.g. log(wage) ~ education + poly(experience, 2)")
        self.formula.textChanged.connect(lambda text: self.features.setEnabled(not text.strip()))
        form.addRow("Formula:", self.formula)
        layout.addLayout(form)
        self.formula_hint = QLabel()
        self.formula_hint.setWordWrap(True)
        layout.addWidget(self.formula_hint)
        self.leak_status = QLabel()
        self.leak_status.setWordWrap(True)
        layout.addWidget(self.leak_status)
        self.addPage(page)

        page, layout = _page("Split", "Which rows are held out to judge the model honestly?")
        form = QFormLayout()
        self.split_combo = QComboBox()
        for label, value in SPLITS:
            self.split_combo.addItem(label, value)
        self.split_column = QComboBox()
        self.test_size = QDoubleSpinBox()
        self.test_size.setRange(0.0, 0.9)
        self.test_size.setSingleStep(0.05)
        self.test_size.setValue(0.2)
        self.test_size.setToolTip("0 trains on every row; validation then rests on cross-validation alone")
        form.addRow("Split:", self.split_combo)
        form.addRow("Column:", self.split_column)
        form.addRow("Holdout share:", self.test_size)
        layout.addLayout(form)
        layout.addStretch(1)
        self.split_combo.currentIndexChanged.connect(self._split_changed)
        self.addPage(page)

        page, layout = _page("Preprocessing", "Sensible defaults per model family; change them only "
                             "with a reason.")
        form = QFormLayout()
        self.imputation = QComboBox()
        self.imputation.addItem("Median (default)", None)
        self.imputation.addItem("Mean", "mean")
        self.encoding = QComboBox()
        self.encoding.addItem("Per family: one-hot for linear, ordinal for trees (default)", None)
        self.encoding.addItem("One-hot for every family", "onehot")
        self.encoding.addItem("Ordinal for every family", "ordinal")
        self.scaling = QComboBox()
        self.scaling.addItem("Only for regularised models (default)", None)
        self.scaling.addItem("Always", True)
        self.scaling.addItem("Never", False)
        self.rare = QSpinBox()
        self.rare.setRange(0, 100_000)
        self.rare.setValue(10)
        self.rare.setToolTip("Categories with fewer training rows are grouped together; 0 never groups")
        form.addRow("Missing numbers:", self.imputation)
        form.addRow("Categories:", self.encoding)
        form.addRow("Scaling:", self.scaling)
        form.addRow("Group categories rarer than (rows):", self.rare)
        layout.addLayout(form)
        layout.addStretch(1)
        self.addPage(page)

        page, layout = _page("Models", "Which model families compete? A baseline (the mean or the "
                             "class shares) is always trained alongside.")
        self.models = QListWidget()
        layout.addWidget(self.models)
        self.robust = QCheckBox("Heteroscedasticity-robust (HC3) standard errors for least squares")
        layout.addWidget(self.robust)
        self.addPage(page)

        page, layout = _page("Cross-validation and search", "How each family is scored on the training "
                             "part, and how hard its settings are searched.")
        form = QFormLayout()
        self.folds = QSpinBox()
        self.folds.setRange(2, 20)
        self.folds.setValue(5)
        self.candidates = QSpinBox()
        self.candidates.setRange(0, 500)
        self.candidates.setValue(0)
        self.candidates.setToolTip("0: each family's default settings, no search")
        self.budget = QSpinBox()
        self.budget.setRange(0, 24 * 3600)
        self.budget.setValue(300)
        self.budget.setSuffix(" s")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2_000_000_000)
        self.seed.setValue(42)
        self.ranking = QComboBox()
        self.ranking.setToolTip("The cross-validated metric that chooses the best candidate (and the best "
                                "setting a search tries)")
        form.addRow("Rank candidates by:", self.ranking)
        form.addRow("Folds:", self.folds)
        form.addRow("Search candidates per family:", self.candidates)
        form.addRow("Search time budget per family:", self.budget)
        form.addRow("Seed:", self.seed)
        layout.addLayout(form)
        layout.addStretch(1)
        self.addPage(page)

        page, layout = _page("Segmentation (optional)", "One simple model per value of a column — "
                             "a product line, a region, a store — with a global model for small and "
                             "unseen segments.")
        self.segment_on = QCheckBox("Train one model per segment")
        self.segment_column = QComboBox()
        self.segment_rows = QSpinBox()
        self.segment_rows.setRange(10, 10_000_000)
        self.segment_rows.setValue(200)
        form = QFormLayout()
        form.addRow(self.segment_on)
        form.addRow("Segment column:", self.segment_column)
        form.addRow("Minimum rows per segment:", self.segment_rows)
        layout.addLayout(form)
        layout.addStretch(1)
        self.addPage(page)

        page, layout = _page("Review", "Check the choices, name the model, then train.")
        form = QFormLayout()
        self.model_name = QLineEdit()
        self.model_name.setPlaceholderText("e.g. body-mass")
        form.addRow("Model name:", self.model_name)
        layout.addLayout(form)
        self.review_problem = QLabel()
        self.review_problem.setWordWrap(True)
        self.review_problem.setStyleSheet("color: #b3261e")
        layout.addWidget(self.review_problem)
        self.review = make_table(["Setting", "Choice"], name="training-choices")
        self.review.setWordWrap(True)
        self.review.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout.addWidget(self.review, 1)
        self.addPage(page)
        self.currentIdChanged.connect(self._page_changed)
        self.model_name.textChanged.connect(lambda _t: self._page_changed(self.currentId()))
        self.task_combo.currentIndexChanged.connect(lambda _i: self._fill_models())
        self.features.itemChanged.connect(self._feature_ticked)
        for combo, name in ((self.dataset_combo, "Dataset"), (self.target_combo, "Target"), (self.task_combo, "Task"),
                            (self.split_combo, "Split"), (self.split_column, "Split column"),
                            (self.imputation, "Missing numbers"), (self.encoding, "Categories"),
                            (self.scaling, "Scaling"), (self.ranking, "Rank by"),
                            (self.segment_column, "Segment column")):
            self.choices.watch_combo(combo, name)
        for box, name in ((self.test_size, "Holdout share"), (self.rare, "Rare categories"), (self.folds, "Folds"),
                          (self.candidates, "Search candidates"), (self.budget, "Search time"), (self.seed, "Seed"),
                          (self.segment_rows, "Minimum segment rows")):
            self.choices.watch_number(box, name)
        for tick, name in ((self.robust, "Robust standard errors"), (self.segment_on, "One model per segment")):
            self.choices.watch_tick(tick, name)
        self.choices.watch_list(self.features, "Feature")
        self.choices.watch_list(self.models, "Model")
        with self.choices.quietly():
            self._dataset_changed()

    # -- reactions ------------------------------------------------------------------------

    def _dataset_changed(self) -> None:
        """Another dataset: its columns, and the choices last made for it, if any."""
        ws = self.state.workspace
        dataset_id = self.dataset_combo.currentData()
        self.dataset = ws.dataset(dataset_id) if ws is not None and dataset_id is not None else None
        self._memory = self.state.prefs.wizard_choices(self.dataset.fingerprint) if self.dataset else {}
        self.memory_note.setText("The choices of your last training run on this data are filled in on the next "
                                 "pages; change any of them (Undo and Redo take a change back)."
                                 if self._memory else "")
        self._feature_ticks = {}
        with self.choices.quietly():
            self.target_combo.blockSignals(True)
            self.target_combo.clear()
            for combo in (self.split_column, self.segment_column):
                combo.clear()
            if self.dataset is not None:
                self.formula.set_columns([c.name for c in self.dataset.columns])
                for col in self.dataset.columns:
                    if col.kind not in ("id", "text", "constant", "datetime") or col.role == "target":
                        self.target_combo.addItem(col.name)
                    self.split_column.addItem(col.name)
                    if col.kind in ("categorical", "boolean"):
                        self.segment_column.addItem(col.name)
                if self.dataset.target:
                    self.target_combo.setCurrentText(self.dataset.target)
                self.model_name.setText(f"{self.dataset.name}-{self.target_combo.currentText()}".replace(":", "-"))
            self.target_combo.blockSignals(False)
            self._recall()
        self.choices.sync()  # the target was set with its signals blocked
        self._target_changed()

    def _recall(self) -> None:
        """Set the widgets to the choices last made for this dataset (what still exists)."""
        memory = self._memory
        if not memory:
            return
        if self.target_combo.findText(memory.get("target", "")) >= 0:
            self.target_combo.blockSignals(True)
            self.target_combo.setCurrentText(memory["target"])
            self.target_combo.blockSignals(False)
            self._feature_ticks[memory["target"]] = dict(memory.get("features") or {})
        for name, value in (memory.get("widgets") or {}).items():
            widget = self._remembered_widgets().get(name)
            if isinstance(widget, QComboBox) and widget.findText(str(value)) >= 0:
                widget.setCurrentText(str(value))
            elif isinstance(widget, (QSpinBox, QDoubleSpinBox)) and isinstance(value, (int, float)):
                widget.setValue(value)
            elif isinstance(widget, QCheckBox):
                widget.setChecked(bool(value))
            elif isinstance(widget, QLineEdit) and isinstance(value, str):
                widget.setText(value)
        self._split_changed()

    def _remembered_widgets(self) -> dict[str, QWidget]:
        """The simple choices kept per dataset, by name (target, features, models and the
        ranking metric are kept apart: they depend on the target and the task)."""
        return {"task": self.task_combo, "split": self.split_combo, "split_column": self.split_column,
                "test_size": self.test_size, "imputation": self.imputation, "encoding": self.encoding,
                "scaling": self.scaling, "rare": self.rare, "robust": self.robust, "folds": self.folds,
                "candidates": self.candidates, "budget": self.budget, "seed": self.seed,
                "segment_on": self.segment_on, "segment_column": self.segment_column,
                "segment_rows": self.segment_rows, "model_name": self.model_name}

    def remember(self) -> None:
        """Keep these choices for the next run on this data (on Train)."""
        if self.dataset is None:
            return
        values: dict[str, Any] = {}
        for name, widget in self._remembered_widgets().items():
            if isinstance(widget, QComboBox):
                values[name] = widget.currentText()
            elif isinstance(widget, (QSpinBox, QDoubleSpinBox)):
                values[name] = widget.value()
            elif isinstance(widget, QCheckBox):
                values[name] = widget.isChecked()
            elif isinstance(widget, QLineEdit):
                values[name] = widget.text()
        target = self.target_combo.currentText()
        self.state.prefs.remember_wizard_choices(self.dataset.fingerprint, {
            "target": target, "features": self._ticks(self.features), "models": self.ticked(self.models),
            "ranking": self.ranking.currentData(), "widgets": values})

    def _target_changed(self) -> None:
        if self.dataset is None:
            return
        target = self.target_combo.currentText()
        col = next((c for c in self.dataset.columns if c.name == target), None)
        if col is not None:
            self.task_hint.setText(f"{target} is {col.kind} with {col.n_distinct:,} distinct values and "
                                   f"{col.n_missing:,} missing (rows without a target are left out).")
        self.leakage = {}
        checked = self._checked_formula(target)
        self.formula.setText(checked)
        self.formula_hint.setText("The formula kept on the Check page: its columns are the features, its "
                                  "terms the model's. Clear it to choose features above." if checked else "")
        self._fill_features()
        self._fill_models()
        self._find_leaks()

    def _feature_reason(self, col: Any) -> Optional[str]:
        """Why a column is left out by default, or None."""
        reason = UNUSABLE.get(col.kind) or ("suspected leak: " + self.leakage[col.name]
                                            if col.name in self.leakage else None)
        if reason is None and col.role in ("id", "ignore"):
            reason = f"role set to {col.role}"
        return reason

    def _checked_formula(self, target: str) -> str:
        """The formula of the newest stored check run of this dataset and target (the one
        the analyst kept on the Check page), or nothing."""
        from ..core.checks import last_check_run

        try:
            report = last_check_run(self.state.workspace, self.dataset.id, target) if target else None
        except Exception:  # no check run to start from is no reason to stop the wizard
            return ""
        return report.formula if report is not None and report.formula else ""

    def _fill_features(self) -> None:
        """The columns but the target, ticked by default unless there is a reason not to;
        the analyst's ticks for this target (made here, or remembered) win."""
        target = self.target_combo.currentText()
        ticks = self._feature_ticks.setdefault(target, {})
        self._filling = True
        with self.choices.quietly():
            self.features.clear()
            for col in self.dataset.columns:
                if col.name == target:
                    continue
                reason = self._feature_reason(col)
                item = QListWidgetItem(f"{col.name}  ({col.kind})" + (f"  — {reason}" if reason else ""))
                item.setData(Qt.ItemDataRole.UserRole, col.name)
                on = ticks.get(col.name, reason is None)
                item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
                self.features.addItem(item)
        self._filling = False

    def _feature_ticked(self, item: QListWidgetItem) -> None:
        if not self._filling:
            ticks = self._feature_ticks.setdefault(self.target_combo.currentText(), {})
            ticks[item.data(Qt.ItemDataRole.UserRole)] = item.checkState() == Qt.CheckState.Checked

    def _find_leaks(self) -> None:
        """Profile in the background; untick features that predict the target almost perfectly."""
        ws, ds, target = self.state.workspace, self.dataset, self.target_combo.currentText()
        if ws is None or ds is None or not target:
            return
        root, dataset_id = ws.root, ds.id
        self.leak_status.setText("Looking for features that leak the target…")

        def work(progress, cancel):
            from ..core.explore import profile_dataset
            from ..core.workspace import Workspace

            with Workspace.open(root) as own:
                profile = profile_dataset(own, dataset_id, target=target, progress=progress, cancel=cancel)
            return {a.columns[0]: a.message for a in profile.alerts if a.kind == "leakage"}

        def done(leaks: dict) -> None:
            if self.dataset is None or self.dataset.id != dataset_id or self.target_combo.currentText() != target:
                return
            self.leakage = leaks
            ticks = self._feature_ticks.setdefault(target, {})
            for name in leaks:  # a suspected leak is unticked, whatever was remembered
                ticks.pop(name, None)
            self._fill_features()
            self.leak_status.setText(f"Suspected leaks unticked: {', '.join(leaks)}." if leaks
                                     else "No feature predicts the target suspiciously well.")

        self.runner.start("Looking for leaks", work, on_success=done, visible=False,
                          on_error=lambda e, tb: self.leak_status.setText(f"Leak check failed: {e}"))

    def _fill_models(self) -> None:
        """The families for the task: the one chosen, else the one the target's values
        call for, worked out in the background (reading a column can take a while)."""
        task = self.task_combo.currentData()
        self.inferred_task = None
        if task is not None or self.dataset is None:
            self._show_families(task or "regression")
            return
        ws, dataset_id, target = self.state.workspace, self.dataset.id, self.target_combo.currentText()
        root = ws.root
        with self.choices.quietly():
            self.models.clear()
            self.ranking.clear()
            waiting = QListWidgetItem("Working out the task from the target's values…")
            waiting.setFlags(Qt.ItemFlag.NoItemFlags)
            self.models.addItem(waiting)

        def work(progress, cancel):
            from ..core.data.rows_sample import TRAIN_ROWS, load_rows
            from ..core.train.prepare import training_task
            from ..core.train.spec import TrainSpec
            from ..core.workspace import Workspace

            with Workspace.open(root) as own:
                # the rows a run reads (a sample when the dataset is larger than memory)
                rows, _ = load_rows(own, own.dataset(dataset_id), [target], rows=TRAIN_ROWS,
                                    seed=TrainSpec.seed, stratify_by=target)
            return training_task(rows.column(0).to_pandas().rename(target))  # as the run will decide it

        def done(inferred: tuple[str, str]) -> None:
            if self.dataset is not None and self.dataset.id == dataset_id and \
                    self.target_combo.currentText() == target and self.task_combo.currentData() is None:
                self.inferred_task = inferred
                self._show_families(inferred[0])  # else another target is chosen by now: not its families

        def failed(exc, _tb) -> None:  # a target that cannot be read or trained on: the wizard's review says why
            from ..core.errors import MlopsError

            done(("regression", str(exc) if isinstance(exc, MlopsError) else "the target's values could not be read"))

        self.runner.start("Working out the task", work, on_success=done, on_error=failed, visible=False)

    def _show_families(self, task: str) -> None:
        """The families and ranking metrics of ``task``; ticked and chosen as last time on
        this dataset and target, else the defaults."""
        from ..core.train.families import families_for
        from ..core.train.metrics import metric_names, primary_metric
        from .pages.train_page import METRIC_LABELS

        memory = self._memory if self._memory.get("target") == self.target_combo.currentText() else {}
        families = families_for(task)
        remembered = [m for m in memory.get("models") or [] if m in {f.name for f in families}]
        with self.choices.quietly():
            self.models.clear()
            for family in families:
                item = QListWidgetItem(family.label + ("  (coefficient table with p-values)" if family.explains else ""))
                item.setData(Qt.ItemDataRole.UserRole, family.name)
                item.setData(LABEL_ROLE, family.label)
                on = family.name in remembered if remembered else family.name in ("ols", "logistic", "hgb")
                item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
                self.models.addItem(item)
            self.ranking.clear()
            primary = primary_metric(task)
            for name in metric_names(task):
                self.ranking.addItem(METRIC_LABELS.get(name, name) + (" (default)" if name == primary else ""), name)
            wanted = memory.get("ranking") if memory.get("ranking") in metric_names(task) else primary
            self.ranking.setCurrentIndex(self.ranking.findData(wanted))

    def _split_changed(self) -> None:
        self.split_column.setEnabled(self.split_combo.currentData() in ("time", "group"))

    def _page_changed(self, _id: int) -> None:
        if self.currentPage() is self.page(self.pageIds()[-1]):
            self.show_review()

    def show_review(self) -> None:
        """Every setting, in words: names, not ids; the defaults said as what they do."""
        try:
            self.spec()
            self.review_problem.setText("")
        except Exception as exc:
            self.review_problem.setText(f"These choices cannot run: {exc}")
        fill_table(self.review, self.review_rows())
        header = self.review.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # long lists wrap, never scroll
        self.review.resizeRowsToContents()

    def review_rows(self) -> list[list[str]]:
        """(setting, choice) for the review page."""
        ds, target = self.dataset, self.target_combo.currentText()
        if self.task_combo.currentData():
            task_text = self.task_combo.currentText()
        elif self.inferred_task is None:
            task_text = "inferred from the target's values (still being worked out)"
        else:
            task, why = self.inferred_task
            task_text = f"{dict((value, label) for label, value in TASKS)[task]}, inferred: {why}"
        used = self.ticked(self.features)
        formula = self.formula.text().strip()
        left_out = []
        for i in range(self.features.count()):
            item = self.features.item(i)
            if item.checkState() != Qt.CheckState.Checked:
                name = item.data(Qt.ItemDataRole.UserRole)
                col = next(c for c in ds.columns if c.name == name)
                left_out.append(f"{name} ({self._feature_reason(col) or 'unticked by you'})")
        models = [self.models.item(i).data(LABEL_ROLE) for i in range(self.models.count())
                  if self.models.item(i).checkState() == Qt.CheckState.Checked]
        split = self.split_combo.currentText()
        if self.split_combo.currentData() in ("time", "group"):
            split += f", by {self.split_column.currentText()}"
        holdout = self.test_size.value()
        split += f"; holdout {holdout:.0%} of the rows" if holdout else "; no holdout (every row trains)"
        rare = self.rare.value()
        search = (f"up to {self.candidates.value()} settings per family, within {self.budget.value():,} s each"
                  if self.candidates.value() else "none: each family's default settings")
        segments = (f"one model per {self.segment_column.currentText()} with at least "
                    f"{self.segment_rows.value():,} training rows, and a global model for the rest"
                    if self.segment_on.isChecked() else "none: one model for every row")
        name = self.model_name.text().strip()
        return [
            ["Dataset", f"{ds.name} ({ds.n_rows:,} rows × {ds.n_columns} columns)" if ds else "—"],
            ["Target", target or "—"], ["Task", task_text],
            *([["Formula", formula + " (its columns are the features, its terms the model's)"]] if formula else
              [[f"Features used ({len(used)})", ", ".join(used) or "none"],
               [f"Left out ({len(left_out)})", ", ".join(left_out) or "none"]]),
            ["Split", split],
            ["Missing numbers", self.imputation.currentText()], ["Categories", self.encoding.currentText()],
            ["Scaling", self.scaling.currentText()],
            ["Rare categories", f"grouped below {rare:,} training rows" if rare else "never grouped"],
            ["Models", ", ".join(models + ["the baseline (always)"])],
            ["Least-squares standard errors", "heteroscedasticity-robust (HC3)" if self.robust.isChecked()
             else "classical"],
            ["Ranked by", f"{self.ranking.currentText() or '—'}, cross-validated mean"],
            ["Cross-validation", f"{self.folds.value()} folds"], ["Search", search],
            ["Seed", str(self.seed.value())], ["Segmentation", segments],
            ["Model name", name or "from the dataset and the target"]]

    # -- the result ----------------------------------------------------------------------

    def ticked(self, widget: QListWidget) -> list[str]:
        return [name for name, on in self._ticks(widget).items() if on]

    @staticmethod
    def _ticks(widget: QListWidget) -> dict[str, bool]:
        """Each item's name and whether it is ticked."""
        return {widget.item(i).data(Qt.ItemDataRole.UserRole): widget.item(i).checkState() == Qt.CheckState.Checked
                for i in range(widget.count()) if widget.item(i).data(Qt.ItemDataRole.UserRole) is not None}

    def spec(self):
        """The choices as a core TrainSpec (validated)."""
        from ..core.train.spec import SplitSpec, TrainSpec

        preprocessing: dict[str, Any] = {}
        if self.imputation.currentData():
            preprocessing["numeric_imputation"] = self.imputation.currentData()
        if self.encoding.currentData():
            preprocessing["encoding"] = self.encoding.currentData()
        if self.scaling.currentData() is not None:
            preprocessing["scale"] = self.scaling.currentData()
        if self.rare.value() != 10:
            preprocessing["rare_min_rows"] = self.rare.value()
        split_kind = self.split_combo.currentData()
        formula = self.formula.text().strip() or None
        spec = TrainSpec(
            dataset=self.dataset.id if self.dataset is not None else "",
            target=self.target_combo.currentText(), task=self.task_combo.currentData(),
            features=None if formula else self.ticked(self.features), models=self.ticked(self.models),
            formula=formula,
            split=SplitSpec(kind=split_kind,
                            column=self.split_column.currentText() if split_kind in ("time", "group") else None,
                            test_size=round(self.test_size.value(), 4)),
            cv_folds=self.folds.value(), search_candidates=self.candidates.value(),
            search_time_budget_s=float(self.budget.value()),
            segment_by=self.segment_column.currentText() if self.segment_on.isChecked() else None,
            min_segment_rows=self.segment_rows.value(), seed=self.seed.value(),
            model_name=self.model_name.text().strip() or None, robust_errors=self.robust.isChecked(),
            preprocessing=preprocessing, ranking_metric=self.ranking.currentData())
        spec.validate()
        return spec

