"""When a workspace opens: look (off the UI thread) for model files saved by earlier
versions as pickles; offer to convert them when the workspace's audit log shows it
made them (see ``core/legacy_models.py``), else say that they will not be loaded."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox, QWidget

from .errors import show_error
from .jobs import JobRunner
from .state import AppState

log = logging.getLogger("mlops_desktop")
MAX_LISTED = 8


class ModelUpgradeOffer(QObject):
    """Checks every workspace the window opens; asks once per workspace and session."""

    def __init__(self, state: AppState, runner: JobRunner, window: QWidget) -> None:
        super().__init__(window)
        self.state, self.runner, self.window = state, runner, window
        self.answered: set[Path] = set()
        #: the dialog on screen, if any (tests press its buttons)
        self.dialog: Optional[QMessageBox] = None
        state.workspace_changed.connect(self.check)

    def check(self) -> None:
        ws = self.state.workspace
        if ws is None or ws.root in self.answered:
            return
        root = ws.root

        def work(progress, cancel):
            from ..core.legacy_models import review
            from ..core.workspace import Workspace

            with Workspace.open(root, read_only=True) as own:
                return review(own)

        self.runner.start("Looking for model files of earlier versions", work, visible=False,
                          on_success=lambda found: self._reviewed(root, found),
                          on_error=lambda e, tb: log.warning("looking for pickled model files failed: %s", tb))

    def _reviewed(self, root: Path, found: Any) -> None:
        ws = self.state.workspace
        if ws is None or ws.root != root or root in self.answered or not found.models:
            return
        self.answered.add(root)
        box = QMessageBox(self.window)
        box.setWindowTitle("Model files of an earlier version")
        listed = [f"• {m.ref}" + (f" (cannot be converted: {m.blocked})" if m.blocked else "")
                  for m in found.models[:MAX_LISTED]]
        if len(found.models) > MAX_LISTED:
            listed.append(f"• and {len(found.models) - MAX_LISTED} more")
        intro = (f"This workspace holds {len(found.models)} model file(s) in the pickle format earlier "
                 "versions of MLOps Desktop used. A pickle can run any code when it is loaded, so this "
                 "version does not load them.")
        if found.convertible:
            box.setIcon(QMessageBox.Icon.Question)
            box.setText(intro + "\n\nThis workspace's audit log shows they were trained here, on this "
                        f"computer, so {len(found.convertible)} of them can be converted to trusted skops "
                        "files (each conversion is recorded in the audit log). Convert them now?\n\n"
                        + "\n".join(listed))
            convert = box.addButton("Convert", QMessageBox.ButtonRole.AcceptRole)
            later = box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)
            box.setDefaultButton(convert)
            box.setEscapeButton(later)
            box.finished.connect(lambda _r: self._convert(root) if box.clickedButton() is convert else None)
        else:
            box.setIcon(QMessageBox.Icon.Warning)
            why = found.foreign or "nothing in its audit log shows they were made here"
            box.setText(intro + f"\n\nThey will not be converted either: {why}. Train those models again "
                        "in this workspace.\n\n" + "\n".join(listed))
            box.setStandardButtons(QMessageBox.StandardButton.Ok)
        self.dialog = box
        box.open()

    def _convert(self, root: Path) -> None:
        actor = self.state.actor

        def work(progress, cancel):
            from ..core.legacy_models import upgrade_models
            from ..core.workspace import Workspace

            with Workspace.open(root) as own:
                return upgrade_models(own, actor=actor, progress=progress, cancel=cancel)

        def done(result: Any) -> None:
            self.state.models_changed.emit("")
            lines = [f"{len(result.converted)} model file(s) converted to skops files."]
            if result.refused:
                lines.append("Left as they are (they will not be loaded; train them again):")
                lines += [f"• {r['ref']}: {r['reason']}" for r in result.refused[:MAX_LISTED]]
            box = QMessageBox(QMessageBox.Icon.Information if not result.refused else QMessageBox.Icon.Warning,
                              "Model files converted", "\n".join(lines), QMessageBox.StandardButton.Ok,
                              self.window)
            self.dialog = box
            box.open()

        self.runner.start("Converting model files", work, on_success=done,
                          on_error=lambda e, tb: show_error(self.window, "Cannot convert the model files", e, tb))
