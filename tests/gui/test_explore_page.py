"""The Explore page on real data: profile, charts, alerts, correlations, report."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import screenshot, wait_jobs

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def penguins_window(window, qtbot):
    window.page("Data").open_sample()
    wait_jobs(qtbot, window)
    ws = window.state.workspace
    ws.update_column("penguins", "species", role="target", actor="tester")
    window.state.datasets_changed.emit(-1)
    window.go_to("Explore")
    wait_jobs(qtbot, window)
    return window


def test_explore_profiles_the_selected_dataset(penguins_window, qtbot):
    page = penguins_window.page("Explore")
    qtbot.waitUntil(lambda: page.profile is not None, timeout=20_000)
    p = page.profile
    assert p.n_rows == 344 and page.columns.rowCount() == 8
    assert page.picker.target() == "species" and p.target["column"] == "species"
    assert "344 rows" in page.status.text()
    screenshot(penguins_window, "explore_alerts")
    row = page.column_row("flipper_length_mm")
    page.columns.setCurrentCell(row, 0)
    page.tabs.setCurrentIndex(1)
    assert page.column_title.text().startswith("flipper_length_mm")
    assert page.box.isVisible()
    screenshot(penguins_window, "explore_column")
    page.tabs.setCurrentIndex(2)
    names = p.correlations["columns"]
    i, j = names.index("flipper_length_mm"), names.index("body_mass_g")
    assert page.heatmap.value_at(j, i) == pytest.approx(p.correlations["pearson"][i][j])
    assert "flipper_length_mm × body_mass_g" in page.heatmap.describe(j, i)
    screenshot(penguins_window, "explore_correlations")
    page.tabs.setCurrentIndex(3)
    assert page.relations.rowCount() == len(p.target["relations"])
    screenshot(penguins_window, "explore_target")


def test_alert_jumps_to_its_column(window, qtbot, tmp_path):
    csv = tmp_path / "alerts.csv"
    rows = ["id,const,value,label"] + [f"{i},1,{i * i},{'a' if i % 2 else 'b'}" for i in range(100)]
    csv.write_text("\n".join(rows) + "\n")
    window.page("Data").start_import(str(csv), None, None)
    wait_jobs(qtbot, window)
    window.go_to("Explore")
    page = window.page("Explore")
    qtbot.waitUntil(lambda: page.profile is not None, timeout=20_000)
    kinds = {a.kind: a for a in page.profile.alerts}
    assert "constant" in kinds
    row = next(i for i, a in enumerate(page.profile.alerts) if a.kind == "constant")
    page._alert_clicked(row, 0)
    assert page.tabs.currentIndex() == 1
    assert page.column_title.text().startswith("const")


def test_report_is_written(penguins_window, qtbot, tmp_path):
    page = penguins_window.page("Explore")
    qtbot.waitUntil(lambda: page.profile is not None, timeout=20_000)
    out = tmp_path / "report.html"
    page.write_report(str(out))
    text = out.read_text()
    assert "<svg" in text and "flipper_length_mm" in text and "http" not in text.replace(
        "http://www.w3.org/2000/svg", "")
    assert "Report saved" in page.status.text()
