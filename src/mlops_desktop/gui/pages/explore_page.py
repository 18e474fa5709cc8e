"""Explore page: per-column statistics and charts, correlations, the relation of each
feature to the target, and alerts that jump to their column."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import QModelIndex, QRect, Qt
from PySide6.QtGui import QBrush, QColor, QPainter
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QSplitter, QStackedWidget, QStyledItemDelegate, QStyleOptionViewItem,
                               QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from ...core import numbers
from ..errors import show_error
from ..jobs import JobRunner
from ..state import AppState
from ..page_kinds import LazyPage
from ..page_parts import EmptyState, heading
from ..tables import make_table, table_item
from .dataset_picker import DatasetPicker

SEVERITY_COLOURS = {"problem": QColor("#b3261e"), "warning": QColor("#a86b00"), "info": QColor("#3b6ea8")}
SPARK_ROLE = Qt.ItemDataRole.UserRole + 1


class SparklineDelegate(QStyledItemDelegate):
    """Paints a column's distribution as a tiny bar chart in its table cell."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        super().paint(painter, option, index)
        counts = index.data(SPARK_ROLE)
        if counts:
            from ..charts import sparkline_painter

            sparkline_painter(painter, QRect(option.rect), counts)


class ExplorePage(LazyPage):
    title = "Explore"

    def __init__(self, state: AppState, runner: JobRunner, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        self.profile: Any = None
        self._generation = 0
        self._pending = False
        self.picker = DatasetPicker(state)
        self.picker.changed.connect(self._selection_changed)
        self.stack = QStackedWidget()
        self.empty = EmptyState("Nothing to explore yet",
                                "Import a dataset on the Data page first; then its statistics, "
                                "correlations and alerts appear here.", [])
        self.stack.addWidget(self.empty)
        self.body = QWidget()
        self.stack.addWidget(self.body)
        outer = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(heading("Explore"))
        top.addSpacing(16)
        top.addWidget(self.picker)
        self.report_button = QPushButton("Save report…")
        self.report_button.setToolTip("A self-contained HTML file a reviewer can open anywhere")
        self.report_button.clicked.connect(self.save_report)
        top.addStretch(1)
        top.addWidget(self.report_button)
        outer.addLayout(top)
        self.status = QLabel()
        self.status.setWordWrap(True)
        outer.addWidget(self.status)
        outer.addWidget(self.stack, 1)

    # -- building ---------------------------------------------------------------------

    def on_show(self) -> None:
        if self._pending or self.profile is None:
            self._pending = False
            self.picker.reload()

    def build(self) -> None:
        from ..charts import Chart, Heatmap

        splitter = QSplitter()
        splitter.setObjectName("exploreSplitter")
        self.columns = make_table(["Column", "Type", "Missing", "Distinct", "Distribution"])
        self.columns.setItemDelegateForColumn(4, SparklineDelegate(self.columns))
        header = self.columns.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in (1, 2, 3):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Fixed)
        self.columns.setColumnWidth(4, 90)
        self.columns.currentCellChanged.connect(lambda r, *_: self.show_column(r))
        splitter.addWidget(self.columns)

        self.tabs = QTabWidget()
        self.alerts = make_table(["Severity", "Column(s)", "What"])
        self.alerts.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.alerts.setWordWrap(True)
        self.alerts.cellClicked.connect(self._alert_clicked)
        self.alerts.currentCellChanged.connect(lambda r, *_: self._offer_step(r))
        alerts = QWidget()
        al = QVBoxLayout(alerts)
        al.setContentsMargins(0, 0, 0, 0)
        al.addWidget(self.alerts, 1)
        from .prepare_panel import StepOffer

        self.step_offer = StepOffer(self.state, "A step that addresses it",
                                    "Select an alert: where a recipe step addresses it, it is offered here.")
        al.addWidget(self.step_offer)
        self.tabs.addTab(alerts, "Alerts")

        detail = QWidget()
        dl = QHBoxLayout(detail)
        left = QVBoxLayout()
        self.column_title = heading("")
        left.addWidget(self.column_title)
        self.stats = make_table(["Statistic", "Value"])
        # the names keep their width; a long value (a list of far values) is cut, whole in its tooltip
        self.stats.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.stats.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.stats.setMaximumWidth(300)
        left.addWidget(self.stats, 1)
        dl.addLayout(left)
        charts = QVBoxLayout()
        self.relation_note = QLabel()  # instead of empty axes when there is no relation chart
        self.relation_note.setWordWrap(True)
        self.relation_note.setAlignment(Qt.AlignmentFlag.AlignTop)
        charts.addWidget(self.relation_note, 3)
        dl.addLayout(charts, 1)
        self.tabs.addTab(detail, "Column")

        # on hidden tabs until a profile is shown: made later, one chart a turn (see LazyPage.later)
        def distribution() -> None:
            self.distribution = Chart("Distribution")
            charts.insertWidget(0, self.distribution, 3)

        def box() -> None:
            self.box = Chart("Box plot")
            self.box.setMaximumHeight(130)
            charts.insertWidget(1, self.box, 1)

        def relation_chart() -> None:
            self.relation = Chart("Relation to the target")
            charts.insertWidget(2, self.relation, 3)

        self.later(distribution)
        self.later(box)
        self.later(relation_chart)

        corr = QWidget()
        cl = QVBoxLayout(corr)
        row = QHBoxLayout()
        row.addWidget(QLabel("Measure:"))
        self.measure = QComboBox()
        self.measure.addItems(["Pearson", "Spearman", "Cramér's V (categories)",
                               "Correlation ratio η (category → number)"])
        self.measure.currentIndexChanged.connect(self._show_correlations)
        row.addWidget(self.measure)
        row.addStretch(1)
        cl.addLayout(row)
        self.tabs.addTab(corr, "Correlations")

        def heatmap() -> None:
            self.heatmap = Heatmap()
            cl.addWidget(self.heatmap, 1)

        self.later(heatmap)

        # the table above the chart, each the tab's full width (side by side, both were cut)
        target = QSplitter(Qt.Orientation.Vertical)
        target.setObjectName("exploreTargetSplitter")
        target.setChildrenCollapsible(False)
        self.relations = make_table(["Feature", "Type", "Mutual information", "Strength"])
        header = self.relations.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in (1, 2, 3):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.relations.cellClicked.connect(lambda r, _c: self._jump_to(self.relations.item(r, 0).text()))
        target.addWidget(self.relations)
        below = QWidget()  # the splitter has both parts now: the window restores their sizes
        below_layout = QVBoxLayout(below)
        below_layout.setContentsMargins(0, 0, 0, 0)
        target.addWidget(below)
        target.setSizes([300, 260])

        def balance() -> None:  # on a hidden tab: made later (see LazyPage.later)
            self.balance = Chart("Target")
            below_layout.addWidget(self.balance)

        self.later(balance)
        self.tabs.addTab(target, "Target")

        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([420, 860])
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    # -- profiling ----------------------------------------------------------------------

    def _selection_changed(self) -> None:
        if not self.isVisible():
            self._pending = True  # profile when the page is shown, not in the background
            return
        self.run_profile()

    def run_profile(self) -> None:
        dataset_id, target = self.picker.dataset_id(), self.picker.target()
        ws = self.state.workspace
        if ws is None or dataset_id is None:
            self.stack.setCurrentWidget(self.empty)
            self.status.setText("")
            self.report_button.setEnabled(False)
            return
        self.ensure_built()
        self._generation += 1
        generation = self._generation
        root = ws.root
        self.status.setText("Profiling…")
        self.report_button.setEnabled(False)

        def work(progress, cancel):
            from ...core.explore import profile_dataset
            from ...core.workspace import Workspace

            with Workspace.open(root) as own:
                return profile_dataset(own, dataset_id, target=target, progress=progress, cancel=cancel)

        def done(profile) -> None:
            if generation == self._generation:
                self.show_profile(profile)

        self.runner.start("Profiling", work, on_success=done,
                          on_error=lambda e, tb: show_error(self, "Profiling failed", e, tb))

    def show_profile(self, profile: Any) -> None:
        self.finish_building()
        self.profile = profile
        self.stack.setCurrentWidget(self.body)
        self.report_button.setEnabled(True)
        counts = {s: sum(1 for a in profile.alerts if a.severity == s) for s in ("problem", "warning", "info")}
        note = " ".join(profile.notes)
        self.status.setText(f"{profile.n_rows:,} rows × {profile.n_columns} columns, profiled in "
                            f"{numbers.seconds(profile.seconds)}. Alerts: {counts['problem']} problems, "
                            f"{counts['warning']} warnings, {counts['info']} notes. {note}")
        t = self.columns
        t.setRowCount(len(profile.columns))
        for r, col in enumerate(profile.columns):
            name = QTableWidgetItem(col.name)
            if profile.target and col.name == profile.target["column"]:
                name.setText(f"{col.name}  (target)")
            name.setData(Qt.ItemDataRole.UserRole, col.name)
            t.setItem(r, 0, name)
            t.setItem(r, 1, table_item(col.kind))
            t.setItem(r, 2, table_item(numbers.share(col.missing_share)))
            t.setItem(r, 3, table_item(col.distinct))
            spark = QTableWidgetItem()
            chart = col.chart or {}
            spark.setData(SPARK_ROLE, list(chart.get("counts", [])))
            t.setItem(r, 4, spark)
        t.resizeColumnToContents(1)
        a = self.alerts
        a.setRowCount(len(profile.alerts) or 1)
        if not profile.alerts:
            a.setItem(0, 0, table_item("—"))
            a.setItem(0, 1, table_item(""))
            a.setItem(0, 2, table_item("No alerts: nothing in this dataset stands out."))
        for r, alert in enumerate(profile.alerts):
            sev = table_item(alert.severity)
            sev.setForeground(QBrush(SEVERITY_COLOURS[alert.severity]))
            a.setItem(r, 0, sev)
            a.setItem(r, 1, table_item(", ".join(alert.columns) or "(table)"))
            a.setItem(r, 2, table_item(alert.message))
        a.resizeRowsToContents()
        self._offer_step(a.currentRow())
        self._show_correlations()
        self._show_target()
        if profile.columns:
            t.setCurrentCell(0, 0)
            self.show_column(0)

    # -- views ---------------------------------------------------------------------------

    def column_row(self, name: str) -> int:
        for r in range(self.columns.rowCount()):
            if self.columns.item(r, 0).data(Qt.ItemDataRole.UserRole) == name:
                return r
        return -1

    def _jump_to(self, name: str) -> None:
        row = self.column_row(name)
        if row >= 0:
            self.columns.setCurrentCell(row, 0)
            self.show_column(row)
            self.tabs.setCurrentIndex(1)

    def _offer_step(self, row: int) -> None:
        """The selected alert's remedy, as a recipe step to add (as Check offers its steps)."""
        alerts = self.profile.alerts if self.profile is not None else []
        step = alerts[row].suggested_step if 0 <= row < len(alerts) else None
        self.step_offer.offer(self.profile.dataset.get("id") if self.profile is not None else None,
                              [step] if step else [])

    def _alert_clicked(self, row: int, _col: int) -> None:
        if row >= len(self.profile.alerts):
            return
        alert = self.profile.alerts[row]
        if alert.columns:
            self._jump_to(alert.columns[0])

    def show_column(self, row: int) -> None:
        if self.profile is None or row < 0 or row >= len(self.profile.columns):
            return
        self.finish_building()
        col = self.profile.columns[row]
        self.column_title.setText(f"{col.name} · {col.kind}")
        rows = [("values", col.count), ("missing", f"{col.missing:,} ({numbers.share(col.missing_share)})"),
                ("distinct", col.distinct)]
        for key, value in col.stats.items():
            if key == "top":
                continue
            if isinstance(value, list):  # a range (low … high), or a declared order (lowest first)
                value = (" < " if key == "order" else " … ").join(numbers.cell(v) for v in value)
            rows.append((key.replace("_", " "), value))
        self.stats.setRowCount(len(rows))
        for r, (k, v) in enumerate(rows):
            self.stats.setItem(r, 0, table_item(k))
            self.stats.setItem(r, 1, table_item(v))
        chart = col.chart or {}
        if chart.get("kind") == "histogram":
            marks = [(col.stats["mean"], "mean")] if col.stats.get("mean") is not None else []
            self.distribution.histogram(chart["edges"], chart["counts"], title=f"Distribution of {col.name}",
                                        x_label=col.name, marks=marks)
        elif chart.get("kind") == "bars":
            labels = list(chart["labels"]) + (["(other)"] if chart.get("other") else [])
            counts = list(chart["counts"]) + ([chart["other"]] if chart.get("other") else [])
            title = (f"{col.name} in its order (lowest first)" if chart.get("ordered") else
                     f"Most frequent values of {col.name}")
            self.distribution.hbars(labels, counts, title=title, x_label="rows")
        elif chart.get("kind") == "time_histogram":
            self.distribution.bars([e[:10] for e in chart["edges"][:-1]], chart["counts"],
                                   title=f"Rows over time: {col.name}")
        else:
            self.distribution.reset(f"No chart for {col.name}")
        has_box = col.kind == "numeric" and "q25" in col.stats
        self.box.setVisible(has_box)  # isVisible() would be False while the tab is hidden
        if has_box:
            edges = chart.get("edges") or [col.stats.get("min"), col.stats.get("max")]
            self.box.box(col.stats, title="Box plot (whiskers at 1.5 IQR)", x_range=(edges[0], edges[-1]))
        self._show_relation(col.name)

    def _show_relation(self, name: str) -> None:
        target = self.profile.target if self.profile else None
        rel = next((r for r in (target or {}).get("relations", []) if r["column"] == name), None)
        chart = (rel or {}).get("chart")
        note = ("Choose a target to see how each column relates to it." if not target else
                f"{name} is the target." if name == target["column"] else
                f"No chart of {name} against the target: its type ({self.profile.column(name).kind}) "
                "has none." if not chart else "")
        self.relation.setVisible(not note)
        self.relation_note.setVisible(bool(note))
        self.relation_note.setText(note)
        if note:
            self.relation.reset("")
            return
        title = f"{name} and {target['column']}"
        if chart["kind"] == "scatter":
            if chart.get("of", 0) > chart.get("shown", 0):  # the axes name the columns
                title = f"{numbers.count(chart['shown'])} random rows of {numbers.count(chart['of'])}"
            self.relation.scatter(chart["x"], chart["y"], title=title, x_label=chart["x_label"],
                                  y_label=chart["y_label"])
        elif chart["kind"] == "bars":
            self.relation.hbars(chart["labels"], chart["y"], title=title, x_label=chart["y_label"])
        elif chart["kind"] == "lines":
            self.relation.lines(chart["x"], chart["series"], title=f"{name} within each class of {target['column']}",
                                x_label=name, y_label=chart["y_label"], from_zero=True)
        elif chart["kind"] == "stacked":
            self.relation.stacked(chart["labels"], chart["series"], title=title)

    def _show_correlations(self) -> None:
        if self.profile is None or not self.built:
            return
        self.finish_building()
        p = self.profile
        i = self.measure.currentIndex()
        if i in (0, 1):
            names = p.correlations.get("columns", [])
            matrix = p.correlations.get("pearson" if i == 0 else "spearman", [])
            self.heatmap.set_matrix(names, names, matrix)
        elif i == 2:
            names = p.associations.get("columns", [])
            self.heatmap.set_matrix(names, names, p.associations.get("cramers_v", []))
        else:
            self.heatmap.set_matrix(p.mixed.get("categorical", []), p.mixed.get("numeric", []),
                                    p.mixed.get("eta", []))

    def _show_target(self) -> None:
        t = self.profile.target
        self.tabs.setTabEnabled(3, t is not None)
        if t is None:
            self.relations.setRowCount(0)
            return
        rels = t["relations"]
        self.relations.setRowCount(len(rels))
        for r, rel in enumerate(rels):
            strength, label = next(((rel[k], lbl) for k, lbl in (("auc", "AUC"), ("r2", "R²"), ("eta2", "η²"),
                                                               ("cramers_v", "V")) if rel.get(k) is not None),
                                   (None, ""))
            self.relations.setItem(r, 0, table_item(rel["column"]))
            self.relations.setItem(r, 1, table_item(rel["kind"]))
            self.relations.setItem(r, 2, table_item(rel.get("mutual_information")))
            self.relations.setItem(r, 3, table_item(f"{label} {numbers.cell(strength)}" if label else "—"))
        if t.get("classes"):
            classes = t["classes"][:20]
            self.balance.hbars([c["value"] for c in classes], [c["count"] for c in classes],
                               title=f"Class balance of {t['column']}", x_label="rows")
        else:
            col = self.profile.column(t["column"])
            if col.chart and col.chart.get("kind") == "histogram":
                self.balance.histogram(col.chart["edges"], col.chart["counts"],
                                       title=f"Distribution of {t['column']}", x_label=t["column"])

    def save_report(self) -> None:
        if self.profile is None:
            return
        default = f"{self.profile.dataset.get('name', 'dataset')}-profile.html"
        path, _ = QFileDialog.getSaveFileName(self, "Save the report", str(Path.home() / default),
                                              "HTML files (*.html)")
        if path:
            self.write_report(path)

    def write_report(self, path: str) -> None:
        from ...core.report import write_report

        try:
            write_report(path, profile=self.profile)
        except Exception as exc:
            show_error(self, "Cannot save the report", exc)
            return
        self.status.setText(f"Report saved to {path}")
