"""Undo and redo for the edits an analyst makes on a page (column types and roles,
accepted warnings, tags and descriptions).

Every such edit is an audited change in the registry. Undoing one is a *new* recorded
change back to the old value (or a recorded withdrawal), made by whoever acts at that
moment; redoing it records the change again. Nothing is ever taken out of the audit log.

Each page keeps its own stack, and Edit → Undo acts on the stack of the page on screen:
Ctrl+Z only ever changes something the analyst can see (a window-wide stack would undo
a column role on the Data page while the Registry page shows). A step that fails (the
rules refuse it now, or the thing is gone) shows why and leaves the stack.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtGui import QUndoCommand, QUndoStack
from PySide6.QtWidgets import QWidget

from .errors import show_error
from .state import AppState


class RecordedChange(QUndoCommand):
    """An edit already made and recorded when it is pushed. ``forward`` makes it again,
    ``backward`` records the way back; ``after`` redraws what shows it. Both steps run
    only in the workspace the edit was made in."""

    def __init__(self, text: str, state: AppState, page: QWidget, *, forward: Callable[[], None],
                 backward: Callable[[], None], after: Callable[[], None]) -> None:
        super().__init__(text)
        self.state, self.page = state, page
        self.forward, self.backward, self.after = forward, backward, after
        self.generation = state.generation
        self._made = True  # QUndoStack.push calls redo() at once: the edit is made already

    def redo(self) -> None:
        if self._made:
            self._made = False
            return
        self._step(self.forward, "Cannot redo")

    def undo(self) -> None:
        self._step(self.backward, "Cannot undo")

    def _step(self, step: Callable[[], None], title: str) -> None:
        from ..core.errors import MlopsError

        try:
            if self.generation != self.state.generation or self.state.workspace is None:
                raise MlopsError(f"“{self.text()}” was made in a workspace that is no longer open.")
            step()
        except Exception as exc:
            self.setObsolete(True)  # the stack drops a step that cannot be taken
            show_error(self.page, f"{title} “{self.text()}”", exc)
        self.after()


def page_stack(page: QWidget, state: AppState) -> QUndoStack:
    """The undo stack of a page, emptied when another workspace opens (its steps belong
    to the one that was open)."""
    stack = QUndoStack(page)
    state.workspace_changed.connect(stack.clear)
    return stack

