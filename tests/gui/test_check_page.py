"""The Check page on the penguins sample: verdicts, charts, accepting a warning."""

from __future__ import annotations

import pytest

from .conftest import screenshot, wait_jobs


@pytest.fixture
def check_page(window, qtbot):
    window.page("Data").open_sample()
    wait_jobs(qtbot, window)
    window.state.workspace.update_column("penguins", "body_mass_g", role="target", actor="tester")
    window.state.datasets_changed.emit(-1)
    window.go_to("Check")
    return window.page("Check")


def test_checks_run_and_show_verdicts(window, check_page, qtbot):
    page = check_page
    assert page.picker.target() == "body_mass_g"
    assert "year" in page.chosen_features()
    page.run_button.click()
    wait_jobs(qtbot, window)
    qtbot.waitUntil(lambda: page.report is not None, timeout=30_000)
    report = page.report
    assert report.task == "regression" and page.table.rowCount() == len(report.checks)
    ids = {c.id for c in report.checks}
    assert {"linearity_reset", "normality_residuals", "heteroscedasticity", "vif"} <= ids
    screenshot(window, "check_page")
    qq_row = next(i for i, c in enumerate(report.checks) if c.id == "normality_residuals")
    page.table.setCurrentCell(qq_row, 0)
    assert "Why it matters" in page.detail.text()
    screenshot(window, "check_page_qq")


def test_accepting_a_warning_is_recorded(window, check_page, qtbot):
    page = check_page
    page.run_button.click()
    wait_jobs(qtbot, window)
    qtbot.waitUntil(lambda: page.report is not None, timeout=30_000)
    flagged = [c for c in page.report.checks if c.verdict in ("warning", "problem")]
    assert flagged, "penguins body mass should raise at least one warning"
    check = flagged[0]
    row = page.report.checks.index(check)
    page.table.setCurrentCell(row, 0)
    assert page.accept_button.isEnabled()
    page.accept(check.id, "Curvature is small; a tree model follows it anyway.")
    assert "Accepted by" in page.accepted_label.text()
    entries = window.state.workspace.audit_entries(limit=1)
    assert entries[0].action == "check.warning_accepted"
    assert page.table.item(row, 0).text().endswith("✓")
    screenshot(window, "check_page_accepted")


def test_results_stay_when_coming_back_to_the_page(window, check_page, qtbot):
    check_page.run_button.click()
    wait_jobs(qtbot, window)
    qtbot.waitUntil(lambda: check_page.report is not None, timeout=30_000)
    rows = check_page.table.rowCount()
    window.go_to("Explore")
    wait_jobs(qtbot, window)
    window.go_to("Check")
    assert check_page.report is not None and check_page.table.rowCount() == rows
