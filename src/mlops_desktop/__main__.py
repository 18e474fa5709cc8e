"""``mlops-desktop``: with a subcommand it runs headless (the CLI); without one it
opens the desktop app."""

from __future__ import annotations

import sys
from typing import Optional, Sequence


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    from .gui.app import gui_arguments_only

    if not gui_arguments_only(args):
        from .cli import run

        return run(args)  # a command, --help, or something the CLI will explain
    from .gui.app import main as gui_main

    return gui_main(args)


if __name__ == "__main__":
    sys.exit(main())
