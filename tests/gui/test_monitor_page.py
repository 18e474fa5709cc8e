"""The Monitor page on real flights: a first half-year reference, the second half as a
batch, and a year split by month for the timeline."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from .conftest import screenshot, wait_jobs

FLIGHTS = Path(__file__).resolve().parents[1] / "data" / "flights_6000.csv"


@pytest.fixture
def monitor(window, qtbot, tmp_path):
    flights = pd.read_csv(FLIGHTS)
    first = tmp_path / "flights_h1.csv"
    flights[flights["month"] <= 6].to_csv(first, index=False)
    second = tmp_path / "flights_h2.csv"
    flights[flights["month"] > 6].to_csv(second, index=False)
    window.page("Data").start_import(str(first), None, None)
    wait_jobs(qtbot, window)
    window.go_to("Monitor")
    page = window.page("Monitor")
    assert page.reference.currentText() == "dataset flights_h1"
    return window, page, second


def test_second_half_year_drifts_in_month_only(monitor, qtbot):
    window, page, second = monitor
    page.accept_dropped_file(str(second))
    assert "flights_h2.csv" in page.batches_label.text()
    page.compare()
    wait_jobs(qtbot, window, timeout_s=120)
    assert page.run is not None and len(page.run.reports) == 1
    report = page.run.reports[0]
    drifted = {f.name for f in report.features if f.drifted}
    assert "month" in drifted
    assert not drifted & {"dep_time", "sched_dep_time", "arr_time", "sched_arr_time", "hour", "minute"}
    assert page.features.rowCount() >= len(report.features)
    screenshot(window, "monitor_page")
    page.tabs.setCurrentIndex(1)
    screenshot(window, "monitor_bins")
    out = Path(window.state.workspace.root) / "drift.html"
    page.write_report(str(out))
    assert "month" in out.read_text()
    assert window.state.workspace.audit_entries(limit=1)[0].action == "drift.report_created"


def test_one_file_split_by_month_gives_a_timeline(monitor, qtbot):
    window, page, second = monitor
    page.add_batch("file", str(second))
    page.split_column.setCurrentText("time_hour")
    page.compare()
    wait_jobs(qtbot, window, timeout_s=120)
    # one batch per month of the file's time column, in order, each with that month's rows
    when = pd.to_datetime(pd.read_csv(second)["time_hour"], utc=True).dt.strftime("%Y-%m")
    months = when.value_counts().sort_index()
    assert [r.label for r in page.run.reports] == list(months.index)
    assert [r.batch["rows"] for r in page.run.reports] == list(months.values)
    assert [page.batch_list.item(i).text() for i in range(page.batch_list.count())] == [
        f"{r.label}: {r.verdict} ({n:,} rows)" for r, n in zip(page.run.reports, months.values)]
    assert page.run.timeline.labels == list(months.index)
    assert page.run.timeline.verdicts == [r.verdict for r in page.run.reports]
    page.tabs.setCurrentIndex(2)
    screenshot(window, "monitor_timeline")


def test_performance_panel_estimate_band_and_realized_by_month(window, qtbot, tmp_path, monkeypatch):
    """Issue 14: a classifier trained on the first half of 2013; the second half split
    by month, labels known for July to September only: the Performance tab shows each
    month's estimate with its band beside the drift verdict, the realized figures where
    labels exist, and the timeline across the months."""
    import numpy as np

    from mlops_desktop.core.train import TrainSpec, train

    flights = pd.read_csv(FLIGHTS)
    flights = flights[flights["arr_delay"].notna()].copy()
    flights["late"] = np.where(flights["arr_delay"] > 15, "late", "on time")
    flights = flights.drop(columns=["arr_delay", "arr_time", "air_time"])
    flights["flight_date"] = pd.to_datetime(flights[["year", "month", "day"]]).dt.strftime("%Y-%m-%d")
    first, second = tmp_path / "h1.csv", tmp_path / "h2.csv"
    flights[flights["month"] <= 6].to_csv(first, index=False)
    h2 = flights[flights["month"] > 6].copy()
    h2.loc[h2["month"] > 9, "late"] = None  # labels arrive later: none yet for October to December
    h2.to_csv(second, index=False)
    ws = window.state.workspace
    ws.import_file(first, name="flights_h1", actor="ann")
    train(ws, TrainSpec(dataset="flights_h1", target="late", models=["logistic"], model_name="late",
                        features=["carrier", "origin", "dep_delay", "distance", "hour"], search_candidates=0,
                        cv_folds=2), actor="ann")
    window.state.models_changed.emit("late:1")
    window.go_to("Monitor")
    page = window.page("Monitor")
    from mlops_desktop.gui.page_parts import find_data

    import threading

    from mlops_desktop.core.monitor import estimated

    readers, real = [], estimated.performance_history  # every report read whole: off the UI thread
    monkeypatch.setattr(estimated, "performance_history",
                        lambda *a, **k: readers.append(threading.current_thread()) or real(*a, **k))
    page.reference.setCurrentIndex(find_data(page.reference, ("model", "late:1")))
    page.add_batch("file", str(second))
    page.split_column.setCurrentText("flight_date")
    page.compare()
    wait_jobs(qtbot, window, timeout_s=180)
    assert page.run is not None and len(page.run.reports) == 6
    assert readers and threading.main_thread() not in readers
    history = page.performance_history
    assert [p.label for p in history.points] == ["2013-07", "2013-08", "2013-09", "2013-10", "2013-11", "2013-12"]
    assert all(p.estimated is not None for p in history.points)
    assert [p.realized is not None for p in history.points] == [True] * 3 + [False] * 3
    page.batch_list.setCurrentRow(1)  # August: estimate and realized
    text = page.performance_text.text()
    assert "Realized performance replaces the estimate" in text and "ROC AUC" in text and "no concept drift" in text
    page.tabs.setCurrentIndex(page.tabs.count() - 1)
    screenshot(window, "monitor_performance_labelled")
    page.batch_list.setCurrentRow(4)  # November: no labels yet
    assert "No labels yet: the performance is estimated" in page.performance_text.text()
    screenshot(window, "monitor_performance_estimated")


def test_a_first_visit_shows_a_stored_comparison_before_its_hidden_charts_are_made(monitor, qtbot, tmp_path):
    """The newest stored comparison shows at once on a first visit; the charts on hidden
    tabs are made one a turn afterwards (LazyPage.later) and then drawn into."""
    from PySide6.QtCore import QSettings

    from mlops_desktop.gui.main_window import MainWindow
    from mlops_desktop.gui.state import AppState, Preferences

    window, page, second = monitor
    page.add_batch("file", str(second))
    page.split_column.setCurrentText("time_hour")
    page.compare()
    wait_jobs(qtbot, window, timeout_s=120)
    labels = page.run.timeline.labels
    root = str(window.state.workspace.root)
    window.state.close()  # the workspace opens again in a new window, as on the next day

    state = AppState(Preferences(QSettings(str(tmp_path / "later.ini"), QSettings.Format.IniFormat)))
    later = MainWindow(state)
    qtbot.addWidget(later)
    later.resize(1280, 800)
    later.show()
    qtbot.waitExposed(later)
    later.open_startup_workspace(root)
    try:
        qtbot.waitUntil(lambda: later.warm_up_thread is not None and not later.warm_up_thread.is_alive(),
                        timeout=60_000)
        later.go_to("Monitor")
        shown = later.page("Monitor")
        assert shown.run is not None and shown.batch_list.count() == len(labels)  # shown at once
        assert shown.building  # the timelines and the performance chart: not made in the same turn
        qtbot.waitUntil(lambda: not shown.building, timeout=30_000)
        bottom = shown.dataset_timeline.getPlotItem().getAxis("bottom")
        assert [label for _x, label in bottom._tickLevels[0]] == labels  # drawn once made
    finally:
        later.runner.cancel_all()
        later.runner.wait(30_000)
        state.close()
