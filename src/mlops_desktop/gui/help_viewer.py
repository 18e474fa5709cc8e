"""Help inside the app: the user guide (Markdown with screenshots, shipped with the
package), the list of keyboard shortcuts, the About dialog with library versions, and
the log folder."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import QUrl, Qt
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QImage, QKeySequence, QTextDocument
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHBoxLayout, QHeaderView, QLabel, QListWidget,
                               QListWidgetItem, QMenu, QMenuBar, QMessageBox, QPushButton,
                               QSplitter, QTextBrowser, QVBoxLayout, QWidget)

from .. import APP_NAME, __version__
from .tables import fill_table, make_table

GUIDE_NAME = "user-guide.md"
IMAGE_MAX_WIDTH = 860  # screenshots are shrunk to fit the viewer, never enlarged
#: shortcuts that are not on a menu, listed with the menu ones (standard keys are turned
#: into key sequences only once the application exists: the platform defines them)
OTHER_SHORTCUTS = [("Tables", "Copy the selected cells (tab-separated, pastes into a spreadsheet)",
                    QKeySequence.StandardKey.Copy),
                   ("Tables", "Select every row", QKeySequence.StandardKey.SelectAll),
                   ("Tables and charts", "Copy, save as PNG or SVG, export as CSV", None)]


def user_guide_path() -> Path:
    """The user guide shipped inside the package (``mlops_desktop.resources/docs``), found
    the same way in a source checkout, an installed wheel and a frozen bundle."""
    import importlib.resources

    try:
        p = Path(str(importlib.resources.files("mlops_desktop.resources") / "docs" / GUIDE_NAME))
        if p.is_file():
            return p
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parents[3] / "resources" / "docs" / GUIDE_NAME


def heading_slug(text: str) -> str:
    """The anchor GitHub gives a heading ("Where files live" → "where-files-live"), so the
    guide's contents links work on GitHub and here alike."""
    slug = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return slug.replace(" ", "-")


class GuideBrowser(QTextBrowser):
    """Renders Markdown; screenshots are scaled to fit; in-page links jump to headings;
    web links open in the system browser (the app itself never goes online)."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.anchorClicked.connect(self.follow)

    def loadResource(self, kind: int, url: QUrl | str) -> Any:
        if kind == QTextDocument.ResourceType.ImageResource.value:
            base = self.source()
            target = base.resolved(QUrl(url)) if isinstance(url, str) else base.resolved(url)
            image = QImage(target.toLocalFile())
            if not image.isNull():
                if image.width() > IMAGE_MAX_WIDTH:
                    image = image.scaledToWidth(IMAGE_MAX_WIDTH, Qt.TransformationMode.SmoothTransformation)
                return image
        return super().loadResource(kind, url)

    def headings(self) -> list[tuple[int, str, int]]:
        """(level, text, block number) of every heading in the document."""
        found = []
        block = self.document().begin()
        while block.isValid():
            level = block.blockFormat().headingLevel()
            if level:
                found.append((level, block.text(), block.blockNumber()))
            block = block.next()
        return found

    def scroll_to_block(self, number: int) -> None:
        block = self.document().findBlockByNumber(number)
        if block.isValid():
            top = self.document().documentLayout().blockBoundingRect(block).top()
            self.verticalScrollBar().setValue(int(top))

    def scroll_to_anchor(self, fragment: str) -> bool:
        for _level, text, number in self.headings():
            if heading_slug(text) == fragment.lower():
                self.scroll_to_block(number)
                return True
        return False

    def follow(self, url: QUrl) -> None:
        if url.scheme() in ("http", "https", "mailto"):
            QDesktopServices.openUrl(url)
            return
        if url.hasFragment() and (not url.path() or url.path() == self.source().path()):
            self.scroll_to_anchor(url.fragment())
            return
        target = self.source().resolved(url)
        if target.isLocalFile() and Path(target.toLocalFile()).suffix.lower() in (".md", ".markdown"):
            self.setSource(target, QTextDocument.ResourceType.MarkdownResource)
            if url.hasFragment():
                self.scroll_to_anchor(url.fragment())


class HelpViewer(QDialog):
    """The user guide in a window of its own, with its contents on the left."""

    def __init__(self, parent: Optional[QWidget] = None, path: Optional[Path] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{APP_NAME} — User guide")
        self.resize(1100, 760)
        self.path = path or user_guide_path()
        self.browser = GuideBrowser()
        self.contents = QListWidget()
        self.contents.setMaximumWidth(280)
        self.contents.itemClicked.connect(lambda item: self.browser.scroll_to_block(
            int(item.data(Qt.ItemDataRole.UserRole))))
        splitter = QSplitter()
        splitter.setObjectName("helpSplitter")
        splitter.addWidget(self.contents)
        splitter.addWidget(self.browser)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([240, 860])
        buttons = QHBoxLayout()
        back = QPushButton("Back")
        back.clicked.connect(self.browser.backward)
        self.browser.backwardAvailable.connect(back.setEnabled)
        back.setEnabled(False)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons.addWidget(back)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)
        self.load()

    def load(self) -> None:
        if not self.path.is_file():
            self.browser.setMarkdown(f"# User guide missing\n\nThe guide was not found at `{self.path}`. "
                                     "The installation is incomplete; reinstall the app.")
        else:
            self.browser.setSource(QUrl.fromLocalFile(str(self.path)),
                                   QTextDocument.ResourceType.MarkdownResource)
        self.contents.clear()
        for level, text, number in self.browser.headings():
            if level > 2:
                continue
            item = QListWidgetItem(("    " if level == 2 else "") + text)
            item.setData(Qt.ItemDataRole.UserRole, number)
            self.contents.addItem(item)

    def show_section(self, title: str) -> bool:
        """Scroll to the section about ``title`` ("Train" finds "5. Train"; "Getting
        started" itself) and mark it in the contents; False when the guide has none."""
        wanted = title.strip().casefold()
        for row in range(self.contents.count()):
            item = self.contents.item(row)
            text = re.sub(r"^\d+\.\s*", "", item.text().strip())
            if text.casefold() == wanted:
                self.contents.setCurrentRow(row)
                self.browser.scroll_to_block(int(item.data(Qt.ItemDataRole.UserRole)))
                return True
        return False


def menu_shortcuts(menu_bar: QMenuBar) -> list[tuple[str, str, QKeySequence]]:
    """(menu, command, shortcut) for every menu command that has a shortcut."""
    found: list[tuple[str, str, QKeySequence]] = []

    def walk(menu: QMenu, path: str) -> None:
        for action in menu.actions():
            if action.menu() is not None:
                walk(action.menu(), f"{path} → {action.menu().title().replace('&', '')}")
            elif not action.isSeparator() and not action.shortcut().isEmpty():
                found.append((path, action.text().replace("&", ""), action.shortcut()))

    for action in menu_bar.actions():
        if action.menu() is not None:
            walk(action.menu(), action.menu().title().replace("&", ""))
    return found


class ShortcutsDialog(QDialog):
    """Every keyboard shortcut, read from the menus themselves so the list is never stale."""

    def __init__(self, menu_bar: QMenuBar, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(680, 640)
        rows = [[keys.toString(QKeySequence.SequenceFormat.NativeText), command, where]
                for where, command, keys in menu_shortcuts(menu_bar)]
        rows += [[QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText) if keys else "right-click",
                  command, where] for where, command, keys in OTHER_SHORTCUTS]
        self.table = make_table(["Keys", "Command", "Where"], name="keyboard-shortcuts")
        fill_table(self.table, rows)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)


class AboutDialog(QDialog):
    """The app's version and what it is built on (read from package metadata)."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        from .errors import environment_text, library_versions

        super().__init__(parent)
        self.setWindowTitle(f"About {APP_NAME}")
        self.resize(520, 640)
        text = QLabel(f"<h2>{APP_NAME} {__version__}</h2>"
                      "<p>From a local data file to an approved, monitored model that IT can run: "
                      "offline, with no server.</p>"
                      "<p><b>No network access and no telemetry:</b> nothing you do here leaves "
                      "this computer unless you copy or export it yourself.</p>"
                      "<p>Built on:</p>")
        text.setWordWrap(True)
        self.versions = library_versions()
        self.table = make_table(["Component", "Version"], name="versions")
        fill_table(self.table, [[name, version] for name, version in self.versions])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.environment = environment_text()
        copy = QPushButton("Copy versions")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.environment))
        self.copy_button = copy
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)


def open_log_folder(parent: Optional[QWidget] = None) -> Path:
    """Open the log folder (log file and crash reports) in the file manager; when the
    system cannot, say where it is."""
    from ..core.workspace.settings import log_dir

    folder = log_dir()
    if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
        box = QMessageBox(QMessageBox.Icon.Information, "Log folder",
                          f"The log file and crash reports are in:\n{folder}",
                          QMessageBox.StandardButton.Ok, parent)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.open()
    return folder


def add_action(menu: QMenu, text: str, slot: Any, shortcut: Any = None) -> QAction:
    """A menu command with an optional shortcut (a QKeySequence or a standard key)."""
    action = QAction(text, menu)
    if isinstance(shortcut, QKeySequence):
        action.setShortcut(shortcut)
    elif shortcut is not None:
        action.setShortcuts(shortcut)  # a standard key: every binding the platform has (F5 and Ctrl+R)
    action.triggered.connect(lambda _checked=False: slot())
    menu.addAction(action)
    return action
