"""The menus: standard names, Edit → Copy on the focused table or chart, F5 and Ctrl+E,
Help → User guide (rendered in the app), Keyboard shortcuts, the log folder and the
About dialog with library versions."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QUrl, Qt
from PySide6.QtGui import QDesktopServices, QKeySequence, QTextDocument
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog

from .conftest import screenshot, wait_jobs

ROOT = Path(__file__).resolve().parents[2]


def _actions(window) -> dict[str, object]:
    found = {}
    for top in window.menuBar().actions():
        for action in top.menu().actions():
            if not action.isSeparator():
                found[action.text().replace("&", "")] = action
    return found


def _native(keys) -> str:
    return QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText)


def test_menus_have_the_standard_names_and_shortcuts(window):
    titles = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert titles == ["File", "Edit", "View", "Help"]
    actions = _actions(window)
    expected = {"Import a file…": "Ctrl+O", "New workspace…": "Ctrl+N", "Open workspace…": "Ctrl+Shift+O",
                "Save this page's report…": "Ctrl+E", "Quit": "Ctrl+Q", "Copy": "Ctrl+C",
                "Select all": "Ctrl+A", "Refresh this page": "F5", "User guide": "F1"}
    for text, keys in expected.items():
        assert actions[text].shortcut().toString() == keys, text
    for number, page in enumerate(window.pages, start=1):
        assert actions[page.title].shortcut().toString() == f"Ctrl+{number}"
    for text in ("Recent files", "Keyboard shortcuts", "Open the log folder", "About MLOps Desktop",
                 "Open the sample dataset", "Settings…"):
        assert text in actions


def test_edit_copy_acts_on_the_focused_table_or_chart(window, qtbot):
    page = window.page("Data")
    page.open_sample()
    wait_jobs(qtbot, window)
    window.go_to("Explore")
    explore = window.page("Explore")
    qtbot.waitUntil(lambda: explore.profile is not None, timeout=20_000)
    actions = _actions(window)
    explore.columns.setFocus()
    # the whole first row, selected explicitly: selectRow() follows the keyboard modifiers Qt
    # believes are held, and an earlier test's Ctrl+C can leave Ctrl "held" offscreen
    first = explore.columns.model().index(0, 0)
    explore.columns.selectionModel().select(
        first, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
    QApplication.clipboard().clear()
    actions["Copy"].trigger()
    assert QApplication.clipboard().text() == "species\tcategorical\t0%\t3\t\n"  # the sparkline cell is empty
    explore.tabs.setCurrentIndex(1)
    explore.distribution.setFocus()
    QApplication.clipboard().clear()
    actions["Copy"].trigger()
    assert not QApplication.clipboard().image().isNull()
    QApplication.clipboard().clear()
    QTest.keyClick(explore.distribution, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)  # Ctrl+C on a chart
    assert not QApplication.clipboard().image().isNull()
    explore.columns.setFocus()
    explore.columns.clearSelection()
    actions["Select all"].trigger()
    assert len(explore.columns.selectionModel().selectedRows()) == explore.columns.rowCount() == 8


def test_f5_refreshes_the_page_from_the_workspace(window, qtbot, tmp_path: Path):
    csv = tmp_path / "outside.csv"
    csv.write_text("a,b\n1,x\n2,y\n")
    window.state.workspace.import_file(str(csv), None, actor="someone else")  # behind the GUI's back
    page = window.page("Data")
    assert page.list.count() == 0
    window.go_to("Data")
    QTest.keyClick(window, Qt.Key.Key_F5)
    assert page.list.count() == 1
    assert "outside" in page.list.item(0).text()


def test_ctrl_e_saves_the_report_of_the_page(window, qtbot, tmp_path: Path, monkeypatch):
    window.go_to("Explore")
    QTest.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert "Nothing to save on the Explore page yet" in window.statusBar().currentMessage()
    window.page("Data").open_sample()
    wait_jobs(qtbot, window)
    explore = window.page("Explore")
    window.go_to("Explore")
    qtbot.waitUntil(lambda: explore.report_button.isEnabled(), timeout=20_000)
    target = tmp_path / "profile.html"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    QTest.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert target.is_file() and "<html" in target.read_text(encoding="utf-8").lower()
    window.go_to("Train")
    QTest.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert "has no report" in window.statusBar().currentMessage()


def test_user_guide_opens_in_the_app_with_its_screenshots(window, qtbot):
    from mlops_desktop.gui.help_viewer import IMAGE_MAX_WIDTH, user_guide_path

    QTest.keyClick(window, Qt.Key.Key_F1)
    viewer = window.help_viewer
    qtbot.waitExposed(viewer)
    assert viewer.path == user_guide_path()
    assert viewer.path.parent == ROOT / "resources" / "docs"  # shipped in the package
    headings = [viewer.contents.item(i).text().strip() for i in range(viewer.contents.count())]
    # one section per page, numbered as in the navigation
    for number, page in enumerate(window.pages, start=1):
        assert f"{number}. {page.title}" in headings
    for name in ("Keyboard shortcuts", "Where files live", "What the integrity check means"):
        assert name in headings
    browser = viewer.browser
    image = browser.loadResource(QTextDocument.ResourceType.ImageResource.value, QUrl("images/data_page_preview.png"))
    assert not image.isNull() and image.width() == IMAGE_MAX_WIDTH  # a 1280-pixel screenshot, shrunk to fit
    browser.follow(QUrl("#keyboard-shortcuts"))  # the contents links work as on GitHub
    assert browser.verticalScrollBar().value() > 0
    block = browser.cursorForPosition(browser.viewport().rect().topLeft()).block()
    assert "Keyboard shortcuts" in block.text() or block.blockNumber() > 10
    viewer.resize(1280, 800)
    at_shortcuts = browser.verticalScrollBar().value()
    browser.follow(QUrl("#2-data"))
    assert 0 < browser.verticalScrollBar().value() < at_shortcuts
    screenshot(viewer, "polish_user_guide")


def test_guide_images_exist_and_every_shortcut_is_documented(window):
    from mlops_desktop.gui.help_viewer import menu_shortcuts, user_guide_path

    text = user_guide_path().read_text(encoding="utf-8")
    import re

    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(images) >= 8
    for image in images:
        assert (user_guide_path().parent / image).is_file(), image
    for _menu, command, keys in menu_shortcuts(window.menuBar()):
        shown = keys.toString()
        if re.fullmatch(r"Ctrl\+\d", shown):
            assert "Ctrl+1 … Ctrl+9" in text
        else:
            assert f"| {shown} |" in text, f"{command} ({shown}) is missing from the guide's shortcut table"
    for phrase in ("tamper-evident, not tamper-proof", "no network connection", "no telemetry"):
        assert phrase in text
    # one copy of the guide: docs/ links to it, the README too
    assert "../resources/docs/user-guide.md" in (ROOT / "docs" / "README.md").read_text(encoding="utf-8")
    assert not (ROOT / "docs" / "user-guide.md").exists()
    assert "resources/docs/user-guide.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_guide_ships_in_the_wheel():
    import fnmatch
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["mlops_desktop.resources"]
    docs = ROOT / "resources" / "docs"
    files = [p.relative_to(ROOT / "resources").as_posix() for p in docs.rglob("*") if p.is_file()]
    assert "docs/user-guide.md" in files
    unshipped = [f for f in files if not any(fnmatch.fnmatch(f, pat) for pat in patterns)]
    assert unshipped == []


def test_keyboard_shortcuts_dialog_lists_the_menu_shortcuts(window):
    from mlops_desktop.gui.help_viewer import menu_shortcuts

    _actions(window)["Keyboard shortcuts"].trigger()
    dialog = window.shortcuts_dialog
    table = dialog.table
    listed = {(table.item(r, 0).text(), table.item(r, 1).text()) for r in range(table.rowCount())}
    for _menu, command, keys in menu_shortcuts(window.menuBar()):
        assert (keys.toString(QKeySequence.SequenceFormat.NativeText), command) in listed
    assert ("F1", "User guide") in listed and ("F5", "Refresh this page") in listed
    screenshot(dialog, "polish_shortcuts")
    dialog.close()


def test_open_the_log_folder(window, monkeypatch, tmp_path: Path):
    from mlops_desktop.core.workspace import settings

    monkeypatch.setattr(settings, "log_dir", lambda: tmp_path)
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url) or True))
    _actions(window)["Open the log folder"].trigger()
    assert [u.toLocalFile() for u in opened] == [str(tmp_path)]


def test_about_lists_the_versions_from_package_metadata(window):
    _actions(window)["About MLOps Desktop"].trigger()
    dialog = window.about_dialog
    versions = dict(dialog.versions)
    import platform

    from PySide6 import __version__ as pyside

    import mlops_desktop

    assert versions["MLOps Desktop"] == mlops_desktop.__version__
    assert versions["Python"] == platform.python_version() and versions["PySide6"] == pyside
    for name in ("pyqtgraph", "pandas", "pyarrow", "numpy", "scikit-learn", "statsmodels", "scipy", "joblib",
                 "sqlite-utils"):
        assert versions[name] == importlib.metadata.version(name), name
    try:
        assert versions["skops"] == importlib.metadata.version("skops")
    except importlib.metadata.PackageNotFoundError:
        assert "skops" not in versions
    shown = {(dialog.table.item(r, 0).text(), dialog.table.item(r, 1).text()) for r in range(dialog.table.rowCount())}
    assert ("pandas", importlib.metadata.version("pandas")) in shown
    dialog.copy_button.click()
    assert f"numpy: {importlib.metadata.version('numpy')}" in QApplication.clipboard().text()
    screenshot(dialog, "polish_about")
    dialog.close()


def test_about_imports_no_heavy_library():
    code = ("from PySide6.QtWidgets import QApplication; app = QApplication([]);"
            "from mlops_desktop.gui.help_viewer import AboutDialog; d = AboutDialog();"
            "import sys; heavy = [m for m in ('pandas', 'sklearn', 'statsmodels', 'scipy', 'pyarrow', 'numpy',"
            " 'pyqtgraph', 'joblib', 'sqlite_utils', 'skops') if m in sys.modules];"
            "assert dict(d.versions)['pandas'][0].isdigit(); print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
