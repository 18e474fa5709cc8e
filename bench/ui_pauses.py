"""UI pauses with a dataset larger than memory open (issue 18): the walk of
``tests/gui/test_big_dataset_pages.py`` on the bench's table of ROWS rows (``big.py``
imports it; run ``big.py ROWS --keep`` first): the Data page pages through it, Explore
profiles it out of core, Monitor compares the drifted file with it out of core; twice,
since the first visit of a page also builds its charts whatever the data. The libraries
those visits need are imported in the background once the workspace shows (pyqtgraph,
SciPy: ``MainWindow.warm_up``); that warm-up's longest pause is printed first. Prints the
longest pause of the UI thread on each page (the 10 ms timer of ``tests/gui/pauses.py``)
and the machine's slowdown measured after it (1 on an idle machine; a pause stretches
by it). Target: no pause over 200 ms (times the slowdown).

Usage: QT_QPA_PLATFORM=offscreen python bench/ui_pauses.py ROWS
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "gui"))

import big_data  # noqa: E402
from pauses import MAX_GAP_MS, GapMeter, machine_slowdown  # noqa: E402


def main() -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from mlops_desktop.gui.main_window import MainWindow
    from mlops_desktop.gui.state import AppState, Preferences

    rows = int(sys.argv[1])
    ws = big_data.DATA / f"work-{rows}" / "ws"
    if not (ws / "registry.sqlite").is_file():
        sys.exit(f"No bench workspace at {ws}: run python bench/big.py {rows} --steps import --keep first.")
    app = QApplication.instance() or QApplication([])
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(AppState(Preferences(settings)))
    win.resize(1280, 800)
    win.show()
    meter = GapMeter()
    meter.start()
    win.open_startup_workspace(str(ws))
    # the libraries a first visit needs are imported in the background once the workspace
    # shows (MainWindow.warm_up): its own pauses, before any visit, are printed apart
    started = time.perf_counter()
    while win.warm_up_thread is None or win.warm_up_thread.is_alive():
        app.processEvents()
        time.sleep(0.005)
    meter.stop()
    print(f"start-up warm-up: {time.perf_counter() - started:.1f} s, longest UI pause {meter.max_gap_ms:.0f} ms, "
          f"machine slowdown {machine_slowdown():.1f}")

    def wait(until, timeout_s: float) -> float:
        started = time.perf_counter()
        while not until():
            app.processEvents()
            time.sleep(0.005)
            if time.perf_counter() - started > timeout_s:
                raise SystemExit(f"gave up after {timeout_s:.0f} s")
        return time.perf_counter() - started

    def idle() -> bool:
        return win.runner.pool.activeThreadCount() == 0 and not win.runner.jobs

    data, explore, monitor = win.page("Data"), win.page("Explore"), win.page("Monitor")
    print(f"{rows:,} rows open; visit, page, seconds, longest UI pause (ms), machine slowdown")

    def visit(round_: int, title: str, work, done) -> None:
        meter = GapMeter()
        meter.start()
        win.go_to(title)
        work()
        seconds = wait(lambda: done() and idle(), 1800)
        meter.stop()
        slowdown = machine_slowdown()
        verdict = "met" if meter.max_gap_ms < MAX_GAP_MS * slowdown else "MISSED"
        print(f"{round_:<6}{title:<9}{seconds:>8.1f}{meter.max_gap_ms:>8.0f}{slowdown:>6.1f}  {verdict}", flush=True)

    def profile() -> None:
        if explore.profile is not None:  # shown before: profile again, as the first visit did
            explore.profile = None
            explore.run_profile()

    def compare() -> None:
        monitor.clear_batches()
        monitor.accept_dropped_file(str(big_data.drifted_file(rows)))
        monitor.compare()

    for round_ in (1, 2):
        visit(round_, "Data", lambda: None,
              lambda: data.preview_model is data.disk_model and data.disk_model.rowCount() == rows)
        visit(round_, "Explore", profile, lambda: explore.profile is not None)
        visit(round_, "Monitor", compare, lambda: monitor.run is not None)
    win.runner.cancel_all()
    win.runner.wait(30_000)
    win.state.close()


if __name__ == "__main__":
    main()
