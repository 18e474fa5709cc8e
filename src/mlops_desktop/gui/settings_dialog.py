"""Settings: the name recorded in the audit log and the default workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QPushButton, QWidget)

from ..core.workspace.settings import os_user
from .state import Preferences


class SettingsDialog(QDialog):
    def __init__(self, prefs: Preferences, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.prefs = prefs
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        form = QFormLayout(self)
        self.name_edit = QLineEdit(prefs.display_name)
        self.name_edit.setPlaceholderText(os_user())
        form.addRow("Display name:", self.name_edit)
        note = QLabel("Recorded as who did what in the audit log. Empty: your system user name.")
        note.setWordWrap(True)
        note.setStyleSheet("color: gray")
        form.addRow("", note)
        row = QHBoxLayout()
        self.workspace_edit = QLineEdit(str(prefs.default_workspace))
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.workspace_edit, 1)
        row.addWidget(browse)
        form.addRow("Default workspace:", row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Default workspace folder",
                                                self.workspace_edit.text())
        if path:
            self.workspace_edit.setText(path)

    def accept(self) -> None:
        self.prefs.display_name = self.name_edit.text()
        text = self.workspace_edit.text().strip()
        self.prefs.default_workspace = Path(text) if text else None
        super().accept()
