"""Before and after a term is applied on the Check page: the applied check's chart from
both runs side by side, every check's verdict and figure before and after, and the
choice to keep the new formula or the old one."""

from __future__ import annotations

from typing import Any, Optional

from markupsafe import Markup
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from ...core import numbers
from ..check_charts import VERDICT_COLOURS, VERDICT_TEXT, draw_check_chart


class BeforeAfterDialog(QDialog):
    """``before`` and ``after`` (core ``CheckReport``s) of the same data; ``check_id``:
    the check whose advice was applied. Accepted: keep the new formula."""

    def __init__(self, before: Any, after: Any, check_id: str, label: str,
                 parent: Optional[QWidget] = None) -> None:
        from ...core.checks.suggestions import compare
        from ..charts import Chart

        super().__init__(parent)
        self.setWindowTitle("Before and after")
        self.resize(1180, 740)
        self.before, self.after = before, after
        layout = QVBoxLayout(self)
        intro = QLabel(Markup("<b>{}</b><br>Before: <code>{}</code><br>After: <code>{}</code>").format(
            label, before.formula or "", after.formula or ""))
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.RichText)
        intro.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(intro)
        charts = QHBoxLayout()
        self.charts = []
        for title, report in (("Before", before), ("After", after)):
            check = next((c for c in report.checks if c.id == check_id), None)
            verdict = VERDICT_TEXT[check.verdict] if check else "not run"
            box = QGroupBox(f"{title}: {check.name if check else check_id} — {verdict} "
                            f"(target {report.target_label or report.target})")
            inner = QVBoxLayout(box)
            chart = Chart()
            chart.setMinimumHeight(300)
            draw_check_chart(chart, check.chart if check else None)
            inner.addWidget(chart)
            self.charts.append(chart)
            charts.addWidget(box, 1)
        layout.addLayout(charts, 3)
        self.changes = compare(before, after)
        self.table = QTableWidget(len(self.changes), 4)
        self.table.setObjectName("before-after")
        self.table.setHorizontalHeaderLabels(["Check", "Before", "After", "Figure: before → after"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        for r, change in enumerate(self.changes):
            self.table.setItem(r, 0, QTableWidgetItem(change.name))
            for c, verdict in ((1, change.before), (2, change.after)):
                item = QTableWidgetItem(VERDICT_TEXT.get(verdict or "", "not run"))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if verdict in VERDICT_COLOURS:
                    item.setForeground(QBrush(QColor("white")))
                    item.setBackground(QBrush(QColor(VERDICT_COLOURS[verdict])))
                self.table.setItem(r, c, item)
            figure = (f"{change.figure_name}: {numbers.cell(change.figure_before)} → "
                      f"{numbers.cell(change.figure_after)}" if change.figure_name else "")
            self.table.setItem(r, 3, QTableWidgetItem(figure))
        layout.addWidget(self.table, 2)
        buttons = QDialogButtonBox()
        self.keep_new = buttons.addButton("Keep the new formula", QDialogButtonBox.ButtonRole.AcceptRole)
        self.keep_old = buttons.addButton("Keep the old one", QDialogButtonBox.ButtonRole.RejectRole)
        self.keep_new.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        note = QLabel("The formula you keep is stored with the check run; the Train wizard starts from it.")
        note.setWordWrap(True)
        bottom = QHBoxLayout()
        bottom.addWidget(note, 1)
        bottom.addWidget(buttons)
        layout.addLayout(bottom)
