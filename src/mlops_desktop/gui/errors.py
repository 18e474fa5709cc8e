"""Showing errors to people: a readable message for errors they can fix; for a bug, a
friendly dialog with "Copy details" and a crash report written to the log folder. The
app keeps running."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import logging
import platform
import sys
import traceback
from pathlib import Path
from types import TracebackType
from typing import Callable, Optional

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget

from ..core.errors import MlopsError

log = logging.getLogger("mlops_desktop")

#: (shown name, distribution name, module name) of the libraries the app is built on
LIBRARIES = [("pyqtgraph", "pyqtgraph", "pyqtgraph"), ("pandas", "pandas", "pandas"),
             ("pyarrow", "pyarrow", "pyarrow"), ("numpy", "numpy", "numpy"),
             ("scikit-learn", "scikit-learn", "sklearn"), ("statsmodels", "statsmodels", "statsmodels"),
             ("scipy", "scipy", "scipy"), ("joblib", "joblib", "joblib"),
             ("sqlite-utils", "sqlite-utils", "sqlite_utils"), ("skops", "skops", "skops")]
OPTIONAL = {"skops"}  # listed only when installed
KEEP_CRASH_REPORTS = 20  # older crash reports are deleted, so the log folder cannot fill up
CRASH_PREFIX = "crash-"

_reported: dict[str, Optional[Path]] = {}  # traceback -> its report: a repeating error is written once
_open_dialog: list[QMessageBox] = []  # at most one crash dialog at a time


def _distribution_version(dist: str, module: str) -> Optional[str]:
    """A library's version from its installed metadata, without importing it; falls back
    to an already imported module's ``__version__`` (bundles may drop the metadata)."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        loaded = sys.modules.get(module)
        version = getattr(loaded, "__version__", None)
        return str(version) if version else None


def library_versions() -> list[tuple[str, str]]:
    """The app, Python, Qt and library versions, as (name, version) pairs. Reads package
    metadata only: no heavy library is imported to answer."""
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion

    from .. import __version__

    rows = [("MLOps Desktop", __version__), ("Python", platform.python_version()),
            ("PySide6", pyside_version), ("Qt", qVersion())]
    for name, dist, module in LIBRARIES:
        version = _distribution_version(dist, module)
        if version is None and name in OPTIONAL:
            continue
        rows.append((name, version or "not installed"))
    return rows


def environment_text() -> str:
    """Versions and platform as plain text lines, for crash reports and bug reports."""
    lines = [f"{name}: {version}" for name, version in library_versions()]
    lines.append(f"Platform: {platform.platform()} ({platform.machine()})")
    app = QGuiApplication.instance()
    if app is not None:
        lines.append(f"Qt platform: {QGuiApplication.platformName()}")
    return "\n".join(lines)


def setup_logging() -> str:
    """Log to a file in the user log folder; returns its path."""
    from ..core.workspace.settings import log_dir

    path = log_dir() / "mlops-desktop.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("mlops_desktop")
    if not any(isinstance(h, logging.FileHandler) for h in root.handlers):
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    return str(path)


def crash_report_text(title: str, tb: str) -> str:
    """What a crash report holds: when, where it happened, the traceback, the versions."""
    now = dt.datetime.now().astimezone()
    return (f"MLOps Desktop crash report\n"
            f"When: {now.isoformat(timespec='seconds')}\n"
            f"Where: {title}\n\n"
            f"Traceback\n---------\n{tb.rstrip()}\n\n"
            f"Versions\n--------\n{environment_text()}\n")


def write_crash_report(title: str, tb: str, folder: Optional[Path] = None) -> Optional[Path]:
    """Write a timestamped crash report to the log folder (atomically) and return its
    path; None when it could not be written (the dialog still shows the details). The
    same traceback is written once per session; only the newest reports are kept."""
    from ..core.storage import atomic_write

    try:
        if folder is None:
            from ..core.workspace.settings import log_dir

            folder = log_dir()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        path = folder / f"{CRASH_PREFIX}{stamp}.txt"
        text = crash_report_text(title, tb)
        atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        for old in sorted(folder.glob(f"{CRASH_PREFIX}*.txt"))[:-KEEP_CRASH_REPORTS]:
            old.unlink(missing_ok=True)
        return path
    except Exception:  # a crash report must never cause another crash
        log.exception("could not write a crash report")
        return None


def show_crash(parent: Optional[QWidget], title: str, exc: BaseException, tb: str) -> Optional[QMessageBox]:
    """Report a bug: log it, write a crash report, and show a friendly dialog with the
    traceback behind Details and a "Copy details" button. Returns the dialog, or None
    when one is already open (a repeating error does not pile up dialogs)."""
    log.error("%s: unexpected error\n%s", title, tb)
    key = tb.strip()
    if key not in _reported:
        _reported[key] = write_crash_report(title, tb)
    report = _reported[key]
    _open_dialog[:] = [b for b in _open_dialog if shiboken6.isValid(b) and b.isVisible()]  # its window may be gone
    if _open_dialog:
        return None
    details = f"{tb.rstrip()}\n\n{environment_text()}"
    box = QMessageBox(parent)
    box.setWindowTitle(title)
    box.setIcon(QMessageBox.Icon.Critical)
    box.setTextFormat(Qt.TextFormat.PlainText)  # the message may quote a file's names or values
    box.setText(f"Something went wrong: {type(exc).__name__}: {exc}")
    where = (f"A crash report was saved to:\n{report}" if report is not None else
             "The details are in the log file in the log folder (Help → Open the log folder).")
    box.setInformativeText("This is a bug in MLOps Desktop, not something you did. What is already in the "
                           "workspace is safe, and you can carry on. Please send us the details "
                           "(Copy details).\n\n" + where)
    box.setDetailedText(details)
    box.crash_report = report  # type: ignore[attr-defined]
    box.details = details  # type: ignore[attr-defined]
    copy = box.addButton("Copy details", QMessageBox.ButtonRole.ActionRole)
    copy.clicked.disconnect()  # an action button would close the box; this one only copies
    copy.clicked.connect(lambda: _copy_details(copy, details))
    ok = box.addButton(QMessageBox.StandardButton.Ok)
    box.setDefaultButton(ok)
    box.setEscapeButton(ok)  # with two buttons Qt finds none, and Esc or the title bar's close would do nothing
    box.copy_button = copy  # type: ignore[attr-defined]
    _open_dialog.append(box)
    box.open()
    return box


def _copy_details(button: QPushButton, details: str) -> None:
    QGuiApplication.clipboard().setText(details)
    button.setText("Copied")


def show_error(parent: Optional[QWidget], title: str, exc: BaseException,
               details: Optional[str] = None) -> QMessageBox:
    """A dialog for an error. User errors show their message; anything else is a bug,
    shown politely (see :func:`show_crash`) and written to a crash report."""
    if not isinstance(exc, MlopsError):
        tb = details or "".join(traceback.format_exception(exc))
        box = show_crash(parent, title, exc, tb)
        if box is not None:
            return box
        return _open_dialog[0]
    box = QMessageBox(parent)
    box.setWindowTitle(title)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setTextFormat(Qt.TextFormat.PlainText)  # the message may quote a file's names or values
    box.setText(str(exc))
    if exc.details:  # the technical words stay one click away ("Show Details...")
        box.setDetailedText(exc.details)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.open()
    return box


def install_excepthook(parent_getter: Callable[[], Optional[QWidget]]) -> None:
    """An exception escaping a slot shows the crash dialog and writes a crash report;
    the app keeps running."""

    def hook(exc_type: type[BaseException], exc: BaseException, tb: Optional[TracebackType]) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        try:
            if isinstance(exc, MlopsError):
                show_error(parent_getter(), "MLOps Desktop", exc)
            else:
                show_crash(parent_getter(), "MLOps Desktop", exc, text)
        except Exception:  # never let the hook itself fail silently into a loop
            sys.__excepthook__(exc_type, exc, tb)

    sys.excepthook = hook
