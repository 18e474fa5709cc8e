"""Starting the desktop app. Heavy libraries are imported where first needed, never
here, so the window shows fast.

``--smoke-test`` starts the app, builds the sample project in a temporary folder
through the welcome page, visits every page of the main window and exits 0 only if
all of it worked (used on the packaged bundle in CI).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

if TYPE_CHECKING:
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

_T0 = time.perf_counter()

#: the name of the .desktop file, the X11 window class and the Wayland app id
DESKTOP_NAME = "mlops-desktop"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlops-desktop-gui", add_help=False,
                                     description="Open the MLOps Desktop app.")
    parser.add_argument("--workspace", metavar="DIR", help="workspace folder to open")
    parser.add_argument("--quit-after-show", action="store_true",
                        help=argparse.SUPPRESS)  # start-up benchmark: print timing, then quit
    parser.add_argument("--smoke-test", action="store_true",
                        help="start, build the sample project in a temporary folder, visit every "
                             "page, and exit 0 only if all of it worked")
    return parser


def gui_arguments_only(argv: Sequence[str]) -> bool:
    """True when the arguments are all the app's own (none, --workspace DIR, --smoke-test)."""
    _args, unknown = _parser().parse_known_args(list(argv))
    return not unknown


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    args, _unknown = _parser().parse_known_args(list(argv))
    return args


def icons_dir() -> Path:
    """The folder of the app icon's SVG master and PNG renderings."""
    import importlib.resources

    try:
        path = Path(str(importlib.resources.files("mlops_desktop.resources") / "icons"))
        if path.is_dir():
            return path
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parents[3] / "resources" / "icons"


_ICON: Optional["QIcon"] = None


def app_icon() -> "QIcon":
    """The app icon with every rendered size, so it stays sharp on HiDPI screens."""
    global _ICON
    if _ICON is None:
        from PySide6.QtCore import QSize
        from PySide6.QtGui import QIcon

        icon = QIcon()
        folder = icons_dir()
        for size in ICON_SIZES:
            icon.addFile(str(folder / f"{DESKTOP_NAME}-{size}.png"), QSize(size, size))
        _ICON = icon
    return _ICON


def create_application() -> "QApplication":
    """The QApplication with the app's names (settings folder, window class), version
    and icon."""
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    from .. import APP_NAME, __version__

    QCoreApplication.setOrganizationName("MLOps Desktop")
    # also the X11 window class, which the .desktop file's StartupWMClass names
    QCoreApplication.setApplicationName(DESKTOP_NAME)
    QCoreApplication.setApplicationVersion(__version__)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationDisplayName(APP_NAME)
    app.setDesktopFileName(DESKTOP_NAME)  # Wayland app id: the launcher's icon and name
    app.setWindowIcon(app_icon())
    from .palette import follow_system_color_scheme

    follow_system_color_scheme(app)  # light or dark, as the operating system is set
    return app  # type: ignore[return-value]


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    if args.smoke_test:
        _headless_without_display()
    app = create_application()
    if args.smoke_test:
        return smoke_test(app)
    from PySide6.QtCore import QTimer

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


# -- smoke test -----------------------------------------------------------------------------

def _headless_without_display() -> None:
    """On Linux with no display, run offscreen rather than fail to connect to one."""
    if sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM") \
            and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"


class _SmokeTest:
    """Runs named steps, prints one line per step, and remembers what went wrong."""

    def __init__(self, app: "QApplication") -> None:
        self.app = app
        self.failures: list[str] = []
        self.problems: list[str] = []  # exceptions, failed jobs and error dialogs seen meanwhile
        self.steps = 0

    def step(self, name: str, fn: Callable[[], Any]) -> Any:
        import traceback

        self.steps += 1
        started = time.perf_counter()
        try:
            detail = fn()
            self.settle()
            if self.problems:
                raise RuntimeError("; ".join(self.problems))
        except BaseException as exc:  # a smoke test reports every failure and goes on
            self.failures.append(name)
            self.problems.clear()
            print(f"FAIL  {name}: {type(exc).__name__}: {exc}", flush=True)
            traceback.print_exc(file=sys.stderr)
            return None
        print(f"ok    {name}{': ' + str(detail) if detail else ''} "
              f"({time.perf_counter() - started:.1f} s)", flush=True)
        return detail if detail is not None else True

    def wait(self, condition: Callable[[], bool], what: str, timeout_s: float = 300) -> None:
        """Process events until ``condition`` holds."""
        from PySide6.QtCore import QEventLoop, QThread

        end = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > end:
                raise TimeoutError(f"{what} did not happen within {timeout_s:.0f} s")
            self.app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            QThread.msleep(5)
        self.app.processEvents()

    def settle(self) -> None:
        """Let queued signals arrive, and collect any error dialog that opened."""
        from PySide6.QtWidgets import QMessageBox

        self.app.processEvents()
        for widget in self.app.topLevelWidgets():
            if isinstance(widget, QMessageBox) and widget.isVisible():
                self.problems.append(f"an error dialog opened: {widget.text()} {widget.informativeText()}".strip())
                widget.close()

    def record_exception(self, exc_type: type, exc: BaseException, tb: Any) -> None:
        import traceback

        self.problems.append(f"unhandled {exc_type.__name__}: {exc}")
        traceback.print_exception(exc_type, exc, tb, file=sys.stderr)


def smoke_test(app: "QApplication") -> int:
    """Start the main window with settings and workspace in a temporary folder, build
    the sample project through the welcome page, visit every page of the navigation,
    and return 0 only if no step failed, no exception escaped and no error dialog or
    failed job appeared. Prints one line per step."""
    import platform
    import tempfile

    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import QSettings

    from .. import __version__

    smoke = _SmokeTest(app)
    previous_hook = sys.excepthook
    sys.excepthook = smoke.record_exception
    started = time.perf_counter()
    frozen = " (packaged)" if getattr(sys, "frozen", False) else ""
    smoke.step("start", lambda: f"MLOps Desktop {__version__}{frozen}, Python {platform.python_version()}, "
                                f"PySide6 {pyside_version}, platform {app.platformName()}")
    with tempfile.TemporaryDirectory(prefix="mlops-desktop-smoke-", ignore_cleanup_errors=True) as tmp:
        from .main_window import MainWindow
        from .state import AppState, Preferences

        # the user's own settings and workspaces are never touched
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        state = AppState(Preferences(settings))
        state.prefs.default_workspace = Path(tmp) / "workspace"
        holder: dict[str, Any] = {}

        def open_window() -> str:
            window = MainWindow(state)
            window.runner.job_started.connect(
                lambda job: job.failed.connect(
                    lambda exc, _tb, title=job.title: smoke.problems.append(f"job {title!r} failed: {exc}")))
            window.resize(1200, 760)
            window.show()
            smoke.wait(window.isVisible, "the window showing", 30)
            holder["window"] = window
            return f"{len(window.pages)} pages, icon {'set' if not app.windowIcon().isNull() else 'MISSING'}"

        if not smoke.step("main window", open_window):
            sys.excepthook = previous_hook
            return 1
        window = holder["window"]

        def welcome() -> str:
            window.screens.setCurrentWidget(window.welcome)
            smoke.wait(window.welcome.isVisible, "the welcome page showing", 10)
            window.grab()
            return "shown, with 'Open the sample project' and 'Create a workspace'"

        def sample_project() -> str:
            projects: list[Any] = []
            window.welcome.sample_opened.connect(projects.append)
            job = window.welcome.open_sample_project(Path(tmp) / "sample-project")
            if job is None:
                raise RuntimeError("the sample project was not built")
            smoke.wait(lambda: bool(projects) or not job.running or smoke.problems,
                       "building the sample project")
            smoke.settle()
            if not projects:
                raise RuntimeError("the sample project did not open: "
                                   + ("; ".join(smoke.problems) or str(window.welcome.last_error)))
            project = projects[0]
            ws = state.workspace
            if ws is None or ws.root != project.root:
                raise RuntimeError("the sample project is not the open workspace")
            if not window.stack.isVisible():
                raise RuntimeError("the flow pages did not replace the welcome page")
            return (f"dataset {project.dataset_name}, model {project.model} validated, "
                    f"drift report {project.drift_report_id} ({project.drift_verdict})")

        smoke.step("welcome page", welcome)
        built = smoke.step("sample project", sample_project)
        if built:
            for row in range(window.nav.count()):
                title = window.nav.item(row).text()
                smoke.step(f"page {title}", lambda row=row: _visit(smoke, window, row))
        smoke.step("close", lambda: _close(smoke, window))
    sys.excepthook = previous_hook
    seconds = time.perf_counter() - started
    if smoke.failures:
        print(f"smoke test FAILED: {len(smoke.failures)} of {smoke.steps} steps "
              f"({', '.join(smoke.failures)}) in {seconds:.1f} s", flush=True)
        return 1
    print(f"smoke test passed: {smoke.steps} steps in {seconds:.1f} s", flush=True)
    return 0


def _visit(smoke: _SmokeTest, window: Any, row: int) -> str:
    """Show one page of the navigation, wait for the work it starts, and paint it."""
    window.nav.setCurrentRow(row)
    page = window.stack.widget(row)
    smoke.wait(page.isVisible, "the page showing", 30)
    runner = window.runner
    smoke.wait(lambda: runner.pool.activeThreadCount() == 0 and not runner.jobs, "the page's work ending")
    if window.stack.currentWidget() is not page:
        raise RuntimeError("another page is showing")
    window.grab()  # paints every widget of the page
    return ""


def _close(smoke: _SmokeTest, window: Any) -> str:
    window.close()
    smoke.wait(lambda: not window.isVisible(), "the window closing", 60)
    if window.state.workspace is not None:
        raise RuntimeError("the workspace stayed open")
    return ""


if __name__ == "__main__":
    sys.exit(main())
