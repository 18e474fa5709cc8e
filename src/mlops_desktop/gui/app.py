"""Starting the desktop app. Heavy libraries are imported where first needed, never
here, so the window shows fast."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Optional, Sequence

_T0 = time.perf_counter()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlops-desktop-gui", add_help=False,
                                     description="Open the MLOps Desktop app.")
    parser.add_argument("--workspace", metavar="DIR", help="workspace folder to open")
    parser.add_argument("--quit-after-show", action="store_true",
                        help=argparse.SUPPRESS)  # start-up benchmark: print timing, then quit
    return parser


def gui_arguments_only(argv: Sequence[str]) -> bool:
    """True when the arguments are all the app's own (none, or --workspace DIR)."""
    _args, unknown = _parser().parse_known_args(list(argv))
    return not unknown


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    args, _unknown = _parser().parse_known_args(list(argv))
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    from PySide6.QtCore import QCoreApplication, QTimer
    from PySide6.QtWidgets import QApplication

    from .. import APP_NAME, __version__

    QCoreApplication.setOrganizationName("MLOps Desktop")
    QCoreApplication.setApplicationName("mlops-desktop")
    QCoreApplication.setApplicationVersion(__version__)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationDisplayName(APP_NAME)
    app.setDesktopFileName("mlops-desktop")

    from .errors import install_excepthook, setup_logging
    from .main_window import MainWindow
    from .state import AppState, Preferences

    setup_logging()
    state = AppState(Preferences())
    window = MainWindow(state)
    install_excepthook(lambda: window)
    window.restore_geometry()
    window.show()

    def open_workspace() -> None:
        if args.quit_after_show:
            print(f"window-shown {time.perf_counter() - _T0:.3f}", flush=True)
        window.open_startup_workspace(args.workspace)
        if args.quit_after_show:
            print(f"workspace-ready {time.perf_counter() - _T0:.3f}", flush=True)
            app.quit()

    QTimer.singleShot(0, open_workspace)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
