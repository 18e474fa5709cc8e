"""Connect to a team registry: a connection string and a folder for the local cache,
checked first (which login, which roles) and then connected, as 'mlops-desktop init
--registry' does. Both talk to the server off the UI thread."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QWidget)

from .jobs import JobRunner
from .new_workspace_dialog import _free_name, documents_folder
from .state import AppState

DEFAULT_FOLDER = "Team workspace"
_ERROR_STYLE = "color: #b3261e"


class TeamRegistryDialog(QDialog):
    """Asks for a team registry's connection string and a folder; "Check connection" shows
    the login and its roles, "Connect" connects the folder and opens it in the window."""

    def __init__(self, state: AppState, runner: JobRunner, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        self.setWindowTitle("Connect to a team registry")
        self.setMinimumWidth(640)
        form = QFormLayout(self)
        intro = QLabel("A team registry keeps the datasets, models, approvals and audit log of a small team "
                       "on a PostgreSQL server; everyone acts as their own database login. Your folder keeps "
                       "local copies of the files. The password is never stored: PostgreSQL finds it in "
                       "~/.pgpass or a service file, as psql does.")
        intro.setWordWrap(True)
        form.addRow(intro)
        self.conninfo_edit = QLineEdit()
        self.conninfo_edit.setPlaceholderText("postgresql://HOST/DATABASE   or   service=NAME")
        form.addRow("Registry:", self.conninfo_edit)
        row = QHBoxLayout()
        start = documents_folder()
        self.folder_edit = QLineEdit(str(start / _free_name(start, DEFAULT_FOLDER)))
        self.folder_edit.setToolTip("A new or empty folder: it keeps the connection string and local "
                                    "copies of the snapshots and model files")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.folder_edit, 1)
        row.addWidget(browse)
        form.addRow("Local folder:", row)
        self.result_label = QLabel()
        self.result_label.setTextFormat(Qt.TextFormat.PlainText)  # server messages and user text
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # room for the longest message (a refused password: four lines) without the dialog jumping
        self.result_label.setMinimumHeight(self.result_label.fontMetrics().lineSpacing() * 5)
        self.result_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        form.addRow(self.result_label)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.check_button = self.buttons.addButton("Check connection", QDialogButtonBox.ButtonRole.ActionRole)
        self.connect_button = self.buttons.addButton("Connect", QDialogButtonBox.ButtonRole.AcceptRole)
        self.check_button.setDefault(True)  # Enter checks; connecting is a deliberate click
        self.check_button.clicked.connect(self.check)
        self.connect_button.clicked.connect(self.connect_folder)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.conninfo_edit.textChanged.connect(self._update)
        self.conninfo_edit.textChanged.connect(lambda _text: self.busy or self._say(""))  # an old answer misleads
        self.busy = False
        self._update()

    def conninfo(self) -> str:
        return self.conninfo_edit.text().strip()

    def folder(self) -> Path:
        return Path(self.folder_edit.text().strip()).expanduser()

    def _update(self) -> None:
        has_text = bool(self.conninfo())
        self.check_button.setEnabled(has_text and not self.busy)
        self.connect_button.setEnabled(has_text and not self.busy)

    def _say(self, text: str, *, error: bool = False, details: str = "") -> None:
        self.result_label.setText(text)
        self.result_label.setToolTip(details)  # the technical words, kept out of the message's room
        self.result_label.setStyleSheet(_ERROR_STYLE if error else "")

    def _busy(self, busy: bool, message: str = "") -> None:
        self.busy = busy
        if message:
            self._say(message)
        self._update()

    def _failed(self, exc: BaseException, tb: str) -> None:
        from ..core.errors import MlopsError

        self._busy(False)
        # our errors say what to do; anything else is a bug, shown with its traceback
        if isinstance(exc, MlopsError):
            self._say(str(exc), error=True, details=exc.details)
        else:
            from .errors import show_error

            self._say("The connection failed unexpectedly; see the error window.", error=True)
            show_error(self, "Cannot connect to the team registry", exc, tb)

    def check(self) -> None:
        """Ask the server who the connection string logs in as, and with which roles."""
        conninfo = self.conninfo()

        def work(progress, cancel):
            from ..core.workspace import check_team_registry

            progress(None, "Checking the connection to the team registry")
            return check_team_registry(conninfo)

        def done(me) -> None:
            self._busy(False)
            held = me.held()
            self._say(f"Connected to {me.database} on {me.server} as {me.login}.\n"
                      f"Role: {me.role()}" + (f" (holds {', '.join(held)})." if len(held) > 1 else "."))

        self._busy(True, "Checking the connection…")
        self.runner.start("Checking the team registry", work, on_success=done, on_error=self._failed)

    def connect_folder(self) -> None:
        """Connect the folder to the team registry (as 'init --registry' does), then open it."""
        conninfo, folder = self.conninfo(), self.folder()

        def work(progress, cancel):
            from ..core.workspace import Workspace

            progress(None, "Connecting to the team registry")
            ws = Workspace.connect(folder, conninfo)  # used on the UI thread once connected
            try:
                return ws, ws.team_member()
            except BaseException:
                ws.close()
                raise

        def done(opened: tuple[Any, Any]) -> None:
            self._busy(False)
            self.state.use_workspace(*opened)
            self.accept()

        self._busy(True, "Connecting…")
        self.runner.start("Connecting to the team registry", work, on_success=done, on_error=self._failed)

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "A new or empty folder for the team workspace",
                                                str(self.folder().parent))
        if path:
            self.folder_edit.setText(path)
