"""The dataset and target choosers shared by the Explore and Check pages."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from ..state import AppState

NO_TARGET = "(no target)"


class DatasetPicker(QWidget):
    """Dataset and target combos that follow the workspace and the shared selection."""

    changed = Signal()

    def __init__(self, state: AppState, *, require_target: bool = False,
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.state = state
        self.require_target = require_target
        self.dataset_combo = QComboBox()
        self.dataset_combo.setMinimumWidth(220)
        self.target_combo = QComboBox()
        self.target_combo.setMinimumWidth(180)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Dataset:"))
        layout.addWidget(self.dataset_combo)
        layout.addSpacing(12)
        layout.addWidget(QLabel("Target:"))
        layout.addWidget(self.target_combo)
        self.dataset_combo.currentIndexChanged.connect(self._dataset_changed)
        self.target_combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        state.workspace_changed.connect(self.reload)
        state.datasets_changed.connect(lambda _id: self.reload())
        state.dataset_selected.connect(self.select)

    def dataset_id(self) -> Optional[int]:
        data = self.dataset_combo.currentData()
        return int(data) if data is not None else None

    def target(self) -> Optional[str]:
        text = self.target_combo.currentText()
        return None if not text or text == NO_TARGET else text

    def reload(self) -> None:
        ws = self.state.workspace
        keep = self.dataset_id() or self.state.current_dataset
        self.dataset_combo.blockSignals(True)
        self.dataset_combo.clear()
        for ds in ws.datasets() if ws is not None else []:
            self.dataset_combo.addItem(f"{ds.name}  ({ds.n_rows:,} rows)", ds.id)
        index = self.dataset_combo.findData(keep) if keep is not None else 0
        self.dataset_combo.setCurrentIndex(max(index, 0))
        self.dataset_combo.blockSignals(False)
        self._dataset_changed()

    def select(self, dataset_id: int) -> None:
        index = self.dataset_combo.findData(dataset_id)
        if index >= 0 and index != self.dataset_combo.currentIndex():
            self.dataset_combo.setCurrentIndex(index)

    def _dataset_changed(self) -> None:
        ws = self.state.workspace
        dataset_id = self.dataset_id()
        self.target_combo.blockSignals(True)
        self.target_combo.clear()
        if ws is not None and dataset_id is not None:
            ds = ws.dataset(dataset_id)
            if not self.require_target:
                self.target_combo.addItem(NO_TARGET)
            for col in ds.columns:
                if col.kind not in ("id", "text", "constant") or col.role == "target":
                    self.target_combo.addItem(col.name)
            if ds.target:
                self.target_combo.setCurrentText(ds.target)
        self.target_combo.blockSignals(False)
        self.changed.emit()
