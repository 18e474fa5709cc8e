"""Train page: start a run with the wizard, follow it, and compare the candidates of
each recorded run (cross-validation and holdout) against the baseline."""

from __future__ import annotations

from typing import Any, Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QMessageBox, QPushButton, QSplitter,
                               QStackedWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from ...core import numbers
from ..errors import show_error
from ..jobs import JobRunner
from ..state import AppState
from ..widgets import EmptyState, ReloadingPage, heading, make_table

INTRO = ("Every run is recorded: data fingerprint, spec, seed, library versions, metrics. The best "
         "candidate is registered as a draft model version.")
#: select the newest run at the next refresh (a failed or cancelled run: its id is not returned)
NEWEST = "newest"

METRIC_LABELS = {"rmse": "RMSE", "mae": "MAE", "r2": "R²", "roc_auc": "ROC AUC", "log_loss": "log loss",
                 "accuracy": "accuracy", "balanced_accuracy": "balanced accuracy", "f1": "F1"}


class TrainPage(ReloadingPage):
    """The recorded runs, newest first, and the candidates of the selected one. A run
    started here is selected when it ends, whatever its outcome."""

    title = "Train"

    def __init__(self, state: AppState, runner: JobRunner, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        self.runs: list[Any] = []
        self.last_result: Any = None
        #: the run to select at the next refresh: an id, NEWEST, or None to keep the selection
        self._wanted_run: Any = None
        self._listed_for = -1  # the workspace generation the runs were listed for
        outer = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(heading("Train"))
        top.addStretch(1)
        self.new_button = QPushButton("New training run…")
        self.new_button.setDefault(True)
        self.new_button.clicked.connect(self.open_wizard)
        self.reproduce_button = QPushButton("Reproduce")
        self.reproduce_button.setToolTip("Retrain from the snapshot with the recorded spec and seed, "
                                         "and compare the holdout predictions")
        self.reproduce_button.clicked.connect(self.reproduce_selected)
        self.validate_button = QPushButton("Validate this model →")
        self.validate_button.clicked.connect(self._go_validate)
        for b in (self.new_button, self.reproduce_button, self.validate_button):
            top.addWidget(b)
        outer.addLayout(top)
        self.status = QLabel(INTRO)
        self.status.setWordWrap(True)
        outer.addWidget(self.status)
        self.stack = QStackedWidget()
        self.empty = EmptyState("No data to train on yet",
                                "Import a dataset on the Data page, choose its target, then come back "
                                "to train models on it.", [])
        self.stack.addWidget(self.empty)
        body = QSplitter(Qt.Orientation.Vertical)
        body.setObjectName("trainSplitter")
        self.runs_table = make_table(["Run", "Dataset", "Target", "Task", "Chosen", "Status", "Holdout",
                                  "Model", "Started (UTC)", "Seconds"])
        self.runs_table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.runs_table.currentCellChanged.connect(lambda r, *_: self.show_run(r))
        body.addWidget(self.runs_table)
        lower = QWidget()
        ll = QVBoxLayout(lower)
        ll.setContentsMargins(0, 0, 0, 0)
        self.board_title = QLabel()
        self.board_title.setWordWrap(True)
        ll.addWidget(self.board_title)
        self.board = make_table(["Candidate", "CV mean", "± std", "Holdout", "Status", "Seconds", "Notes"])
        self.board.horizontalHeader().setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        self.board.setSortingEnabled(True)
        ll.addWidget(self.board, 1)
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        ll.addWidget(self.notes)
        body.addWidget(lower)
        body.setSizes([300, 400])
        self.stack.addWidget(body)
        outer.addWidget(self.stack, 1)
        state.workspace_changed.connect(self.mark_stale)
        state.datasets_changed.connect(lambda _id: self.mark_stale())
        state.models_changed.connect(lambda _ref: self.mark_stale())

    # -- listing --------------------------------------------------------------------------

    def reload(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        """List the runs again; select the wanted run, else keep the selected one (within
        one workspace: run 1 of another workspace is another run)."""
        self.stale = False
        ws = self.state.workspace
        same_workspace = self._listed_for == self.state.generation
        self._listed_for = self.state.generation
        if not same_workspace:
            self.status.setText(INTRO)
        has_data = ws is not None and bool(ws.datasets())
        self.stack.setCurrentIndex(1 if has_data else 0)
        self.new_button.setEnabled(has_data)
        if not has_data:
            self.runs = []
            self.runs_table.setRowCount(0)
            self._update_buttons()
            return
        from ...core.train import runs

        keep = self._wanted_run or (self.selected_run_id() if same_workspace else None)
        self._wanted_run = None
        self.runs = runs(ws, limit=500)
        t = self.runs_table
        t.setRowCount(len(self.runs))
        row_to_select = 0
        for r, run in enumerate(self.runs):
            primary = (run.details or {}).get("primary_metric")
            holdout = ((run.metrics or {}).get("holdout") or {}).get(primary) if primary else None
            cells = [run.id, run.dataset_name, run.target, run.task or "—",
                     run.family or "—", run.status,
                     f"{METRIC_LABELS.get(primary, primary)} {numbers.cell(holdout)}" if holdout is not None else "—",
                     f"{run.model}:{run.version}" if run.model else "—",
                     numbers.timestamp(run.started_at), numbers.cell(run.duration_s)]
            if run.kind == "reproduce":
                cells[4] = f"{cells[4]} (reproduces run {run.reproduces_run_id})"
            for c, value in enumerate(cells):
                t.setItem(r, c, QTableWidgetItem(str(value)))
            if run.id == keep:
                row_to_select = r  # else the newest (the first row)
        t.resizeColumnsToContents()
        t.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        if self.runs:
            t.setCurrentCell(row_to_select, 0)
            self.show_run(row_to_select)
        else:
            self.board.setRowCount(0)
            self.board_title.setText("No runs yet: start one with “New training run…”.")
            self.notes.setText("")
        self._update_buttons()

    def selected_run_id(self) -> Optional[int]:
        row = self.runs_table.currentRow()
        return self.runs[row].id if 0 <= row < len(self.runs) else None

    def selected_run(self) -> Any:
        row = self.runs_table.currentRow()
        return self.runs[row] if 0 <= row < len(self.runs) else None

    def _update_buttons(self) -> None:
        run = self.selected_run()
        self.reproduce_button.setEnabled(run is not None and run.status == "succeeded")
        self.validate_button.setEnabled(run is not None and run.model is not None)

    def show_run(self, row: int) -> None:
        if not 0 <= row < len(self.runs):
            return
        run = self.runs[row]
        self._update_buttons()
        details = run.details or {}
        primary = details.get("primary_metric")
        label = METRIC_LABELS.get(primary, primary or "")
        candidates = list(details.get("candidates") or [])
        baseline = details.get("baseline")
        if baseline:
            candidates.append({**baseline, "label": baseline.get("label") or "Baseline"})
        self.board_title.setText(
            f"Run {run.id}: {run.task or ''} of {run.target} on {run.dataset_name} — candidates ranked by "
            f"{label} (cross-validated on the training part; holdout shown beside). Status: {run.status}."
            + (f" Error: {run.error}" if run.error else ""))
        b = self.board
        b.setSortingEnabled(False)
        b.setRowCount(len(candidates))
        bold = QFont()
        bold.setBold(True)
        for r, c in enumerate(candidates):
            cv = (c.get("cv") or {}).get(primary) or {}
            holdout = (c.get("holdout") or {}).get(primary) if c.get("holdout") else None
            notes = "; ".join(c.get("notes") or []) or (c.get("error") or "")
            values = [c.get("label") or c.get("family"), numbers.cell(cv.get("mean")), numbers.cell(cv.get("std")),
                      numbers.cell(holdout), c.get("status", ""), numbers.cell(c.get("seconds")), notes]
            for col, value in enumerate(values):
                item = QTableWidgetItem(str(value))
                if c.get("family") == run.family:
                    item.setFont(bold)
                    item.setToolTip("The chosen candidate, registered as a model version")
                b.setItem(r, col, item)
        b.resizeColumnsToContents()
        b.horizontalHeader().setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        b.setSortingEnabled(True)
        self.notes.setText("\n".join(details.get("notes") or []))

    # -- actions ------------------------------------------------------------------------

    def open_wizard(self) -> None:
        from ..train_wizard import TrainWizard

        wizard = TrainWizard(self.state, self.runner, self, dataset_id=self.state.current_dataset)
        self.last_wizard = wizard
        wizard.accepted.connect(lambda: self._start_from(wizard))
        wizard.open()

    def _start_from(self, wizard: Any) -> None:
        try:
            spec = wizard.spec()
        except Exception as exc:
            show_error(self, "Cannot train with these choices", exc)
            return
        self.start_training(spec)

    def start_training(self, spec: Any):
        ws = self.state.workspace
        if ws is None:
            return None
        root, actor = ws.root, self.state.actor
        self.status.setText("Training… the status bar shows the progress; Cancel keeps nothing half-done.")

        def work(progress, cancel):
            from ...core.train import train
            from ...core.workspace import Workspace

            with Workspace.open(root) as own:
                return train(own, spec, actor=actor, progress=progress, cancel=cancel)

        generation = self.state.generation

        def ended(run_id: Any, status: str) -> bool:
            """Select the run that just ended (in the same workspace only)."""
            if generation != self.state.generation:
                return False
            self._wanted_run = run_id
            self.status.setText(status)
            return True

        def done(result) -> None:
            self.last_result = result
            if ended(result.run_id, f"Run {result.run_id} finished: {result.chosen} chosen and registered as "
                     f"{result.model}:{result.version} (draft). " + " ".join(result.notes[:2])):
                self.state.models_changed.emit(f"{result.model}:{result.version}")

        def failed(exc, tb) -> None:
            if ended(NEWEST, "The run failed; it is recorded with its error."):
                self.mark_stale()
            show_error(self, "Training failed", exc, tb)

        def cancelled() -> None:
            if ended(NEWEST, "The run was cancelled; it is recorded as cancelled and nothing was registered."):
                self.mark_stale()

        return self.runner.start("Training", work, on_success=done, on_error=failed, on_cancel=cancelled)

    def reproduce_selected(self) -> None:
        run = self.selected_run()
        ws = self.state.workspace
        if run is None or ws is None:
            return
        root, actor, run_id = ws.root, self.state.actor, run.id

        def work(progress, cancel):
            from ...core.train import reproduce
            from ...core.workspace import Workspace

            with Workspace.open(root) as own:
                return reproduce(own, run_id, actor=actor, progress=progress, cancel=cancel)

        def done(result) -> None:
            self.last_reproduction = result
            self._wanted_run = result.run_id
            self.state.models_changed.emit("")
            verdict = ("identical: the same holdout predictions and metrics" if result.identical else
                       "NOT identical: " + "; ".join(result.notes or ["see the differences"]))
            QMessageBox.information(self, "Reproduction", f"Run {run_id} reproduced as run "
                                    f"{result.run_id}: {verdict}.")

        self.runner.start(f"Reproducing run {run_id}", work, on_success=done,
                          on_error=lambda e, tb: show_error(self, "Reproduction failed", e, tb))

    def _go_validate(self) -> None:
        run = self.selected_run()
        if run is not None and run.model:
            self.state.select_version(f"{run.model}:{run.version}")
            self.go_to("Validate")
