"""The Compare tab: the selected version beside another version of the same model (the
rows and notes come from core/registry/comparison_table.py, which ``models compare`` prints too).
Comparisons are read off the UI thread; only the pair chosen last is ever shown."""

from __future__ import annotations

from typing import Any, Optional, Union

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QHeaderView, QLabel, QVBoxLayout, QWidget

from ...core.registry.compare import VersionComparison, compare_versions
from ...core.registry.comparison_table import comparison_notes, comparison_rows
from ...core.errors import MlopsError
from ..errors import show_error
from ..jobs import JobRunner
from ..selection import Selection
from ..state import AppState
from ..tables import fill_table, make_table

#: a comparison read, the reason it could not be (said in the notes), or None for no pair
Comparison = Union[VersionComparison, MlopsError, None]


def compare(ws: Any, ref: str, other: Optional[str]) -> Comparison:
    """``ref`` beside ``other`` in the open workspace ``ws``; a refusal is kept to be said."""
    if other is None:
        return None
    try:
        return compare_versions(ws, ref, other)
    except MlopsError as exc:
        return exc


def read_comparison(root: Any, ref: str, other: str) -> Comparison:
    """:func:`compare` on a connection of the calling (worker) thread."""
    from ...core.workspace import Workspace

    with Workspace.open(root, read_only=True) as own:
        return compare(own, ref, other)


class ComparisonView(QWidget):
    """A choice of the version to compare with, the comparison table and its notes."""

    def __init__(self, state: AppState, runner: JobRunner, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        self.ref: Optional[str] = None
        #: key (workspace generation, ref, other); result the Comparison read for it
        self.selection = Selection(self._render)
        self._reads = 0  # counts the reads started: only the newest one's result is shown
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
        self.notes.setTextFormat(Qt.TextFormat.PlainText)  # notes name versions someone named
        layout.addWidget(self.notes)

    def show_for(self, ref: Optional[str], others: list[str],
                 read: tuple[Optional[str], Comparison] = (None, None)) -> None:
        """Show ``ref`` beside the first of ``others`` (the other versions of its model,
        newest first; a comparison across models is possible from the CLI). ``read`` is the
        comparison read with the version (the other version, the comparison): shown if it
        is of that pair, else the pair is read now. ``ref`` None: nothing selected."""
        self.ref = ref
        self.compare_with.blockSignals(True)
        self.compare_with.clear()
        for other in others:
            self.compare_with.addItem(other)
        self.compare_with.blockSignals(False)
        self.compare_with.setEnabled(bool(others))
        self._reads += 1  # a comparison still being read for an earlier choice is dropped
        if ref is None or not others:
            self.selection.select(None)
            return
        key = (self.state.generation, ref, others[0])
        if read[0] != others[0]:  # the list changed while the version was read
            self.compare(again=True)
            return
        self.selection.select(key)
        self.selection.show(key, read[1])

    def compare(self, *, again: bool = False) -> None:
        """Read the comparison with the version chosen in the background (``again``: even
        when that pair shows already)."""
        ws = self.state.workspace
        other = self.compare_with.currentText()
        if ws is None or self.ref is None or not other:
            self.selection.select(None)
            return
        key = (self.state.generation, self.ref, other)
        if not self.selection.select(key) and not again:
            return
        self._reads += 1
        read, ref, root = self._reads, self.ref, ws.root

        def done(comparison: Comparison) -> None:
            if read == self._reads:
                self.selection.show(key, comparison)

        def failed(exc: BaseException, tb: str) -> None:
            if read == self._reads and self.selection.key == key:
                show_error(self, "Cannot compare", exc, tb)

        self.runner.start(f"Comparing {ref} with {other}", lambda _p, _c: read_comparison(root, ref, other),
                          on_success=done, on_error=failed, visible=False)

    def _render(self) -> None:
        """Draw the comparison of the chosen pair, or say why there is none (yet)."""
        key, c = self.selection.key, self.selection.result
        self.table.setRowCount(0)
        self.table.setHorizontalHeaderLabels(["", "A", "B"])
        if isinstance(c, VersionComparison):
            self.table.setHorizontalHeaderLabels(["", c.a.ref, c.b.ref])
            fill_table(self.table, comparison_rows(c))
            self.table.resizeRowsToContents()
            self.notes.setText("\n".join(comparison_notes(c)))
        elif isinstance(c, MlopsError):
            self.notes.setText(f"Cannot compare {key[1]} with {key[2]}: {c}")
        elif key is not None:
            self.notes.setText(f"Comparing {key[1]} with {key[2]}…")
        else:
            self.notes.setText("This model has no other version to compare with." if self.ref else "")
