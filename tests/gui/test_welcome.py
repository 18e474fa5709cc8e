"""The first run: the welcome page, the sample project built in the background, and a
new workspace; driven through the widgets."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import message_boxes, screenshot, wait_jobs


@pytest.fixture
def first_window(qtbot, tmp_path: Path):
    """The main window as on the very first start: no settings, no workspace."""
    from PySide6.QtCore import QSettings

    from mlops_desktop.gui.main_window import MainWindow
    from mlops_desktop.gui.state import AppState, Preferences

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(AppState(Preferences(settings)))
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    win.open_startup_workspace(None)
    yield win
    win.runner.cancel_all()
    win.runner.wait(30_000)
    win.state.close()


def test_first_run_shows_the_flow_and_two_ways_in(first_window):
    from mlops_desktop.gui.pages.welcome_page import FLOW

    win, page = first_window, first_window.welcome
    assert win.state.workspace is None
    assert page.isVisible() and not win.nav.isVisible()
    assert [name for name, _ in FLOW] == ["Import", "Explore", "Check", "Train", "Validate", "Approve",
                                         "Export", "Monitor"]
    texts = [label.text() for label in page.flow_labels]
    assert [t.split("</b>")[0].split(". ", 1)[1] for t in texts] == [name for name, _ in FLOW]
    assert page.sample_button.text() == "Open the sample project"
    assert page.create_button.text() == "Create a workspace"
    assert "No workspace open" in win.workspace_label.text()
    screenshot(win, "welcome_page")


def test_welcome_text_is_not_cut_at_the_smallest_window(first_window, qtbot):
    win, page = first_window, first_window.welcome
    win.resize(win.minimumSize())
    qtbot.wait(50)
    for label in [*page.flow_labels, page.sample_caption, page.create_caption]:
        assert label.height() >= label.heightForWidth(label.width()), label.text()
    for button in (page.sample_button, page.create_button):
        assert button.width() >= button.sizeHint().width()
    screenshot(win, "welcome_page_small")


def test_open_sample_project_builds_it_in_the_background_and_opens_it(first_window, qtbot):
    from mlops_desktop.core.sample_project import default_sample_project_dir

    win, page = first_window, first_window.welcome
    opened = []
    page.sample_opened.connect(opened.append)
    page.sample_button.click()
    assert page.progress_bar.isVisible() and page.cancel_button.isVisible()
    assert not page.sample_button.isEnabled() and not page.create_button.isEnabled()
    assert [job.title for job in win.runner.jobs] == ["Building the sample project"]
    screenshot(win, "welcome_building_sample")
    wait_jobs(qtbot, win, timeout_s=180)
    assert not message_boxes()
    ws = win.state.workspace
    assert ws is not None and ws.root == default_sample_project_dir()
    assert [d.name for d in ws.datasets()] == ["penguins"]
    assert len(opened) == 1 and win.state.current_dataset == opened[0].dataset_id
    assert {e.actor for e in ws.audit_entries()} == {win.state.actor}
    assert win.nav.isVisible() and not page.isVisible()
    screenshot(win, "welcome_sample_opened")


def test_the_sample_project_is_built_once(first_window, qtbot, tmp_path: Path):
    page = first_window.welcome
    folder = tmp_path / "sample"
    assert page.open_sample_project(folder) is not None
    wait_jobs(qtbot, first_window, timeout_s=180)
    first_window.state.close()
    first_window.screens.setCurrentWidget(page)
    assert page.open_sample_project(folder) is None  # found: opened, not built again
    assert first_window.state.workspace.root == folder
    assert len(first_window.state.workspace.datasets()) == 1


def test_cancel_keeps_nothing_of_the_sample_project(first_window, qtbot):
    from mlops_desktop.core.sample_project import default_sample_project_dir

    win, page = first_window, first_window.welcome
    page.sample_button.click()
    page.cancel_button.click()
    wait_jobs(qtbot, win, timeout_s=120)
    assert win.state.workspace is None and page.isVisible()
    assert not default_sample_project_dir().exists()
    assert page.sample_button.isEnabled() and not page.progress_bar.isVisible()
    assert not message_boxes()


def test_create_a_workspace_makes_the_default_one(first_window):
    win, page = first_window, first_window.welcome
    page.create_button.click()
    ws = win.state.workspace
    assert ws is not None and ws.root == win.state.prefs.default_workspace
    assert ws.datasets() == [] and win.nav.isVisible()
    assert win.stack.currentWidget() is win.page("Data")


def test_choose_another_folder(first_window, monkeypatch, tmp_path: Path):
    from PySide6.QtWidgets import QFileDialog

    projects = tmp_path / "projects"
    projects.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(projects))
    first_window.welcome.create_caption.linkActivated.emit("choose")
    dialog = first_window.welcome.new_dialog  # a folder to put it in, and a new folder's name
    dialog.browse_button.click()
    dialog.name_edit.setText("quality")
    dialog.create_button.click()
    assert first_window.state.workspace.root == projects / "quality"


def test_a_folder_that_is_not_empty_is_refused_with_a_message(first_window, tmp_path: Path):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    assert not first_window.welcome.create_workspace(busy)
    assert first_window.state.workspace is None
    boxes = message_boxes()
    assert len(boxes) == 1 and "not empty" in boxes[0].text()
    boxes[0].close()


def test_later_starts_open_the_last_workspace(qtbot, tmp_path: Path, monkeypatch):
    from PySide6.QtCore import QSettings

    from mlops_desktop.core.workspace import Workspace
    from mlops_desktop.gui.main_window import MainWindow
    from mlops_desktop.gui.pages.welcome_page import is_first_run
    from mlops_desktop.gui.state import AppState, Preferences

    Workspace.create(tmp_path / "ws", actor="ana").close()
    state = AppState(Preferences(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)))
    assert is_first_run(state, None)
    assert not is_first_run(state, str(tmp_path / "elsewhere"))
    state.prefs.last_workspace = tmp_path / "ws"
    assert not is_first_run(state, None)
    win = MainWindow(state)
    qtbot.addWidget(win)
    win.show()
    win.open_startup_workspace(None)
    assert state.workspace is not None and state.workspace.root == tmp_path / "ws"
    assert not win.welcome.isVisible() and win.nav.isVisible()
    state.close()

    fresh = AppState(Preferences(QSettings(str(tmp_path / "t.ini"), QSettings.Format.IniFormat)))
    monkeypatch.setenv("MLOPS_DESKTOP_WORKSPACE", str(tmp_path / "from-env"))
    assert not is_first_run(fresh, None)  # a workspace named in the environment is opened
