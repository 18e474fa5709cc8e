"""An unexpected exception in a slot shows a friendly dialog with "Copy details",
writes a crash report to the log folder, and the app keeps running."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from .conftest import message_boxes, screenshot


@pytest.fixture
def log_folder(tmp_path: Path, monkeypatch) -> Path:
    from mlops_desktop.core.workspace import settings

    folder = tmp_path / "logs"
    folder.mkdir()
    monkeypatch.setattr(settings, "log_dir", lambda: folder)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    return folder


@pytest.mark.qt_no_exception_capture
def test_exception_in_a_slot_shows_the_crash_dialog_and_writes_a_report(window, qtbot, log_folder: Path):
    from mlops_desktop.gui.errors import install_excepthook

    install_excepthook(lambda: window)
    calls = []

    def broken() -> None:
        calls.append("broken")
        raise RuntimeError("the polish test broke this on purpose")

    button = QPushButton("Break", window)
    button.clicked.connect(broken)
    button.click()
    qtbot.waitUntil(lambda: len(message_boxes()) == 1, timeout=5_000)
    box = message_boxes()[0]
    assert "RuntimeError: the polish test broke this on purpose" in box.text()
    assert "not something you did" in box.informativeText()
    reports = list(log_folder.glob("crash-*.txt"))
    assert len(reports) == 1
    assert str(reports[0]) in box.informativeText()  # the dialog says where
    text = reports[0].read_text(encoding="utf-8")
    import importlib.metadata
    import platform

    assert "Traceback (most recent call last)" in text and "in broken" in text
    assert "RuntimeError: the polish test broke this on purpose" in text
    assert f"pandas: {importlib.metadata.version('pandas')}" in text
    assert f"Python: {platform.python_version()}" in text and "MLOps Desktop: " in text
    assert f"Platform: {platform.platform()}" in text
    assert "in broken" in box.detailedText()
    screenshot(box, "polish_crash_dialog")

    QApplication.clipboard().clear()
    box.copy_button.click()
    copied = QApplication.clipboard().text()
    assert "the polish test broke this on purpose" in copied and "numpy: " in copied
    assert box.isVisible()  # copying does not close the dialog
    box.button(QMessageBox.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=2_000)

    # the app keeps running: the window still works, and the same slot can run again
    window.go_to("Workspace")
    assert window.stack.currentWidget() is window.page("Workspace")
    button.click()
    qtbot.waitUntil(lambda: len(message_boxes()) == 1, timeout=5_000)
    assert calls == ["broken", "broken"]
    assert len(list(log_folder.glob("crash-*.txt"))) == 1  # the same error is written once
    assert str(reports[0]) in message_boxes()[0].informativeText()  # and the dialog points to it again
    message_boxes()[0].close()  # the title bar's close button (and Esc) close it
    assert message_boxes() == []


@pytest.mark.qt_no_exception_capture
def test_a_storm_of_errors_opens_one_dialog(window, qtbot, log_folder: Path):
    from mlops_desktop.gui.errors import install_excepthook

    install_excepthook(lambda: window)
    buttons = []
    for i in range(3):
        b = QPushButton(f"b{i}", window)
        b.clicked.connect(lambda _=False, i=i: (_ for _ in ()).throw(ValueError(f"storm {i}")))
        buttons.append(b)
    for b in buttons:
        b.click()
    qtbot.wait(50)
    assert len(message_boxes()) == 1
    assert len(list(log_folder.glob("crash-*.txt"))) == 3  # each distinct error is on file
    message_boxes()[0].close()


def test_a_failed_job_with_a_bug_writes_a_crash_report_too(window, qtbot, log_folder: Path):
    from mlops_desktop.gui.errors import show_error

    try:
        {}["missing key in a job"]
    except KeyError as exc:
        box = show_error(window, "Training failed", exc)
    assert "KeyError" in box.text()
    assert len(list(log_folder.glob("crash-*.txt"))) == 1
    box.close()


def test_user_errors_stay_plain_messages(window, log_folder: Path):
    from mlops_desktop.core.errors import DataImportError
    from mlops_desktop.gui.errors import show_error

    box = show_error(window, "Import failed", DataImportError("The file x.csv is empty."))
    assert box.text() == "The file x.csv is empty." and box.detailedText() == ""
    assert list(log_folder.iterdir()) == []
    box.close()


def test_old_crash_reports_are_pruned(tmp_path: Path):
    from mlops_desktop.gui.errors import KEEP_CRASH_REPORTS, write_crash_report

    for i in range(KEEP_CRASH_REPORTS + 5):
        assert write_crash_report("test", f"Traceback: number {i}\n", folder=tmp_path) is not None
    reports = sorted(tmp_path.glob("crash-*.txt"))
    assert len(reports) == KEEP_CRASH_REPORTS
    assert "number 24" in reports[-1].read_text(encoding="utf-8")  # the newest are kept
    assert not list(tmp_path.glob(".tmp-*"))
