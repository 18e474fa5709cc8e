"""The Validate page: coefficient tables with 95% intervals and odds ratios with theirs;
a multiclass model's curves for the class the analyst picks (issue 20, desktop habits)."""

from __future__ import annotations

import pytest

from .conftest import screenshot


@pytest.fixture
def species(window, penguins_csv):
    """A multiclass logistic model of the penguins' species, validated, on the Validate page."""
    from mlops_desktop.core.train import TrainSpec, train
    from mlops_desktop.core.validate.for_version import validate_version

    ws = window.state.workspace
    ws.import_file(penguins_csv, actor="ann")
    train(ws, TrainSpec(dataset="penguins", target="island", models=["logistic"], model_name="island",
                        features=["flipper_length_mm", "bill_depth_mm", "sex"]), actor="ann")
    validate_version(ws, "island:1", actor="ann", n_bootstrap=50)
    window.state.models_changed.emit("")
    window.go_to("Validate")
    page = window.page("Validate")
    assert page.result is not None and page.result.report.task == "multiclass"
    return page


def cells(table, column: str) -> list[str]:
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    c = headers.index(column)
    return [table.item(r, c).text() for r in range(table.rowCount())]


def test_coefficients_show_intervals_and_odds_ratios_with_theirs(species, window):
    from mlops_desktop.core.train import coefficient_table, load_model
    from mlops_desktop.core.numbers import cell
    from mlops_desktop.gui.table_actions import RAW_ROLE

    page = species
    rows = coefficient_table(load_model(window.state.workspace, "island:1"))
    table = page.coefficients
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers == ["Class", "Term", "Estimate", "Std. error", "95% CI low", "95% CI high", "p-value",
                       "Odds ratio", "OR 95% CI low", "OR 95% CI high", "Odds ratio per SD"]
    assert table.rowCount() == len(rows) == 8  # intercept and 3 terms, for each class against Biscoe
    assert cells(table, "Class")[:5] == ["Dream"] * 4 + ["Torgersen"]
    assert cells(table, "OR 95% CI high") == [cell(r["odds_ratio_ci_high"]) for r in rows]
    low = headers.index("OR 95% CI low")
    assert [table.item(i, low).data(RAW_ROLE) for i in range(len(rows))] == [r["odds_ratio_ci_low"] for r in rows]
    assert "against Biscoe" in page.coefficient_note.text() and "exp of the interval" in page.coefficient_note.text()
    page.tabs.setCurrentIndex(6)
    assert page.tabs.isTabEnabled(6) and not page.tabs.cornerWidget().isVisible()  # no class choice here
    screenshot(window, "habits_validate_coefficients")


def test_multiclass_curves_for_the_class_the_analyst_picks(species, window):
    page = species
    page.tabs.setCurrentIndex(0)
    assert page.tabs.cornerWidget().isVisible()
    classes = [page.curve_class.itemText(i) for i in range(page.curve_class.count())]
    assert classes == ["Biscoe", "Dream", "Torgersen"]
    by_class = page.result.report.curves["by_class"]
    for i, name in enumerate(classes):
        page.curve_class.setCurrentIndex(i)
        title = page.chart_a.getPlotItem().titleLabel.text
        assert f"{name} vs rest" in title
        drawn = page.chart_a.getPlotItem().listDataItems()[0].getData()
        assert list(drawn[0]) == pytest.approx(by_class[i]["roc"]["fpr"])
        assert f"{name} vs rest" in page.chart_c.getPlotItem().titleLabel.text
    page.curve_class.setCurrentIndex(2)
    screenshot(window, "habits_validate_class_curves")
