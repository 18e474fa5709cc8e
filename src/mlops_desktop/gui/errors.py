"""Showing errors to people: a readable message, the traceback only behind Details
and in the log file."""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType
from typing import Optional

from PySide6.QtWidgets import QMessageBox, QWidget

from ..core.errors import MlopsError

log = logging.getLogger("mlops_desktop")


def setup_logging() -> str:
    """Log to a file in the user log folder; returns its path."""
    from ..core.settings import log_dir

    path = log_dir() / "mlops-desktop.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("mlops_desktop")
    if not any(isinstance(h, logging.FileHandler) for h in root.handlers):
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    return str(path)


def show_error(parent: Optional[QWidget], title: str, exc: BaseException,
               details: Optional[str] = None) -> QMessageBox:
    """A dialog for an error. User errors show their message; anything else is a bug,
    shown politely with the traceback behind Details and written to the log."""
    box = QMessageBox(parent)
    box.setWindowTitle(title)
    if isinstance(exc, MlopsError):
        box.setIcon(QMessageBox.Icon.Warning)
        box.setText(str(exc))
    else:
        tb = details or "".join(traceback.format_exception(exc))
        log.error("%s: unexpected error\n%s", title, tb)
        box.setIcon(QMessageBox.Icon.Critical)
        box.setText(f"Something went wrong: {type(exc).__name__}: {exc}")
        box.setInformativeText("This is a bug in MLOps Desktop. The details were written to the log "
                               "file; please send them to us.")
        box.setDetailedText(tb)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.open()
    return box


def install_excepthook(parent_getter) -> None:
    """An exception escaping a slot shows a dialog and is logged; the app keeps running."""

    def hook(exc_type: type[BaseException], exc: BaseException, tb: Optional[TracebackType]) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        show_error(parent_getter(), "MLOps Desktop", exc,
                   "".join(traceback.format_exception(exc_type, exc, tb)))

    sys.excepthook = hook
