"""Where a new workspace goes: a folder to put it in (the documents folder to start
with) and the name of a new folder, made for it. A system folder picker can only
choose folders that exist, which made "create a workspace" a two-step chore."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from markupsafe import Markup, escape
from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QWidget)

DEFAULT_NAME = "MLOps workspace"
_BAD_CHARACTERS = set('/\\:*?"<>|')


def documents_folder() -> Path:
    """The user's documents folder (as the system names it), else the home folder."""
    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    path = Path(found) if found else Path.home()
    return path if path.is_dir() else Path.home()


def _free_name(folder: Path, name: str) -> str:
    """``name``, or "name 2", "name 3"... the first that is not a folder with things in it."""
    candidate, n = name, 1
    while (folder / candidate).exists() and (not (folder / candidate).is_dir() or any((folder / candidate).iterdir())):
        n += 1
        candidate = f"{name} {n}"
    return candidate


def problem_with(folder: Path, name: str) -> Optional[str]:
    """Why a workspace cannot be made as ``folder/name``, or None when it can."""
    from ..core.workspace import Workspace

    name = name.strip()
    if not name:
        return "Give the new folder a name."
    if name in (".", "..") or _BAD_CHARACTERS & set(name):
        return "A folder name cannot contain / \\ : * ? \" < > | or be . or .."
    if not folder.is_dir():
        return f"{folder} is not a folder."
    target = folder / name
    if Workspace.is_workspace(target):
        return f"{target} is a workspace already: open it with “Open workspace…”."
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        return f"{target} exists and is not empty: choose another name."
    return None


class NewWorkspaceDialog(QDialog):
    """Asks for a folder and a new folder name; :meth:`path` is the workspace to create."""

    def __init__(self, parent: Optional[QWidget] = None, folder: Optional[Path] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New workspace")
        self.setMinimumWidth(560)
        start = folder or documents_folder()
        form = QFormLayout(self)
        intro = QLabel("A workspace is a folder of its own: the registry, the model files and a copy of every "
                       "imported dataset. It is made as a new folder inside the one you choose.")
        intro.setWordWrap(True)
        form.addRow(intro)
        row = QHBoxLayout()
        self.folder_edit = QLineEdit(str(start))
        self.browse_button = QPushButton("Choose…")
        self.browse_button.clicked.connect(self._browse)
        row.addWidget(self.folder_edit, 1)
        row.addWidget(self.browse_button)
        form.addRow("In the folder:", row)
        self.name_edit = QLineEdit(_free_name(start, DEFAULT_NAME))
        form.addRow("New folder's name:", self.name_edit)
        self.where = QLabel()
        self.where.setWordWrap(True)
        form.addRow(self.where)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.create_button = self.buttons.addButton("Create the workspace", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.folder_edit.textChanged.connect(self._update)
        self.name_edit.textChanged.connect(self._update)
        self._update()
        self.name_edit.setFocus()
        self.name_edit.selectAll()

    def path(self) -> Path:
        return Path(self.folder_edit.text().strip()).expanduser() / self.name_edit.text().strip()

    def _update(self) -> None:
        problem = problem_with(Path(self.folder_edit.text().strip()).expanduser(), self.name_edit.text())
        self.create_button.setEnabled(problem is None)
        if problem is None:
            self.where.setText(Markup("The workspace will be created in <b>{}</b>.").format(str(self.path())))
            self.where.setStyleSheet("")
        else:
            self.where.setText(escape(problem))
            self.where.setStyleSheet("color: #b3261e")

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Put the new workspace in which folder?",
                                                self.folder_edit.text())
        if path:
            self.folder_edit.setText(path)
