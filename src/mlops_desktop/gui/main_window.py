"""The main window: left navigation in the order of the flow, one page per step."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QByteArray, QSize, Qt
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence, QUndoGroup
from PySide6.QtWidgets import (QApplication, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMainWindow,
                               QMessageBox, QStackedWidget, QWidget)

from .. import APP_NAME
from .job_status import JobStatus
from .jobs import JobRunner
from .state import AppState


def warm_up() -> threading.Thread:
    """Import, on a background thread once the workspace is open, what the first visit of
    a page would otherwise import while the analyst waits: the chart modules (pyqtgraph:
    most of a second, on the UI thread when a page builds its charts) and the libraries
    profiling and drift load (SciPy: an import holds the interpreter's lock for up to a
    third of a second, which paused the UI during the first profile of a big dataset).
    Importing creates no Qt object; a page shown before the import ends waits for it, as
    it would have imported the modules itself."""

    def work() -> None:
        from . import charts  # noqa: F401
        from ..core.registry.lifecycle import search_versions  # noqa: F401  (the Monitor page's lists)
        from ..core.monitor import batches, drift, history, reference  # noqa: F401
        from ..core.explore import profile  # noqa: F401
        import scipy.stats  # noqa: F401  (loaded inside the measures, when first used)
        import duckdb  # noqa: F401  (the engine of a dataset larger than memory: 0.2 s of the lock at a time)

    thread = threading.Thread(target=work, name="warm-up", daemon=True)
    thread.start()
    return thread


class MainWindow(QMainWindow):
    def __init__(self, state: AppState, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.state = state
        self.runner = JobRunner(self)
        self.setWindowTitle(APP_NAME)
        self.resize(1200, 760)
        self.setMinimumSize(QSize(900, 600))
        self.setAcceptDrops(True)  # a data file dropped anywhere opens the import dialog
        from . import tooltips

        tooltips.install(QApplication.instance())  # long tooltips wrap and stay while pointed at

        from .pages.check_page import CheckPage
        from .pages.data_page import DataPage
        from .pages.explore_page import ExplorePage
        from .pages.monitor_page import MonitorPage
        from .pages.registry_page import RegistryPage
        from .pages.export_page import ExportPage
        from .pages.train_page import TrainPage
        from .pages.validate_page import ValidatePage
        from .pages.workspace_page import WorkspacePage

        self.pages = [WorkspacePage(state, self.runner), DataPage(state, self.runner),
                      ExplorePage(state, self.runner), CheckPage(state, self.runner),
                      TrainPage(state, self.runner), ValidatePage(state, self.runner),
                      RegistryPage(state, self.runner), MonitorPage(state, self.runner),
                      ExportPage(state, self.runner)]
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
        from .pages.welcome_page import WelcomePage

        self.welcome = WelcomePage(state, self.runner)
        self.screens = QStackedWidget()  # the flow pages, or the welcome page while no workspace is open
        self.screens.addWidget(central)
        self.screens.addWidget(self.welcome)
        self.setCentralWidget(self.screens)

        from .actor import ActorButton

        self.actor_button = ActorButton(state)  # who is acting: always in sight, and changed here
        self.statusBar().addWidget(self.actor_button)
        self.workspace_label = QLabel()
        self.workspace_label.setTextFormat(Qt.TextFormat.PlainText)  # a folder's name
        self.statusBar().addWidget(self.workspace_label, 1)
        self.job_status = JobStatus(self.runner)
        self.statusBar().addPermanentWidget(self.job_status)
        self._build_menus()
        self._remember_splitters()
        state.workspace_changed.connect(self._workspace_changed)
        state.step_suggested.connect(lambda _dataset, _step: self.go_to("Data"))
        self._workspace_changed()
        from .model_upgrade import ModelUpgradeOffer

        self.model_upgrade = ModelUpgradeOffer(state, self.runner, self)  # pickles of earlier versions
        self.model_upgrade.check()
        self.go_to("Data")
        self.warm_up_thread: Optional[threading.Thread] = None  # see warm_up()

    def page(self, title: str) -> QWidget:
        return next(p for p in self.pages if p.title == title)

    def go_to(self, title: str) -> None:
        self.nav.setCurrentRow(self.pages.index(self.page(title)))

    def _build_menus(self) -> None:
        from .help_viewer import add_action, open_log_folder

        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        data = self.page("Data")
        ws_page = self.page("Workspace")
        add_action(file_menu, "&Import a file…", lambda: (self.go_to("Data"), data.import_file()),
                   QKeySequence.StandardKey.Open)
        self.recent_menu = file_menu.addMenu("&Recent files")
        self.recent_menu.aboutToShow.connect(self._fill_recent_files)
        self._fill_recent_files()
        add_action(file_menu, "Open the &sample dataset", lambda: (self.go_to("Data"), data.open_sample()))
        file_menu.addSeparator()
        add_action(file_menu, "&New workspace…", ws_page.choose_new, QKeySequence.StandardKey.New)
        add_action(file_menu, "Open &workspace…", ws_page.choose_open, QKeySequence("Ctrl+Shift+O"))
        file_menu.addSeparator()
        add_action(file_menu, "Save this page's r&eport…", self.save_page_report, QKeySequence("Ctrl+E"))
        file_menu.addSeparator()
        add_action(file_menu, "Se&ttings…", self.open_settings, QKeySequence.StandardKey.Preferences)
        file_menu.addSeparator()
        add_action(file_menu, "&Quit", self.close, QKeySequence("Ctrl+Q"))  # the standard key is empty on Windows and bare X11

        edit_menu = bar.addMenu("&Edit")
        # one undo stack per page, the page on screen's active: Ctrl+Z changes what you see
        self.undo_group = QUndoGroup(self)
        for page in self.pages:
            stack = getattr(page, "undo_stack", None)
            if stack is not None:
                self.undo_group.addStack(stack)
        self.nav.currentRowChanged.connect(lambda row: self.undo_group.setActiveStack(
            getattr(self.pages[row], "undo_stack", None) if row >= 0 else None))
        self.undo_action = self.undo_group.createUndoAction(self, "&Undo")
        self.undo_action.setShortcuts(QKeySequence.StandardKey.Undo)
        self.redo_action = self.undo_group.createRedoAction(self, "&Redo")
        redo_keys = [QKeySequence("Ctrl+Shift+Z")]  # first, so menus show it; plus the platform's (Ctrl+Y)
        redo_keys += [k for k in QKeySequence.keyBindings(QKeySequence.StandardKey.Redo) if k not in redo_keys]
        self.redo_action.setShortcuts(redo_keys)
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)
        edit_menu.addSeparator()
        add_action(edit_menu, "&Copy", self.copy_focused, QKeySequence.StandardKey.Copy)
        add_action(edit_menu, "Select &all", self.select_all_focused, QKeySequence.StandardKey.SelectAll)

        view_menu = bar.addMenu("&View")
        for row, page in enumerate(self.pages):
            add_action(view_menu, page.title, lambda r=row: self.nav.setCurrentRow(r), QKeySequence(f"Ctrl+{row + 1}"))
        view_menu.addSeparator()
        add_action(view_menu, "&Refresh this page", self.refresh_page, QKeySequence.StandardKey.Refresh)

        help_menu = bar.addMenu("&Help")
        add_action(help_menu, "&User guide", self.open_user_guide, QKeySequence.StandardKey.HelpContents)
        add_action(help_menu, "&Keyboard shortcuts", self.show_shortcuts)
        add_action(help_menu, "Open the &log folder", lambda: open_log_folder(self))
        help_menu.addSeparator()
        add_action(help_menu, "&About MLOps Desktop", self.show_about)
        self.state.datasets_changed.connect(self._remember_imported_file)

    # -- menu commands --------------------------------------------------------------------

    def current_page(self) -> QWidget:
        return self.stack.currentWidget()

    def copy_focused(self) -> None:
        """Edit → Copy: the focused table's selection, chart or text."""
        from .table_actions import copy_focused

        if not copy_focused(QApplication.focusWidget()):
            self.statusBar().showMessage("Click a table, a chart or a text first, then copy.", 5000)

    def select_all_focused(self) -> None:
        from .table_actions import select_all_focused

        select_all_focused(QApplication.focusWidget())

    def refresh_page(self) -> None:
        """View → Refresh (F5): read the current page's content from the workspace again."""
        page = self.current_page()
        for name in ("refresh", "reload"):
            method = getattr(page, name, None)
            if callable(method):
                method()
                return
        picker = getattr(page, "picker", None)  # Explore and Check: re-read the dataset list
        if picker is not None:
            picker.reload()

    def save_page_report(self) -> None:
        """File → Save this page's report (Ctrl+E), on the pages that make one."""
        page = self.current_page()
        title = getattr(page, "title", "this")
        for method, button in (("save_report", "report_button"), ("save_card", "card_button")):
            save = getattr(page, method, None)
            if callable(save):
                ready = getattr(page, button, None)
                if ready is not None and not ready.isEnabled():
                    self.statusBar().showMessage(f"Nothing to save on the {title} page yet: run it first.", 5000)
                    return
                save()
                return
        self.statusBar().showMessage(f"The {title} page has no report to save.", 5000)

    def _fill_recent_files(self) -> None:
        menu = self.recent_menu
        menu.clear()
        files = self.state.prefs.recent_files
        for path in files:
            p = Path(path)
            action = menu.addAction(f"{p.name}  —  {p.parent}")
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, f=path: self.open_recent_file(f))
        if files:
            menu.addSeparator()
            menu.addAction("Clear the list", self.state.prefs.clear_recent_files)
        else:
            menu.addAction("No recent files").setEnabled(False)

    def open_recent_file(self, path: str) -> None:
        """Open the import dialog again on a recently imported file."""
        if not Path(path).is_file():
            self.state.prefs.remove_recent_file(path)
            box = QMessageBox(QMessageBox.Icon.Information, "File not found",
                              f"{path} no longer exists; it was taken off the recent files.",
                              QMessageBox.StandardButton.Ok, self)
            box.open()
            return
        self.go_to("Data")
        self.page("Data").import_file(path)

    def _remember_imported_file(self, dataset_id: int) -> None:
        """An import finished: its source file joins File → Recent files (not the sample)."""
        from .pages.data_page import sample_path

        ws = self.state.workspace
        if ws is None or dataset_id is None or dataset_id < 0:
            return
        try:
            source = Path(ws.dataset(dataset_id).source_path)
        except Exception:
            return
        if source.parent == sample_path().parent:
            return
        self.state.prefs.add_recent_file(source)

    def open_user_guide(self, section: Optional[str] = None) -> None:
        """Help → User guide (F1), in a window of its own, at ``section`` or at the part
        about what the window shows (the current page; "Getting started" before a
        workspace is open)."""
        from .help_viewer import HelpViewer

        if getattr(self, "help_viewer", None) is None:
            self.help_viewer = HelpViewer(self)
        self.help_viewer.show()
        if section is None:
            on_welcome = self.screens.currentWidget() is self.welcome
            section = "Getting started" if on_welcome else getattr(self.current_page(), "title", "")
        self.help_viewer.show_section(section)  # after show(): the page is laid out to scroll
        self.help_viewer.raise_()
        self.help_viewer.activateWindow()

    def show_shortcuts(self) -> None:
        from .help_viewer import ShortcutsDialog

        self.shortcuts_dialog = ShortcutsDialog(self.menuBar(), self)
        self.shortcuts_dialog.open()

    def _remember_splitters(self) -> None:
        """Every named splitter keeps its position across sessions, restored when its page
        is built (lazy pages build on first show)."""
        from .state import SplitterMemory

        self.splitters = SplitterMemory(self.state.prefs, self)
        for page in self.pages:
            self.splitters.attach(page)
            built = getattr(page, "page_built", None)
            if built is not None:
                built.connect(lambda p=page: self.splitters.attach(p))

    def _workspace_changed(self) -> None:
        ws = self.state.workspace
        if ws is not None:
            self.screens.setCurrentIndex(0)
        team = self.state.team
        # on a team registry the actor is the login, named in the label: no name to choose
        self.actor_button.setVisible(team is None)
        self.workspace_label.setText(team.text() if team is not None else
                                     f"Workspace: {ws.root}" if ws else "No workspace open")
        self.setWindowTitle(f"{APP_NAME} — {ws.root.name}" if ws else APP_NAME)

    def open_settings(self) -> None:
        from .settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.state.prefs, self)
        actor = self.state.actor

        def saved() -> None:
            if self.state.actor != actor:
                self.state.actor_changed.emit(self.state.actor)
            self.state.workspace_changed.emit()

        dialog.accepted.connect(saved)
        dialog.open()

    def show_about(self) -> None:
        from .help_viewer import AboutDialog

        self.about_dialog = AboutDialog(self)
        self.about_dialog.open()

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
        from PySide6.QtCore import QTimer

        from .pages.welcome_page import is_first_run

        QTimer.singleShot(0, lambda: setattr(self, "warm_up_thread", warm_up()))  # once the workspace shows

        if is_first_run(self.state, requested):
            self.screens.setCurrentWidget(self.welcome)
            return
        from .workspace_opening import open_workspace

        path = self.state.startup_workspace(requested)
        # a team workspace connects in the background: the window answers meanwhile
        open_workspace(self, self.state, self.runner, path, create=True,
                       on_failed=lambda _exc: self.go_to("Workspace"))
