"""The command-line interface: the app's operations, headless, with ``--json`` output.

Exit codes: 0 success, 1 internal error (a bug: details go to the log file),
2 a problem the user can fix (bad file, unknown dataset, ...), 130 interrupted.
Each area of the flow registers its commands from its own module (``AREAS``).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Sequence

from .. import __version__
from . import (
    challenge,
    data,
    explain,
    explore,
    export,
    monitor,
    prepare,
    registry,
    train,
    upgrade,
    validate,
    workspace_admin,
)
from .common import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USER, Parser, add_common

Handler = Callable[[argparse.Namespace], int]
#: modules with ``register(subparsers) -> {command: handler}``, in the order of the flow
AREAS = [
    data, prepare, explore, train, validate, explain, registry, challenge, monitor, export, workspace_admin, upgrade,
]


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Handler]]:
    parser = Parser(prog="mlops-desktop",
                    description="MLOps Desktop. Without a command, opens the desktop app.")
    parser.add_argument("--version", action="version", version=f"mlops-desktop {__version__}")
    add_common(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    handlers: dict[str, Handler] = {}
    for area in AREAS:
        handlers.update(area.register(sub))
    return parser, handlers


def run(argv: Sequence[str]) -> int:
    """Run one CLI command; returns the exit code. Never lets a traceback out."""
    parser, handlers = build_parser()
    args = parser.parse_args(list(argv))
    if args.command is None:
        parser.print_help()
        return EXIT_USER
    from ..core.errors import JobCancelled, MlopsError

    try:
        return handlers[args.command](args)
    except MlopsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if exc.details:
            print(f"details: {exc.details}", file=sys.stderr)
        return EXIT_USER
    except (KeyboardInterrupt, JobCancelled):
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: keep the traceback for us, one line for the user
        from ..core.storage import is_disk_full

        if is_disk_full(exc):  # a write no core module turned into a DiskFullError: not a bug
            print(f"error: disk full: {exc}", file=sys.stderr)
            return EXIT_USER
        log = _log_exception()
        print(f"internal error: {type(exc).__name__}: {exc} (details in {log})", file=sys.stderr)
        return EXIT_INTERNAL


def _log_exception() -> str:
    import traceback
    from datetime import datetime

    try:
        from ..core.workspace.settings import log_dir

        path = log_dir() / "cli-errors.log"
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"--- {datetime.now().isoformat()} pid {os.getpid()}\n")
            fh.write(traceback.format_exc())
        return str(path)
    except Exception:
        return "(the log file could not be written)"


def main() -> int:
    return run(sys.argv[1:])
