"""Every page on real flights data at the default window size (1200×760) and at 1280×800:
a screenshot of each, and nothing cut (no table needs a horizontal scroll bar to show
its columns, no column header is narrower than its text)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QStyle, QTabWidget

from .conftest import screenshot, wait_jobs

FLIGHTS = Path(__file__).resolve().parents[1] / "data" / "flights_6000.csv"
SIZES = ((1200, 760), (1280, 800))
PAGES = ("Workspace", "Data", "Explore", "Check", "Train", "Validate", "Registry", "Monitor", "Export")


def cut_tables(page) -> list[str]:
    """The visible tables on ``page`` whose columns do not fit: a horizontal scroll bar,
    or a header narrower than its label."""
    problems = []
    for view in page.findChildren(QAbstractItemView):
        if not view.isVisible() or not hasattr(view, "horizontalHeader"):
            continue
        header: QHeaderView = view.horizontalHeader()
        name = view.objectName() or type(view).__name__
        if view.horizontalScrollBar().isVisible() and name != "dataPreview":  # the data grid scrolls
            problems.append(f"{name}: horizontal scroll bar")
        model = view.model()
        margin = header.style().pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, None, header)
        for c in range(model.columnCount()):
            if header.isSectionHidden(c):
                continue
            label = str(model.headerData(c, header.orientation()) or "")
            need = header.fontMetrics().horizontalAdvance(label) + 2 * margin
            if label and header.sectionSize(c) < need:
                problems.append(f"{name}: header {label!r} cut ({header.sectionSize(c)} < {need})")
    return problems


@pytest.fixture
def flights_workspace(window, qtbot, tmp_path):
    """Flights with a yes/no ``late`` column (arrival 15 minutes or more late), a
    regression and a classification model validated, one approved and exported, and a
    drift comparison of later months against the earlier ones."""
    frame = pd.read_csv(FLIGHTS)
    frame["late"] = (frame["arr_delay"] >= 15).map({True: "yes", False: "no"}).where(frame["arr_delay"].notna())
    early = frame[frame["month"] <= 6]
    early.to_csv(tmp_path / "flights.csv", index=False)
    frame[frame["month"] > 6].to_csv(tmp_path / "flights_later.csv", index=False)
    window.resize(*SIZES[0])
    window.page("Data").start_import(str(tmp_path / "flights.csv"), None, None)
    wait_jobs(qtbot, window)
    ws = window.state.workspace
    ws.update_column("flights", "arr_delay", role="target", actor="tester")
    ws.update_column("flights", "late", role="ignore", actor="tester")
    window.state.datasets_changed.emit(-1)

    from mlops_desktop.core.registry.lifecycle import change_stage
    from mlops_desktop.core.train import TrainSpec
    from mlops_desktop.core.train.runner import train as train_run
    from mlops_desktop.core.validate.for_version import validate_version

    features = ["dep_delay", "distance", "origin", "hour", "carrier", "month"]
    refs = {}
    for name, target, models in (("delay", "arr_delay", ["linear", "hgb"]), ("late", "late", ["logistic"])):
        spec = TrainSpec(dataset="flights", target=target, models=models, cv_folds=3, features=features,
                         model_name=name)
        result = train_run(ws, spec, actor="tester")
        refs[name] = f"{result.model}:{result.version}"
        validate_version(ws, refs[name], actor="tester")
    change_stage(ws, refs["late"], "validated", actor="tester", comment="checked",
                 override_reason="sample data")
    change_stage(ws, refs["late"], "approved", actor="reviewer", comment="Card read; beats the baseline.")
    window.state.models_changed.emit("")
    return window, refs, tmp_path


def test_every_page_fits_at_both_sizes(flights_workspace, qtbot):
    window, refs, tmp = flights_workspace
    # results on every page first (at the default size), then look at both sizes
    window.go_to("Explore")
    explore = window.page("Explore")
    qtbot.waitUntil(lambda: explore.profile is not None, timeout=60_000)
    window.go_to("Check")
    check = window.page("Check")
    check.run_button.click()
    wait_jobs(qtbot, window, timeout_s=120)
    qtbot.waitUntil(lambda: check.report is not None, timeout=60_000)
    window.go_to("Monitor")
    monitor = window.page("Monitor")
    index = next(i for i in range(monitor.reference.count())
                 if tuple(monitor.reference.itemData(i)) == ("model", refs["late"]))
    monitor.reference.setCurrentIndex(index)
    monitor.accept_dropped_file(str(tmp / "flights_later.csv"))
    monitor.split_column.setCurrentText("time_hour")
    monitor.compare()
    wait_jobs(qtbot, window, timeout_s=180)
    assert monitor.run is not None
    window.go_to("Export")
    export = window.page("Export")
    export.destination.setText(str(tmp / "package"))
    export.export()
    wait_jobs(qtbot, window, timeout_s=240)

    look_at_the_figures(window, refs, qtbot)
    problems = []
    for width, height in SIZES:
        window.resize(width, height)
        qtbot.wait(100)
        for name in PAGES:
            window.go_to(name)
            page = window.page(name)
            wait_jobs(qtbot, window, timeout_s=120)
            if name == "Validate":
                page.model_combo.setCurrentIndex(page.model_combo.findData(refs["late"]))
            qtbot.wait(50)
            tabs = [t for t in page.findChildren(QTabWidget) if t.isVisible()]
            shots = [(None, None)] + [(t, i) for t in tabs[:1] for i in range(1, t.count()) if t.isTabEnabled(i)]
            for tab_widget, i in shots:
                if tab_widget is not None:
                    tab_widget.setCurrentIndex(i)
                    qtbot.wait(30)
                suffix = "" if tab_widget is None else "_" + tab_widget.tabText(i).split()[0].lower()
                screenshot(window, f"fit_{width}x{height}_{name.lower()}{suffix}")
                problems += [f"{width}x{height} {name}{suffix}: {p}" for p in cut_tables(page)]
            if tabs:
                tabs[0].setCurrentIndex(0)
            if name == "Validate":
                page.model_combo.setCurrentIndex(page.model_combo.findData(refs["delay"]))
                qtbot.wait(50)
                screenshot(window, f"fit_{width}x{height}_validate_regression")
                problems += [f"{width}x{height} Validate regression: {p}" for p in cut_tables(page)]
    assert not problems, "\n".join(problems)


def look_at_the_figures(window, refs, qtbot):
    """What the analyst reads on the pages: one formatter's figures, legends, the sample
    size of the target scatter, the influential rows, no classifier controls for a
    regression model, the purpose on the card."""
    # Explore: the scatter against the target says it is a random sample, and its size
    window.go_to("Explore")
    explore = window.page("Explore")
    explore.tabs.setCurrentIndex(1)
    explore.show_column(explore.column_row("dep_delay"))
    title = explore.relation.getPlotItem().titleLabel.text
    assert "2,000 random rows of 2,8" in title, title
    assert not explore.relation_note.isVisible()
    explore.show_column(explore.column_row("time_hour"))  # a date: no relation chart, no empty axes
    assert not explore.relation.isVisible() and "no" in explore.relation_note.text().lower()
    explore.show_column(explore.column_row("dep_delay"))
    screenshot(window, "fit_explore_relation_sample")

    # Check: p-values never "= 0", the influential rows listed, a click on a point shows its row
    window.go_to("Check")
    check = window.page("Check")
    for row, c in enumerate(check.report.checks):
        check.show_check(row)
        assert "p-value = 0<" not in check.detail.text() and "p-value = 0;" not in check.detail.text()
        assert check.chart.isVisibleTo(check) == bool(c.chart and c.chart.get("x"))
    row = next(i for i, c in enumerate(check.report.checks) if c.id == "influence")
    check.table.setCurrentCell(row, 0)
    assert check.rows_table.isVisibleTo(check) and check.rows_table.rowCount() > 0
    first = check.report.checks[row].chart["labels"][0]
    check.chart.point_clicked.emit(first)
    assert f"Row {int(first) + 1:,}" in check.row_detail.text() and "arr_delay = " in check.row_detail.text()
    screenshot(window, "fit_check_influential_rows")

    # Validate: intervals as "low to high"; a regression model has no classifier controls
    window.go_to("Validate")
    validate = window.page("Validate")
    validate.model_combo.setCurrentIndex(validate.model_combo.findData(refs["late"]))
    cells = [validate.metrics.item(r, c).text() for r in range(validate.metrics.rowCount()) for c in (2, 4)]
    assert all(" to " in t for t in cells if t != "—") and not any("–" in t or "e-" in t for t in cells), cells
    assert validate.rule.isVisibleTo(validate) and validate.cost_fp.isVisibleTo(validate)
    assert validate.tabs.isTabVisible(validate.tabs.indexOf(validate.confusion))
    validate.purpose.setText("Warn gate staff of late arrivals a day ahead.")
    validate.save_purpose()
    qtbot.waitUntil(lambda: "Warn gate staff" in validate.card.toPlainText(), timeout=10_000)
    card = validate.card.toPlainText()
    assert "{" not in card and not re.search(r"\d\d:\d\d:\d\d\.\d", card)
    validate.model_combo.setCurrentIndex(validate.model_combo.findData(refs["delay"]))
    assert not validate.rule.isVisibleTo(validate) and not validate.cost_fp.isVisibleTo(validate)
    assert not validate.tabs.isTabVisible(validate.tabs.indexOf(validate.confusion))

    # Monitor: reference and current told apart by a legend; categories as bars from zero
    window.go_to("Monitor")
    monitor = window.page("Monitor")
    names = [monitor.features.item(r, 0).text() for r in range(monitor.features.rowCount())]
    for name in ("dep_delay", "carrier"):
        monitor.features.setCurrentCell(names.index(name), 0)
        legend = monitor.distribution.legend
        assert legend is not None and legend.isVisible()
        assert [label.text for _sample, label in legend.items] == ["reference", "current"]
        assert monitor.distribution.getPlotItem().getViewBox().viewRange()[0 if name == "carrier" else 1][0] <= 0
        screenshot(window, f"fit_monitor_{name}")
    monitor.tabs.setCurrentIndex(2)
    bottom = monitor.dataset_timeline.getPlotItem().getAxis("bottom")
    assert bottom._tickLevels and bottom._tickLevels[0][0][1].startswith("2013-")  # dated labels
    assert monitor.dataset_timeline.getPlotItem().getViewBox().viewRange()[1][0] <= 0
    screenshot(window, "fit_monitor_timeline_bars")
    summary = monitor.summary.text()
    assert "balanced_accuracy" not in summary and "the holdout figures are those of validation" in summary
    monitor.tabs.setCurrentIndex(0)
