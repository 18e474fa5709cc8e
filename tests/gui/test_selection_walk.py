"""Results belong to what is selected, and stored results reopen: a walk through the
pages as a new analyst would take it (issue 20), offscreen and in-process.

1. The sample project opens on its stored results: a validated model's validation,
   the check run of its target and its drift report, nothing recomputed.
2. Validate: a new workspace whose model has the sample's very name shows nothing of
   the sample's validation; v1 and v2 each show their own; a validation started for
   v1 does not paint v2's page; after a restart the stored validation opens at once.
3. Train: a new run is selected when it ends, and "Validate this model →" opens it.
4. Monitor: the headline follows the selected batch; "Clear batches" clears; a stored
   comparison opens again; another reference shows none of it; a comparison started
   for one reference does not paint another's page.
5. Workspace: the latest activity follows every change without F5.
6. Check: the last stored run of a dataset and target opens again after a restart.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from mlops_desktop.core.train import TrainSpec

from .conftest import screenshot, wait_jobs
from .test_welcome import first_window  # noqa: F401  (the main window of a first start)

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"


def _open_window(qtbot, tmp_path: Path, workspace: Path, name: str):
    """Another start of the app on ``workspace``: a new window, state and settings."""
    from PySide6.QtCore import QSettings

    from mlops_desktop.gui.main_window import MainWindow
    from mlops_desktop.gui.state import AppState, Preferences

    settings = QSettings(str(tmp_path / f"{name}.ini"), QSettings.Format.IniFormat)
    win = MainWindow(AppState(Preferences(settings)))
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    win.open_startup_workspace(str(workspace))
    return win


def _close(win) -> None:
    win.runner.cancel_all()
    win.runner.wait(30_000)
    win.state.close()


def _train(qtbot, win, **spec):
    job = win.page("Train").start_training(TrainSpec(dataset="penguins", target="species", cv_folds=2, **spec))
    assert job is not None
    wait_jobs(qtbot, win, timeout_s=180)
    result = win.page("Train").last_result
    assert result is not None and result.status == "succeeded"
    return f"{result.model}:{result.version}"


def _choose(combo, data) -> None:
    """Choose the item holding ``data`` (compared by value: Qt finds Python tuples by identity)."""
    found = [i for i in range(combo.count()) if combo.itemData(i) == data]
    assert found, (data, [combo.itemData(i) for i in range(combo.count())])
    combo.setCurrentIndex(found[0])


def _validations(ws, ref: str) -> list[int]:
    from mlops_desktop.core.store.stages import validations_of
    from mlops_desktop.core.train import find_version

    return [v["id"] for v in validations_of(ws.registry, find_version(ws, ref).id)]


def test_results_follow_the_selection_and_stored_results_reopen(first_window, qtbot, tmp_path):  # noqa: F811
    win = first_window

    # 1. the sample project: built once, then every page opens on what it stored
    win.welcome.sample_button.click()
    wait_jobs(qtbot, win, timeout_s=180)
    sample = win.state.workspace
    assert sample is not None
    win.go_to("Validate")
    validate = win.page("Validate")
    assert win.runner.jobs == []  # reopening starts no job: the stored validation is read
    sample_ref = validate.model_combo.currentData()
    assert validate.result is not None and validate.result.ref == sample_ref
    assert "Validated on" in validate.verdict.text() and validate.run_button.text() == "Run again"
    assert "<b>validated</b>" in validate.stage_label.text()
    assert validate.metrics.rowCount() == len(validate.result.report.metrics) > 0
    assert validate.card_button.isEnabled()
    screenshot(win, "selection_1_sample_validate")

    win.go_to("Check")
    check = win.page("Check")
    assert check.report is not None and check.report.target == "species"
    assert "Checked on" in check.status.text() and check.run_button.text() == "Run again"
    assert check.table.rowCount() == len(check.report.checks)
    screenshot(win, "selection_1_sample_check")

    win.go_to("Monitor")
    monitor = win.page("Monitor")
    assert monitor.reference.currentData() == ("model", sample_ref)
    assert monitor.stored_list.count() == 1 and monitor.stored_list.currentRow() == 0
    assert monitor.run is not None and monitor.run.reports[0].verdict == "drift"
    assert "Biscoe island only: drift" in monitor.summary.text()
    assert monitor.features.rowCount() >= len(monitor.run.reports[0].features)
    screenshot(win, "selection_1_sample_monitor")

    # 2a. a new workspace, and a model there with the sample's very name: nothing of the
    # sample's validation shows, and no model card of it can be saved
    win.go_to("Validate")
    win.state.open_workspace(tmp_path / "mine", create=True)
    assert validate.result is None and validate.metrics.rowCount() == 0
    assert not validate.card_button.isEnabled()
    win.page("Data").start_import(str(SAMPLES / "penguins.csv"), None, None)
    wait_jobs(qtbot, win)
    ws = win.state.workspace
    ref1 = _train(qtbot, win, models=["logistic"])
    assert ref1 == sample_ref  # the same name in another workspace
    assert validate.model_combo.currentData() == ref1
    assert validate.result is None and validate.metrics.rowCount() == 0
    assert not validate.card_button.isEnabled() and validate.run_button.text() == "Validate"
    assert "has no validation yet" in validate.verdict.text()
    assert all(not chart.getPlotItem().listDataItems() for chart in (validate.chart_a, validate.importance))
    screenshot(win, "selection_2_new_workspace_validate")

    # 3. Train: with run 1 selected, a new run ends selected, and Validate opens its version
    win.go_to("Train")
    train = win.page("Train")
    train.runs_table.setCurrentCell(0, 0)
    assert train.selected_run().model + f":{train.selected_run().version}" == ref1
    ref2 = _train(qtbot, win, models=["tree"])
    assert ref2.endswith(":2") and train.selected_run().id == train.last_result.run_id
    assert f"{train.selected_run().model}:{train.selected_run().version}" == ref2
    screenshot(win, "selection_3_train_new_run_selected")
    train.validate_button.click()
    assert win.stack.currentWidget() is validate and validate.model_combo.currentData() == ref2
    assert validate.result is None

    # 2b. v1 and v2 each show their own validation
    _choose(validate.model_combo, ref1)
    validate.run_validation()
    wait_jobs(qtbot, win, timeout_s=180)
    assert validate.result is not None and validate.result.ref == ref1
    v1_validation = validate.result.validation_id
    _choose(validate.model_combo, ref2)
    assert validate.result is None and validate.metrics.rowCount() == 0
    assert ref2 in validate.verdict.text() and "no validation yet" in validate.verdict.text()
    screenshot(win, "selection_2_v2_has_none")
    _choose(validate.model_combo, ref1)
    assert validate.result.validation_id == v1_validation and win.runner.jobs == []

    # 2c. a validation started for v1 that ends while v2 shows does not paint v2's page
    validate.run_validation()
    _choose(validate.model_combo, ref2)
    wait_jobs(qtbot, win, timeout_s=180)
    assert validate.model_combo.currentData() == ref2 and validate.result is None
    assert validate.metrics.rowCount() == 0 and "Validating" not in validate.verdict.text()
    assert len(_validations(ws, ref1)) == 2  # it ran and was stored
    _choose(validate.model_combo, ref1)
    assert validate.result.validation_id == max(_validations(ws, ref1)) > v1_validation
    screenshot(win, "selection_2_v1_latest")

    # 4. Monitor: two batches against the dataset, one drifting, one not
    frame = pd.read_csv(SAMPLES / "penguins.csv")
    biscoe, mixed = tmp_path / "biscoe.csv", tmp_path / "mixed.csv"
    frame[frame["island"] == "Biscoe"].to_csv(biscoe, index=False)
    frame.sample(frac=0.5, random_state=1).to_csv(mixed, index=False)
    win.go_to("Monitor")
    _choose(monitor.reference, ("dataset", ws.dataset("penguins").id))
    assert monitor.run is None and monitor.stored_list.count() == 0  # nothing of the sample's
    assert monitor.features.rowCount() == 0
    monitor.accept_dropped_file(str(biscoe))
    monitor.accept_dropped_file(str(mixed))
    monitor.compare()
    wait_jobs(qtbot, win, timeout_s=180)
    run = monitor.run
    assert run is not None and [r.label for r in run.reports] == ["biscoe.csv", "mixed.csv"]
    assert [r.verdict for r in run.reports] == ["drift", "no drift"]
    for row, report in enumerate(run.reports):
        monitor.batch_list.setCurrentRow(row)
        headline = monitor.summary.text()
        assert f"{report.label}: {report.verdict}</b>" in headline and report.summary in headline
        other = run.reports[1 - row]
        assert other.summary not in headline
        assert "1 of 2 batches drifted" in headline
        names = {monitor.features.item(r, 0).text() for r in range(monitor.features.rowCount())}
        assert names == {f.name for f in report.features} | ({report.target.name} if report.target else set())
        screenshot(win, f"selection_4_monitor_batch_{report.label}")
    win.state.models_changed.emit("")  # the page re-reads the workspace: its choices stay
    assert monitor.reference.currentData() == ("dataset", ws.dataset("penguins").id)
    assert monitor.run is not None and monitor.run.series_id == run.series_id
    monitor.clear_batches()
    assert monitor.run is None and monitor.features.rowCount() == 0 and monitor.batch_list.count() == 0
    assert not monitor.report_button.isEnabled() and "No comparison shown" in monitor.summary.text()
    assert "none yet" in monitor.batches_label.text()
    screenshot(win, "selection_4_monitor_cleared")
    monitor.stored_list.setCurrentRow(0)  # the stored comparison opens again as it was
    assert monitor.run is not None and monitor.run.series_id == run.series_id
    assert [r.to_dict() for r in monitor.run.reports] == [r.to_dict() for r in run.reports]
    _choose(monitor.reference, ("model", ref1))
    assert monitor.run is None and monitor.stored_list.count() == 0 and monitor.features.rowCount() == 0
    # a comparison started against the dataset that ends while the model is chosen stays off it
    _choose(monitor.reference, ("dataset", ws.dataset("penguins").id))
    monitor.add_batch("file", str(mixed))
    monitor.compare()
    _choose(monitor.reference, ("model", ref1))
    wait_jobs(qtbot, win, timeout_s=180)
    assert monitor.run is None and monitor.stored_list.count() == 0
    _choose(monitor.reference, ("dataset", ws.dataset("penguins").id))
    assert monitor.stored_list.count() == 2  # stored, and listed under its own reference

    # 5. Workspace: the latest activity follows changes made anywhere, without F5
    win.go_to("Workspace")
    activity = win.page("Workspace").activity
    assert "Drift report" in activity.item(0, 2).text()
    win.go_to("Data")
    win.page("Data").change_column("island", role="ignore")
    win.go_to("Workspace")
    assert "island" in activity.item(0, 2).text()
    ws.update_column("penguins", "island", role="feature", actor="someone else")  # no signal at all
    qtbot.waitUntil(lambda: activity.item(0, 1).text() == "someone else", timeout=10_000)
    train.start_training(TrainSpec(dataset="penguins", target="species", models=["logistic"], cv_folds=2))
    wait_jobs(qtbot, win, timeout_s=180)  # ends while the Workspace page shows
    assert activity.item(0, 2).text() == ws.audit_entries(limit=1)[0].summary
    screenshot(win, "selection_5_workspace_activity")

    # 6. after a restart: the stored validation and check run open at once
    root = ws.root
    win.go_to("Check")
    check.run_button.click()
    wait_jobs(qtbot, win, timeout_s=180)
    stored_check = check.report
    assert stored_check is not None and stored_check.id is not None and stored_check.target == "species"
    _close(win)
    again = _open_window(qtbot, tmp_path, root, "restart")
    try:
        again.go_to("Validate")
        page = again.page("Validate")
        _choose(page.model_combo, ref1)
        started = time.perf_counter()
        _choose(page.model_combo, ref2)
        _choose(page.model_combo, ref1)
        took = time.perf_counter() - started
        assert again.runner.jobs == [] and page.result.validation_id == max(_validations(again.state.workspace, ref1))
        print(f"reopening a stored validation (twice, with the version switch): {took * 1000:.0f} ms")
        screenshot(again, "selection_6_restart_validate")
        again.go_to("Check")
        page = again.page("Check")
        assert page.report is not None and page.report.id == stored_check.id
        assert page.report.to_dict() == stored_check.to_dict()
        screenshot(again, "selection_6_restart_check")
        again.go_to("Monitor")
        page = again.page("Monitor")
        _choose(page.reference, ("dataset", 1))
        assert page.stored_list.count() == 2 and page.run is not None
        screenshot(again, "selection_6_restart_monitor")
    finally:
        _close(again)
