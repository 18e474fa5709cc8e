"""The training wizard: dataset → target and task → features → split → preprocessing
→ models → cross-validation and search → segmentation → review. It only gathers
choices into a core ``TrainSpec``; training runs in the background afterwards."""

from __future__ import annotations

from typing import Any, Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QLabel, QLineEdit,
                               QListWidget, QListWidgetItem, QPlainTextEdit, QSpinBox, QVBoxLayout,
                               QWidget, QWizard, QWizardPage)

from .jobs import JobRunner
from .state import AppState

SPLITS = [("Automatic: stratified for classes, random otherwise", "auto"), ("Random", "random"),
          ("Stratified by the target's classes", "stratified"),
          ("Time-ordered: the latest rows are the holdout", "time"),
          ("Grouped: whole groups stay on one side", "group")]
TASKS = [("Infer from the target", None), ("Regression", "regression"),
         ("Binary classification", "binary"), ("Multiclass classification", "multiclass")]
#: kinds a model cannot use as they are; unticked by default with the reason
UNUSABLE = {"id": "identifies rows", "text": "free text", "constant": "a single value",
            "datetime": "a date (use it to order a time split instead)"}


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
        self._build(dataset_id)

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
        self.review = QPlainTextEdit()
        self.review.setReadOnly(True)
        layout.addWidget(self.review)
        self.addPage(page)
        self.currentIdChanged.connect(self._page_changed)
        self._dataset_changed()

    # -- reactions ------------------------------------------------------------------------

    def _dataset_changed(self) -> None:
        ws = self.state.workspace
        dataset_id = self.dataset_combo.currentData()
        self.dataset = ws.dataset(dataset_id) if ws is not None and dataset_id is not None else None
        self.target_combo.blockSignals(True)
        self.target_combo.clear()
        for combo in (self.split_column, self.segment_column):
            combo.clear()
        if self.dataset is not None:
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
        self._target_changed()

    def _target_changed(self) -> None:
        if self.dataset is None:
            return
        target = self.target_combo.currentText()
        col = next((c for c in self.dataset.columns if c.name == target), None)
        if col is not None:
            self.task_hint.setText(f"{target} is {col.kind} with {col.n_distinct:,} distinct values and "
                                   f"{col.n_missing:,} missing (rows without a target are left out).")
        self.leakage = {}
        self._fill_features()
        self._fill_models()
        self._find_leaks()

    def _fill_features(self) -> None:
        self.features.clear()
        target = self.target_combo.currentText()
        for col in self.dataset.columns:
            if col.name == target:
                continue
            reason = UNUSABLE.get(col.kind) or ("suspected leak: " + self.leakage[col.name]
                                                if col.name in self.leakage else None)
            if reason is None and col.role in ("id", "ignore"):
                reason = f"role set to {col.role}"
            text = f"{col.name}  ({col.kind})" + (f"  — {reason}" if reason else "")
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, col.name)
            item.setCheckState(Qt.CheckState.Unchecked if reason else Qt.CheckState.Checked)
            self.features.addItem(item)

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
            self._fill_features()
            self.leak_status.setText(f"Suspected leaks unticked: {', '.join(leaks)}." if leaks
                                     else "No feature predicts the target suspiciously well.")

        self.runner.start("Looking for leaks", work, on_success=done, visible=False,
                          on_error=lambda e, tb: self.leak_status.setText(f"Leak check failed: {e}"))

    def _fill_models(self) -> None:
        """The families for the task: the one chosen, else the one the target's values
        call for, worked out in the background (reading a column can take a while)."""
        task = self.task_combo.currentData()
        if task is not None or self.dataset is None:
            self._show_families(task or "regression")
            return
        ws, dataset_id, target = self.state.workspace, self.dataset.id, self.target_combo.currentText()
        root = ws.root
        self.models.clear()
        waiting = QListWidgetItem("Working out the task from the target's values…")
        waiting.setFlags(Qt.ItemFlag.NoItemFlags)
        self.models.addItem(waiting)

        def work(progress, cancel):
            from ..core.data.rows_sample import TRAIN_ROWS, load_rows
            from ..core.data.task import infer_task
            from ..core.train.spec import TrainSpec
            from ..core.workspace import Workspace

            with Workspace.open(root) as own:
                # the rows a run reads (a sample when the dataset is larger than memory)
                rows, _ = load_rows(own, own.dataset(dataset_id), [target], rows=TRAIN_ROWS,
                                    seed=TrainSpec.seed, stratify_by=target)
            return infer_task(rows.column(0).to_pandas())

        def done(inferred: str) -> None:
            if self.dataset is not None and self.dataset.id == dataset_id and \
                    self.target_combo.currentText() == target and self.task_combo.currentData() is None:
                self._show_families(inferred)  # else another target is chosen by now: not its families

        def failed(_exc, _tb) -> None:  # a target that cannot be read or typed: the wizard's review says why
            done("regression")

        self.runner.start("Working out the task", work, on_success=done, on_error=failed, visible=False)

    def _show_families(self, task: str) -> None:
        from ..core.train.families import families_for

        self.models.clear()
        for family in families_for(task):
            item = QListWidgetItem(family.label + ("  (coefficient table with p-values)" if family.explains else ""))
            item.setData(Qt.ItemDataRole.UserRole, family.name)
            default = family.name in ("ols", "logistic", "hgb")
            item.setCheckState(Qt.CheckState.Checked if default else Qt.CheckState.Unchecked)
            self.models.addItem(item)

    def _split_changed(self) -> None:
        self.split_column.setEnabled(self.split_combo.currentData() in ("time", "group"))

    def _page_changed(self, _id: int) -> None:
        if self.currentPage() is self.page(self.pageIds()[-1]):
            try:
                spec = self.spec()
                self.review.setPlainText(_describe(spec.to_dict()))
            except Exception as exc:
                self.review.setPlainText(f"These choices cannot run: {exc}")

    # -- the result ----------------------------------------------------------------------

    def ticked(self, widget: QListWidget) -> list[str]:
        return [widget.item(i).data(Qt.ItemDataRole.UserRole) for i in range(widget.count())
                if widget.item(i).checkState() == Qt.CheckState.Checked]

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
        spec = TrainSpec(
            dataset=self.dataset.id if self.dataset is not None else "",
            target=self.target_combo.currentText(), task=self.task_combo.currentData(),
            features=self.ticked(self.features), models=self.ticked(self.models),
            split=SplitSpec(kind=split_kind,
                            column=self.split_column.currentText() if split_kind in ("time", "group") else None,
                            test_size=round(self.test_size.value(), 4)),
            cv_folds=self.folds.value(), search_candidates=self.candidates.value(),
            search_time_budget_s=float(self.budget.value()),
            segment_by=self.segment_column.currentText() if self.segment_on.isChecked() else None,
            min_segment_rows=self.segment_rows.value(), seed=self.seed.value(),
            model_name=self.model_name.text().strip() or None, robust_errors=self.robust.isChecked(),
            preprocessing=preprocessing)
        spec.validate()
        return spec


def _describe(spec: dict[str, Any]) -> str:
    split = spec["split"]
    lines = [f"Dataset: {spec['dataset']}", f"Target: {spec['target']} ({spec['task'] or 'task inferred'})",
             f"Features ({len(spec['features'] or [])}): {', '.join(spec['features'] or [])}",
             f"Split: {split['kind']}" + (f" by {split['column']}" if split.get("column") else "")
             + f", holdout {split['test_size']:.0%}",
             f"Models: {', '.join(spec['models'])} (and the baseline)",
             f"Cross-validation: {spec['cv_folds']} folds; search: {spec['search_candidates']} candidates "
             f"within {spec['search_time_budget_s']:.0f} s per family; seed {spec['seed']}"]
    if spec.get("segment_by"):
        lines.append(f"One model per {spec['segment_by']} with at least {spec['min_segment_rows']} rows, "
                     "and a global fallback")
    if spec.get("preprocessing"):
        lines.append("Preprocessing: " + ", ".join(f"{k} = {v}" for k, v in spec["preprocessing"].items()))
    lines.append(f"Model name: {spec.get('model_name') or '(from the dataset and target)'}")
    return "\n".join(lines)
