"""Check → Apply → re-check on a wage-like table (issue 13, A): the checks of
``wage ~ education + experience + I(experience ** 2) + …`` rate the VIF of x and x² a
problem and the residuals skewed; Apply replaces them by ``poly(experience, 2)``, then
by ``log(wage)``, each time showing the check before and after side by side; the kept
formula is stored and the Train wizard starts from it; the formula field completes
column names."""

from __future__ import annotations

import pytest

from wage_data import wage_frame

from .conftest import screenshot, wait_jobs

SQUARED = "wage ~ education + experience + I(experience ** 2) + ethnicity + smsa + education:parttime"


@pytest.fixture
def wage_check(window, qtbot, tmp_path):
    path = tmp_path / "wage.csv"
    wage_frame(2000).to_csv(path, index=False)
    ws = window.state.workspace
    ws.import_file(path, name="wage", actor="tester")
    ws.update_column("wage", "wage", role="target", actor="tester")
    window.state.datasets_changed.emit(-1)
    window.go_to("Check")
    page = window.page("Check")
    wait_jobs(qtbot, window)
    return page


def _run(page, window, qtbot, formula: str):
    page.formula.setText(formula)
    before = page.report
    page.run_button.click()
    wait_jobs(qtbot, window)
    qtbot.waitUntil(lambda: page.report is not None and page.report is not before, timeout=30_000)
    return page.report


def _select(page, check_id: str) -> None:
    row = next(i for i, c in enumerate(page.report.checks) if c.id == check_id)
    page.table.setCurrentCell(row, 0)


def _apply(page, window, qtbot, check_id: str, shot: str):
    _select(page, check_id)
    assert page.apply_button.isVisible(), check_id
    page.apply_button.click()
    wait_jobs(qtbot, window)
    qtbot.waitUntil(lambda: getattr(page, "last_comparison", None) is not None
                    and page.last_comparison.isVisible(), timeout=30_000)
    dialog = page.last_comparison
    screenshot(dialog, shot)
    return dialog


def test_check_apply_recheck_and_train_from_the_kept_formula(window, wage_check, qtbot):
    page = wage_check
    report = _run(page, window, qtbot, SQUARED)
    assert report.formula == SQUARED
    assert report.check("vif").verdict == "problem"
    assert not page.features.isEnabled()  # the formula's columns are checked
    _select(page, "vif")
    assert page.apply_button.text().startswith("Apply: Replace experience + I(experience ** 2)")
    screenshot(window, "formula_check_vif_problem")

    # Apply the orthogonal polynomial: the VIF of x and x² disappears
    dialog = _apply(page, window, qtbot, "vif", "formula_before_after_vif")
    vif = next(c for c in dialog.changes if c.check_id == "vif")
    assert (vif.before, vif.after) == ("problem", "ok")
    dialog.keep_new.click()
    qtbot.waitUntil(lambda: page.report.formula != SQUARED, timeout=10_000)
    assert "poly(experience, 2)" in page.formula.text() and page.report.id is not None
    assert page.report.check("vif").verdict == "ok"

    # Apply the log of the target: the residuals' spread, before and after, side by side
    dialog = _apply(page, window, qtbot, "heteroscedasticity", "formula_before_after_log")
    change = {c.check_id: c for c in dialog.changes}
    assert change["heteroscedasticity"].before == "problem" and change["heteroscedasticity"].after != "problem"
    assert change["normality_residuals"].after == "ok"
    assert dialog.after.target_label == "log(wage)"
    dialog.keep_new.click()
    qtbot.waitUntil(lambda: page.report.formula.startswith("log(wage) ~"), timeout=10_000)
    kept = page.report.formula
    screenshot(window, "formula_check_after_log")

    # the Train wizard starts from the kept formula
    window.go_to("Train")
    train_page = window.page("Train")
    train_page.open_wizard()
    wizard = train_page.last_wizard
    wait_jobs(qtbot, window)
    assert wizard.formula.text() == kept
    spec = wizard.spec()
    assert spec.formula == kept and spec.features is None and spec.target == "wage"
    wizard.setCurrentId(wizard.pageIds()[2])
    screenshot(wizard, "formula_train_wizard")
    wizard.reject()


def test_keeping_the_old_formula_changes_nothing(window, wage_check, qtbot):
    page = wage_check
    _run(page, window, qtbot, SQUARED)
    stored = page.report.id
    dialog = _apply(page, window, qtbot, "vif", "formula_before_after_kept_old")
    dialog.keep_old.click()
    assert page.report.formula == SQUARED and page.report.id == stored
    assert page.formula.text() == SQUARED


def test_the_formula_field_completes_column_names(window, wage_check, qtbot):
    page = wage_check
    edit = page.formula
    edit.setFocus()
    edit.clear()
    qtbot.keyClicks(edit, "log(wage) ~ educ")
    assert edit.current_word() == "educ"
    assert edit.completer_.currentCompletion() == "education"
    edit.insert_completion(edit.completer_.currentCompletion())
    assert edit.text() == "log(wage) ~ education"
    qtbot.keyClicks(edit, " + po")
    assert edit.completer_.currentCompletion() == "poly("
