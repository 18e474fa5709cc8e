"""GUI fixtures: a main window over a fresh workspace, settings in a temp file, and
screenshots saved under screenshots/ to look at."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"


@pytest.fixture
def window(qtbot, tmp_path: Path):
    from PySide6.QtCore import QSettings

    from mlops_desktop.gui.main_window import MainWindow
    from mlops_desktop.gui.state import AppState, Preferences

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    state = AppState(Preferences(settings))
    win = MainWindow(state)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    win.open_startup_workspace(str(tmp_path / "ws"))
    # the start-up warm-up (imports on a background thread, MainWindow.warm_up) ends before the
    # test: its pauses are the start-up's, measured apart by bench/ui_pauses.py; left running,
    # they fell into the first measure of whichever test opened its worker's first window
    qtbot.waitUntil(lambda: win.warm_up_thread is not None and not win.warm_up_thread.is_alive(),
                    timeout=120_000)
    yield win
    win.runner.cancel_all()
    win.runner.wait(30_000)
    win.state.close()


@pytest.fixture(autouse=True)
def _no_closed_charts_left(qapp):
    """After each test, delete the charts a test made on their own and closed: pyqtgraph
    drops a closed chart's plot but the widget lives on as a hidden top-level window,
    which later tests' palette changes and window scans would reach."""
    yield
    import pyqtgraph as pg
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, pg.GraphicsView) and widget.parentWidget() is None and not widget.isVisible():
            widget.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def screenshot(widget, name: str) -> Path:
    """Save what the widget shows, for a person to look at."""
    from PySide6.QtWidgets import QApplication

    QApplication.processEvents()
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    widget.grab().save(str(path))
    return path


def wait_jobs(qtbot, win, timeout_s: float = 60) -> None:
    """Wait until every job (visible or not) has ended."""
    end = time.monotonic() + timeout_s
    qtbot.wait(20)
    while win.runner.pool.activeThreadCount() > 0 or win.runner.jobs:
        assert time.monotonic() < end, "jobs did not finish in time"
        qtbot.wait(20)
    qtbot.wait(50)


def message_boxes():
    from PySide6.QtWidgets import QApplication, QMessageBox

    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
