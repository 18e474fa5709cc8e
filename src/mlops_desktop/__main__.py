"""``mlops-desktop``: with a subcommand it runs headless (the CLI); without one it
opens the desktop app (``--workspace DIR`` opens that workspace, ``--smoke-test``
checks the app from start to every page and exits 0 when all worked)."""

from __future__ import annotations

import sys
from typing import Optional, Sequence


def main(argv: Optional[Sequence[str]] = None) -> int:
    if sys.stdout is None or sys.stderr is None:  # a Windows executable built without a console
        import os

        sink = open(os.devnull, "w", encoding="utf-8")
        sys.stdout, sys.stderr = sys.stdout or sink, sys.stderr or sink
    args = list(sys.argv[1:] if argv is None else argv)
    from .gui.app import gui_arguments_only

    if not gui_arguments_only(args):
        from .cli import run

        return run(args)  # a command, --help, or something the CLI will explain
    from .gui.app import main as gui_main

    return gui_main(args)


if __name__ == "__main__":
    sys.exit(main())
