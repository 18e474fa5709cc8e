"""What every command shares: options, output, the workspace, progress."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Optional

EXIT_OK, EXIT_INTERNAL, EXIT_USER, EXIT_INTERRUPTED = 0, 1, 2, 130


class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors with exit code 2 and one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USER, f"{self.prog}: error: {message}\n")


def add_common(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--workspace", metavar="DIR", default=default,
                        help="workspace folder (default: $MLOPS_DESKTOP_WORKSPACE or the user data folder)")
    parser.add_argument("--json", action="store_true", default=False if top else argparse.SUPPRESS,
                        help="print machine-readable JSON on stdout")


def add_actor(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as", dest="actor", metavar="USER",
                        help="who acts, as recorded in the audit log (default: the OS user name)")


def emit(args: argparse.Namespace, data: Any, text: Callable[[], str]) -> None:
    if args.json:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    else:
        sys.stdout.write(text() + "\n")


def who(args: argparse.Namespace) -> str:
    """Who acts: ``--as``, else the OS user; on a team registry the database login (an
    ``--as`` naming anyone else is refused), known from the connection of the workspace
    the command opened (:func:`open_workspace`); only before one is open is the server
    asked on a connection of its own."""
    from ..core.workspace.settings import os_user
    from ..core.workspace import team_login

    given = getattr(args, "actor", None)
    opened = getattr(args, "opened_workspace", None)
    login = opened.team_actor if opened is not None else team_login(workspace_path(args))
    if login is not None:
        if given is not None and given != login:
            from ..core.errors import WorkspaceError

            raise WorkspaceError(f"On a team registry you act as your database login {login!r}: --as "
                                 f"{given!r} is refused (the audit log records logins there).")
        return login
    if given is None:
        return os_user()
    from ..core.people import check_person_name

    # spacing is not part of a name, and invisible characters are no name
    return check_person_name(given, asking="--as needs a person's name")


def workspace_path(args: argparse.Namespace) -> Path:
    from ..core.workspace.settings import default_workspace_dir

    return Path(args.workspace).expanduser() if args.workspace else default_workspace_dir()


def open_workspace(args: argparse.Namespace, *, create: bool, only_reading: bool = False):
    """Open the workspace; create it when asked to (and for the default workspace). A
    command ``only_reading`` opens a workspace that cannot be written (a read-only
    folder, file or disk) read-only instead of refusing it. The workspace is kept on
    ``args`` for :func:`who`, which then needs no connection of its own."""
    from ..core.store.db import ReadOnlyWorkspaceError
    from ..core.workspace import Workspace

    if only_reading:
        try:
            return open_workspace(args, create=create)
        except ReadOnlyWorkspaceError:
            args.opened_workspace = Workspace.open(workspace_path(args), read_only=True)
            return args.opened_workspace
    args.opened_workspace = _opened(args, create)
    return args.opened_workspace


def _opened(args: argparse.Namespace, create: bool):
    from ..core.workspace.settings import WORKSPACE_ENV
    from ..core.workspace import Workspace

    path = workspace_path(args)
    # a folder the user named (--workspace or the environment) is never made up silently
    named = bool(args.workspace or os.environ.get(WORKSPACE_ENV))
    if Workspace.is_workspace(path):
        return Workspace.open(path)
    if create or not named:
        ws = Workspace.create(path, actor=who(args))
        print(f"Created a new workspace at {ws.root}", file=sys.stderr)
        return ws
    if not path.exists() or (path.is_dir() and not any(path.iterdir())):
        from ..core.errors import WorkspaceError

        raise WorkspaceError(f"There is no workspace at {path}. Create one with "
                             f"'mlops-desktop init --workspace {path}'.")
    return Workspace.open(path)


def table(rows: list[list[Any]], header: list[str]) -> str:
    cells = [header] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells)


def progress_for(args: argparse.Namespace) -> Callable[[Optional[float], str], None]:
    """Where a command's long work reports its progress: a percentage line on the
    terminal's stderr; nothing with ``--json`` or when stderr is not a terminal (a log
    or a pipe reads the result, not a line redrawn in place)."""
    enabled = not args.json and sys.stderr.isatty()
    last = {"pct": -1}

    def report(fraction: Optional[float], message: str) -> None:
        if not enabled or fraction is None:
            return
        pct = int(fraction * 100)
        if pct != last["pct"]:
            last["pct"] = pct
            sys.stderr.write(f"\r{message}: {pct:3d}%   ")
            sys.stderr.flush()
            if pct >= 100:
                sys.stderr.write("\n")

    return report


def short(value: Any) -> str:
    """A number (or anything) for a terminal column, written as everywhere else."""
    from ..core.numbers import cell

    return cell(value)
