"""Retraining a version on newer data, from the Registry (a version) and the Monitor (a
drift report that says "consider retraining"): the data and the window of rows, then a
background job; the new version is a draft with the alias challenger."""

from __future__ import annotations

from typing import Any, Callable, Optional

from markupsafe import Markup
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (QComboBox, QDateEdit, QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QSpinBox, QVBoxLayout, QWidget)

from .errors import show_error
from .jobs import JobRunner
from .state import AppState

ALL_ROWS, SINCE, LAST = "all", "since", "last"


class RetrainDialog(QDialog):
    """Which data to retrain ``ref`` on, and which of its rows."""

    def __init__(self, ws: Any, ref: str, preselect: Optional[int] = None, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Retrain {ref}")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        intro = QLabel(Markup("Train <b>{}</b> again exactly as it was trained (the same target, features, "
                              "split, model families, search, segments and seed) on the data chosen here. The new "
                              "version is a draft holding the alias <b>challenger</b>; production does not change "
                              "until a second person approves it and someone promotes it.").format(ref))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addWidget(QLabel("Train on (several are joined into one dataset):"))
        self.datasets = QListWidget()
        for ds in ws.datasets():
            item = QListWidgetItem(f"{ds.name} ({ds.n_rows:,} rows)")
            item.setData(Qt.ItemDataRole.UserRole, ds.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if ds.id == preselect else Qt.CheckState.Unchecked)
            self.datasets.addItem(item)
        self.datasets.itemChanged.connect(lambda _i: self._update())
        layout.addWidget(self.datasets, 1)
        rows = QHBoxLayout()
        rows.addWidget(QLabel("Rows:"))
        self.window = QComboBox()
        self.window.addItem("all their rows", ALL_ROWS)
        self.window.addItem("the rows since", SINCE)
        self.window.addItem("the newest rows:", LAST)
        self.since = QDateEdit(QDate.currentDate().addYears(-1))
        self.since.setCalendarPopup(True)
        self.since.setDisplayFormat("yyyy-MM-dd")
        self.last = QSpinBox()
        self.last.setRange(10, 1_000_000_000)
        self.last.setValue(10_000)
        self.last.setSingleStep(1000)
        for w in (self.window, self.since, self.last):
            rows.addWidget(w)
        rows.addStretch(1)
        layout.addLayout(rows)
        self.window.currentIndexChanged.connect(lambda _i: self._update())
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Retrain")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._update()

    def _update(self) -> None:
        kind = self.window.currentData()
        self.since.setVisible(kind == SINCE)
        self.last.setVisible(kind == LAST)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(self.chosen_datasets()))

    def chosen_datasets(self) -> list[int]:
        return [self.datasets.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.datasets.count())
                if self.datasets.item(i).checkState() == Qt.CheckState.Checked]

    def choose(self, dataset_ids: list[int], window: Optional[str] = None) -> None:
        """Tick ``dataset_ids`` and set the window (``since:DATE`` or ``last:ROWS``)."""
        for i in range(self.datasets.count()):
            item = self.datasets.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.data(Qt.ItemDataRole.UserRole) in dataset_ids
                               else Qt.CheckState.Unchecked)
        kind, _, value = (window or "").partition(":")
        if kind == SINCE:
            self.since.setDate(QDate.fromString(value, "yyyy-MM-dd"))
        elif kind == LAST:
            self.last.setValue(int(value))
        self.window.setCurrentIndex(max(self.window.findData(kind or ALL_ROWS), 0))

    def window_text(self) -> Optional[str]:
        kind = self.window.currentData()
        if kind == SINCE:
            return f"since:{self.since.date().toString('yyyy-MM-dd')}"
        if kind == LAST:
            return f"last:{self.last.value()}"
        return None


def ask_retrain(parent: QWidget, state: AppState, runner: JobRunner, ref: str, *, preselect: Optional[int] = None,
                on_done: Optional[Callable[[Any], None]] = None) -> None:
    """Ask what to retrain ``ref`` on, then retrain it in the background; ``on_done``
    gets the core's RetrainResult."""
    ws = state.workspace
    if ws is None:
        return
    dialog = RetrainDialog(ws, ref, preselect, parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return
    root, actor = ws.root, state.actor
    datasets, window = dialog.chosen_datasets(), dialog.window_text()

    def work(progress, cancel):
        from ..core.challenge import retrain
        from ..core.workspace import Workspace

        with Workspace.open(root) as own:
            return retrain(own, ref, datasets, window=window, actor=actor, progress=progress, cancel=cancel)

    def done(result: Any) -> None:
        state.models_changed.emit(result.challenger)
        if on_done is not None:
            on_done(result)

    runner.start(f"Retraining {ref}", work, on_success=done,
                 on_error=lambda exc, tb: show_error(parent, "Retraining failed", exc, tb))
