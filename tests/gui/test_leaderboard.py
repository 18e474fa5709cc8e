"""The Train page's leaderboard: candidates ordered by the ranking metric the analyst
picks, any candidate registered from there, and every candidate's ROC or residual curve
with its 95% band (issue 20, desktop habits)."""

from __future__ import annotations

import pytest

from .conftest import screenshot, wait_jobs


@pytest.fixture
def board(window, penguins_csv):
    from mlops_desktop.core.train import TrainSpec, train

    ws = window.state.workspace
    ws.import_file(penguins_csv, actor="ann")
    result = train(ws, TrainSpec(dataset="penguins", target="island", models=["logistic", "tree", "hgb"],
                                 model_name="island"), actor="ann")
    window.state.models_changed.emit("")
    window.go_to("Train")
    page = window.page("Train")
    assert page.selected_run().id == result.run_id
    return page, result


def column(table, c: int) -> list[str]:
    return [table.item(r, c).text() for r in range(table.rowCount())]


def test_candidates_are_ordered_by_the_chosen_metric(board, window):
    from mlops_desktop.core.train.metrics import best_first

    page, result = board
    assert page.rank_by.currentData() == "roc_auc" and "chose the winner" in page.rank_by.currentText()
    labels = {c["family"]: c["label"] for c in result.candidates}
    for metric in ("roc_auc", "log_loss", "accuracy"):
        page.rank_by.setCurrentIndex(page.rank_by.findData(metric))
        order = best_first([c["cv"][metric]["mean"] for c in result.candidates], metric)
        assert column(page.board, 1)[:3] == [labels[result.candidates[i]["family"]] for i in order]
        assert column(page.board, 0) == ["1", "2", "3", "—"] and column(page.board, 1)[3].startswith("Baseline")
        assert page.board.horizontalHeaderItem(2).text().startswith("CV ")
    assert page.board.horizontalHeaderItem(2).text() == "CV accuracy"
    winner = column(page.board, 1).index(labels[result.chosen])
    assert page.board.item(winner, 1).font().bold() and page.board.item(winner, 5).text() == "island:1"
    screenshot(window, "habits_leaderboard_accuracy")


def test_any_candidate_is_registered_from_the_leaderboard(board, window, qtbot):
    from mlops_desktop.core.train import find_version

    page, result = board
    other = next(c for c in result.candidates if c["family"] != result.chosen)
    row = column(page.board, 1).index(other["label"])
    page.board.setCurrentCell(row, 1)
    assert page.register_button.isEnabled() and other["label"] in page.register_button.text()
    page.board.setCurrentCell(3, 1)  # the baseline, last
    assert not page.register_button.isEnabled()
    page.board.setCurrentCell(column(page.board, 1).index(next(c["label"] for c in result.candidates
                                                                   if c["family"] == result.chosen)), 1)
    assert not page.register_button.isEnabled() and "registered as island:1" in page.register_button.text()
    page.board.setCurrentCell(row, 1)
    page.register_button.click()
    wait_jobs(qtbot, window, timeout_s=120)
    registered = page.last_registered
    assert (registered.model, registered.version, registered.chosen) == ("island", 2, other["family"])
    assert find_version(window.state.workspace, "island:2").family == other["family"]
    assert page.selected_run().id == result.run_id  # the run stays on screen, its board updated
    row = column(page.board, 1).index(other["label"])
    assert page.board.item(row, 5).text() == "island:2"
    assert "registered as island:2" in page.status.text()
    assert any("candidate of run" in page.runs_table.item(r, 4).text() for r in range(page.runs_table.rowCount()))
    screenshot(window, "habits_leaderboard_registered")


def test_roc_curves_of_every_candidate_with_bands_per_class(board, window):
    import pyqtgraph as pg

    page, result = board
    chart = page.curves_chart
    assert page.curve_class.isVisible() and [page.curve_class.itemText(i) for i in range(3)] == \
        ["Biscoe", "Dream", "Torgersen"]
    lines = [i for i in chart.getPlotItem().listDataItems() if i.name()]
    assert len(lines) == 3 and all("AUC" in i.name() for i in lines)
    bands = [i for i in chart.getPlotItem().items if isinstance(i, pg.FillBetweenItem)]
    assert len(bands) == 3
    page.curve_class.setCurrentIndex(1)
    assert "Dream vs rest" in chart.getPlotItem().titleLabel.text
    curves = page.selected_run().details["curves"]
    first = next(i for i in chart.getPlotItem().listDataItems() if i.name() and curves["candidates"][0]["label"] in i.name())
    assert list(first.getData()[1]) == pytest.approx(curves["candidates"][0]["by_class"][1]["tpr"])
    assert "the holdout" in page.curves_caption.text() and "95% bootstrap band" in page.curves_caption.text()
    screenshot(window, "habits_leaderboard_roc")


def test_residual_curves_for_regression(window, penguins_csv):
    from mlops_desktop.core.train import TrainSpec, train

    ws = window.state.workspace
    ws.import_file(penguins_csv, actor="ann")
    train(ws, TrainSpec(dataset="penguins", target="body_mass_g", models=["ols", "tree", "random_forest"]),
          actor="ann")
    window.state.models_changed.emit("")
    window.go_to("Train")
    page = window.page("Train")
    assert not page.curve_class.isVisible()
    title = page.curves_chart.getPlotItem().titleLabel.text
    assert title.startswith("Mean residual by fitted value")
    assert len([i for i in page.curves_chart.getPlotItem().listDataItems() if i.name()]) == 3
    assert "flat line at 0" in page.curves_caption.text()
    page.board.setCurrentCell(1, 1)
    screenshot(window, "habits_leaderboard_residuals")
