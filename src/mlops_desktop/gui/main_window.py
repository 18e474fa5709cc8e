"""The main window: left navigation in the order of the flow, one page per step."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QByteArray, QSize
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMainWindow,
                               QMessageBox, QStackedWidget, QWidget)

from .. import APP_NAME, __version__
from .errors import show_error
from .job_status import JobStatus
from .jobs import JobRunner
from .state import AppState


class MainWindow(QMainWindow):
    def __init__(self, state: AppState, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.state = state
        self.runner = JobRunner(self)
        self.setWindowTitle(APP_NAME)
        self.resize(1200, 760)
        self.setMinimumSize(QSize(900, 600))
        self.setAcceptDrops(True)  # a data file dropped anywhere opens the import dialog

        from .pages.check_page import CheckPage
        from .pages.data_page import DataPage
        from .pages.explore_page import ExplorePage
        from .pages.monitor_page import MonitorPage
        from .pages.train_page import TrainPage
        from .pages.validate_page import ValidatePage
        from .pages.workspace_page import WorkspacePage

        self.pages = [WorkspacePage(state, self.runner), DataPage(state, self.runner),
                      ExplorePage(state, self.runner), CheckPage(state, self.runner),
                      TrainPage(state, self.runner), ValidatePage(state, self.runner),
                      MonitorPage(state, self.runner)]
        self.nav = QListWidget()
        self.nav.setFixedWidth(170)
        self.nav.setObjectName("navigation")
        self.nav.setStyleSheet("QListWidget#navigation { font-size: 11pt; padding-top: 6px; outline: 0; } "
                               "QListWidget#navigation::item { padding: 8px 10px; }")
        self.stack = QStackedWidget()
        for number, page in enumerate(self.pages, start=1):
            self.nav.addItem(QListWidgetItem(f"{number}. {page.title}"))
            self.stack.addWidget(page)
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.nav)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.workspace_label = QLabel()
        self.statusBar().addWidget(self.workspace_label, 1)
        self.job_status = JobStatus(self.runner)
        self.statusBar().addPermanentWidget(self.job_status)
        self._build_menus()
        state.workspace_changed.connect(self._workspace_changed)
        self._workspace_changed()
        self.go_to("Data")

    def page(self, title: str) -> QWidget:
        return next(p for p in self.pages if p.title == title)

    def go_to(self, title: str) -> None:
        self.nav.setCurrentRow(self.pages.index(self.page(title)))

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        data = self.page("Data")
        ws_page = self.page("Workspace")
        for text, shortcut, slot in (
                ("&Import a file…", QKeySequence.StandardKey.Open, lambda: (self.go_to("Data"), data.import_file())),
                ("Open the &sample dataset", None, lambda: (self.go_to("Data"), data.open_sample())),
                (None, None, None),
                ("&New workspace…", QKeySequence.StandardKey.New, ws_page.choose_new),
                ("Open &workspace…", QKeySequence("Ctrl+Shift+O"), ws_page.choose_open),
                (None, None, None),
                ("Se&ttings…", QKeySequence.StandardKey.Preferences, self.open_settings),
                (None, None, None),
                ("&Quit", QKeySequence.StandardKey.Quit, self.close)):
            if text is None:
                file_menu.addSeparator()
                continue
            action = QAction(text, self)
            if shortcut is not None:
                action.setShortcut(shortcut)
            action.triggered.connect(slot)
            file_menu.addAction(action)
        view_menu = self.menuBar().addMenu("&View")
        for row, page in enumerate(self.pages):
            action = QAction(page.title, self)
            action.setShortcut(QKeySequence(f"Ctrl+{row + 1}"))
            action.triggered.connect(lambda _=False, r=row: self.nav.setCurrentRow(r))
            view_menu.addAction(action)
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About MLOps Desktop", self)
        about.triggered.connect(self.show_about)
        help_menu.addAction(about)

    def _workspace_changed(self) -> None:
        ws = self.state.workspace
        self.workspace_label.setText(f"Workspace: {ws.root}" if ws else "No workspace open")
        self.setWindowTitle(f"{APP_NAME} — {ws.root.name}" if ws else APP_NAME)

    def open_settings(self) -> None:
        from .settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.state.prefs, self)
        dialog.accepted.connect(lambda: self.state.workspace_changed.emit())
        dialog.open()

    def show_about(self) -> None:
        import platform

        from PySide6 import __version__ as pyside_version

        QMessageBox.about(self, f"About {APP_NAME}",
                          f"<b>{APP_NAME}</b> {__version__}<br>From a local data file to an approved, "
                          f"monitored model that IT can run: offline, with no server.<br><br>"
                          f"Python {platform.python_version()} · PySide6 {pyside_version}")

    def restore_geometry(self) -> None:
        geometry = self.state.prefs.qs.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.runner.jobs:
            answer = QMessageBox.question(
                self, "Jobs are running",
                "Work is still running. Cancel it and quit? Nothing half-done is kept.")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
            self.runner.cancel_all()
        self.runner.wait(30_000)
        self.state.prefs.qs.setValue("window/geometry", self.saveGeometry())
        self.state.close()
        super().closeEvent(event)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if urls and all(u.isLocalFile() for u in urls) and self.state.workspace is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()
            page = self.stack.currentWidget()
            accept = getattr(page, "accept_dropped_file", None)
            if accept is not None:  # e.g. the Monitor page takes files as batches
                for url in urls:
                    if url.isLocalFile():
                        accept(url.toLocalFile())
                return
            self.go_to("Data")
            self.page("Data").import_file(urls[0].toLocalFile())

    def open_startup_workspace(self, requested: Optional[str]) -> None:
        """Open the workspace for this session; called once the window is on screen."""
        path = self.state.startup_workspace(requested)
        try:
            self.state.open_workspace(path, create=True)
        except Exception as exc:
            show_error(self, "Cannot open the workspace", exc)
            self.go_to("Workspace")
