"""Workspace page: which workspace is open, create or open another, recent ones,
integrity check, back up and restore, and the latest activity from the audit log."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QHeaderView,
                               QLabel, QListWidget, QListWidgetItem, QMessageBox, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from ..errors import show_error
from ..jobs import JobRunner
from ..state import AppState
from ..page_kinds import ReloadingPage
from ..page_parts import heading
from ..table_actions import add_table_actions

#: how often the page looks at the audit log's newest entry while it shows (another
#: process, the CLI say, may write to the workspace)
ACTIVITY_POLL_MS = 2000


class WorkspacePage(ReloadingPage):
    """The open workspace and its latest activity, read from the audit log each time the
    page appears, after every change made in the app, and when another process writes."""

    title = "Workspace"

    def __init__(self, state: AppState, runner: JobRunner, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        self._shown_head: Any = None  # (generation, seq of the newest entry shown)
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Workspace"))
        intro = QLabel("A workspace is one folder holding the registry of datasets and models, "
                       "their files and an audit log of every change. Share it with a colleague "
                       "by handing over the folder, or work as a team on one registry on a "
                       "PostgreSQL server: “Connect to a team registry…”.")
        intro.setWordWrap(True)
        layout.addWidget(intro)

        info = QGroupBox("Open workspace")
        form = QFormLayout(info)
        self.path_label = QLabel()
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.counts_label = QLabel()
        self.user_label = QLabel()
        self.registry_label = QLabel()
        self.registry_label.setTextFormat(Qt.TextFormat.PlainText)
        self.registry_label.setWordWrap(True)
        form.addRow("Folder:", self.path_label)
        form.addRow("Registry:", self.registry_label)
        form.addRow("Contents:", self.counts_label)
        form.addRow("Acting as:", self.user_label)
        buttons = QHBoxLayout()
        self.create_button = QPushButton("New workspace…")
        self.open_button = QPushButton("Open workspace…")
        self.verify_button = QPushButton("Check integrity")
        self.verify_button.setToolTip("Recompute the audit chain and every stored file's hash")
        self.backup_button = QPushButton("Back up…")
        self.backup_button.setToolTip("Write the whole workspace (registry, model files, snapshots) "
                                      "into one zip file, with a manifest of hashes")
        self.restore_button = QPushButton("Restore…")
        self.restore_button.setToolTip("Unpack a backup into a new or empty folder and open it")
        self.team_button = QPushButton("Connect to a team registry…")
        self.team_button.setToolTip("Share one registry on a PostgreSQL server with your team: each "
                                    "person acts as their own database login")
        for b in (self.create_button, self.open_button, self.team_button, self.verify_button,
                  self.backup_button, self.restore_button):
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
        add_table_actions(self.activity, "activity")
        al.addWidget(self.activity)
        lower.addWidget(activity_box, 2)
        layout.addLayout(lower, 1)

        self.create_button.clicked.connect(self.choose_new)
        self.open_button.clicked.connect(self.choose_open)
        self.team_button.clicked.connect(self.choose_team)
        self.verify_button.clicked.connect(self.verify)
        self.backup_button.clicked.connect(self.choose_backup)
        self.restore_button.clicked.connect(self.choose_restore)
        self.recent.itemDoubleClicked.connect(self._open_recent)
        state.workspace_changed.connect(self.mark_stale)
        state.datasets_changed.connect(lambda _id: self.mark_stale())
        state.models_changed.connect(lambda _ref: self.mark_stale())
        state.actor_changed.connect(lambda _name: self.mark_stale())
        runner.job_ended.connect(lambda _job: self.mark_stale())  # a job may have written to the registry
        self.poll = QTimer(self)
        self.poll.setInterval(ACTIVITY_POLL_MS)
        self.poll.timeout.connect(self._check_head)
        self.refresh()

    def showEvent(self, event: Any) -> None:
        self.stale = True  # cheap to read, and anything may have been written meanwhile
        self.poll.start()
        super().showEvent(event)

    def hideEvent(self, event: Any) -> None:
        self.poll.stop()
        super().hideEvent(event)

    def _head(self) -> Any:
        ws = self.state.workspace
        if ws is None:
            return (self.state.generation, None)
        newest = ws.audit_entries(limit=1)
        return (self.state.generation, newest[0].seq if newest else None)

    def _check_head(self) -> None:
        if self._head() != self._shown_head:
            self.refresh()

    def reload(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        self.stale = False
        self._shown_head = (self.state.generation, None)
        ws = self.state.workspace
        team = self.state.team
        if team is not None:
            self.user_label.setText(f"{team.login}  (your database login: on a team registry you act as it)")
        else:
            self.user_label.setText(f"{self.state.actor}  (change it from the status bar: “Acting as”)")
        self.recent.clear()
        for p in self.state.prefs.recent_workspaces:
            item = QListWidgetItem(p)
            item.setToolTip(p)
            if ws is not None and Path(p) == ws.root:
                item.setText(f"{p}  (open)")
            item.setData(Qt.ItemDataRole.UserRole, p)
            self.recent.addItem(item)
        self.verify_button.setEnabled(ws is not None)
        self.backup_button.setEnabled(ws is not None)
        if ws is None:
            self.path_label.setText("No workspace is open.")
            self.registry_label.setText("")
            self.counts_label.setText("")
            self.activity.setRowCount(0)
            return
        self.path_label.setText(str(ws.root))
        self.registry_label.setText(team.text() if team is not None else
                                    "This folder's registry.sqlite (a workspace of one's own)")
        n = len(ws.datasets())
        entries = ws.audit_entries(limit=30)
        self._shown_head = (self.state.generation, entries[0].seq if entries else None)
        self.counts_label.setText(f"{n} dataset{'s' if n != 1 else ''}")
        self.activity.setRowCount(len(entries))
        for r, e in enumerate(entries):
            for c, text in enumerate((e.at[:19].replace("T", " "), e.actor, e.summary)):
                self.activity.setItem(r, c, QTableWidgetItem(text))
        self.activity.resizeColumnToContents(0)
        self.activity.resizeColumnToContents(1)

    def _open(self, path: str, *, create: bool) -> None:
        """Open a workspace; a team workspace connects to its server in the background."""
        from ..workspace_opening import open_workspace

        open_workspace(self, self.state, self.runner, path, create=create)

    def choose_new(self) -> None:
        """Ask where the new workspace goes (a folder and a new folder's name), then make it."""
        from ..new_workspace_dialog import NewWorkspaceDialog

        self.new_dialog = NewWorkspaceDialog(self)
        self.new_dialog.accepted.connect(lambda d=self.new_dialog: self._open(str(d.path()), create=True))
        self.new_dialog.open()

    def choose_team(self) -> None:
        """Ask for a team registry and a folder, check the connection, connect and open it."""
        from ..team_registry_dialog import TeamRegistryDialog

        self.team_dialog = TeamRegistryDialog(self.state, self.runner, self)
        self.team_dialog.open()

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
            from ...core.workspace.integrity import verify_workspace
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

    # -- backup and restore ---------------------------------------------------------------

    def choose_backup(self) -> None:
        ws = self.state.workspace
        if ws is None:
            return
        from datetime import date

        suggested = str(Path.home() / f"{ws.root.name}-backup-{date.today().isoformat()}.zip")
        path, _ = QFileDialog.getSaveFileName(self, "Back up the workspace to", suggested,
                                              "Backups (*.zip)")
        if path:
            self.backup(path if path.lower().endswith(".zip") else path + ".zip")

    def backup(self, path: str) -> None:
        """Back the open workspace up into ``path`` (a job, with progress and cancel)."""
        ws = self.state.workspace
        if ws is None:
            return
        root, actor = ws.root, self.state.actor

        def work(progress, cancel):
            from ...core.workspace.backup import backup
            from ...core.workspace import Workspace

            with Workspace.open(root) as own:  # a connection for this thread
                return backup(own, path, actor=actor, progress=progress, cancel=cancel)

        def done(result) -> None:
            from ...core.numbers import file_size as human_size

            self.last_backup = result
            text = (f"Backed up {result.members} files ({human_size(result.bytes)}) to\n{result.path}"
                    f"\n\nSHA-256: {result.sha256}")
            if result.missing:
                text += (f"\n\n{len(result.missing)} recorded file(s) were missing from the workspace "
                         "and are not in the backup. Run Check integrity.")
            box = QMessageBox(self)
            box.setWindowTitle("Backup")
            box.setIcon(QMessageBox.Icon.Warning if result.missing else QMessageBox.Icon.Information)
            box.setText(text)
            box.open()
            self.refresh()

        self.runner.start("Backing up the workspace", work, on_success=done,
                          on_error=lambda e, tb: show_error(self, "Backup failed", e, tb))

    def choose_restore(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Restore a backup", str(Path.home()),
                                              "Backups (*.zip)")
        if not path:
            return
        folder = QFileDialog.getExistingDirectory(
            self, "Choose a new or empty folder for the restored workspace")
        if folder:
            self.restore(path, folder)

    def restore(self, path: str, folder: str) -> None:
        """Restore the backup ``path`` into ``folder`` (a job), then open it."""
        actor = self.state.actor

        def work(progress, cancel):
            from ...core.workspace.backup import restore

            return restore(path, folder, actor=actor, progress=progress, cancel=cancel)

        def done(result) -> None:
            self.last_restore = result
            self._open(str(result.workspace), create=False)
            box = QMessageBox(self)
            box.setWindowTitle("Restore")
            lines = [f"Restored {result.datasets} dataset(s) and {result.models} registered model(s) "
                     f"into\n{result.workspace}\n(backup made {result.backup_created_at[:19].replace('T', ' ')}"
                     f" by {result.backup_created_by})."]
            if result.ok:
                box.setIcon(QMessageBox.Icon.Information)
                lines.append("The integrity check found everything intact.")
            else:
                box.setIcon(QMessageBox.Icon.Warning)
                lines.append(f"The integrity check found {len(result.problems)} problem(s) in the "
                             "backed-up workspace:")
                lines += [f"• {p['message']}" for p in result.problems[:10]]
            box.setText("\n".join(lines))
            box.open()

        self.runner.start("Restoring a backup", work, on_success=done,
                          on_error=lambda e, tb: show_error(self, "Restore failed", e, tb))
