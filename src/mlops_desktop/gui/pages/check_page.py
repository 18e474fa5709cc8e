"""Check page: the statistical assumption checks for a target, each with a verdict,
its chart, why it matters and what to do; warnings can be accepted with a reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from markupsafe import Markup
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QComboBox, QFileDialog, QGroupBox, QHBoxLayout, QHeaderView,
                               QInputDialog, QLabel, QListWidget, QListWidgetItem, QPushButton,
                               QSplitter, QStackedWidget, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from ...core import numbers
from ..check_charts import VERDICT_COLOURS, VERDICT_TEXT
from ..errors import show_error
from ..formula_edit import FormulaEdit
from ..jobs import JobRunner
from ..selection import Selection
from ..state import AppState
from ..undo import RecordedChange, page_stack
from ..page_kinds import LazyPage
from ..page_parts import EmptyState, heading
from ..table_actions import RAW_ROLE, add_table_actions
from ..tables import fill_table, make_table
from .dataset_picker import DatasetPicker

NO_TIME = "(none)"


class CheckPage(LazyPage):
    """The checks of the chosen dataset and target: the last stored run opens at once;
    "Run checks" / "Run again" runs them anew (stored too)."""

    title = "Check"

    def __init__(self, state: AppState, runner: JobRunner, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        #: key (workspace generation, dataset id, target); result the CheckReport shown, or None
        self.selection = Selection(self._render)
        self._choice_pending = False
        self.undo_stack = page_stack(self, state)  # accepted warnings (Edit → Undo)
        self.picker = DatasetPicker(state, require_target=True)
        self.picker.changed.connect(self._dataset_or_target_changed)
        outer = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(heading("Check"))
        top.addSpacing(16)
        top.addWidget(self.picker)
        top.addSpacing(12)
        top.addWidget(QLabel("Task:"))
        self.task = QComboBox()
        self.task.addItem("Infer from the target", None)
        self.task.addItem("Regression", "regression")
        self.task.addItem("Classification", "classification")
        top.addWidget(self.task)
        top.addSpacing(12)
        top.addWidget(QLabel("Time order:"))
        self.time_column = QComboBox()
        self.time_column.setToolTip("A column giving the rows' order in time enables the "
                                    "stationarity and time-leakage checks")
        top.addWidget(self.time_column)
        top.addStretch(1)
        outer.addLayout(top)
        formula_row = QHBoxLayout()
        formula_row.addWidget(QLabel("Formula:"))
        self.formula = FormulaEdit()
        self.formula.setPlaceholderText("optional, e.g. log(wage) ~ education + poly(experience, 2); "
                                        "empty: the ticked features as they are")
        self.formula.textChanged.connect(self._formula_changed)
        self.formula.returnPressed.connect(self.run_checks)
        formula_row.addWidget(self.formula, 1)
        outer.addLayout(formula_row)
        buttons = QHBoxLayout()
        self.run_button = QPushButton("Run checks")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run_checks)
        self.report_button = QPushButton("Save report…")
        self.report_button.clicked.connect(self.save_report)
        self.report_button.setEnabled(False)
        self.status = QLabel("Choose a dataset and a target, then run the checks.")
        self.status.setWordWrap(True)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.report_button)
        buttons.addWidget(self.status, 1)
        outer.addLayout(buttons)
        self.stack = QStackedWidget()
        self.empty = EmptyState("Nothing to check yet",
                                "Import a dataset on the Data page first; then choose its target here "
                                "to test the assumptions a model of it relies on.", [])
        self.body = QWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.body)
        outer.addWidget(self.stack, 1)

    def on_show(self) -> None:
        self.picker.reload()
        if self._choice_pending:
            self._dataset_or_target_changed()

    def build(self) -> None:
        from ..charts import Chart

        splitter = QSplitter()
        splitter.setObjectName("checkSplitter")
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        self.features_box = features_box = QGroupBox("Features (ticked ones are checked)")
        fl = QVBoxLayout(features_box)
        self.features = QListWidget()
        self.features.setMaximumHeight(150)
        fl.addWidget(self.features)
        ll.addWidget(features_box)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Verdict", "Check", "Figure"])
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        self.table.setWordWrap(False)
        add_table_actions(self.table, "checks")
        self.table.currentCellChanged.connect(lambda r, *_: self.show_check(r))
        ll.addWidget(self.table, 1)
        splitter.addWidget(left)

        right = QWidget()
        rl = QVBoxLayout(right)
        self.check_title = heading("")
        rl.addWidget(self.check_title)
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setTextFormat(Qt.TextFormat.RichText)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        rl.addWidget(self.detail)
        from .prepare_panel import StepOffer

        self.step_offer = StepOffer(self.state, "Steps that act on it")
        rl.addWidget(self.step_offer)
        self.rows_table = make_table([], name="rows-to-look-at")
        self.rows_table.setMaximumHeight(125)
        self.rows_table.cellClicked.connect(lambda r, _c: self.show_row(self.rows_table.item(r, 0).data(RAW_ROLE) - 1))
        rl.addWidget(self.rows_table)
        self.row_detail = QLabel()
        self.row_detail.setWordWrap(True)
        self.row_detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        rl.addWidget(self.row_detail)
        self.chart = Chart()
        self.chart.point_clicked.connect(lambda label: self.show_row(int(label)))
        rl.addWidget(self.chart, 1)
        rl.addStretch(0)
        accept_row = QHBoxLayout()
        self.accepted_label = QLabel()
        self.accepted_label.setTextFormat(Qt.TextFormat.PlainText)  # a reason someone typed
        self.accepted_label.setWordWrap(True)
        self.accept_button = QPushButton("Accept this warning…")
        self.accept_button.setToolTip("Record why the model may go ahead despite this result; "
                                      "the model card shows it")
        self.accept_button.clicked.connect(self.accept_current)
        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip("Add the term this check's advice calls for, run the checks again "
                                     "and compare before and after")
        self.apply_button.clicked.connect(self.apply_current)
        self.apply_button.setVisible(False)
        accept_row.addWidget(self.accepted_label, 1)
        accept_row.addWidget(self.apply_button)
        accept_row.addWidget(self.accept_button)
        rl.addLayout(accept_row)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([470, 810])
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    # -- choices ------------------------------------------------------------------------

    @property
    def report(self) -> Any:
        """The check run on screen (core CheckReport), or None."""
        return self.selection.result

    def _dataset_or_target_changed(self) -> None:
        if not self.isVisible():  # a new import while another page shows: catch up when shown,
            self._choice_pending = True  # so that building the charts never stalls that page
            return
        self._choice_pending = False
        self.ensure_built()
        ws, dataset_id, target = self.state.workspace, self.picker.dataset_id(), self.picker.target()
        key = (self.state.generation, dataset_id, target) if ws is not None and dataset_id is not None else None
        if not self.selection.select(key) and self.report is not None:
            return  # coming back to the page: keep the results on screen
        self.stack.setCurrentWidget(self.body if dataset_id is not None else self.empty)
        self.features.clear()
        self.time_column.clear()
        self.time_column.addItem(NO_TIME)
        if key is None:
            self.run_button.setEnabled(False)
            return
        from ...core.data.dataset import CHECK_EXCLUDED_KINDS as EXCLUDED_KINDS  # light: no statsmodels

        ds = ws.dataset(dataset_id)
        self.formula.set_columns([c.name for c in ds.columns])
        self.formula.clear()
        for col in ds.columns:
            if col.kind in ("datetime", "numeric") and col.name != target:
                self.time_column.addItem(col.name)
            if col.name == target or col.kind in EXCLUDED_KINDS:
                continue
            item = QListWidgetItem(f"{col.name}  ({col.kind})")
            item.setData(Qt.ItemDataRole.UserRole, col.name)
            item.setCheckState(Qt.CheckState.Checked if col.role == "feature" else Qt.CheckState.Unchecked)
            self.features.addItem(item)
        self.run_button.setEnabled(target is not None)
        self.reopen()

    def reopen(self) -> None:
        """Show the last stored run for this dataset and target, as it was made (with the
        warnings accepted since), and tick the features it used."""
        key, ws = self.selection.key, self.state.workspace
        if key is None or ws is None or key[2] is None:
            return
        from ...core.checks import last_check_run

        report = last_check_run(ws, key[1], key[2])
        if report is not None:
            used = set(report.features)
            for i in range(self.features.count()):
                item = self.features.item(i)
                item.setCheckState(Qt.CheckState.Checked if item.data(Qt.ItemDataRole.UserRole) in used
                                   else Qt.CheckState.Unchecked)
            self.time_column.setCurrentIndex(max(self.time_column.findText(report.time_column or NO_TIME), 0))
            self.formula.setText(report.formula or "")
        self.selection.show(key, report)

    def _formula_changed(self, text: str) -> None:
        if self.built:
            self.features.setEnabled(not text.strip())
            self.features_box.setTitle("Features (the formula's columns are checked)" if text.strip()
                                       else "Features (ticked ones are checked)")

    def chosen_formula(self) -> Optional[str]:
        """The formula typed, or None."""
        return self.formula.text().strip() or None

    def chosen_features(self) -> list[str]:
        return [self.features.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.features.count())
                if self.features.item(i).checkState() == Qt.CheckState.Checked]

    # -- running --------------------------------------------------------------------------

    def run_checks(self) -> None:
        ws, key = self.state.workspace, self.selection.key
        if ws is None or key is None or key[2] is None:
            return
        _, dataset_id, target = key
        root, actor, features, formula = ws.root, self.state.actor, self.chosen_features(), self.chosen_formula()
        if formula is not None:
            features = None  # the formula's columns
        task = self.task.currentData()
        time_column = None if self.time_column.currentText() in ("", NO_TIME) else self.time_column.currentText()
        self.status.setText("Running the checks…")
        self.run_button.setEnabled(False)

        def work(progress, cancel):
            from ...core.checks.for_dataset import check_dataset
            from ...core.workspace import Workspace

            with Workspace.open(root) as own:
                return check_dataset(own, dataset_id, target, task=task, features=features,
                                     time_column=time_column, formula=formula, store=True, actor=actor,
                                     progress=progress, cancel=cancel)

        def ended(message: Optional[str]) -> None:
            self.run_button.setEnabled(self.selection.key is not None and self.selection.key[2] is not None)
            if message is not None and self.selection.key == key:
                self.status.setText(message)

        def done(report) -> None:
            ended(None)
            self.selection.show(key, report)  # dropped if another dataset or target is chosen by now

        def failed(exc, tb) -> None:
            ended("The checks could not run: see the message.")
            show_error(self, "Checks failed", exc, tb)

        self.runner.start("Running checks", work, on_success=done, on_error=failed,
                          on_cancel=lambda: ended("Cancelled."))

    def _render(self) -> None:
        """Draw the page from the selection: the stored run shown, or an empty table."""
        report = self.report
        self.report_button.setEnabled(report is not None)
        self.run_button.setText("Run again" if report is not None else "Run checks")
        if report is None:
            target = self.selection.key[2] if self.selection.key is not None else None
            self.status.setText("No stored run for this target: run the checks to see the verdicts."
                                if target else "Choose a target: the column a model would predict.")
            if self.built:
                self.table.setRowCount(0)
                self._clear_detail()
            return
        self.show_report(report)

    def show_report(self, report: Any) -> None:
        counts = report.verdict_counts
        dropped = f" ({report.n_dropped_missing:,} with missing values left out)" if report.n_dropped_missing else ""
        stored = (f" Checked on {report.created_at[:16].replace('T', ' ')} UTC by {report.created_by} "
                  f"(check run {report.id}); “Run again” checks anew." if report.id is not None else "")
        self.status.setText(f"{report.task.capitalize()} of {report.target_label or report.target}: {report.n_used:,} of "
                            f"{report.n_rows:,} rows used{dropped}. {counts['ok']} ok, {counts['warning']} "
                            f"warnings, {counts['problem']} problems. " + " ".join(report.notes) + stored)
        self.table.setRowCount(len(report.checks))
        for r, c in enumerate(report.checks):
            verdict = QTableWidgetItem(VERDICT_TEXT[c.verdict] + (" ✓" if c.accepted else ""))
            verdict.setForeground(QBrush(QColor("white")))
            verdict.setBackground(QBrush(QColor(VERDICT_COLOURS[c.verdict])))
            verdict.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            if c.accepted:
                verdict.setToolTip(f"Accepted by {c.accepted['accepted_by']}: {c.accepted['reason']}")
            self.table.setItem(r, 0, verdict)
            self.table.setItem(r, 1, QTableWidgetItem(c.name))
            figure = next(((n, v) for n, v in ((c.effect_name, c.effect), (c.statistic_name, c.statistic))
                           if v is not None), None)
            shown = QTableWidgetItem(f"{figure[0]} {numbers.cell(figure[1])}" if figure else "")
            shown.setToolTip(shown.text())
            self.table.setItem(r, 2, shown)
        self.table.resizeColumnToContents(0)
        self.table.setColumnWidth(2, 190)
        if report.checks:
            worst = min(range(len(report.checks)),
                        key=lambda i: ["problem", "warning", "ok", "not_applicable"].index(report.checks[i].verdict))
            self.table.setCurrentCell(worst, 0)
            self.show_check(worst)

    def _clear_detail(self) -> None:
        self.check_title.setText("")
        self.detail.setText("")
        self.rows_table.setRowCount(0)
        self.rows_table.setVisible(False)
        self.row_detail.setText("")
        self.accepted_label.setText("")
        self.accept_button.setEnabled(False)
        self._offer_steps(None)
        self.apply_button.setVisible(False)
        self.chart.reset("")

    def show_check(self, row: int) -> None:
        if self.report is None or not 0 <= row < len(self.report.checks):
            return
        c = self.report.checks[row]
        colour = VERDICT_COLOURS[c.verdict]
        self.check_title.setText(c.name)
        figures = []
        for name, value in ((c.statistic_name, c.statistic), (c.effect_name, c.effect)):
            if value is not None:
                figures.append(f"{name} = {numbers.value(value)}")
        if c.p_value is not None:
            figures.insert(1 if c.statistic is not None else 0, numbers.p_phrase(c.p_value, "p-value"))
        self.detail.setText(Markup(
            "<p><span style='background:{};color:white;padding:2px 6px'>&nbsp;{}&nbsp;</span> &nbsp;{}</p>"
            "<p>{}</p><p><i>Decided by {}</i></p><p><b>Why it matters:</b> {}</p><p><b>What to do:</b> {}</p>"
        ).format(colour, VERDICT_TEXT[c.verdict], "; ".join(figures), c.tested or "", c.decided_by or "",
                 c.why or "", c.action or ""))
        head, rows = c.rows_to_look_at()
        self.rows_table.setColumnCount(len(head))
        self.rows_table.setHorizontalHeaderLabels(head)
        fill_table(self.rows_table, rows)
        self.rows_table.setVisible(bool(rows))
        self.row_detail.setText("Click a row above, or a point of the chart, to see the row's values."
                                if rows else "")
        self.draw_chart(c.chart)
        self._offer_steps(c)
        if c.accepted:
            a = c.accepted
            self.accepted_label.setText(f"Accepted by {a['accepted_by']} on {a['accepted_at'][:10]}: "
                                        f"“{a['reason']}”")
        else:
            self.accepted_label.setText("")
        self.accept_button.setEnabled(c.verdict in ("warning", "problem"))
        self.apply_button.setVisible(bool(c.suggestion))
        if c.suggestion:
            self.apply_button.setText(f"Apply: {_short(c.suggestion['label'])}")
            self.apply_button.setToolTip(f"{c.suggestion['label']}.\nRuns the checks on\n"
                                         f"{c.suggestion['formula']}\nand compares before and after.")

    def _offer_steps(self, check: Any) -> None:
        """The recipe steps that act on the check's advice, offered as Explore offers its alerts'."""
        key = self.selection.key
        self.step_offer.offer(key[1] if key is not None and check is not None else None,
                              check.suggested_steps if check is not None else [])

    def draw_chart(self, chart: Optional[dict[str, Any]]) -> None:
        """The check's chart, or none at all (no empty axes) for a check without one."""
        from ..check_charts import draw_check_chart

        draw_check_chart(self.chart, chart)

    def show_row(self, position: int) -> None:
        """Show the values of the dataset's row at ``position`` (0-based; the Data page
        numbers it from 1)."""
        from ...core.data.catalog import row_at
        from ..table_model import format_value

        ws, key = self.state.workspace, self.selection.key
        if ws is None or key is None:
            return
        try:
            values = row_at(ws, ws.dataset(key[1]), position)
        except Exception as exc:
            show_error(self, "Cannot show the row", exc)
            return
        shown = "; ".join(f"{k} = {format_value(v)}" for k, v in values.items())  # as the Data page shows it
        self.row_detail.setText(Markup("<b>Row {}</b> (as numbered on the Data page): {}").format(
            numbers.count(position + 1), shown))

    # -- applying a term -----------------------------------------------------------------------

    def apply_current(self) -> None:
        """Run the checks with the current check's suggested formula (in the background),
        then compare before and after."""
        row = self.table.currentRow()
        if self.report is None or row < 0 or not self.report.checks[row].suggestion:
            return
        self.apply(self.report.checks[row].id)

    def apply(self, check_id: str) -> None:
        ws, key, before = self.state.workspace, self.selection.key, self.report
        suggestion = before.check(check_id).suggestion
        root, formula, time_column = ws.root, suggestion["formula"], before.time_column
        task = before.task
        self.status.setText(f"Applying: {suggestion['label']}…")
        self.apply_button.setEnabled(False)

        def work(progress, cancel):
            from ...core.checks.for_dataset import check_dataset
            from ...core.workspace import Workspace

            with Workspace.open(root) as own:
                return check_dataset(own, key[1], key[2], task=task, time_column=time_column,
                                     formula=formula, progress=progress, cancel=cancel)

        def done(after) -> None:
            self.apply_button.setEnabled(True)
            if self.selection.key != key or self.report is not before:
                return  # another dataset, target or run is on screen by now
            self.compare_with(before, after, check_id, suggestion["label"])

        def failed(exc, tb) -> None:
            self.apply_button.setEnabled(True)
            self.status.setText("The term could not be applied: see the message.")
            show_error(self, "Cannot apply the term", exc, tb)

        self.runner.start("Applying a term", work, on_success=done, on_error=failed,
                          on_cancel=lambda: self.apply_button.setEnabled(True))

    def compare_with(self, before: Any, after: Any, check_id: str, label: str) -> None:
        """Before and after side by side; the new formula is stored and shown if kept."""
        from .check_compare import BeforeAfterDialog

        dialog = BeforeAfterDialog(before, after, check_id, label, self)
        self.last_comparison = dialog
        dialog.accepted.connect(lambda: self.keep(after))
        dialog.rejected.connect(lambda: self.status.setText(f"Kept the formula {before.formula or '(none)'}."))
        dialog.open()

    def keep(self, report: Any) -> None:
        from ...core.checks import save_check_run

        ws, key = self.state.workspace, self.selection.key
        try:
            save_check_run(ws, key[1], report, actor=self.state.actor)
        except Exception as exc:
            show_error(self, "Cannot keep the formula", exc)
            return
        self.formula.setText(report.formula or "")
        self.selection.show(key, report)
        self.status.setText("Kept the new formula; the Train wizard starts from it. " + self.status.text())

    # -- acceptance and report ---------------------------------------------------------------

    def accept_current(self) -> None:
        row = self.table.currentRow()
        if self.report is None or row < 0:
            return
        check = self.report.checks[row]
        reason, ok = QInputDialog.getMultiLineText(
            self, "Accept this warning",
            f"Why may a model go ahead despite “{check.name}”? The reason is recorded with your name "
            "and shown on the model card.")
        if ok:
            self.accept(check.id, reason)

    def accept(self, check_id: str, reason: str) -> None:
        """Record the acceptance of a check's warning; Edit → Undo withdraws it (recorded)."""
        from ...core.checks import accept_warning

        ws, key, report = self.state.workspace, self.selection.key, self.report
        check = report.check(check_id)
        try:
            check.accepted = accept_warning(ws, key[1], report.target, report.features, check_id, reason,
                                            self.state.actor, result=check)
        except Exception as exc:
            show_error(self, "Cannot accept the warning", exc)
            return
        self._show_acceptances(key, report, check_id)
        self.undo_stack.push(self._acceptance(key, report, check, reason))

    def _acceptance(self, key: Any, report: Any, check: Any, reason: str) -> RecordedChange:
        """Undo withdraws the acceptance made last (recorded); redo accepts again, with the
        same reason (a new acceptance, recorded)."""
        from ...core.checks import accept_warning, withdraw_acceptance

        latest = [check.accepted["id"]]

        def forward() -> None:
            latest[0] = accept_warning(self.state.workspace, key[1], report.target, report.features, check.id,
                                       reason, self.state.actor, result=check)["id"]

        def backward() -> None:
            withdraw_acceptance(self.state.workspace, latest[0], self.state.actor, reason="undone")

        return RecordedChange(f"accept the “{check.name}” warning", self.state, self, forward=forward,
                              backward=backward, after=lambda: self._show_acceptances(key, report, check.id))

    def _show_acceptances(self, key: Any, report: Any, check_id: str) -> None:
        """Read the acceptances again and redraw, if this report still shows."""
        from ...core.checks import accepted_warnings, attach_acceptances

        if self.selection.key != key or self.report is not report or self.state.workspace is None:
            return
        attach_acceptances(report, accepted_warnings(self.state.workspace, key[1], report.target))
        row = next(i for i, c in enumerate(report.checks) if c.id == check_id)
        self.show_report(report)
        self.table.setCurrentCell(row, 0)
        self.show_check(row)

    def save_report(self) -> None:
        if self.report is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save the report",
                                              str(Path.home() / f"checks-{self.report.target}.html"),
                                              "HTML files (*.html)")
        if path:
            self.write_report(path)

    def write_report(self, path: str) -> None:
        from ...core.checks import accepted_warnings
        from ...core.report import write_report

        try:
            write_report(path, checks=self.report,
                         accepted=accepted_warnings(self.state.workspace, self.picker.dataset_id(),
                                                    self.report.target),
                         title=f"Assumption checks: {self.report.target}")
        except Exception as exc:
            show_error(self, "Cannot save the report", exc)
            return
        self.status.setText(f"Report saved to {path}")


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
