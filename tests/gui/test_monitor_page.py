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
    assert page.run is not None and len(page.run.reports) >= 6
    assert page.run.timeline is not None
    page.tabs.setCurrentIndex(2)
    screenshot(window, "monitor_timeline")
