"""The training wizard remembers the last choices per dataset, reviews every setting by
name, ranks by the metric the analyst chooses, and undoes its steps (issue 20, desktop
habits)."""

from __future__ import annotations

import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from .conftest import screenshot, wait_jobs


def open_wizard(window, qtbot, dataset_id=None):
    page = window.page("Train")
    window.state.current_dataset = dataset_id if dataset_id is not None else window.state.current_dataset
    page.open_wizard()
    wizard = page.last_wizard
    wait_jobs(qtbot, window)  # the task and the leak check are worked out in the background
    return wizard


def ticks(widget) -> dict[str, bool]:
    return {widget.item(i).data(Qt.ItemDataRole.UserRole): widget.item(i).checkState() == Qt.CheckState.Checked
            for i in range(widget.count())}


def tick(widget, name: str, on: bool) -> None:
    for i in range(widget.count()):
        if widget.item(i).data(Qt.ItemDataRole.UserRole) == name:
            widget.item(i).setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)


def review(wizard) -> dict[str, str]:
    wizard.show_review()
    return {r[0]: r[1] for r in wizard.review_rows()}


def test_the_wizard_remembers_the_last_choices_per_dataset(window, qtbot, penguins_csv, tmp_path):
    ws = window.state.workspace
    first = ws.import_file(penguins_csv, actor="ann").dataset
    window.state.datasets_changed.emit(first.id)
    window.go_to("Train")
    wizard = open_wizard(window, qtbot, first.id)
    wizard.target_combo.setCurrentText("body_mass_g")
    wait_jobs(qtbot, window)
    tick(wizard.features, "year", False)
    wizard.split_combo.setCurrentIndex(wizard.split_combo.findData("random"))
    wizard.test_size.setValue(0.3)
    for name in ticks(wizard.models):
        tick(wizard.models, name, name in ("ols", "ridge"))
    wizard.ranking.setCurrentIndex(wizard.ranking.findData("mae"))
    wizard.seed.setValue(7)
    wizard.model_name.setText("mass")
    shown = review(wizard)
    assert shown["Dataset"] == "penguins (344 rows × 8 columns)"  # a name, not an id
    assert shown["Target"] == "body_mass_g" and "Regression, inferred" in shown["Task"]
    assert shown["Left out (1)"] == "year (unticked by you)"
    assert shown["Split"] == "Random; holdout 30% of the rows"
    assert shown["Models"] == "Ordinary least squares, Ridge regression, the baseline (always)"
    assert shown["Ranked by"] == "MAE, cross-validated mean" and shown["Seed"] == "7"
    for setting in ("Missing numbers", "Categories", "Scaling", "Rare categories", "Least-squares standard errors",
                    "Cross-validation", "Search", "Segmentation", "Model name"):
        assert shown[setting], setting
    while wizard.currentId() != wizard.pageIds()[-1]:
        wizard.next()
    screenshot(wizard, "habits_wizard_review")
    wizard.accept()
    wait_jobs(qtbot, window, timeout_s=120)
    result = window.page("Train").last_result
    assert result.ranking_metric == "mae" and result.model == "mass"

    again = open_wizard(window, qtbot, first.id)  # the same dataset: the same choices
    assert again.target_combo.currentText() == "body_mass_g"
    assert ticks(again.features)["year"] is False and ticks(again.features)["sex"] is True
    assert again.split_combo.currentData() == "random" and again.test_size.value() == 0.3
    assert [m for m, on in ticks(again.models).items() if on] == ["ols", "ridge"]
    assert again.ranking.currentData() == "mae" and again.seed.value() == 7
    assert again.model_name.text() == "mass"
    assert not again.undo_stack.canUndo()  # restoring is not a step to undo
    assert "last training run on this data" in again.memory_note.text()
    screenshot(again, "habits_wizard_remembered")
    again.next()
    again.next()
    screenshot(again, "habits_wizard_remembered_features")
    again.reject()

    # the same data imported again has the same fingerprint: remembered too; other data is not
    copy = ws.import_file(penguins_csv, name="penguins again", actor="ann").dataset
    other_csv = tmp_path / "cars.csv"
    pd.DataFrame({"speed": range(60), "dist": [2 * x + (x % 7) for x in range(60)]}).to_csv(other_csv, index=False)
    other = ws.import_file(other_csv, actor="ann").dataset
    window.state.datasets_changed.emit(-1)
    same = open_wizard(window, qtbot, copy.id)
    assert same.target_combo.currentText() == "body_mass_g" and same.ranking.currentData() == "mae"
    same.reject()
    fresh = open_wizard(window, qtbot, other.id)
    assert fresh.memory_note.text() == ""
    assert fresh.seed.value() == 42 and fresh.test_size.value() == 0.2 and fresh.split_combo.currentData() == "auto"
    fresh.reject()


def test_wizard_choices_undo_and_redo(window, qtbot, penguins_csv):
    ws = window.state.workspace
    ds = ws.import_file(penguins_csv, actor="ann").dataset
    window.state.datasets_changed.emit(ds.id)
    window.go_to("Train")
    wizard = open_wizard(window, qtbot, ds.id)
    undo = wizard.button(wizard.WizardButton.CustomButton1)
    redo = wizard.button(wizard.WizardButton.CustomButton2)
    assert not undo.isEnabled() and not redo.isEnabled()
    assert wizard.target_combo.currentText() == "species"  # the first column a model can predict
    wizard.test_size.setValue(0.25)
    wizard.test_size.setValue(0.3)  # one step: consecutive changes of a number merge
    tick(wizard.features, "year", False)
    wizard.target_combo.setCurrentText("body_mass_g")
    wait_jobs(qtbot, window)
    assert wizard.undo_stack.count() == 3 and undo.toolTip() == "Undo Target: body_mass_g"
    assert "MAE" in [wizard.ranking.itemText(i) for i in range(wizard.ranking.count())]
    undo.click()
    assert wizard.target_combo.currentText() == "species"
    wait_jobs(qtbot, window)
    assert ticks(wizard.features)["year"] is False  # the ticks made for that target come back with it
    wizard.activateWindow()
    qtbot.waitUntil(wizard.isActiveWindow, timeout=2000)
    QTest.keyClick(wizard, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert ticks(wizard.features)["year"] is True
    undo.click()
    assert wizard.test_size.value() == 0.2 and not undo.isEnabled()
    screenshot(wizard, "habits_wizard_undone")
    QTest.keyClick(wizard, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert wizard.test_size.value() == 0.3
    redo.click()
    assert ticks(wizard.features)["year"] is False
    redo.click()
    wait_jobs(qtbot, window)
    assert wizard.target_combo.currentText() == "body_mass_g" and "MAE" in [
        wizard.ranking.itemText(i) for i in range(wizard.ranking.count())]
    wizard.reject()


def test_a_suspected_leak_stays_unticked_whatever_was_remembered(window, qtbot, tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    y = rng.normal(size=400)
    frame = pd.DataFrame({"x": rng.normal(size=400), "copy_of_y": y + rng.normal(scale=1e-3, size=400), "y": y})
    path = tmp_path / "leaky.csv"
    frame.to_csv(path, index=False)
    ws = window.state.workspace
    ds = ws.import_file(path, actor="ann").dataset
    window.state.prefs.remember_wizard_choices(ds.fingerprint, {"target": "y", "features": {"x": True, "copy_of_y": True}})
    window.state.datasets_changed.emit(ds.id)
    window.go_to("Train")
    wizard = open_wizard(window, qtbot, ds.id)
    assert wizard.target_combo.currentText() == "y"
    assert ticks(wizard.features) == {"x": True, "copy_of_y": False}
    assert "copy_of_y" in wizard.leak_status.text()
    wizard.reject()
