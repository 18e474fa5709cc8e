"""Who is acting: always in the status bar, and changed from there (a colleague
approving at this computer acts under their own name)."""

from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QLabel, QLineEdit, QToolButton, QWidget

from ..core.workspace.settings import os_user
from .state import AppState

EXPLAIN = ("Who is recorded in the audit log for what you do from now on. A name, not a password: "
           "the four-eyes rule holds people to honesty and records who said they acted.")


class ActorButton(QToolButton):
    """"Acting as: NAME" in the status bar; a click asks for another name."""

    def __init__(self, state: AppState, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setAutoRaise(True)
        self.setToolTip("Who is recorded in the audit log for what you do here. Click to act as "
                        "someone else, e.g. a colleague approving a model at your desk.")
        self.clicked.connect(lambda: ask_actor(self.window(), state))
        state.actor_changed.connect(lambda _name: self.show_actor())
        self.show_actor()

    def show_actor(self) -> None:
        self.setText(f"Acting as: {self.state.actor} ▾")


def ask_actor(parent: QWidget, state: AppState,
              then: Optional[Callable[[], None]] = None) -> QInputDialog:
    """Ask who acts from now on (empty: the system user name); ``then`` runs once a name
    is chosen. Returns the open dialog."""
    dialog = QInputDialog(parent)
    dialog.setWindowTitle("Who is acting?")
    dialog.setLabelText(f"Your name, as the audit log should record it (empty: {os_user()}).\n\n{EXPLAIN}")
    dialog.setTextValue(state.prefs.display_name)
    dialog.setOkButtonText("Act as this person")
    label, line = dialog.findChild(QLabel), dialog.findChild(QLineEdit)
    if label is not None:
        label.setWordWrap(True)
        dialog.setMinimumWidth(460)
    if line is not None:
        line.setPlaceholderText(os_user())

    def chosen(name: str) -> None:
        state.set_actor(name)
        if then is not None:
            then()

    dialog.textValueSelected.connect(chosen)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
