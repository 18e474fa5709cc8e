"""Workspace page: which workspace is open, create or open another, recent ones,
integrity check and the latest activity from the audit log."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QHeaderView,
                               QLabel, QListWidget, QListWidgetItem, QMessageBox, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from ..errors import show_error
from ..jobs import JobRunner
from ..state import AppState
from ..widgets import heading


class WorkspacePage(QWidget):
    title = "Workspace"

    def __init__(self, state: AppState, runner: JobRunner, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Workspace"))
        intro = QLabel("A workspace is one folder holding the registry of datasets and models, "
                       "their files and an audit log of every change. Share it with a colleague "
                       "by handing over the folder.")
        intro.setWordWrap(True)
        layout.addWidget(intro)

        info = QGroupBox("Open workspace")
        form = QFormLayout(info)
        self.path_label = QLabel()
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.counts_label = QLabel()
        self.user_label = QLabel()
        form.addRow("Folder:", self.path_label)
        form.addRow("Contents:", self.counts_label)
        form.addRow("Acting as:", self.user_label)
        buttons = QHBoxLayout()
        self.create_button = QPushButton("New workspace…")
        self.open_button = QPushButton("Open workspace…")
        self.verify_button = QPushButton("Check integrity")
        self.verify_button.setToolTip("Recompute the audit chain and every stored file's hash")
        for b in (self.create_button, self.open_button, self.verify_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        form.addRow(buttons)
        layout.addWidget(info)

        lower = QHBoxLayout()
        recent_box = QGroupBox("Recent workspaces (double-click to open)")
        rl = QVBoxLayout(recent_box)
        self.recent = QListWidget()
        self.recent.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.recent.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        rl.addWidget(self.recent)
        lower.addWidget(recent_box, 1)
        activity_box = QGroupBox("Latest activity")
        al = QVBoxLayout(activity_box)
        self.activity = QTableWidget(0, 3)
        self.activity.setHorizontalHeaderLabels(["When (UTC)", "Who", "What"])
        self.activity.verticalHeader().setVisible(False)
        self.activity.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.activity.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        al.addWidget(self.activity)
        lower.addWidget(activity_box, 2)
        layout.addLayout(lower, 1)

        self.create_button.clicked.connect(self.choose_new)
        self.open_button.clicked.connect(self.choose_open)
        self.verify_button.clicked.connect(self.verify)
        self.recent.itemDoubleClicked.connect(self._open_recent)
        state.workspace_changed.connect(self.refresh)
        state.datasets_changed.connect(lambda _id: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        ws = self.state.workspace
        self.user_label.setText(f"{self.state.actor}  (change in Settings)")
        self.recent.clear()
        for p in self.state.prefs.recent_workspaces:
            item = QListWidgetItem(p)
            item.setToolTip(p)
            if ws is not None and Path(p) == ws.root:
                item.setText(f"{p}  (open)")
            item.setData(Qt.ItemDataRole.UserRole, p)
            self.recent.addItem(item)
        self.verify_button.setEnabled(ws is not None)
        if ws is None:
            self.path_label.setText("No workspace is open.")
            self.counts_label.setText("")
            self.activity.setRowCount(0)
            return
        self.path_label.setText(str(ws.root))
        n = len(ws.datasets())
        entries = ws.audit_entries(limit=30)
        self.counts_label.setText(f"{n} dataset{'s' if n != 1 else ''}")
        self.activity.setRowCount(len(entries))
        for r, e in enumerate(entries):
            for c, text in enumerate((e.at[:19].replace("T", " "), e.actor, e.summary)):
                self.activity.setItem(r, c, QTableWidgetItem(text))
        self.activity.resizeColumnToContents(0)
        self.activity.resizeColumnToContents(1)

    def _open(self, path: str, *, create: bool) -> None:
        try:
            self.state.open_workspace(path, create=create)
        except Exception as exc:
            show_error(self, "Cannot open the workspace", exc)

    def choose_new(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose an empty folder for the new workspace")
        if path:
            self._open(path, create=True)

    def choose_open(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a workspace folder")
        if path:
            self._open(path, create=False)

    def _open_recent(self, item: QListWidgetItem) -> None:
        self._open(item.data(Qt.ItemDataRole.UserRole), create=False)

    def verify(self) -> None:
        ws = self.state.workspace
        if ws is None:
            return
        root = ws.root

        def work(progress, cancel):
            from ...core.integrity import verify_workspace
            from ...core.workspace import Workspace

            progress(None, "Checking the workspace")
            with Workspace.open(root) as own:  # a connection for this thread
                return verify_workspace(own)

        def done(report) -> None:
            box = QMessageBox(self)
            box.setWindowTitle("Integrity check")
            box.setIcon(QMessageBox.Icon.Information if report.ok else QMessageBox.Icon.Warning)
            box.setText(report.text())
            box.open()
            self.last_report = report

        self.runner.start("Checking integrity", work, on_success=done,
                          on_error=lambda e, tb: show_error(self, "Integrity check failed", e, tb))
