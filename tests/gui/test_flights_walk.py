"""The pages on real flights data: explore, check, train one model per carrier, validate."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import screenshot, wait_jobs

FLIGHTS = Path(__file__).resolve().parents[1] / "data" / "flights_6000.csv"


@pytest.fixture
def flights(window, qtbot):
    window.page("Data").start_import(str(FLIGHTS), None, None)
    wait_jobs(qtbot, window)
    window.state.workspace.update_column("flights_6000", "arr_delay", role="target", actor="tester")
    window.state.datasets_changed.emit(-1)
    return window


def test_explore_and_check_on_flights(flights, qtbot):
    flights.go_to("Explore")
    page = flights.page("Explore")
    qtbot.waitUntil(lambda: page.profile is not None, timeout=60_000)
    alerts = {a.kind for a in page.profile.alerts}
    assert {"correlated", "high_cardinality"} <= alerts
    screenshot(flights, "flights_explore_alerts")
    page.tabs.setCurrentIndex(2)
    screenshot(flights, "flights_explore_correlations")
    flights.go_to("Check")
    check = flights.page("Check")
    check.run_button.click()
    wait_jobs(qtbot, flights, timeout_s=120)
    qtbot.waitUntil(lambda: check.report is not None, timeout=60_000)
    assert check.report.task == "regression"
    screenshot(flights, "flights_check")


def test_one_model_per_carrier_trains_and_validates(flights, qtbot):
    from mlops_desktop.core.train import TrainSpec

    flights.go_to("Train")
    spec = TrainSpec(dataset="flights_6000", target="arr_delay", models=["hgb"], cv_folds=3,
                     segment_by="carrier", min_segment_rows=400,
                     features=["dep_delay", "distance", "origin", "hour", "carrier"])
    flights.page("Train").start_training(spec)
    wait_jobs(qtbot, flights, timeout_s=300)
    result = flights.page("Train").last_result
    assert result.status == "succeeded" and result.segment_by == "carrier"
    screenshot(flights, "flights_train_segments")
    flights.page("Train")._go_validate()
    page = flights.page("Validate")
    page.run_validation()
    wait_jobs(qtbot, flights, timeout_s=300)
    assert page.result is not None and page.result.report.task == "regression"
    assert any(g["column"] == "carrier" for g in page.result.report.subgroups)
    page.tabs.setCurrentIndex(3)
    screenshot(flights, "flights_validate_segments")
