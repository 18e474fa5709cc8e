"""Validate page: a model version's holdout metrics with 95% intervals next to the
baseline, its curves, subgroups, importance, coefficients, model card and each
column's contributions, with "Why this prediction?" for any row."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from markupsafe import Markup
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QSpinBox, QSplitter, QStackedWidget, QTabWidget, QTextBrowser,
                               QVBoxLayout, QWidget)

from ...core import numbers
from ...core.validate.card import few
from ..errors import show_error
from ..jobs import JobRunner
from ..selection import Selection
from ..state import AppState
from ..page_kinds import LazyReloadingPage
from ..page_parts import EmptyState, heading
from ..tables import fill_table, make_table

HOLDOUT = "Its own holdout"
INTRO = ("Choose a model version and validate it: metrics with 95% bootstrap intervals, next to the "
         "baseline it must beat.")
#: columns the contributions chart shows at most (the largest by mean contribution)
SWARM_COLUMNS = 12
#: reasons "Why this prediction?" lists
TOP_REASONS = 3


@dataclass
class ShownValidation:
    """A version's latest stored validation and the model card drawn from it."""

    validation: Any          # core VersionValidation, as stored
    card: Any                # core ModelCard, or None when it could not be made
    markdown: str
    contributions: Any = None  # core HoldoutContributions, or None when the validation has none


class ValidatePage(LazyReloadingPage):
    """Shows the selected version's latest stored validation (nothing recomputed);
    "Validate" / "Run again" runs a new one, which is stored and then shown."""

    title = "Validate"

    def __init__(self, state: AppState, runner: JobRunner, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        #: key (workspace generation, "model:version"); result a ShownValidation or None
        self.selection = Selection(self._render)
        self._wanted: Optional[str] = None
        self._listed_for = -1  # the workspace generation the choices were listed for
        outer = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(heading("Validate"))
        top.addSpacing(12)
        top.addWidget(QLabel("Model:"))
        self.model_combo = QComboBox()
        self.model_combo.setMinimumWidth(260)
        top.addWidget(self.model_combo)
        top.addWidget(QLabel("on"))
        self.data_combo = QComboBox()
        self.data_combo.setMinimumWidth(180)
        top.addWidget(self.data_combo)
        top.addWidget(QLabel("Subgroup:"))
        self.subgroup = QComboBox()
        top.addWidget(self.subgroup)
        top.addStretch(1)
        outer.addLayout(top)
        row = QHBoxLayout()
        self.rule = QComboBox()
        self.rule.addItem("maximise F1", "f1")
        self.rule.addItem("minimise cost", "cost")
        self.rule.setToolTip("For binary classifiers: how the decision threshold is chosen")
        self.cost_fp = QDoubleSpinBox()
        self.cost_fn = QDoubleSpinBox()
        for box in (self.cost_fp, self.cost_fn):
            box.setRange(0, 1e9)
            box.setValue(1)
        #: the decision threshold's controls: a classifier's only (a regression model has none)
        self.threshold_controls = [QLabel("Threshold:"), self.rule, QLabel("cost of a false positive"),
                                   self.cost_fp, QLabel("of a false negative"), self.cost_fn]
        for widget in self.threshold_controls:
            row.addWidget(widget)
        self.run_button = QPushButton("Validate")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run_validation)
        self.card_button = QPushButton("Save model card…")
        self.card_button.clicked.connect(self.save_card)
        self.card_button.setEnabled(False)
        row.addStretch(1)
        row.addWidget(self.run_button)
        row.addWidget(self.card_button)
        outer.addLayout(row)
        stage_row = QHBoxLayout()
        self.stage_label = QLabel()
        stage_row.addWidget(self.stage_label)
        self.stage_buttons: dict[str, QPushButton] = {}
        for stage, text, tip in (("validated", "Mark as validated…", "Needs a validation on record; a model "
                                  "that did not beat its baseline needs a recorded override"),
                                 ("approved", "Approve…", "Four eyes: someone other than the trainer, "
                                  "with a comment"),
                                 ("retired", "Retire…", "A retired version cannot be approved again")):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(lambda _=False, st=stage: self.ask_stage(st))
            stage_row.addWidget(button)
            self.stage_buttons[stage] = button
        stage_row.addStretch(1)
        outer.addLayout(stage_row)
        self.verdict = QLabel(INTRO)
        self.verdict.setWordWrap(True)
        outer.addWidget(self.verdict)
        self.stack = QStackedWidget()
        self.empty = EmptyState("No model to validate yet",
                                "Train a model on the Train page; its versions appear here.", [])
        self.body = QWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.body)
        outer.addWidget(self.stack, 1)
        self.model_combo.currentIndexChanged.connect(lambda _i: self._model_changed())
        state.workspace_changed.connect(self.mark_stale)
        state.datasets_changed.connect(lambda _id: self.mark_stale())
        state.models_changed.connect(lambda _ref: self.mark_stale())
        state.version_selected.connect(self._version_selected)

    @property
    def result(self) -> Any:
        """The validation on screen (core VersionValidation), or None."""
        shown = self.selection.result
        return shown.validation if shown is not None else None

    @property
    def model_card(self) -> Any:
        shown = self.selection.result
        return shown.card if shown is not None else None

    def build(self) -> None:
        from ..charts import Chart

        # the metrics above the charts, each the full width: side by side, one of them was cut
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setObjectName("validateMetricsSplitter")
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter
        self.metrics = make_table(["Metric", "Model", "95% interval", "Baseline", "Difference (95% interval)"])
        self.metrics.setMinimumHeight(80)
        splitter.addWidget(self.metrics)
        self.tabs = QTabWidget()
        curves = QWidget()
        cl = QHBoxLayout(curves)
        self.chart_a = Chart()
        self.chart_b = Chart()
        cl.addWidget(self.chart_a)
        cl.addWidget(self.chart_b)
        self.tabs.addTab(curves, "Curves")
        self.chart_c = Chart()
        self.tabs.addTab(self.chart_c, "Calibration / residuals")
        self.confusion = make_table([])
        self.tabs.addTab(self.confusion, "Confusion matrix")
        self.groups = make_table(["Column", "Value", "Rows", "Reliable"])
        self.tabs.addTab(self.groups, "Segments and subgroups")
        self.importance = Chart("Permutation importance on the holdout")
        self.tabs.addTab(self.importance, "Importance")
        pdp = QWidget()
        pl = QVBoxLayout(pdp)
        row = QHBoxLayout()
        row.addWidget(QLabel("Feature:"))
        self.pdp_feature = QComboBox()
        self.pdp_feature.currentIndexChanged.connect(self._draw_pdp)
        row.addWidget(self.pdp_feature)
        row.addStretch(1)
        pl.addLayout(row)
        self.pdp_chart = Chart("Partial dependence")
        pl.addWidget(self.pdp_chart, 1)
        self.tabs.addTab(pdp, "Partial dependence")
        coefficients = QWidget()
        kl = QVBoxLayout(coefficients)
        kl.setContentsMargins(0, 4, 0, 0)
        self.coefficient_note = QLabel()
        self.coefficient_note.setWordWrap(True)
        kl.addWidget(self.coefficient_note)
        self.coefficients = make_table([], name="coefficients")
        kl.addWidget(self.coefficients, 1)
        self.tabs.addTab(coefficients, "Coefficients")
        card_tab = QWidget()
        kl = QVBoxLayout(card_tab)
        kl.setContentsMargins(0, 4, 0, 0)
        purpose_row = QHBoxLayout()
        purpose_row.addWidget(QLabel("Purpose:"))
        self.purpose = QLineEdit()
        self.purpose.setPlaceholderText("What is this model for, and who uses its predictions? (shown on the card)")
        self.purpose.returnPressed.connect(self.save_purpose)
        purpose_row.addWidget(self.purpose, 1)
        self.purpose_button = QPushButton("Save purpose")
        self.purpose_button.clicked.connect(self.save_purpose)
        purpose_row.addWidget(self.purpose_button)
        kl.addLayout(purpose_row)
        self.card = QTextBrowser()
        kl.addWidget(self.card, 1)
        self.tabs.addTab(card_tab, "Model card")
        self.tabs.addTab(self._build_contributions(), "Contributions")
        self.curve_class = QComboBox()  # multiclass: whose one-against-the-rest curves show
        self.curve_class.setToolTip("Multiclass models: the class whose curves (against all the others) are drawn")
        self.curve_class.currentIndexChanged.connect(lambda _i: self._draw_class_curves())
        corner = QWidget()
        cl2 = QHBoxLayout(corner)
        cl2.setContentsMargins(0, 0, 4, 0)
        cl2.addWidget(QLabel("Class:"))
        cl2.addWidget(self.curve_class)
        self.tabs.setCornerWidget(corner)
        corner.setVisible(False)
        self.tabs.currentChanged.connect(lambda _i: self._show_class_choice())
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self._list_why_data()

    def _build_contributions(self) -> QWidget:
        """Each column's contribution across the holdout (left) and "Why this
        prediction?" for one row (right): its reasons in words and a waterfall."""
        from ..charts import Chart

        tab = QWidget()
        layout = QVBoxLayout(tab)
        self.contributions_intro = QLabel()
        self.contributions_intro.setWordWrap(True)
        layout.addWidget(self.contributions_intro)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setObjectName("validateContributionsSplitter")
        self.swarm = Chart()
        self.swarm.point_clicked.connect(self._point_clicked)
        split.addWidget(self.swarm)
        why = QWidget()
        wl = QVBoxLayout(why)
        wl.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("<b>Why this prediction?</b>  Row"))
        self.why_row = QSpinBox()
        self.why_row.setRange(1, 10 ** 9)
        row.addWidget(self.why_row)
        row.addWidget(QLabel("of"))
        self.why_data = QComboBox()
        self.why_data.setToolTip("The version's holdout, or any dataset with the model's columns (e.g. a batch "
                                 "to score); rows are numbered from 1, among those with a target when it has one")
        row.addWidget(self.why_data, 1)
        self.why_button = QPushButton("Explain")
        self.why_button.clicked.connect(lambda: self.explain_row())
        row.addWidget(self.why_button)
        wl.addLayout(row)
        self.why_text = QLabel("Click a point on the chart, or choose a row and press Explain.")
        self.why_text.setWordWrap(True)
        self.why_text.setTextFormat(Qt.TextFormat.RichText)
        wl.addWidget(self.why_text)
        self.waterfall = Chart()
        self.waterfall.setMinimumHeight(170)
        wl.addWidget(self.waterfall, 1)
        split.addWidget(why)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        layout.addWidget(split, 1)
        #: the row on screen (core RowExplanation), or None
        self.why_result: Any = None
        return tab

    # -- choices ------------------------------------------------------------------------

    def _version_selected(self, ref: str) -> None:
        self._wanted = ref
        self.mark_stale()

    def reload(self) -> None:
        """List the versions and datasets again, then show the chosen version's stored
        validation. The choice is kept within one workspace, never across two."""
        self.stale = False
        ws = self.state.workspace
        same_workspace = self._listed_for == self.state.generation
        self._listed_for = self.state.generation
        versions: list[Any] = []
        if ws is not None:
            from ...core.registry.lifecycle import search_versions

            versions = search_versions(ws, limit=None).rows
        keep = self._wanted or (self.model_combo.currentData() if same_workspace else None) \
            or self.state.current_version
        self._wanted = None
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for v in sorted(versions, key=lambda v: (v.model, -v.version)):
            self.model_combo.addItem(f"{v.ref}  ({v.family}, {v.stage})", v.ref)
        index = self.model_combo.findData(keep) if keep else 0
        self.model_combo.setCurrentIndex(max(index, 0))
        self.model_combo.blockSignals(False)
        self.stack.setCurrentIndex(1 if versions else 0)
        data = self.data_combo.currentData() if same_workspace else None
        self.data_combo.clear()
        self.data_combo.addItem(HOLDOUT, None)
        for ds in ws.datasets() if ws is not None else []:
            self.data_combo.addItem(ds.name, ds.id)
        self.data_combo.setCurrentIndex(max(self.data_combo.findData(data), 0))
        if self.built:
            self._list_why_data()
        self._model_changed()

    def _model_changed(self) -> None:
        """The version shown changed, or the workspace did: the page shows this version's
        stage and its latest stored validation, and nothing of another version's."""
        ws, ref = self.state.workspace, self.model_combo.currentData()
        key = (self.state.generation, ref) if ws is not None and ref else None
        subgroup = self.subgroup.currentData() if key == self.selection.key else None
        self.selection.select(key)
        self.subgroup.clear()
        self.subgroup.addItem("(none)", None)
        self.run_button.setEnabled(key is not None)
        if key is None:
            self.stage_label.setText("")
            for button in self.stage_buttons.values():
                button.setEnabled(False)
            return
        from ...core.train import find_version, run

        mv = find_version(ws, ref)
        self._show_stage(mv)
        ds = ws.dataset(run(ws, mv.run_id).dataset_id)
        for col in ds.columns:
            if col.kind in ("categorical", "boolean") and col.name != mv.target:
                self.subgroup.addItem(col.name, col.name)
        self.subgroup.setCurrentIndex(max(self.subgroup.findData(subgroup), 0))
        self.show_task_controls(mv.task)
        self.reopen()

    def show_task_controls(self, task: str) -> None:
        """A classifier's controls (the decision threshold, its costs, the confusion
        matrix) for a classifier only; the second charts' tab named for the task."""
        classifier = task != "regression"
        for widget in self.threshold_controls:
            widget.setVisible(classifier)
        self.rule.setEnabled(classifier)
        if self.built:
            self.tabs.setTabVisible(self.tabs.indexOf(self.confusion), classifier)
            self.tabs.setTabText(self.tabs.indexOf(self.chart_c), "Calibration" if classifier else "Residuals")

    def reopen(self) -> None:
        """Show the selected version's latest stored validation as it was recorded:
        metrics, curves, subgroups and importance come from the registry, nothing is
        recomputed (the model card only reads the coefficients of a linear model)."""
        key, ws = self.selection.key, self.state.workspace
        if key is None or ws is None:
            return
        from ...core.errors import MlopsError
        from ...core.validate.card_markdown import model_card_markdown
        from ...core.validate.explanations import holdout_view
        from ...core.validate.for_version import latest_validation, model_card

        stored = latest_validation(ws, key[1])
        shown = None
        if stored is not None:
            try:
                card = model_card(ws, key[1], validation=stored.report)
                markdown = model_card_markdown(card)
            except MlopsError as exc:  # e.g. a model file that fails its hash: the metrics still show
                card, markdown = None, f"The model card could not be made: {exc}"
            shown = ShownValidation(stored, card, markdown, holdout_view(stored.report.contributions))
        self.selection.show(key, shown)

    # -- running ---------------------------------------------------------------------------

    def run_validation(self) -> None:
        ws, key = self.state.workspace, self.selection.key
        if ws is None or key is None:
            return
        ref = key[1]
        root, actor = ws.root, self.state.actor
        data = self.data_combo.currentData()
        subgroup = self.subgroup.currentData()
        cost = self.rule.currentData() == "cost" and self.rule.isEnabled()
        cost_fp, cost_fn = (self.cost_fp.value(), self.cost_fn.value()) if cost else (None, None)
        self.verdict.setText(f"Validating {ref}…")
        self.run_button.setEnabled(False)

        def work(progress, cancel):
            from ...core.validate.for_version import validate_version
            from ...core.workspace import Workspace

            with Workspace.open(root) as own:
                return validate_version(own, ref, data=data, cost_fp=cost_fp, cost_fn=cost_fn,
                                        subgroups=[subgroup] if subgroup else [], actor=actor,
                                        progress=progress, cancel=cancel)

        def ended(message: Optional[str]) -> None:
            self.run_button.setEnabled(self.selection.key is not None)
            if message is not None and self.selection.key == key:  # another version's page says nothing
                self.verdict.setText(message)

        def done(_validation) -> None:
            ended(None)
            # stored: every page re-reads the registry, this one shows the stored validation
            # if this version is still the one selected (else it shows when selected again)
            self.state.models_changed.emit("")

        def failed(exc, tb) -> None:
            ended("The validation could not run: see the message.")
            show_error(self, "Validation failed", exc, tb)

        self.runner.start(f"Validating {ref}", work, on_success=done, on_error=failed,
                          on_cancel=lambda: ended("Cancelled; the validation shown before is kept."))

    def _render(self) -> None:
        """Draw the page from the selection: the stored validation of the selected
        version, or an empty page that says how to make one."""
        shown = self.selection.result
        ref = self.selection.key[1] if self.selection.key is not None else None
        self.card_button.setEnabled(shown is not None and shown.card is not None)
        self.run_button.setText("Run again" if shown is not None else "Validate")
        if shown is None:
            self.verdict.setText(f"{ref} has no validation yet. " + INTRO if ref else INTRO)
            if self.built:
                self._clear_results()
            return
        self.show_result(shown)

    def _clear_results(self) -> None:
        for table in (self.metrics, self.confusion, self.groups, self.coefficients):
            table.setRowCount(0)
        for chart in (self.chart_a, self.chart_b, self.chart_c, self.importance, self.pdp_chart, self.swarm,
                      self.waterfall):
            chart.reset("")
        self.pdp_feature.clear()
        self.card.clear()
        self.contributions_intro.setText("")
        self.why_text.setText("Click a point on the chart, or choose a row and press Explain.")
        self.why_result = None
        self.tabs.cornerWidget().setVisible(False)

    def show_result(self, shown: ShownValidation) -> None:
        self.ensure_built()
        self._clear_results()  # what this validation lacks (a curve, importance) must not show another's
        self.show_task_controls(shown.validation.report.task)
        result, card = shown.validation, shown.card
        r = result.report
        colour = "#1e7b34" if r.beats_baseline else "#b3261e"
        when = (result.created_at or "")[:16].replace("T", " ")
        fit_warning = card.fit_warning if card is not None else None
        self.verdict.setText(Markup(
            "<b style='color:{}'>{} the baseline.</b> {} <br><span style='color:gray'>{} on {}: {} rows. {}</span>"
            "{}<br>Validated on {} UTC by {} (validation {}). “Run again” validates anew.").format(
                colour, "Beats" if r.beats_baseline else "Does not beat", r.baseline_verdict, result.ref,
                str(result.data), f"{r.n_rows:,}", " ".join(r.notes[:3]),
                Markup("<br><b>{}</b>").format(fit_warning) if fit_warning else "", when, str(result.created_by),
                result.validation_id))
        base = {m.name: m for m in r.baseline_metrics}
        diff = {m.name: m for m in r.differences}
        rows = []
        for m in r.metrics:
            b, d = base.get(m.name), diff.get(m.name)
            rows.append([m.label, m.value, numbers.interval(m.low, m.high), b.value if b else None,
                         numbers.with_interval(d.value, d.low, d.high, sign=True) if d else "—"])
        fill_table(self.metrics, rows)
        self.metrics.horizontalHeader().setStretchLastSection(True)
        for i in range(len(rows)):
            self.metrics.item(i, 0).setToolTip(rows[i][0])
        # the table as tall as its rows (up to half the page), the charts the rest
        wanted = self.metrics.horizontalHeader().height() + 24 * len(rows) + 6
        total = sum(self.splitter.sizes()) or self.splitter.height()
        self.splitter.setSizes([min(wanted, total // 2), max(total - min(wanted, total // 2), 1)])
        self._draw_curves(r)
        cm = r.confusion_matrix
        if cm:
            labels = [str(x) for x in cm["labels"]]
            self.confusion.setColumnCount(len(labels) + 1)
            self.confusion.setHorizontalHeaderLabels(["actual ↓ / predicted →"] + labels)
            fill_table(self.confusion, [[labels[i]] + list(row) for i, row in enumerate(cm["matrix"])])
        else:
            self.confusion.setRowCount(0)
        names = [m for g in r.subgroups for m in g.get("metrics", [])]
        names = list(dict.fromkeys(names))
        self.groups.setColumnCount(4 + len(names))
        self.groups.setHorizontalHeaderLabels(["Column", "Value", "Rows", "Reliable"] + names)
        group_rows = []
        for g in r.subgroups:
            for item in g["groups"]:
                group_rows.append([g["column"], item["value"], item["count"], "yes" if item["reliable"] else
                                   f"no ({few(g)})"] + [item["metrics"].get(m) for m in names])
        fill_table(self.groups, group_rows)
        imp = r.importance[:15]
        if imp:
            self.importance.hbars([i["feature"] for i in imp], [i["mean"] for i in imp],
                                  title="Permutation importance on the holdout",
                                  x_label=getattr(r, "importance_metric", "") or "")
        self.pdp_feature.blockSignals(True)
        self.pdp_feature.clear()
        for entry in r.partial_dependence:
            self.pdp_feature.addItem(entry["feature"])
        self.pdp_feature.blockSignals(False)
        self._draw_pdp()
        coefs = (card.coefficients if card is not None else None) or []
        self._fill_coefficients(coefs)
        if card is not None and card.coefficient_notes:  # which rows the table was fitted on, first
            self.coefficient_note.setText(" ".join([*card.coefficient_notes, self.coefficient_note.text()]).strip())
        self.tabs.setTabEnabled(6, bool(coefs))
        self.card.setMarkdown(shown.markdown)
        self.purpose.setText(card.purpose if card is not None else "")
        self._draw_contributions(shown.contributions)

    # -- contributions ---------------------------------------------------------------------

    def _draw_contributions(self, view: Any) -> None:
        """The beeswarm of the holdout's contributions (the columns with the largest mean
        contribution), or why there is none."""
        if view is None:
            self.contributions_intro.setText("This validation holds no contributions per column: its notes say "
                                             "why (one made before they existed: run it again).")
            return
        shown = view.columns[:SWARM_COLUMNS]
        more = f" (the {SWARM_COLUMNS} largest of {len(view.columns)})" if len(view.columns) > SWARM_COLUMNS else ""
        # the full account in the tooltip: the tab's height is the charts'
        self.contributions_intro.setToolTip(view.intro)
        self.contributions_intro.setText(Markup(
            "Each point is a holdout row: how far a column moved its {} (right: up, left: "
            "down); in brackets, each column's mean absolute contribution. Colour: the row's value, blue low to red "
            "high, grey a category or missing. Click a point for that row's reasons. <i>Contributions describe the "
            "model, not causes.</i>").format(view.output))
        self.swarm.beeswarm([f"{c.column} ({numbers.value(c.mean_abs)})" for c in shown],
                            [c.contributions for c in shown], [c.shades for c in shown],
                            x_label=f"contribution to the {view.output}{more}",
                            point_labels=[c.rows for c in shown])

    def _list_why_data(self) -> None:
        """The data a row can be explained from: the choices of the data to validate on."""
        keep = self.why_data.currentData()
        self.why_data.clear()
        for i in range(self.data_combo.count()):
            self.why_data.addItem(self.data_combo.itemText(i), self.data_combo.itemData(i))
        self.why_data.setCurrentIndex(max(self.why_data.findData(keep), 0))

    def _point_clicked(self, row: Any) -> None:
        """A point of the beeswarm: explain its row, from the data the validation used."""
        shown = self.selection.result
        if shown is None or shown.contributions is None:
            return
        self.why_data.setCurrentIndex(max(self.why_data.findData(shown.contributions.dataset), 0))
        self.why_row.setValue(int(row))
        self.explain_row()

    def explain_row(self) -> None:
        """Explain the chosen row off the UI thread (a large forest takes a while); the
        answer shows if this version is still the one selected."""
        ws, key = self.state.workspace, self.selection.key
        if ws is None or key is None:
            return
        ref, row, data, root = key[1], self.why_row.value(), self.why_data.currentData(), ws.root
        self.why_button.setEnabled(False)
        self.why_text.setText(Markup("Explaining row {} of {}…").format(f"{row:,}", self.why_data.currentText()))

        def work(progress, cancel):
            from ...core.validate.explanations import explain_row
            from ...core.workspace import Workspace

            with Workspace.open(root) as own:
                return explain_row(own, ref, row, data=data, top=TOP_REASONS)

        def done(result: Any) -> None:
            self.why_button.setEnabled(True)
            if self.selection.key == key:
                self.show_row(result)

        def failed(exc: BaseException, tb: str) -> None:
            from ...core.errors import MlopsError

            self.why_button.setEnabled(True)
            if not isinstance(exc, MlopsError):  # not the user's doing: the full report
                show_error(self, "The row could not be explained", exc, tb)
            if self.selection.key == key:
                self.why_text.setText(Markup("<span style='color:#b3261e'>{}</span>").format(str(exc)))

        self.runner.start(f"Explaining row {row:,} of {ref}", work, on_success=done, on_error=failed,
                          on_cancel=lambda: self.why_button.setEnabled(True))

    def show_row(self, result: Any) -> None:
        """One row: its decision and reasons in words, and the waterfall from the base
        value to its score."""
        self.why_result = result
        reasons = result.sentences()
        listed = Markup("<br>").join(Markup("{}. {}").format(i, r) for i, r in enumerate(reasons, 1)) \
            if reasons else "No column pushed the score towards this decision."
        self.why_text.setText(Markup("<b>{}</b><br>The main reasons:<br>{}").format(result.headline(), listed))
        names, steps = result.steps()
        # no title: the headline above says where the row starts and ends, the axis needs the room
        self.waterfall.waterfall(names, steps, result.base, x_label=result.output)

    def save_purpose(self) -> None:
        """Store what the version is for (audited); the card shows it at once."""
        from ...core.registry.annotations import set_purpose

        ws, key = self.state.workspace, self.selection.key
        if ws is None or key is None:
            return
        try:
            done = set_purpose(ws, key[1], self.purpose.text(), actor=self.state.actor)
        except Exception as exc:
            show_error(self, "Cannot save the purpose", exc)
            return
        if done["changed"]:
            self.state.models_changed.emit(key[1])  # re-read: the card shows the purpose

    def _fill_coefficients(self, rows: list[dict[str, Any]]) -> None:
        """Estimate, standard error, 95% interval and p-value per term; for logistic
        models the odds ratio and its interval too (exp of the interval's bounds)."""
        by_class = any("class" in r for r in rows)
        odds = any("odds_ratio" in r for r in rows)
        headers = (["Class"] if by_class else []) + ["Term", "Estimate", "Std. error", "95% CI low",
                                                     "95% CI high", "p-value"]
        headers += ["Odds ratio", "OR 95% CI low", "OR 95% CI high", "Odds ratio per SD"] if odds else []
        self.coefficients.setColumnCount(len(headers))
        self.coefficients.setHorizontalHeaderLabels(headers)
        fill_table(self.coefficients, [
            ([str(r["class"])] if by_class else []) + [r.get("name", ""), r.get("estimate"), r.get("std_error"),
                                                      r.get("ci_low"), r.get("ci_high"), numbers.p_value(r.get("p_value"))]
            + ([r.get("odds_ratio"), r.get("odds_ratio_ci_low"), r.get("odds_ratio_ci_high"),
                r.get("odds_ratio_per_sd")] if odds else [])
            for r in rows])
        kind = {"t": "t distribution", "z": "normal (Wald) distribution"}.get(
            next((r.get("statistic_kind") for r in rows), None), "")
        note = f"95% intervals from the {kind}." if kind else ""
        if odds:
            reference = next((r.get("reference_class") for r in rows), None)
            note += (f" Estimates are changes in the log-odds of each class against {reference!s}; an odds "
                     "ratio is exp(estimate), its interval exp of the interval's bounds (1 means no effect).")
        self.coefficient_note.setText(note.strip())

    def _show_stage(self, mv: Any) -> None:
        from ...core.registry.lifecycle import ALLOWED

        self.stage_label.setText(Markup("Stage of {}: <b>{}</b>  (trained by {})").format(
            mv.ref, mv.stage, mv.created_by))
        for stage, button in self.stage_buttons.items():
            button.setEnabled(mv.stage in ALLOWED[stage])

    def ask_stage(self, stage: str) -> None:
        """Ask for the comment (and an override reason where the rules need one), then move."""
        from ..stage_dialog import ask_for_version

        ref = self.model_combo.currentData()
        if not ref:
            return
        answer = ask_for_version(self, self.state, ref, stage)
        if answer is not None:
            self.set_stage(stage, comment=answer[0], override=answer[1])

    def set_stage(self, stage: str, *, comment: str = "", override: Optional[str] = None) -> bool:
        from ..stage_dialog import change_stage_with_help

        ref = self.model_combo.currentData()
        # this page re-reads on models_changed: the stage, and the card's approvals
        return change_stage_with_help(self, self.state, ref, stage, comment=comment, override=override,
                                      on_done=lambda: self.state.models_changed.emit(ref),
                                      ask_again=lambda: self.ask_stage(stage))

    def _draw_pdp(self) -> None:
        if self.result is None or not self.pdp_feature.count():
            return
        entry = next((e for e in self.result.report.partial_dependence
                      if e["feature"] == self.pdp_feature.currentText()), None)
        if entry is None:
            self.pdp_chart.reset("No partial dependence for this model")
            return
        series = entry.get("average_by_class") or {entry.get("response", "prediction"): entry["average"]}
        title = f"Average {entry.get('response', 'prediction')} as {entry['feature']} varies"
        if entry["kind"] == "categorical":
            first = next(iter(series.values()))
            self.pdp_chart.hbars(entry["grid"], first, title=title, x_label=next(iter(series)))
        else:
            self.pdp_chart.lines(entry["grid"], series, title=title, x_label=entry["feature"],
                                 y_label=entry.get("response", "prediction"))

    def _draw_curves(self, r: Any) -> None:
        c = r.curves or {}
        by_class = (c.get("by_class") or []) if r.task == "multiclass" else []
        if r.task == "regression":
            rv = c.get("residuals_vs_fitted") or {}
            self.chart_a.scatter(rv.get("fitted", []), rv.get("residual", []), title="Residuals against fitted",
                                 x_label="fitted", y_label="residual", hline=0.0)
            pa = c.get("predicted_vs_actual") or {}
            actual, predicted = pa.get("actual", []), pa.get("predicted", [])
            line = (min(actual), min(actual), max(actual), max(actual)) if actual else None
            self.chart_b.scatter(actual, predicted, title="Predicted against actual", x_label="actual",
                                 y_label="predicted", line=line)
            h = c.get("residual_histogram") or {}
            self.chart_c.histogram(h.get("edges", []), h.get("counts", []), title="Residuals", x_label="residual")
            return
        self.curve_class.blockSignals(True)
        chosen = self.curve_class.currentText()
        self.curve_class.clear()
        for entry in by_class:
            self.curve_class.addItem(str(entry.get("class")))
        self.curve_class.setCurrentIndex(max(self.curve_class.findText(chosen), 0))
        self.curve_class.blockSignals(False)
        self._show_class_choice()
        self._draw_class_curves()

    def _show_class_choice(self) -> None:
        """The class choice shows beside the tabs it applies to (curves, calibration), for
        a multiclass model only."""
        curves_tab = self.tabs.currentIndex() in (0, 1)
        multiclass = self.result is not None and self.result.report.task == "multiclass"
        self.tabs.cornerWidget().setVisible(curves_tab and multiclass and self.curve_class.count() > 1)

    def _draw_class_curves(self) -> None:
        """ROC, precision–recall and calibration of a binary model, or of the chosen class
        of a multiclass one against all the others."""
        if self.result is None:
            return
        r = self.result.report
        c = r.curves or {}
        if r.task == "regression":
            return
        if r.task == "binary":
            curves = c
        else:
            by_class = c.get("by_class") or [{}]
            curves = by_class[min(max(self.curve_class.currentIndex(), 0), len(by_class) - 1)]
            for chart in (self.chart_a, self.chart_b, self.chart_c):
                chart.reset("")  # a class without a curve must not show another's
        roc, pr, cal = curves.get("roc"), curves.get("pr"), curves.get("calibration")
        # short titles: the charts are narrow, and the class choice beside the tabs names the class
        suffix = "" if r.task == "binary" else f": {curves.get('class')} vs rest"
        if roc:
            self.chart_a.scatter(roc["fpr"], roc["tpr"], title=("ROC" if suffix else "ROC curve") + suffix,
                                 x_label="false positive rate", y_label="true positive rate", line=(0, 0, 1, 1),
                                 connect=True)
        if pr:
            self.chart_b.scatter(pr["recall"], pr["precision"], title=("PR" if suffix else "Precision–recall") + suffix,
                                 x_label="recall", y_label="precision", connect=True)
        if cal:
            self.chart_c.scatter(cal["mean_predicted"], cal["observed"], title="Calibration" + suffix,
                                 x_label="mean predicted probability", y_label="observed share",
                                 line=(0, 0, 1, 1), connect=True)

    def save_card(self) -> None:
        if self.result is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save the model card",
                                              str(Path.home() / f"{self.result.ref.replace(':', '-v')}-card.html"),
                                              "HTML (*.html);;Markdown (*.md)")
        if path:
            self.write_card(path)

    def write_card(self, path: str) -> None:
        from ...core.validate.card_file import write_model_card

        if self.model_card is None:
            return
        try:
            write_model_card(self.model_card, path)
        except Exception as exc:
            show_error(self, "Cannot save the model card", exc)
            return
        self.verdict.setText(Markup(self.verdict.text()) + Markup("<br>Model card saved to {}").format(str(path)))
