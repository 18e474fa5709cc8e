"""The app remembers where the splitters were left (by name, across sessions) and the
files imported lately (File → Recent files re-opens the import dialog on one)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLabel, QSplitter

from .conftest import message_boxes, wait_jobs


def test_splitter_memory_restores_a_named_splitter(qtbot, tmp_path: Path):
    from mlops_desktop.gui.state import Preferences, SplitterMemory

    def make() -> QSplitter:
        splitter = QSplitter()
        splitter.setObjectName("testSplitter")
        splitter.addWidget(QLabel("left"))
        splitter.addWidget(QLabel("right"))
        qtbot.addWidget(splitter)
        splitter.resize(600, 200)
        splitter.show()
        return splitter

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    first = make()
    memory = SplitterMemory(Preferences(settings))
    assert memory.attach(first) == 1
    assert memory.attach(first) == 0  # attached once only
    first.setSizes([150, 450])
    first.splitterMoved.emit(150, 1)  # what a drag of the handle emits
    settings.sync()

    reopened = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    second = make()
    second.setSizes([400, 200])
    SplitterMemory(Preferences(reopened)).attach(second)
    assert second.sizes() == first.sizes()

    unnamed = QSplitter()
    qtbot.addWidget(unnamed)
    assert memory.attach(unnamed) == 0  # no name, nothing to find it by next time


def test_every_splitter_on_the_pages_is_named_and_remembered(window):
    from mlops_desktop.gui.state import SplitterMemory

    names = []
    for page in window.pages:
        if hasattr(page, "ensure_built"):
            page.ensure_built()
        for splitter in page.findChildren(QSplitter):
            assert splitter.objectName(), f"a splitter on the {page.title} page has no objectName"
            assert splitter.property(SplitterMemory.PROPERTY), splitter.objectName()
            names.append(splitter.objectName())
    assert len(names) == len(set(names)) >= 6


def test_splitter_positions_survive_a_restart(window, qtbot):
    from mlops_desktop.gui.main_window import MainWindow
    from mlops_desktop.gui.state import AppState, Preferences

    window.go_to("Explore")  # a page built on first show
    window.page("Explore").ensure_built()
    splitter = window.findChild(QSplitter, "exploreSplitter")
    splitter.setSizes([300, 700])
    splitter.splitterMoved.emit(300, 1)
    moved = splitter.sizes()
    train = window.findChild(QSplitter, "trainSplitter")  # built at once, vertical
    train.setSizes([120, 500])
    train.splitterMoved.emit(120, 1)
    train_sizes = train.sizes()
    settings = window.state.prefs.qs
    settings.sync()

    again = MainWindow(AppState(Preferences(QSettings(settings.fileName(), QSettings.Format.IniFormat))))
    qtbot.addWidget(again)
    again.resize(window.size())
    again.show()
    qtbot.waitExposed(again)
    assert again.findChild(QSplitter, "trainSplitter").sizes() == train_sizes
    assert again.findChild(QSplitter, "exploreSplitter") is None  # not built until shown
    again.go_to("Explore")
    assert again.findChild(QSplitter, "exploreSplitter").sizes() == moved
    again.close()


def test_imported_files_become_recent_files(window, qtbot, tmp_path: Path):
    prefs = window.state.prefs
    page = window.page("Data")
    page.open_sample()  # the bundled sample is not a file of the user's
    wait_jobs(qtbot, window)
    assert prefs.recent_files == []
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text("a,b\n1,x\n2,y\n")
    second.write_text("c;d\n1;x\n")
    for path in (first, second, first):
        page.start_import(str(path), None, None)
        wait_jobs(qtbot, window)
    assert prefs.recent_files == [str(first), str(second)]  # newest first, no repeats

    window._fill_recent_files()
    actions = [a for a in window.recent_menu.actions() if not a.isSeparator()]
    assert [a.text() for a in actions] == [f"first.csv  —  {tmp_path}", f"second.csv  —  {tmp_path}",
                                           "Clear the list"]
    actions[1].trigger()  # re-opens the import dialog on that file
    dialog = page.last_dialog
    assert dialog.path == second and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1, timeout=10_000)
    assert "semicolon" in dialog.status.text()
    dialog.reject()


def test_a_missing_recent_file_is_taken_off_the_list(window, tmp_path: Path):
    prefs = window.state.prefs
    gone = tmp_path / "gone.csv"
    prefs.add_recent_file(gone)
    window._fill_recent_files()
    window.recent_menu.actions()[0].trigger()
    box = message_boxes()[-1]
    assert "no longer exists" in box.text()
    box.close()
    assert prefs.recent_files == []
    window._fill_recent_files()
    assert [a.text() for a in window.recent_menu.actions()] == ["No recent files"]
    assert not window.recent_menu.actions()[0].isEnabled()
