"""Monitor page: compare new batches with a reference (a model version's training data
or a dataset): per-feature drift with the rule that decided, distributions, PSI bins
and a timeline across batches. Every comparison is stored; the page lists the stored
ones against the chosen reference and shows the one selected, the headline for the
batch selected in it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from markupsafe import Markup, escape
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QListWidget,
                               QListWidgetItem, QPushButton, QSplitter, QStackedWidget, QTableWidget,
                               QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from ...core import numbers
from ...core.jobs import CancelToken
from ..errors import show_error
from ..import_dialog import FILE_FILTER
from ..jobs import JobRunner
from ..selection import Selection
from ..state import AppState
from ..page_kinds import LazyReloadingPage
from ..page_parts import EmptyState, find_data, heading
from ..table_actions import add_table_actions
from ..tables import table_item

VERDICT_COLOURS = {"drift": "#b3261e", "major": "#b3261e", "moderate": "#a86b00", "no drift": "#1e7b34",
                   "not comparable": "#6b7280"}
NO_SPLIT = "(do not split)"


#: how many model versions (the newest) the reference list offers
MAX_MODEL_CHOICES = 500


def _coloured(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    colour = next((c for k, c in VERDICT_COLOURS.items() if text.startswith(k)), None)
    if colour:
        item.setForeground(QBrush(QColor("white")))
        item.setBackground(QBrush(QColor(colour)))
    return item


class MonitorPage(LazyReloadingPage):
    title = "Monitor"

    def __init__(self, state: AppState, runner: JobRunner, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        #: key (workspace generation, reference, stored comparison's series id or None);
        #: result the DriftRun shown, or None
        self.selection = Selection(self._render)
        self.stored_runs: list[Any] = []  # the stored comparisons against the reference, newest first
        #: a model version's batches with estimated or realized performance, in time order (core PerformanceHistory)
        self.performance_history: Any = None
        self._history_cancel = CancelToken()  # the history being read, cancelled when the reference changes
        self._history_reading = False
        self._listed_for = -1  # the workspace generation the references were listed for
        self.batch_sources: list[tuple[str, Any]] = []  # ("file", path) or ("dataset", id)
        outer = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(heading("Monitor"))
        top.addSpacing(12)
        top.addWidget(QLabel("Reference:"))
        self.reference = QComboBox()
        self.reference.setMinimumWidth(280)
        self.reference.setToolTip("A model version (its training rows, scores and importances) or a dataset")
        top.addWidget(self.reference)
        top.addStretch(1)
        outer.addLayout(top)
        row = QHBoxLayout()
        self.add_files = QPushButton("Add batch files…")
        self.add_files.clicked.connect(self.choose_files)
        self.add_dataset = QComboBox()
        self.add_dataset.setToolTip("Add a registered dataset as a batch")
        self.add_dataset_button = QPushButton("Add dataset")
        self.add_dataset_button.clicked.connect(self._add_dataset)
        self.clear_button = QPushButton("Clear batches")
        self.clear_button.clicked.connect(self.clear_batches)
        row.addWidget(self.add_files)
        row.addWidget(self.add_dataset)
        row.addWidget(self.add_dataset_button)
        row.addWidget(self.clear_button)
        row.addSpacing(12)
        row.addWidget(QLabel("Split one batch by:"))
        self.split_column = QComboBox()
        self.split_column.setEditable(True)
        self.split_column.addItem(NO_SPLIT)
        self.freq = QComboBox()
        self.freq.addItem("month", "M")
        self.freq.addItem("week", "W")
        self.freq.addItem("day", "D")
        row.addWidget(self.split_column)
        row.addWidget(self.freq)
        row.addStretch(1)
        self.compare_button = QPushButton("Compare")
        self.compare_button.setDefault(True)
        self.compare_button.clicked.connect(self.compare)
        self.report_button = QPushButton("Save report…")
        self.report_button.clicked.connect(self.save_report)
        self.report_button.setEnabled(False)
        self.retrain_button = QPushButton("Retrain…")
        self.retrain_button.setToolTip("The selected batch drifted against this model's training data: train the "
                                       "model again, as recorded, on newer data (it becomes the challenger)")
        self.retrain_button.clicked.connect(self.retrain)
        self.retrain_button.setEnabled(False)
        row.addWidget(self.compare_button)
        row.addWidget(self.report_button)
        row.addWidget(self.retrain_button)
        outer.addLayout(row)
        self.batches_label = QLabel("Batches to compare: none yet. Add files (or drop them here) or datasets.")
        self.batches_label.setWordWrap(True)
        outer.addWidget(self.batches_label)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        outer.addWidget(self.summary)
        self.stack = QStackedWidget()
        self.empty = EmptyState("Nothing to monitor yet",
                                "Import a dataset or train a model first: it becomes the reference that "
                                "new batches are compared with.", [])
        self.body = QWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.body)
        outer.addWidget(self.stack, 1)
        self.reference.currentIndexChanged.connect(lambda _i: self._reference_changed())
        state.workspace_changed.connect(self.mark_stale)
        state.datasets_changed.connect(lambda _id: self.mark_stale())
        state.models_changed.connect(lambda _ref: self.mark_stale())

    @property
    def run(self) -> Any:
        """The comparison on screen (core DriftRun), or None."""
        return self.selection.result

    def build(self) -> None:
        from ..charts import Chart

        splitter = QSplitter()
        splitter.setObjectName("monitorSplitter")
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        self.stored_list = QListWidget()
        self.stored_list.setMaximumHeight(110)
        self.stored_list.setToolTip("Every comparison is stored; select one to see it again, as it was made")
        self.stored_list.currentRowChanged.connect(lambda _r: self._stored_run_chosen())
        ll.addWidget(QLabel("Stored comparisons against this reference (newest first):"))
        ll.addWidget(self.stored_list)
        self.batch_list = QListWidget()
        self.batch_list.setMaximumHeight(130)
        self.batch_list.currentRowChanged.connect(self.show_batch)
        ll.addWidget(QLabel("Batches (select one to see its features):"))
        ll.addWidget(self.batch_list)
        self.features = QTableWidget(0, 6)
        self.features.setHorizontalHeaderLabels(["Feature", "Type", "Verdict", "PSI", "Distance", "Decided by"])
        self.features.verticalHeader().setVisible(False)
        self.features.verticalHeader().setDefaultSectionSize(24)
        self.features.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.features.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.features.horizontalHeader().setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        self.features.setSortingEnabled(True)
        add_table_actions(self.features, "drift-features")
        self.features.currentCellChanged.connect(lambda r, *_: self.show_feature(r))
        ll.addWidget(self.features, 1)
        splitter.addWidget(left)
        self.tabs = QTabWidget()
        self.distribution = Chart("Reference and current")
        self.tabs.addTab(self.distribution, "Distribution")
        self.bins = QTableWidget(0, 3)
        self.bins.setHorizontalHeaderLabels(["Bin", "Reference share", "Current share"])
        self.bins.verticalHeader().setVisible(False)
        self.bins.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.bins.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in (1, 2):
            self.bins.horizontalHeader().setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        add_table_actions(self.bins, "psi-bins")
        self.tabs.addTab(self.bins, "PSI bins")
        timeline = QWidget()
        tl = QVBoxLayout(timeline)
        self.tabs.addTab(timeline, "Timeline")

        def timelines() -> None:  # on a hidden tab: made later (see LazyPage.later)
            self.feature_timeline = Chart("This feature across batches")
            self.dataset_timeline = Chart("Share of drifted features across batches")
            tl.addWidget(self.feature_timeline)
            tl.addWidget(self.dataset_timeline)

        self.later(timelines)
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.tabs.addTab(self.detail, "Figures")
        self.tabs.addTab(self._build_performance(), "Performance")
        splitter.addWidget(self.tabs)
        splitter.setSizes([640, 640])
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    # -- choices ------------------------------------------------------------------------

    def reload(self) -> None:
        """List the references again (the choice is kept within one workspace), then the
        stored comparisons against the chosen one."""
        self.stale = False
        self.ensure_built()
        ws = self.state.workspace
        same_workspace = self._listed_for == self.state.generation
        self._listed_for = self.state.generation
        keep = self.reference.currentData() if same_workspace else None
        if not same_workspace:
            self.batch_sources = []
            self._show_sources()
        self.reference.blockSignals(True)
        self.reference.clear()
        self.add_dataset.clear()
        if ws is not None:
            from ...core.registry.lifecycle import search_versions

            # the newest versions, grouped by model; a registry of thousands stays quick to open
            newest = search_versions(ws, limit=MAX_MODEL_CHOICES).rows
            for v in sorted(newest, key=lambda r: (r.model, -r.version)):
                self.reference.addItem(f"model {v.ref} ({v.family}, {v.stage})", ("model", v.ref))
            for ds in ws.datasets():
                self.reference.addItem(f"dataset {ds.name}", ("dataset", ds.id))
                self.add_dataset.addItem(ds.name, ds.id)
            self.reference.setCurrentIndex(max(find_data(self.reference, keep), 0))
        self.reference.blockSignals(False)
        self.stack.setCurrentIndex(1 if self.reference.count() else 0)
        self.compare_button.setEnabled(self.reference.count() > 0)
        self._reference_changed()

    def _reference_key(self) -> Any:
        reference = self.reference.currentData()
        if self.state.workspace is None or reference is None:
            return None
        return (self.state.generation, tuple(reference))

    def _reference_changed(self, select_series: Optional[str] = None) -> None:
        """List the stored comparisons against the chosen reference and show the one
        already shown if it is still listed (or ``select_series``), else the newest."""
        ws, reference = self.state.workspace, self._reference_key()
        self.stored_runs = []
        self.performance_history = None
        self._history_cancel.cancel()  # another reference's history is no longer wanted
        self._history_reading = False
        if reference is not None:
            from ...core.monitor.history import drift_runs

            kind, value = reference[1]
            if kind == "model":
                name, _, version = value.rpartition(":")
                self.stored_runs = drift_runs(ws, model_name=name, model_version=int(version))
                self._read_performance_history(reference, name, int(version))
            else:
                self.stored_runs = drift_runs(ws, dataset=value)
        key = self.selection.key
        shown = key[2] if key is not None and reference is not None and key[:2] == reference else None
        wanted = select_series or shown
        series = [r.series_id for r in self.stored_runs]
        self.stored_list.blockSignals(True)
        self.stored_list.clear()
        for r in self.stored_runs:
            when = r.created_at[:16].replace("T", " ")
            labels = ", ".join(r.batch_labels[:3]) + (f" and {len(r.batch_labels) - 3} more"
                                                      if len(r.batch_labels) > 3 else "")
            item = QListWidgetItem(f"{when} · {r.created_by} · {labels}: {r.n_drifted} of {len(r.verdicts)} "
                                   "drifted")
            item.setForeground(QBrush(QColor(VERDICT_COLOURS["drift" if r.n_drifted else "no drift"])))
            self.stored_list.addItem(item)
        self.stored_list.setCurrentRow(series.index(wanted) if wanted in series else (0 if series else -1))
        self.stored_list.blockSignals(False)
        self._stored_run_chosen()

    def _read_performance_history(self, key: Any, name: str, version: int) -> None:
        """Read the version's performance across its stored batches (every report, whole)
        off the UI thread; the timeline is drawn when it arrives, if ``key`` is still the
        reference shown."""
        root = self.state.workspace.root

        def work(progress, cancel):
            from ...core.monitor.estimated import performance_history
            from ...core.workspace import Workspace

            with Workspace.open(root) as own:
                return performance_history(own, name, version, progress=progress, cancel=cancel)

        def done(history) -> None:
            if self._reference_key() == key:
                self.performance_history, self._history_reading = history, False
                self.when_built(self._draw_performance_timeline)

        def failed(exc, tb) -> None:
            if self._reference_key() == key:
                self._history_reading = False
                self.when_built(self._draw_performance_timeline)
                show_error(self, "Cannot read the performance history", exc, tb)

        self._history_reading = True
        job = self.runner.start(f"Reading the performance of {name}:{version}", work, on_success=done,
                                on_error=failed)
        self._history_cancel = job.token

    def _stored_run_chosen(self) -> None:
        """Show the selected stored comparison as it was made (nothing is recomputed)."""
        reference, row = self._reference_key(), self.stored_list.currentRow()
        series = self.stored_runs[row].series_id if reference is not None and 0 <= row < len(self.stored_runs) \
            else None
        key = (*reference, series) if reference is not None else None
        if not self.selection.select(key) or series is None:
            return
        from ...core.monitor.history import load_run

        self.selection.show(key, load_run(self.state.workspace, series))

    def accept_dropped_file(self, path: str) -> bool:
        """A file dropped on the window while this page shows becomes a batch."""
        self.add_batch("file", path)
        return True

    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Add batches to compare", "", FILE_FILTER)
        for p in paths:
            self.add_batch("file", p)

    def _add_dataset(self) -> None:
        if self.add_dataset.currentData() is not None:
            self.add_batch("dataset", self.add_dataset.currentData())

    def add_batch(self, kind: str, value: Any) -> None:
        self.batch_sources.append((kind, value))
        self._show_sources()

    def clear_batches(self) -> None:
        """Forget the batches to compare, and take the comparison off the screen."""
        self.batch_sources = []
        self._show_sources()
        self.stored_list.setCurrentRow(-1)

    def _show_sources(self) -> None:
        names = [Path(v).name if k == "file" else f"dataset {self.add_dataset.itemText(self.add_dataset.findData(v))}"
                 for k, v in self.batch_sources]
        self.batches_label.setText("Batches to compare: " + (", ".join(names) if names else
                                   "none yet. Add files (or drop them here) or datasets."))

    # -- running ---------------------------------------------------------------------------

    def compare(self) -> None:
        ws, key = self.state.workspace, self._reference_key()
        reference = self.reference.currentData()
        if ws is None or key is None:
            return
        if not self.batch_sources:
            show_error(self, "Nothing to compare", _user_error("Add at least one batch: a file or a dataset."))
            return
        root, actor, sources = ws.root, self.state.actor, list(self.batch_sources)
        split = self.split_column.currentText().strip()
        split = None if split in ("", NO_SPLIT) else split
        freq = self.freq.currentData()
        self.summary.setText("Comparing…")
        self.compare_button.setEnabled(False)

        def work(progress, cancel):
            from ...core.monitor import batches as batch_io
            from ...core.monitor.drift import run_drift
            from ...core.monitor.reference import Reference
            from ...core.monitor.for_version import reference_for_version
            from ...core.workspace import Workspace

            with Workspace.open(root) as own:
                progress(None, "Building the reference")
                ref = (reference_for_version(own, reference[1]) if reference[0] == "model"
                       else Reference.from_dataset(own, reference[1]))
                loaded = [batch_io.batch_from_file(v) if k == "file" else batch_io.batch_from_dataset(own, v)
                          for k, v in sources]
                if split:
                    loaded = [part for b in loaded for part in batch_io.split_batch(b, split, freq,
                                                                                    prefix=len(loaded) > 1)]
                return run_drift(own, ref, loaded, store=True, actor=actor, progress=progress, cancel=cancel)

        def ended(message: Optional[str]) -> None:
            self.compare_button.setEnabled(self.reference.count() > 0)
            if message is not None and self._reference_key() == key:
                self.summary.setText(message)

        def done(run) -> None:
            ended(None)
            if self._reference_key() == key:  # stored either way; shown if its reference still is
                self._reference_changed(select_series=run.series_id)

        def failed(exc, tb) -> None:
            ended("The comparison could not run: see the message.")
            show_error(self, "Drift comparison failed", exc, tb)

        self.runner.start("Comparing batches", work, on_success=done, on_error=failed,
                          on_cancel=lambda: ended("Cancelled."))

    def _render(self) -> None:
        """Draw the page from the selection: the stored comparison chosen, or an empty
        page that says what to do."""
        self.ensure_built()
        run = self.run
        self.report_button.setEnabled(run is not None)
        self.batch_list.blockSignals(True)
        self.batch_list.clear()
        if run is not None:
            for r in run.reports:
                item = QListWidgetItem(f"{r.label}: {r.verdict} ({r.batch.get('rows', 0):,} rows)")
                item.setForeground(QBrush(QColor(VERDICT_COLOURS.get(r.verdict, "#333"))))
                self.batch_list.addItem(item)
        self.batch_list.blockSignals(False)
        if run is None:
            self.retrain_button.setEnabled(False)
            self.summary.setText("No comparison shown. Add batches (files or datasets) and press Compare"
                                 + (", or select a stored comparison." if self.stored_runs else "."))
            self.features.setRowCount(0)
            self.bins.setRowCount(0)
            self.detail.setText("")
            self.performance_text.setText("")

            def clear() -> None:
                for chart in (self.distribution, self.feature_timeline, self.dataset_timeline):
                    chart.reset("")
                self._draw_performance_timeline()

            self.when_built(clear)  # a first visit shows the page before its hidden charts are made
            return
        self.finish_building()
        comparable = [i for i, r in enumerate(run.reports) if r.verdict != "not comparable"]
        last = comparable[-1] if comparable else len(run.reports) - 1
        self.batch_list.setCurrentRow(last)
        self.show_batch(last)
        self._draw_dataset_timeline()
        self._draw_performance_timeline()

    def retrain(self) -> None:
        """Retrain the reference version (the data of the batch ticked, when it is a
        dataset); the new version is shown in the Registry when it is done."""
        from ..retrain_dialog import ask_retrain

        report, key = self.current_report(), self._reference_key()
        if report is None or key is None or key[1][0] != "model":
            return

        def show(result: Any) -> None:
            window = self.window()
            if hasattr(window, "go_to"):
                window.go_to("Registry")
                window.page("Registry").select_ref(result.challenger, force=True)

        ask_retrain(self, self.state, self.runner, key[1][1], preselect=report.batch.get("dataset_id"), on_done=show)

    def current_report(self) -> Any:
        row = self.batch_list.currentRow()
        return self.run.reports[row] if self.run is not None and 0 <= row < len(self.run.reports) else None

    def show_batch(self, row: int) -> None:
        self.finish_building()
        report = self.current_report()
        if report is None:
            return
        self.summary.setText(self.headline(report))
        key = self._reference_key()
        self.retrain_button.setEnabled(bool(report.drifted) and key is not None and key[1][0] == "model")
        self._show_performance(report)
        results = list(report.features) + ([report.target] if report.target is not None else [])
        t = self.features
        t.setSortingEnabled(False)
        t.setRowCount(len(results))
        for r, f in enumerate(results):
            name = QTableWidgetItem(f.name)
            name.setData(Qt.ItemDataRole.UserRole, r)
            t.setItem(r, 0, name)
            t.setItem(r, 1, QTableWidgetItem(f.kind))
            t.setItem(r, 2, _coloured(f.verdict))
            t.setItem(r, 3, table_item(f.metrics.get("psi")))
            t.setItem(r, 4, table_item(f.metrics.get("wasserstein_normalised", f.metrics.get("jensen_shannon"))))
            t.setItem(r, 5, QTableWidgetItem(f.decided_by))
            t.item(r, 5).setToolTip(f.decided_by)
        t.resizeColumnsToContents()
        t.horizontalHeader().setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        t.setSortingEnabled(True)
        t.sortItems(3, Qt.SortOrder.DescendingOrder)
        if results:
            t.setCurrentCell(0, 0)
            self.show_feature(0)

    def headline(self, report: Any) -> str:
        """What the selected batch shows: its verdict and summary (never another batch's),
        how many of the comparison's batches drifted, and when it was made."""
        run = self.run
        colour = VERDICT_COLOURS.get(report.verdict, "#333")
        text = Markup("<b style='color:{}'>{}: {}</b> against {}. {}").format(
            colour, report.label, report.verdict, run.reference.get('label', ''), report.summary)
        if len(run.reports) > 1:
            drifted = sum(1 for r in run.reports if r.drifted)
            text += Markup("<br>{} of {} batches drifted; select a batch to see its features.").format(
                drifted, len(run.reports))
        if report.created_at:
            text += Markup("<br><span style='color:gray'>Compared on {} UTC by {} (drift report {}).</span>").format(
                report.created_at[:16].replace('T', ' '), report.created_by, report.id)
        return text

    def _result_at(self, row: int) -> Any:
        report = self.current_report()
        item = self.features.item(row, 0)
        if report is None or item is None:
            return None
        results = list(report.features) + ([report.target] if report.target is not None else [])
        return results[int(item.data(Qt.ItemDataRole.UserRole))]

    def show_feature(self, row: int) -> None:
        f = self._result_at(row)
        report = self.current_report()
        if f is None:
            return
        chart = report.charts.get(f.name) or {}
        if chart.get("kind") == "histogram":
            self.distribution.overlay(chart["edges"], chart["reference"], chart["current"],
                                      title=f"{f.name}: reference and current", x_label=f.name)
        elif f.bins:
            self._bars_pair(f)
        else:
            self.distribution.reset(f"{f.name}: {f.reason or 'no chart'}")
        bins = f.bins or {}
        labels = bins.get("labels", [])
        self.bins.setRowCount(len(labels))
        for r, label in enumerate(labels):
            for c, value in enumerate((str(label), numbers.share(bins.get("reference", [None] * len(labels))[r]),
                                       numbers.share(bins.get("current", [None] * len(labels))[r]))):
                self.bins.setItem(r, c, QTableWidgetItem(value))
        row = Markup("<tr><td>{}</td><td>{}</td></tr>")
        figures = Markup("").join(row.format(numbers.metric_name(k), numbers.cell(v))
                                  for k, v in f.metrics.items()
                                  if not isinstance(v, (list, dict)))
        noise = Markup("").join(row.format(numbers.metric_name(k), numbers.cell(v))
                                for k, v in f.noise.items()
                                if not isinstance(v, (list, dict)))
        self.detail.setText(Markup("<h3>{} — {}</h3><p>{}</p>"
                                   "<p><b>Measures</b></p><table>{}</table>"
                                   "<p><b>No-drift noise level (what a batch this size shows by chance)</b></p>"
                                   "<table>{}</table>").format(f.name, f.verdict, f.decided_by, figures, noise))
        self._draw_feature_timeline(f.name)

    def _bars_pair(self, f: Any) -> None:
        labels = [str(b) for b in f.bins.get("labels", [])][:15]
        self.distribution.paired_hbars(labels, {"reference": f.bins.get("reference", [])[:15],
                                                "current": f.bins.get("current", [])[:15]},
                                       title=f"{f.name}: share of rows per category")

    def _draw_feature_timeline(self, name: str) -> None:
        timeline = self.run.timeline if self.run is not None else None
        if timeline is None or name not in timeline.features:
            self.feature_timeline.reset("One batch: add more batches, or split one by date, for a timeline")
            return
        # a bar per batch: batches are separate comparisons, not points of one curve
        t = self.run.thresholds
        self.feature_timeline.bars(timeline.labels, timeline.series(name, "psi"), title=f"{name}: PSI per batch",
                                   y_label="PSI", x_label=self._timeline_axis(), reference=t.get("psi_major"),
                                   reference_label="major drift")

    def _timeline_axis(self) -> str:
        split = {r.batch.get("source", {}).get("split_by") for r in self.run.reports} - {None}
        return f"period of {split.pop()}" if len(split) == 1 else "batch"

    def _draw_dataset_timeline(self) -> None:
        timeline = self.run.timeline if self.run is not None else None
        if timeline is None:
            self.dataset_timeline.reset("")
            return
        weighted = self.run.reference.get("type") == "model_version"
        self.dataset_timeline.bars(timeline.labels, timeline.drifted_share,
                                   title="Share of drifted features" + (" (by importance)" if weighted else ""),
                                   y_label="share", x_label=self._timeline_axis(), y_range=(0, 1),
                                   reference=self.run.thresholds.get("dataset_share") or None,
                                   reference_label="batch threshold")

    # -- performance -----------------------------------------------------------------------

    def _build_performance(self) -> QWidget:
        from mlops_model_support.performance import METRIC_LABELS, METRICS

        from ..charts import Chart

        panel = QWidget()
        layout = QVBoxLayout(panel)
        self.performance_text = QLabel()
        self.performance_text.setWordWrap(True)
        self.performance_text.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.performance_text.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.performance_text)
        row = QHBoxLayout()
        row.addWidget(QLabel("Across batches:"))
        self.performance_metric = QComboBox()
        for k in ("roc_auc", *[m for m in METRICS if m != "roc_auc"]):
            self.performance_metric.addItem(METRIC_LABELS[k], k)
        self.performance_metric.currentIndexChanged.connect(lambda _i: self.when_built(self._draw_performance_timeline))
        row.addWidget(self.performance_metric)
        row.addStretch(1)
        layout.addLayout(row)
        def chart() -> None:  # on a hidden tab: made later (see LazyPage.later)
            self.performance_timeline = Chart("Performance across batches")
            layout.insertWidget(2, self.performance_timeline, 1)

        self.later(chart)
        caption = QLabel("Line: the estimate, batch by batch in time order, its 95% band shaded; dots: the "
                         "realized figure where labels are known.")
        caption.setWordWrap(True)
        caption.setStyleSheet("color: gray")
        layout.addWidget(caption)
        return panel

    def _show_performance(self, report: Any) -> None:
        """The batch's estimated performance with its band beside its drift verdict, and
        the realized figures when labels are known (they replace the estimate)."""
        from mlops_model_support.performance import METRIC_LABELS, METRICS

        est, real = report.estimated_performance, report.realized_performance
        if est is None and real is None:
            self.performance_text.setText(escape(report.performance_note or
                                                 "Performance is shown for a model version as the reference."))
            return
        colour = VERDICT_COLOURS.get(report.verdict, "#333")
        head = Markup("<b>{}</b>: drift verdict <b style='color:{}'>{}</b>. {}").format(
            report.label, colour, report.verdict, "Realized performance replaces the estimate: labels are known."
            if real is not None else "No labels yet: the performance is estimated.")
        level = f"{est.level:.0%} band" if est is not None else "band"
        rows = []
        for k in METRICS:
            m = est.metrics.get(k) if est is not None else None
            shown = (Markup("{} <span style='color:gray'>({})</span>").format(
                numbers.value(m.estimate), numbers.interval(m.low, m.high))
                if m is not None and m.estimate is not None else "—")
            r = real.metrics.get(k) if real is not None else None
            rows.append(Markup("<tr><td>{}</td><td>{}</td><td><b>{}</b></td></tr>").format(
                METRIC_LABELS[k], shown, numbers.value(r)))
        parts = [head, Markup("<table cellpadding='3'><tr><th align='left'>Metric</th><th align='left'>Estimated "
                              "({})</th><th align='left'>Realized</th></tr>{}</table>").format(
                                  level, Markup("").join(rows))]
        if est is not None and not est.reliable:
            parts.append(Markup("<p style='color:#b3261e'>{}</p>").format(est.reason))
        if report.realized_note:
            parts.append(Markup("<p style='color:gray'>{}</p>").format(report.realized_note))
        if est is not None and est.segments:
            seg = Markup("").join(
                Markup("<tr><td>{}</td><td>{:,}</td><td>{}</td><td>{}</td><td>{}</td></tr>").format(
                    v, s.rows, _band(s, 'roc_auc'), _band(s, 'accuracy'), _realized(real, v))
                for v, s in est.segments.items())
            parts.append(Markup("<p><b>Per segment</b></p><table cellpadding='3'><tr><th>Segment</th><th>Rows</th>"
                                "<th>ROC AUC (band)</th><th>Accuracy (band)</th><th>Realized accuracy</th></tr>"
                                "{}</table>").format(seg))
        if est is not None:
            parts.append(Markup("<p style='color:gray'>{}</p>").format(est.assumption))
        self.performance_text.setText(Markup("").join(parts))

    def _draw_performance_timeline(self) -> None:
        history, chart = self.performance_history, self.performance_timeline
        metric, label = self.performance_metric.currentData(), self.performance_metric.currentText()
        if history is None and self._history_reading:
            chart.reset("Reading this version's performance across its batches…")
            return
        if history is None or not history.points:
            chart.reset("No batch of this model version has an estimated or realized performance yet")
            return
        series = history.series(metric)
        x = list(range(len(history.points)))
        # the estimate with its band shaded, as the leaderboard draws intervals; realized as dots
        chart.band_lines([{"name": f"estimated {label} (95% band)", "x": x, "y": series["estimate"],
                           "low": series["low"], "high": series["high"]}],
                         title=f"{label} by batch: estimate and band, realized (dots)",
                         x_label="batch (in time order)", y_label=label)
        known = [(i, v) for i, v in zip(x, series["realized"]) if v is not None]
        if known:
            chart.plot([i for i, _ in known], [v for _, v in known], pen=None, symbol="o", symbolSize=9,
                       symbolBrush="#b3261e", name=f"realized {label}")
        chart.getPlotItem().getAxis("bottom").setTicks(
            [[(i, p.label if len(p.label) <= 12 else p.label[:11] + "…") for i, p in enumerate(history.points)]])

    def save_report(self) -> None:
        if self.run is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save the drift report", str(Path.home() / "drift.html"),
                                              "HTML files (*.html)")
        if path:
            self.write_report(path)

    def write_report(self, path: str) -> None:
        from ...core.monitor.html import write_drift_report

        try:
            write_drift_report(path, self.run.reports)
        except Exception as exc:
            show_error(self, "Cannot save the report", exc)
            return
        self.summary.setText(Markup("{}<br>Report saved to {}").format(Markup(self.summary.text()), str(path)))


def _band(estimate: Any, metric: str) -> str:
    m = estimate.metrics.get(metric)
    if m is None or m.estimate is None:
        return "—"
    return numbers.with_interval(m.estimate, m.low, m.high)


def _realized(realized: Any, segment: str) -> str:
    part = realized.segments.get(segment) if realized is not None else None
    return numbers.value(part.metrics.get("accuracy") if part is not None else None)


def _user_error(message: str) -> Exception:
    from ...core.errors import InvalidChoiceError

    return InvalidChoiceError(message)
