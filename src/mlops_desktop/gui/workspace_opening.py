"""Opening a workspace from the GUI without freezing it.

A workspace of one's own is a local SQLite file: it opens at once. A team workspace
connects to the PostgreSQL server and fetches the files other members made, which takes
as long as the network does (up to the connection timeout when the server cannot be
reached): that runs as a job, with progress and cancel in the status bar, and the
workspace open before stays open until the new one is ready. A server that cannot be
reached is said in a dialog that names it and what to do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from PySide6.QtWidgets import QWidget

from ..core.errors import JobCancelled
from .errors import show_error
from .jobs import JobRunner
from .state import AppState, opened_workspace


def open_workspace(parent: QWidget, state: AppState, runner: JobRunner, path: Path | str, *,
                   create: bool = False, on_opened: Optional[Callable[[], None]] = None,
                   on_failed: Optional[Callable[[BaseException], None]] = None) -> Optional[bool]:
    """Open (or create) the workspace at ``path`` and make it current: True when it opened
    at once, False when it could not (said in a dialog), None when a team workspace is
    being opened in the background (``on_opened`` or ``on_failed`` is called when it is
    done)."""
    from ..core.workspace import Workspace

    path = Path(path).expanduser().absolute()
    try:
        conninfo = Workspace.team_registry(path) if path.is_dir() else None
        if conninfo is None:  # a local file: quick
            state.open_workspace(path, create=create)
    except Exception as exc:
        show_error(parent, "Cannot open the workspace", exc)
        if on_failed:
            on_failed(exc)
        return False
    if conninfo is None:
        if on_opened:
            on_opened()
        return True
    _open_team_workspace(parent, state, runner, path, on_opened, on_failed)
    return None


def _open_team_workspace(parent: QWidget, state: AppState, runner: JobRunner, path: Path,
                         on_opened: Optional[Callable[[], None]],
                         on_failed: Optional[Callable[[BaseException], None]]) -> None:
    actor = state.actor

    def work(progress, cancel):
        progress(None, f"Opening {path.name}: connecting to its team registry")
        ws, team = opened_workspace(path, create=False, actor=actor)
        if cancel.cancelled:  # asked while connecting: nothing is kept open
            ws.close()
            raise JobCancelled()
        return ws, team

    def done(opened) -> None:
        state.use_workspace(*opened)
        if on_opened:
            on_opened()

    def failed(exc: BaseException, tb: str) -> None:
        # a server that cannot be reached is said with its message (show_error keeps
        # tracebacks for what is not the user's to fix)
        show_error(parent, f"Cannot open the team workspace {path.name}", exc, tb)
        if on_failed:
            on_failed(exc)

    runner.start(f"Opening the team workspace {path.name}", work, on_success=done, on_error=failed,
                 on_cancel=lambda: on_failed(JobCancelled()) if on_failed else None)
