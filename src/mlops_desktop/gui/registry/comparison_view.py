"""The Compare tab: the selected version beside another version of the same model (the
rows and notes come from core/comparison_table.py, which ``models compare`` prints too)."""

from __future__ import annotations

from typing import Optional

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QHeaderView, QLabel, QVBoxLayout, QWidget

from ...core.comparison_table import comparison_notes, comparison_rows
from ..errors import show_error
from ..state import AppState
from ..tables import fill_table, make_table


class ComparisonView(QWidget):
    """A choice of the version to compare with, the comparison table and its notes."""

    def __init__(self, state: AppState, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.state = state
        self.ref: Optional[str] = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        pick = QHBoxLayout()
        pick.addWidget(QLabel("Compare with:"))
        self.compare_with = QComboBox()
        self.compare_with.setMinimumWidth(160)
        self.compare_with.currentIndexChanged.connect(lambda _i: self.compare())
        pick.addWidget(self.compare_with, 1)
        layout.addLayout(pick)
        self.table = make_table(["", "A", "B"], select_rows=False, name="version-comparison")
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        for i in (1, 2):
            header.setSectionResizeMode(i, QHeaderView.ResizeMode.Stretch)
        self.table.setWordWrap(True)
        layout.addWidget(self.table, 1)
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        layout.addWidget(self.notes)

    def show_for(self, ref: Optional[str], others: list[str]) -> None:
        """Compare ``ref`` with the first of ``others`` (the other versions of its model,
        newest first; a comparison across models is possible from the CLI). ``ref`` None:
        nothing selected."""
        self.ref = ref
        self.compare_with.blockSignals(True)
        self.compare_with.clear()
        for other in others:
            self.compare_with.addItem(other)
        self.compare_with.blockSignals(False)
        self.compare_with.setEnabled(bool(others))
        self.compare()

    def compare(self) -> None:
        ws = self.state.workspace
        other = self.compare_with.currentText()
        if ws is None or self.ref is None or not other:
            self.table.setRowCount(0)
            self.notes.setText("This model has no other version to compare with." if self.ref else "")
            return
        from ...core.compare import compare_versions

        try:
            c = compare_versions(ws, self.ref, other)
        except Exception as exc:
            show_error(self, "Cannot compare", exc)
            return
        self.table.setHorizontalHeaderLabels(["", c.a.ref, c.b.ref])
        self.table.setRowCount(0)
        fill_table(self.table, comparison_rows(c))
        self.table.resizeRowsToContents()
        self.notes.setText("\n".join(comparison_notes(c)))
