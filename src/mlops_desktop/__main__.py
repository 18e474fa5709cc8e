"""``mlops-desktop``: with a subcommand it runs headless (the CLI); without one it
opens the desktop app."""

from __future__ import annotations

import sys
from typing import Optional, Sequence


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    from .cli import COMMANDS, run

    if any(a in COMMANDS for a in args) or any(a in ("-h", "--help", "--version") for a in args):
        return run(args)
    from .gui.app import main as gui_main

    return gui_main(args)


if __name__ == "__main__":
    sys.exit(main())
