"""The welcome page, shown when no workspace is open (the first run): the flow in a few
lines, and two ways in: the sample project (built now by the app, in the background)
or a new, empty workspace."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from markupsafe import Markup
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (QFileDialog, QFrame, QGridLayout, QHBoxLayout, QLabel, QProgressBar,
                               QPushButton, QScrollArea, QVBoxLayout, QWidget)

from ...core.workspace.settings import WORKSPACE_ENV
from ..errors import show_error
from ..jobs import Job, JobRunner
from ..state import REGISTRY_FILE, AppState

if TYPE_CHECKING:
    from ...core.sample_project import SampleProject

#: the flow, one line per step, in the analyst's words
FLOW = [
    ("Import", "a CSV, Excel, Parquet or SQLite table; every import is recorded with a fingerprint."),
    ("Explore", "each column's statistics, charts and alerts, and how they relate to the target."),
    ("Check", "the statistical assumptions your model will rely on, with what to do about each."),
    ("Train", "several model families against a baseline, with cross-validation."),
    ("Validate", "the holdout metrics with confidence intervals, and a model card."),
    ("Approve", "a second person signs the model off; every step is in the audit log."),
    ("Export", "a self-contained package that IT runs on its own servers."),
    ("Monitor", "see when new data no longer looks like the data the model learned from."),
]


def is_first_run(state: AppState, requested: Optional[str]) -> bool:
    """True when the app should welcome rather than open a workspace: none was asked
    for (argument or ``$MLOPS_DESKTOP_WORKSPACE``), and neither the last workspace nor
    the default one exists yet."""
    if requested or os.environ.get(WORKSPACE_ENV):
        return False
    return not (state.startup_workspace(None) / REGISTRY_FILE).is_file()


def _home_relative(path: Path) -> str:
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)


class WelcomePage(QWidget):
    """Shown in place of the flow pages while no workspace is open."""

    title = "Welcome"
    #: the sample project was built (or found) and opened
    sample_opened = Signal(object)

    def __init__(self, state: AppState, runner: JobRunner, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        self.job: Optional[Job] = None
        self.last_error: Optional[BaseException] = None

        column = QWidget()
        column.setMaximumWidth(780)
        layout = QVBoxLayout(column)
        layout.setSpacing(14)
        layout.addLayout(self._header())
        layout.addSpacing(6)
        layout.addWidget(self._flow())
        layout.addSpacing(10)
        layout.addLayout(self._choices())
        layout.addLayout(self._progress_row())
        layout.addWidget(self._open_existing_row())

        centred = QHBoxLayout()
        centred.addStretch(1)
        centred.addWidget(column, 100)
        centred.addStretch(1)
        body = QWidget()
        outer = QVBoxLayout(body)
        outer.setContentsMargins(32, 24, 32, 24)
        outer.addStretch(1)
        outer.addLayout(centred)
        outer.addStretch(2)
        scroll = QScrollArea()
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        page = QVBoxLayout(self)
        page.setContentsMargins(0, 0, 0, 0)
        page.addWidget(scroll)
        self.refresh()

    # -- building -----------------------------------------------------------------------

    def _header(self) -> QHBoxLayout:
        from ..app import app_icon

        row = QHBoxLayout()
        row.setSpacing(18)
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(72, 72))
        logo.setAlignment(Qt.AlignmentFlag.AlignTop)
        row.addWidget(logo)
        texts = QVBoxLayout()
        texts.setSpacing(4)
        title = QLabel("Welcome to MLOps Desktop")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        title.setFont(font)
        texts.addWidget(title)
        intro = QLabel("Take a data file to an approved, monitored model that IT can run — "
                       "on this computer, offline. The app walks you through these steps:")
        intro.setWordWrap(True)
        texts.addWidget(intro)
        row.addLayout(texts, 1)
        return row

    def _flow(self) -> QWidget:
        box = QWidget()
        grid = QGridLayout(box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(28)
        grid.setVerticalSpacing(12)
        half = (len(FLOW) + 1) // 2
        for i, (name, what) in enumerate(FLOW):
            step = QLabel(f"<b>{i + 1}. {name}</b> — {what}")
            step.setWordWrap(True)
            step.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            grid.addWidget(step, i % half, i // half)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        self.flow_labels = [grid.itemAt(i).widget() for i in range(grid.count())]
        return box

    def _choice(self, button: QPushButton, caption: QLabel) -> QVBoxLayout:
        button.setMinimumHeight(42)
        font = button.font()
        font.setPointSizeF(font.pointSizeF() * 1.1)
        font.setBold(True)
        button.setFont(font)
        caption.setWordWrap(True)
        caption.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        caption.setForegroundRole(QPalette.ColorRole.PlaceholderText)  # quieter, in light and dark themes
        layout = QVBoxLayout()
        layout.setSpacing(6)
        layout.addWidget(button)
        layout.addWidget(caption)
        layout.addStretch(1)
        return layout

    def _choices(self) -> QHBoxLayout:
        self.sample_button = QPushButton("Open the sample project")
        self.sample_button.setDefault(True)
        self.sample_button.clicked.connect(lambda: self.open_sample_project())
        self.sample_caption = QLabel("Penguin measurements with one trained, validated and monitored "
                                     "model, built now on this computer in a few seconds.")
        self.create_button = QPushButton("Create a workspace")
        self.create_button.clicked.connect(lambda: self.create_workspace())
        self.create_caption = QLabel()
        self.create_caption.setTextFormat(Qt.TextFormat.RichText)
        self.create_caption.linkActivated.connect(lambda _link: self.choose_folder())
        row = QHBoxLayout()
        row.setSpacing(24)
        row.addLayout(self._choice(self.sample_button, self.sample_caption), 1)
        row.addLayout(self._choice(self.create_button, self.create_caption), 1)
        return row

    def _progress_row(self) -> QHBoxLayout:
        self.progress_label = QLabel()
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        row = QHBoxLayout()
        row.addWidget(self.progress_label, 1)
        row.addWidget(self.progress_bar, 1)
        row.addWidget(self.cancel_button)
        for w in (self.progress_label, self.progress_bar, self.cancel_button):
            w.setVisible(False)
        return row

    def _open_existing_row(self) -> QLabel:
        label = QLabel('Received a workspace folder from a colleague? <a href="open">Open it…</a>')
        label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        label.linkActivated.connect(lambda _link: self.choose_existing())
        self.open_existing_label = label
        return label

    def refresh(self) -> None:
        where = _home_relative(self.state.prefs.default_workspace)
        self.create_caption.setText(Markup('An empty workspace in {}, for your own data. '
                                           '<a href="choose">Choose another folder…</a>').format(str(where)))
        self.create_caption.setToolTip(str(self.state.prefs.default_workspace))

    # -- actions ------------------------------------------------------------------------

    def _busy(self, busy: bool, message: str = "") -> None:
        for w in (self.sample_button, self.create_button, self.create_caption, self.open_existing_label):
            w.setEnabled(not busy)
        for w in (self.progress_label, self.progress_bar, self.cancel_button):
            w.setVisible(busy)
        self.cancel_button.setEnabled(busy)
        self.progress_label.setText(message)
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)

    def _progress(self, fraction: float, message: str) -> None:
        self.progress_label.setText(message)
        if fraction < 0:
            self.progress_bar.setRange(0, 0)
        else:
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(int(fraction * 1000))

    def open_sample_project(self, folder: Optional[Path] = None) -> Optional[Job]:
        """Open the sample project in ``folder`` (default: the user data folder),
        building it first, in the background, if it is not there yet."""
        from ...core.sample_project import default_sample_project_dir

        root = Path(folder) if folder is not None else default_sample_project_dir()
        if (root / REGISTRY_FILE).is_file():  # built on an earlier day: just open it
            self._open(root, create=False)
            return None
        actor = self.state.actor

        def work(progress: Any, cancel: Any) -> "SampleProject":
            from ...core.sample_project import build_sample_project

            return build_sample_project(root, actor=actor, progress=progress, cancel=cancel)

        def done(project: "SampleProject") -> None:
            self._busy(False)
            if self._open(project.root, create=False):
                self.state.select_dataset(project.dataset_id)
                self.sample_opened.emit(project)

        def failed(exc: BaseException, tb: str) -> None:
            self._busy(False)
            self.last_error = exc
            show_error(self, "Cannot build the sample project", exc, tb)

        self._busy(True, "Building the sample project")
        self.job = self.runner.start("Building the sample project", work, on_success=done,
                                     on_error=failed, on_cancel=lambda: self._busy(False))
        self.job.progress.connect(self._progress)
        return self.job

    def cancel(self) -> None:
        if self.job is not None and self.job.running:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.progress_label.setText("Cancelling — nothing half-built is kept")

    def create_workspace(self, folder: Optional[Path] = None) -> bool:
        """Create (or open, if it is one already) a workspace in ``folder``, by default
        the default workspace folder."""
        return self._open(Path(folder) if folder is not None else self.state.prefs.default_workspace,
                          create=True)

    def choose_folder(self) -> None:
        """Ask where the new workspace goes (a folder and a new folder's name), then make it."""
        from ..new_workspace_dialog import NewWorkspaceDialog

        self.new_dialog = NewWorkspaceDialog(self)
        self.new_dialog.accepted.connect(lambda d=self.new_dialog: self.create_workspace(d.path()))
        self.new_dialog.open()

    def choose_existing(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a workspace folder")
        if path:
            self._open(Path(path), create=False)

    def _open(self, path: Path, *, create: bool) -> bool:
        """Open a workspace: False when it could not be (said in a dialog); a team workspace
        connects to its server in the background (True: under way)."""
        from ..workspace_opening import open_workspace

        def failed(exc: BaseException) -> None:
            self.last_error = exc

        return open_workspace(self, self.state, self.runner, path, create=create, on_failed=failed) is not False
