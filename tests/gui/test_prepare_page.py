"""Preparing data in the GUI (issue 21): a diamonds-like file prepared on the Data page's
Prepare tab (typos recoded, zeros to missing, ordinal grades, a log price, a filter),
each step in words with its effect and a live preview, undo and redo, a step that
cannot be applied shown in red; Apply makes a new dataset in the background; Explore's
alerts offer the step that addresses them and draws the ordered grades in their
order; then the dataset is trained and exported, and the package scores the raw file
with the app's predictions and rejects the rows outside the filter with the reason."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from diamonds import CUTS, RECIPE, write

from .conftest import message_boxes, screenshot, wait_jobs


@pytest.fixture
def diamonds_window(window, qtbot, tmp_path):
    raw = write(tmp_path / "diamonds.csv", n=3000)
    window.page("Data").start_import(str(raw), None, "diamonds")
    wait_jobs(qtbot, window)
    window.state.workspace.update_column("diamonds", "price", role="target", actor="tester")
    window.state.datasets_changed.emit(-1)
    return window, raw


def _panel(window):
    page = window.page("Data")
    page.tabs.setCurrentWidget(page.prepare_panel)
    return page, page.prepare_panel


def _settled(qtbot, window, panel) -> None:
    wait_jobs(qtbot, window)
    qtbot.waitUntil(lambda: panel.selection.result is not None, timeout=20_000)


def test_a_recipe_is_built_in_words_previewed_undone_and_applied(diamonds_window, qtbot, tmp_path):
    window, raw = diamonds_window
    window.go_to("Data")
    page, panel = _panel(window)
    assert panel.dataset_id == window.state.workspace.dataset("diamonds").id
    assert "is an import" in panel.origin.text()
    for words in RECIPE:
        panel.step_edit.setText(words)
        assert panel.feedback.text() == f"Reads as: {words}"
        panel.add_step()
    assert panel.recipe.describe() == RECIPE and panel.steps.count() == len(RECIPE)
    _settled(qtbot, window, panel)
    source = pd.read_csv(raw)
    kept = int((source.carat <= 2.5).sum())
    filter_item = panel.steps.item(len(RECIPE) - 1).text()
    assert f"keeps {kept:,} of 3,000 rows" in filter_item
    assert "2 values set" in panel.steps.item(1).text()  # x == 0 in two rows
    panel.steps.setCurrentRow(1)
    _settled(qtbot, window, panel)
    assert panel.preview_title.text() == "Step 2: replace x == 0 with missing"
    assert panel.changed.rowCount() == 2 and panel.changed.horizontalHeaderItem(0).text() == "x (before)"
    screenshot(window, "prepare_recipe")

    # undo and redo, by the buttons and by Edit → Undo (the page's own stack)
    panel.step_edit.setText("derive depth_share = depth / 100")
    panel.add_step()
    assert len(panel.recipe) == len(RECIPE) + 1
    window.undo_action.trigger()
    assert panel.recipe.describe() == RECIPE
    panel.redo_button.click()
    assert panel.recipe.describe()[-1] == "derive depth_share = depth / 100"
    panel.steps.setCurrentRow(len(RECIPE))
    panel.remove_button.click()
    assert panel.recipe.describe() == RECIPE

    # words that cannot be read, and a step that cannot be applied, say so
    panel.step_edit.setText("derive lp = log(cut)")
    assert panel.feedback.text() == "Reads as: derive lp = log(cut)"
    panel.add_step()
    _settled(qtbot, window, panel)
    bad = panel.steps.item(len(RECIPE))
    assert "cannot be applied: log() needs numbers, not text" in bad.text()
    assert bad.foreground().color().name() == "#b3261e"
    screenshot(window, "prepare_step_error")
    panel.undo_stack.undo()
    panel.step_edit.setText("filter carat <")
    assert "cannot be read" in panel.feedback.text() and not panel.add_button.isEnabled()
    panel.step_edit.setText("filter __import__('os')")
    assert "__" in panel.feedback.text() and not panel.add_button.isEnabled()
    assert not message_boxes()

    # Apply: a new dataset, selected, whose lineage names the parent and the recipe
    panel.name_edit.setText("diamonds ready")
    panel.apply()
    wait_jobs(qtbot, window)
    ws = window.state.workspace
    made = ws.dataset("diamonds ready")
    assert made.n_rows == kept and page.current_id == made.id
    assert "was prepared from diamonds by a recipe of 9 steps" in panel.origin.text()
    assert panel.edit_origin.isVisible()
    page.tabs.setCurrentIndex(2)
    history = [page.history.item(r, 2).text() for r in range(page.history.rowCount())]
    assert any("Prepared 'diamonds ready' from 'diamonds'" in h for h in history)
    details = {page.details_form.itemAt(r, page.details_form.ItemRole.LabelRole).widget().text():
               page.details_form.itemAt(r, page.details_form.ItemRole.FieldRole).widget().text()
               for r in range(page.details_form.rowCount())}
    assert details["Prepared from:"] == "diamonds (dataset 1)"
    assert details["Recipe (9 steps):"].splitlines() == [f"{i}. {s}" for i, s in enumerate(RECIPE, start=1)]
    screenshot(window, "prepare_applied")
    page.tabs.setCurrentWidget(panel)

    # the model follows the recipe: train, approve, export, score the raw file
    from mlops_desktop.core.export import export_version
    from mlops_desktop.core.train import TrainSpec, load_model, train
    from export_helpers import approve

    features = ["carat", "cut", "color", "clarity", "depth", "table", "x", "y", "z"]
    done = train(ws, TrainSpec(dataset="diamonds ready", target="log_price", features=features, models=["tree"],
                               model_name="price"), actor="ann")
    approve(ws, f"price:{done.version}")
    package = export_version(ws, f"price:{done.version}", tmp_path / "pkg", actor="carl").path
    out = tmp_path / "scored.csv"
    run = subprocess.run([sys.executable, str(package / "score.py"), str(raw), "-o", str(out)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stderr
    app = load_model(ws, f"price:{done.version}").predict(ws.load_table(made).to_pandas()[features])
    scored = pd.read_csv(out)
    assert np.allclose(scored.prediction, app, rtol=0, atol=1e-12)
    rejects = pd.read_csv(tmp_path / "scored.rejects.csv")
    assert len(rejects) == 3000 - kept
    assert set(rejects.reason) == {"carat above 2.5: the model was trained on carat ≤ 2.5"}
    assert json.loads(run.stdout)["rows_out_of_scope"] == 3000 - kept


def test_explore_offers_the_step_that_addresses_an_alert(diamonds_window, qtbot):
    window, _ = diamonds_window
    window.go_to("Explore")
    explore = window.page("Explore")
    qtbot.waitUntil(lambda: explore.profile is not None, timeout=30_000)
    wait_jobs(qtbot, window)
    row = next(i for i, a in enumerate(explore.profile.alerts) if a.kind == "zeros_in_positive")
    explore.alerts.setCurrentCell(row, 2)
    alert = explore.profile.alerts[row]
    assert explore.step_offer.button.isEnabled()
    assert explore.step_offer.note.text() == f"A step that addresses it: replace {alert.columns[0]} == 0 with missing"
    screenshot(window, "explore_offers_a_step")
    explore.step_offer.button.click()
    page, panel = window.page("Data"), window.page("Data").prepare_panel
    assert window.current_page() is page and page.tabs.currentWidget() is panel
    assert panel.recipe.describe() == [f"replace {alert.columns[0]} == 0 with missing"]
    _settled(qtbot, window, panel)
    window.undo_action.trigger()  # the offered step is an edit like any other
    assert len(panel.recipe) == 0


def test_ordered_grades_are_drawn_in_their_order(diamonds_window, qtbot):
    window, _ = diamonds_window
    page, panel = _panel(window)
    panel.add_step("recode cut: Goood -> Good, Premum -> Premium")
    panel.add_step("order cut: Fair < Good < Very Good < Premium < Ideal")
    panel.name_edit.setText("ordered")
    panel.apply()
    wait_jobs(qtbot, window)
    window.go_to("Explore")
    explore = window.page("Explore")
    explore.picker.select(window.state.workspace.dataset("ordered").id)
    qtbot.waitUntil(lambda: explore.profile is not None and explore.profile.dataset.get("name") == "ordered",
                    timeout=30_000)
    wait_jobs(qtbot, window)
    explore._jump_to("cut")
    col = explore.profile.column("cut")
    assert col.chart["labels"] == CUTS and col.chart["ordered"] and col.stats["order"] == CUTS
    assert explore.distribution.getPlotItem().titleLabel.text.startswith("cut in its order")
    qtbot.wait(300)  # the axis widens to its labels on the next paint
    screenshot(window, "explore_ordered_cut")


def test_the_check_page_offers_the_steps_that_act_on_its_advice(diamonds_window, qtbot):
    window, _ = diamonds_window
    window.go_to("Check")
    check = window.page("Check")
    qtbot.waitUntil(lambda: check.picker.target() == "price", timeout=10_000)
    check.run_button.click()
    wait_jobs(qtbot, window)
    qtbot.waitUntil(lambda: check.report is not None, timeout=30_000)
    row = next(i for i, c in enumerate(check.report.checks) if c.id == "rare_categories")
    check.table.setCurrentCell(row, 0)
    assert check.step_offer.isVisible()
    assert check.step_offer.note.text() == "Steps that act on it: recode cut: Goood -> Other, Premum -> Other"
    screenshot(window, "check_offers_a_step")
    ok = next(i for i, c in enumerate(check.report.checks) if c.verdict == "ok")
    check.table.setCurrentCell(ok, 0)
    assert not check.step_offer.isVisible()
    check.table.setCurrentCell(row, 0)
    check.step_offer.button.click()
    page, panel = window.page("Data"), window.page("Data").prepare_panel
    assert window.current_page() is page and page.tabs.currentWidget() is panel
    assert panel.recipe.describe() == ["recode cut: Goood -> Other, Premum -> Other"]
    _settled(qtbot, window, panel)
    assert "3 values set" in panel.steps.item(0).text()
