"""The Validate page's contributions: the holdout's beeswarm and "Why this prediction?"
for a holdout row (clicked on the chart) and for a row of a batch to score, drawn from
what core computes, off the UI thread."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from credit_default import FEATURES, STRONGEST, TARGET, credit_default

from .conftest import screenshot, wait_jobs

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
TOLERANCE = 1e-6


@pytest.fixture
def validated(window, qtbot, tmp_path):
    """A gradient-boosting credit model, validated on its holdout, and a batch of new
    applicants (no target) as a dataset; the Validate page on its Contributions tab."""
    from mlops_desktop.core.train import TrainSpec, train
    from mlops_desktop.core.validate.for_version import validate_version

    ws = window.state.workspace
    credit_default(1500, seed=2).to_csv(tmp_path / "credit.csv", index=False)
    credit_default(40, seed=9).drop(columns=[TARGET]).to_csv(tmp_path / "batch.csv", index=False)
    ws.import_file(tmp_path / "credit.csv", name="credit", actor="tester")
    ws.update_column("credit", "applicant", role="id", actor="tester")
    batch = ws.import_file(tmp_path / "batch.csv", name="new applicants", actor="tester")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(ws, TrainSpec(dataset="credit", target=TARGET, models=["hgb"], features=FEATURES,
                            model_name="credit", cv_folds=2), actor="tester")
    validate_version(ws, "credit:1", actor="tester", n_bootstrap=50)
    window.state.datasets_changed.emit(-1)
    window.state.models_changed.emit("")
    window.go_to("Validate")
    page = window.page("Validate")
    wait_jobs(qtbot, window)
    page.tabs.setCurrentIndex(page.tabs.count() - 1)
    assert page.tabs.tabText(page.tabs.currentIndex()) == "Contributions"
    return window, page, batch.dataset.id


def test_the_beeswarm_and_a_clicked_rows_reasons(validated, qtbot):
    window, page, _ = validated
    view = page.selection.result.contributions
    # the holdout's columns by mean contribution: the simulated driver first
    assert view.columns[0].column == STRONGEST
    assert [c.mean_abs for c in view.columns] == sorted((c.mean_abs for c in view.columns), reverse=True)
    assert "not causes" in page.contributions_intro.text()
    # the riskiest kept row, as a click on its point sends it
    stored = page.result.report.contributions["points"]
    riskiest = int(np.argmax(stored["score"]))
    row = stored["row"][riskiest]
    page.swarm.point_clicked.emit(row)
    wait_jobs(qtbot, window)
    shown = page.why_result
    assert shown is not None and shown.row == row
    # computed again for the row the validation kept: the same contributions, adding up
    for column, kept in stored["contributions"].items():
        assert abs(shown.contributions[column] - kept[riskiest]) <= TOLERANCE
    assert abs(shown.base + sum(shown.contributions.values()) - shown.score) <= TOLERANCE
    assert shown.decision == "yes" and shown.reasons[0].column == STRONGEST
    assert f"{STRONGEST} = " in page.why_text.text() and "raised the log-odds of" in page.why_text.text()
    names, steps = shown.steps()
    assert abs(shown.base + sum(steps) - shown.score) <= TOLERANCE and len(names) == len(FEATURES)
    screenshot(window, "validate_contributions")


def test_a_row_of_a_batch_to_score_and_a_row_that_does_not_exist(validated, qtbot):
    from mlops_desktop.core.validate.explanations import explain_rows

    window, page, batch = validated
    page.why_data.setCurrentIndex(page.why_data.findData(batch))
    page.why_row.setValue(3)
    page.why_button.click()
    assert not page.why_button.isEnabled()  # the work runs off the UI thread
    wait_jobs(qtbot, window)
    expected = explain_rows(window.state.workspace, "credit:1", "new applicants", rows="3", top=3).rows[0]
    assert page.why_result.row == 3 and page.why_result.contributions == pytest.approx(expected.contributions)
    assert [r.column for r in page.why_result.reasons] == [r.column for r in expected.reasons]
    assert "Row 3, decided" in page.why_text.text()
    screenshot(window, "validate_contributions_batch_row")
    page.why_row.setValue(40_000)
    page.why_button.click()
    wait_jobs(qtbot, window)
    assert "has rows 1 to 40" in page.why_text.text() and page.why_button.isEnabled()
