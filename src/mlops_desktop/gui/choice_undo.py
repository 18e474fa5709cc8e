"""Undo and redo for choices in a dialog (the training wizard's steps): each change of a
drop-down, number, tick box or ticked list item is a step on the dialog's own stack.

Nothing here is recorded anywhere: these are choices not yet made into a run. Changes
the dialog makes itself (filling a list, restoring remembered choices, applying an undo)
run inside :meth:`ChoiceUndo.quietly` and are not steps.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QUndoCommand, QUndoStack
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QListWidget,
                               QListWidgetItem, QSpinBox)


class ChoiceChange(QUndoCommand):
    """One choice from ``old`` to ``new``; consecutive steps of one number merge."""

    def __init__(self, text: str, apply: Callable[[Any], None], old: Any, new: Any,
                 merge_id: int = -1) -> None:
        super().__init__(text)
        self.apply, self.old, self.new, self._merge_id = apply, old, new, merge_id
        self._made = True  # push() calls redo(): the choice is made already

    def id(self) -> int:
        return self._merge_id

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, ChoiceChange) or other.id() != self.id() or self.id() < 0:
            return False
        self.new = other.new
        self.setText(other.text())
        return True

    def redo(self) -> None:
        if self._made:
            self._made = False
            return
        self.apply(self.new)

    def undo(self) -> None:
        self.apply(self.old)


class ChoiceUndo(QObject):
    """Watches a dialog's choice widgets and puts each change the analyst makes on ``stack``."""

    def __init__(self, stack: QUndoStack, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.stack = stack
        self._quiet = 0
        self._last: dict[int, Any] = {}
        self._read: dict[int, Callable[[], Any]] = {}
        self._merge_ids = 0

    @contextmanager
    def quietly(self) -> Iterator[None]:
        """Changes made in here are the dialog's own, not steps to undo."""
        self._quiet += 1
        try:
            yield
        finally:
            self._quiet -= 1

    def _changed(self, key: int, value: Any, text: str, apply: Callable[[Any], None], merge: bool = False) -> None:
        old = self._last.get(key)
        self._last[key] = value
        if self._quiet or old == value:
            return
        self.stack.push(ChoiceChange(text, lambda v: self._apply(key, apply, v), old, value, key if merge else -1))

    def _apply(self, key: int, apply: Callable[[Any], None], value: Any) -> None:
        with self.quietly():
            apply(value)

    def _key(self, read: Callable[[], Any]) -> int:
        self._merge_ids += 1
        self._read[self._merge_ids] = read
        self._last[self._merge_ids] = read()
        return self._merge_ids

    def sync(self) -> None:
        """Read every watched widget again: after changes made with its signals blocked."""
        for key, read in self._read.items():
            self._last[key] = read()

    def watch_combo(self, combo: QComboBox, name: str) -> None:
        key = self._key(combo.currentText)
        combo.currentIndexChanged.connect(lambda _i: self._changed(
            key, combo.currentText(), f"{name}: {combo.currentText()}", combo.setCurrentText))

    def watch_number(self, box: QSpinBox | QDoubleSpinBox, name: str) -> None:
        key = self._key(box.value)
        box.setKeyboardTracking(False)  # typing 250 is one step, not 2, 25 and 250
        box.valueChanged.connect(lambda v: self._changed(key, v, f"{name}: {box.textFromValue(v)}",
                                                         box.setValue, merge=True))

    def watch_tick(self, box: QCheckBox, name: str) -> None:
        key = self._key(box.isChecked)
        box.toggled.connect(lambda on: self._changed(key, on, f"{name}: {'on' if on else 'off'}", box.setChecked))

    def watch_list(self, widget: QListWidget, name: str) -> None:
        """A list of tickable items, each known by its UserRole data."""
        def changed(item: QListWidgetItem) -> None:
            what = item.data(Qt.ItemDataRole.UserRole)
            on = item.checkState() == Qt.CheckState.Checked
            if self._quiet or what is None:
                return
            self.stack.push(ChoiceChange(f"{name}: {what} {'ticked' if on else 'unticked'}",
                                         lambda v, w=what: self._tick(widget, w, v), not on, on))

        widget.itemChanged.connect(changed)

    def _tick(self, widget: QListWidget, what: Any, on: bool) -> None:
        with self.quietly():
            for i in range(widget.count()):
                item = widget.item(i)
                if item.data(Qt.ItemDataRole.UserRole) == what:
                    item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

