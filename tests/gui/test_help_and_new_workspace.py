"""F1 opens the user guide at the current page; the new-workspace dialog starts in the
documents folder and takes a new folder's name; long tooltips wrap and stay (issue 20,
desktop habits)."""

from __future__ import annotations


from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from .conftest import screenshot


def first_visible_heading(viewer) -> str:
    browser = viewer.browser
    block = browser.cursorForPosition(QPoint(4, 4)).block()
    while block.isValid() and not block.blockFormat().headingLevel():
        block = block.next()
    return block.text()


def test_f1_opens_the_guide_at_the_current_page(window, qtbot):
    window.go_to("Train")
    QTest.keyClick(window, Qt.Key.Key_F1)
    viewer = window.help_viewer
    qtbot.waitExposed(viewer)
    assert viewer.contents.currentItem().text().strip() == "5. Train"
    assert first_visible_heading(viewer) == "5. Train"
    screenshot(viewer, "habits_f1_train")
    for title, number in (("Registry", 7), ("Data", 2), ("Workspace", 1)):
        window.activateWindow()
        window.go_to(title)
        window.open_user_guide()
        assert first_visible_heading(viewer) == f"{number}. {title}"
    window.screens.setCurrentWidget(window.welcome)  # no workspace yet: how to begin
    window.open_user_guide()
    assert first_visible_heading(viewer) == "Getting started"


def test_f1_in_the_training_wizard_opens_the_train_section(window, qtbot, penguins_csv):
    window.state.workspace.import_file(penguins_csv, actor="ann")
    window.state.datasets_changed.emit(-1)
    window.go_to("Train")
    page = window.page("Train")
    page.open_wizard()
    wizard = page.last_wizard
    qtbot.waitExposed(wizard)
    wizard.activateWindow()
    qtbot.waitUntil(wizard.isActiveWindow, timeout=2000)
    QTest.keyClick(wizard, Qt.Key.Key_F1)
    assert first_visible_heading(window.help_viewer) == "5. Train"
    wizard.reject()


def test_new_workspace_starts_in_the_documents_folder_and_makes_a_new_folder(window, tmp_path, monkeypatch):
    from PySide6.QtCore import QStandardPaths

    from mlops_desktop.gui.new_workspace_dialog import documents_folder

    documents = tmp_path / "Documents"
    documents.mkdir()
    (documents / "MLOps workspace").mkdir()
    (documents / "MLOps workspace" / "notes.txt").write_text("someone else's")  # taken: the next name
    monkeypatch.setattr(QStandardPaths, "writableLocation", staticmethod(lambda _where: str(documents)))
    assert documents_folder() == documents
    window.go_to("Workspace")
    window.page("Workspace").create_button.click()
    dialog = window.page("Workspace").new_dialog
    assert dialog.isVisible() and dialog.folder_edit.text() == str(documents)
    assert dialog.name_edit.text() == "MLOps workspace 2" and dialog.create_button.isEnabled()
    assert str(documents / "MLOps workspace 2") in dialog.where.text()
    dialog.name_edit.setText("MLOps workspace")
    assert not dialog.create_button.isEnabled() and "not empty" in dialog.where.text()
    dialog.name_edit.setText("a/b")
    assert not dialog.create_button.isEnabled() and "cannot contain" in dialog.where.text()
    dialog.name_edit.setText("Line 3 quality")
    screenshot(dialog, "habits_new_workspace")
    dialog.create_button.click()
    ws = window.state.workspace
    assert ws.root == documents / "Line 3 quality" and (ws.root / "registry.sqlite").is_file()
    assert window.page("Workspace").path_label.text() == str(documents / "Line 3 quality")


def tip_label():
    from PySide6.QtWidgets import QApplication

    return next((w for w in QApplication.topLevelWidgets() if w.objectName() == "qtooltip_label" and w.isVisible()),
                None)


def test_long_tooltips_wrap_inside_the_screen_and_stay(window, qtbot, monkeypatch):
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtWidgets import QApplication, QToolTip

    from mlops_desktop.gui import tooltips

    shown = []
    original = QToolTip.showText
    monkeypatch.setattr(QToolTip, "showText", staticmethod(lambda *a: (shown.append(a), original(*a))[1]))
    window.go_to("Registry")
    switch = window.page("Registry").single_user  # right-hand edge of the page, a long explanation
    assert len(switch.toolTip()) > tooltips.LINE_CHARACTERS
    at = switch.rect().center()
    QApplication.sendEvent(switch, QHelpEvent(QEvent.Type.ToolTip, at, switch.mapToGlobal(at)))
    qtbot.waitUntil(lambda: tip_label() is not None, timeout=2000)
    text = QToolTip.text()
    assert "\n" in text and max(len(line) for line in text.splitlines()) <= tooltips.LINE_CHARACTERS
    assert " ".join(text.split()) == " ".join(switch.toolTip().split())  # every word kept
    assert shown[-1][4] == tooltips.SHOW_MS  # stays a minute while the pointer rests, not ten seconds
    screen = switch.screen().availableGeometry()
    tip = tip_label()
    assert tip.fontMetrics().horizontalAdvance(switch.toolTip()) > screen.width()  # on one line: off the edge
    frame = tip.frameGeometry().width() - tip.width()  # the offscreen platform's fake window frame
    assert screen.adjusted(-frame, -frame, frame, frame).contains(tip.frameGeometry())
    screenshot(tip_label(), "habits_tooltip_wrapped")

    # a table cell's tooltip too (the Data page's dataset list)
    QToolTip.hideText()
    window.page("Data").open_sample()
    from .conftest import wait_jobs

    wait_jobs(qtbot, window)
    window.go_to("Data")
    table = window.page("Data").history
    window.page("Data").tabs.setCurrentIndex(2)
    table.item(0, 2).setToolTip("word " * 60)
    rect = table.visualItemRect(table.item(0, 2))
    viewport = table.viewport()
    QApplication.sendEvent(viewport, QHelpEvent(QEvent.Type.ToolTip, rect.center(), viewport.mapToGlobal(rect.center())))
    assert shown[-1][3] == rect and max(len(line) for line in QToolTip.text().splitlines()) <= tooltips.LINE_CHARACTERS
