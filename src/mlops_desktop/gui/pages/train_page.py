"""Train page: start a run with the wizard, follow it, and compare the candidates of
each recorded run (cross-validation and holdout) against the baseline."""

from __future__ import annotations

from typing import Any, Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QMessageBox,
                               QPushButton, QSplitter, QStackedWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from ...core import numbers
from ..errors import show_error
from ..jobs import JobRunner
from ..state import AppState
from ..page_kinds import ReloadingPage
from ..page_parts import EmptyState, heading
from ..tables import fill_table, make_table

INTRO = ("Every run is recorded: data fingerprint, spec, seed, library versions, metrics. The best "
         "candidate is registered as a draft model version; any other can be registered too.")
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
        tools = QHBoxLayout()
        tools.addWidget(QLabel("Rank by:"))
        self.rank_by = QComboBox()
        self.rank_by.setToolTip("The cross-validated metric the candidates are ordered by, best first (the run "
                                "chose its winner by the one marked “chose the winner”)")
        self.rank_by.currentIndexChanged.connect(lambda _i: self.show_run(self.runs_table.currentRow()))
        tools.addWidget(self.rank_by)
        tools.addStretch(1)
        self.register_button = QPushButton("Register this candidate")
        self.register_button.setToolTip("Fit the selected candidate again from the run's record (checked to give "
                                        "the same predictions) and register it as a new draft version")
        self.register_button.clicked.connect(self.register_selected)
        tools.addWidget(self.register_button)
        ll.addLayout(tools)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setObjectName("trainBoardSplitter")
        # a candidate's time and notes show under the board when it is selected: the board fits
        # beside its curves at the default window size
        self.board = make_table(["Rank", "Candidate", "CV mean", "± std", "Holdout", "Registered", "Status"])
        self.board.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.board.currentCellChanged.connect(lambda *_: self._board_selection())
        split.addWidget(self.board)
        split.addWidget(self._build_curves())
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([700, 380])
        ll.addWidget(split, 1)
        self.candidate_notes = QLabel()  # the selected candidate's time and notes
        self.candidate_notes.setWordWrap(True)
        self.candidate_notes.setTextFormat(Qt.TextFormat.PlainText)
        ll.addWidget(self.candidate_notes)
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        ll.addWidget(self.notes)
        body.addWidget(lower)
        body.setSizes([180, 540])  # the leaderboard and its curves get the room
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
        from ...core.train.candidates import refit_label

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
            elif refit_label(run.details):
                cells[4] = f"{cells[4]} ({refit_label(run.details)})"
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

    def _build_curves(self) -> QWidget:
        """The candidates' ROC or residual curves with their bands (drawn lazily: pyqtgraph
        loads with the first run shown)."""
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.curve_class_label = QLabel("Class:")
        self.curve_class = QComboBox()
        self.curve_class.setToolTip("Multiclass runs: the class whose curves (against all the others) are drawn")
        self.curve_class.currentIndexChanged.connect(lambda _i: self._draw_curves())
        row.addWidget(self.curve_class_label)
        row.addWidget(self.curve_class)
        row.addStretch(1)
        layout.addLayout(row)
        self.curves_host = QVBoxLayout()
        layout.addLayout(self.curves_host, 1)
        self.curves_caption = QLabel()
        self.curves_caption.setWordWrap(True)
        self.curves_caption.setStyleSheet("color: gray")
        layout.addWidget(self.curves_caption)
        self.curves_chart: Any = None
        return box

    def ranking_metric(self, run: Any) -> Optional[str]:
        """The metric the board is ordered by: the analyst's choice, else what the run ranked by."""
        details = run.details or {}
        return self.rank_by.currentData() or details.get("ranking_metric") or details.get("primary_metric")

    def _fill_rank_choices(self, run: Any) -> None:
        from ...core.train.metrics import metric_names

        details = run.details or {}
        chose = details.get("ranking_metric") or details.get("primary_metric")
        names = metric_names(run.task) if run.task else ()
        if [self.rank_by.itemData(i) for i in range(self.rank_by.count())] == list(names) and \
                self.rank_by.property("run") == run.id:
            return
        self.rank_by.blockSignals(True)
        self.rank_by.clear()
        for name in names:
            self.rank_by.addItem(METRIC_LABELS.get(name, name) + (" (chose the winner)" if name == chose else ""), name)
        self.rank_by.setCurrentIndex(max(self.rank_by.findData(chose), 0))
        self.rank_by.setProperty("run", run.id)
        self.rank_by.blockSignals(False)

    def show_run(self, row: int) -> None:
        """The selected run's leaderboard, ordered by the ranking metric (best first, the
        baseline last as the bar to clear), and its candidates' curves."""
        if not 0 <= row < len(self.runs):
            return
        from ...core.train.metrics import best_first

        run = self.runs[row]
        self._update_buttons()
        self._fill_rank_choices(run)
        details = run.details or {}
        metric = self.ranking_metric(run)
        label = METRIC_LABELS.get(metric, metric or "")
        candidates = list(details.get("candidates") or [])
        if metric:
            candidates = [candidates[i] for i in best_first(
                [((c.get("cv") or {}).get(metric) or {}).get("mean") for c in candidates], metric)]
        baseline = details.get("baseline")
        if baseline:
            candidates.append({**baseline, "label": baseline.get("label") or "Baseline", "baseline": True})
        self.board_candidates = candidates
        registered = self._registered(run)
        refit = details.get("refit_of")
        what = (f"the {refit['family']} candidate of run {refit['run_id']}, fitted again" if refit else
                f"candidates ordered by {label}")
        self.board_title.setText(
            f"Run {run.id}: {run.task or ''} of {run.target} on {run.dataset_name} — {what} (cross-validated on "
            f"the training part; holdout shown beside). Status: {run.status}." + (f" Error: {run.error}" if run.error else ""))
        self.board.setHorizontalHeaderLabels(["Rank", "Candidate", f"CV {label}", "± std", f"Holdout {label}",
                                              "Registered", "Status"])
        rows = []
        for rank, c in enumerate(candidates, start=1):
            cv = (c.get("cv") or {}).get(metric) or {}
            holdout = (c.get("holdout") or {}).get(metric) if c.get("holdout") else None
            rows.append(["—" if c.get("baseline") else str(rank), c.get("label") or c.get("family"), cv.get("mean"),
                         cv.get("std"), holdout, registered.get(c.get("family"), "") if not c.get("baseline") else "",
                         c.get("status", "")])
        self.board.blockSignals(True)  # one drawing of the curves, below
        fill_table(self.board, rows)
        self.board.blockSignals(False)
        bold = QFont()
        bold.setBold(True)
        for r, c in enumerate(candidates):
            if c.get("family") == run.family and not c.get("baseline"):
                for col in range(self.board.columnCount()):
                    self.board.item(r, col).setFont(bold)
                    self.board.item(r, col).setToolTip("The run's winner, registered as a model version")
        self.board.resizeColumnsToContents()  # again: the winner's row is bold, so wider
        self.board.horizontalHeader().setStretchLastSection(True)
        self.notes.setText("\n".join(details.get("notes") or []))
        self._fill_curve_classes(details.get("curves"))
        self._board_selection()

    def _registered(self, run: Any) -> dict[str, str]:
        """Which of the run's candidates are registered, as what ({family: "model:version"})."""
        from ...core.train.candidates import registered_candidates

        if run.kind != "train" or run.status != "succeeded" or self.state.workspace is None:
            return {}
        return registered_candidates(self.state.workspace, run.id)

    def selected_candidate(self) -> Optional[dict[str, Any]]:
        row = self.board.currentRow()
        candidates = getattr(self, "board_candidates", [])
        return candidates[row] if 0 <= row < len(candidates) else None

    def _board_selection(self) -> None:
        """The register button follows the candidate selected; its curve is drawn thicker."""
        run, c = self.selected_run(), self.selected_candidate()
        registered = self.board.item(self.board.currentRow(), 5).text() if c is not None else ""
        can = (run is not None and run.kind == "train" and run.status == "succeeded" and not (run.details or {}).get("refit_of")
               and c is not None and not c.get("baseline") and c.get("status") == "succeeded" and not registered)
        self.register_button.setEnabled(can)
        if c is None:
            self.candidate_notes.setText("")
        else:
            notes = "; ".join(c.get("notes") or []) or (c.get("error") or "")
            self.candidate_notes.setText(f"{c.get('label') or c.get('family')}: {c.get('status', '')} in "
                                         f"{numbers.seconds(c.get('seconds'))}" + (f". {notes}" if notes else "."))
        if c is None or c.get("baseline"):
            self.register_button.setText("Register this candidate")
        elif registered:
            self.register_button.setText(f"{c.get('label')}: registered as {registered}")
        else:
            self.register_button.setText(f"Register {c.get('label')} as a new version")
        self._draw_curves()

    def _fill_curve_classes(self, curves: Optional[dict[str, Any]]) -> None:
        classes = (curves or {}).get("classes") or []
        self.curve_class.blockSignals(True)
        chosen = self.curve_class.currentText()
        self.curve_class.clear()
        self.curve_class.addItems(classes)
        self.curve_class.setCurrentIndex(max(self.curve_class.findText(chosen), 0))
        self.curve_class.blockSignals(False)
        several = len(classes) > 1
        self.curve_class.setVisible(several)
        self.curve_class_label.setVisible(several)

    def _draw_curves(self) -> None:
        """Every candidate's curve with its band: ROC of the chosen class, or mean residual
        by fitted value; the core computed them when the run was trained."""
        run = self.selected_run()
        curves = ((run.details or {}).get("curves") if run is not None else None) or {}
        if self.curves_chart is None:
            from ..charts import Chart

            self.curves_chart = Chart()
            self.curves_host.addWidget(self.curves_chart)
        chart = self.curves_chart
        c = self.selected_candidate()
        emphasis = (c or {}).get("label")
        if not curves.get("candidates"):
            chart.reset("No candidate curves for this run")
            self.curves_caption.setText("Runs recorded before this version of the app, reproductions and refits "
                                        "have no candidate curves." if run is not None else "")
            return
        series = []
        if curves["kind"] == "roc":
            k = max(self.curve_class.currentIndex(), 0)
            for cand in curves["candidates"]:
                by_class = cand["by_class"][min(k, len(cand["by_class"]) - 1)]
                auc = by_class.get("auc")
                series.append({"name": f"{cand['label']} (AUC {numbers.value(auc)})", "label": cand["label"],
                               "x": by_class["fpr"], "y": by_class["tpr"], "low": by_class["low"],
                               "high": by_class["high"]})
            which = curves["classes"][k] if len(curves.get("classes") or []) > 1 else None
            title = f"ROC: {which} vs rest" if which else "ROC curves"
            chart.band_lines(series, title=title, x_label="false positive rate", y_label="true positive rate",
                             diagonal=True, emphasis=next((s["name"] for s in series if s["label"] == emphasis), None))
        else:
            for cand in curves["candidates"]:
                series.append({"name": cand["label"], "label": cand["label"], "x": cand["fitted"],
                               "y": cand["residual"], "low": cand["low"], "high": cand["high"]})
            chart.band_lines(series, title="Mean residual by fitted value", x_label="fitted value",
                             y_label="mean residual (actual − fitted)", hline=0.0, emphasis=emphasis)
        self.curves_caption.setText(f"Shaded: {curves['interval']}, on {curves['on']}. The selected candidate "
                                    "is drawn thicker." + (" A flat line at 0 means no systematic error."
                                                  if curves["kind"] == "residuals" else ""))

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

    def register_selected(self):
        """Register the selected candidate as a new draft version (in the background: it is
        fitted again, and checked to give the recorded predictions)."""
        run, c, ws = self.selected_run(), self.selected_candidate(), self.state.workspace
        if run is None or c is None or ws is None or not self.register_button.isEnabled():
            return None
        root, actor, run_id, family, label = ws.root, self.state.actor, run.id, c["family"], c.get("label")
        self.status.setText(f"Registering the {label} candidate of run {run_id}: fitting it again…")

        def work(progress, cancel):
            from ...core.train.candidates import register_candidate
            from ...core.workspace import Workspace

            with Workspace.open(root) as own:
                return register_candidate(own, run_id, family, actor=actor, progress=progress, cancel=cancel)

        def done(result) -> None:
            self.last_registered = result
            self._wanted_run = run_id
            self.status.setText(f"The {label} candidate of run {run_id} is registered as {result.model}:"
                                f"{result.version} (draft). Run {result.run_id} fitted it again from the record "
                                "and got the recorded holdout predictions and metrics.")
            self.state.models_changed.emit(f"{result.model}:{result.version}")

        def failed(exc, tb) -> None:
            self._wanted_run = run_id
            self.status.setText(f"The {label} candidate was not registered: see the message.")
            self.mark_stale()
            show_error(self, "Cannot register the candidate", exc, tb)

        return self.runner.start(f"Registering {label} from run {run_id}", work, on_success=done, on_error=failed,
                                 on_cancel=lambda: self.status.setText("Cancelled; nothing was registered."))

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
