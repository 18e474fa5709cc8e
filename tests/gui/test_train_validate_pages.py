"""Train with the wizard, follow the run, validate the version: through the widgets."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from .conftest import screenshot, wait_jobs
from .pauses import RUNS, GapMeter, assert_responsive, machine_slowdown


@pytest.fixture
def trained(window, qtbot):
    window.page("Data").open_sample()
    wait_jobs(qtbot, window)
    window.state.workspace.update_column("penguins", "species", role="target", actor="tester")
    window.state.datasets_changed.emit(-1)
    window.go_to("Train")
    page = window.page("Train")
    page.open_wizard()
    wizard = page.last_wizard
    assert wizard.target_combo.currentText() == "species"
    # the target's values are read off the UI thread: the families follow when the task is known
    assert [wizard.models.item(i).text() for i in range(wizard.models.count())] == \
        ["Working out the task from the target's values…"]
    wait_jobs(qtbot, window)  # the task and the leak check are worked out in the background
    assert wizard.models.count() > 1 and "logistic" in [wizard.models.item(i).data(Qt.ItemDataRole.UserRole)
                                                         for i in range(wizard.models.count())]
    for i in range(wizard.models.count()):  # logistic regression and a tree
        item = wizard.models.item(i)
        wanted = item.data(Qt.ItemDataRole.UserRole) in ("logistic", "tree")
        item.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)
    wizard.next()
    wizard.next()
    screenshot(wizard, "train_wizard_features")
    while wizard.currentId() != wizard.pageIds()[-1]:
        wizard.next()
    assert "Logistic regression" in dict((r[0], r[1]) for r in wizard.review_rows())["Models"]
    screenshot(wizard, "train_wizard_review")
    wizard.accept()
    wait_jobs(qtbot, window, timeout_s=120)
    return window


def test_wizard_trains_and_registers_a_draft_version(trained):
    page = trained.page("Train")
    result = page.last_result
    assert result is not None and result.status == "succeeded"
    assert result.model and result.version == 1 and result.stage == "draft"
    assert page.runs_table.rowCount() == 1
    families = [page.board.item(r, 0).text() for r in range(page.board.rowCount())]
    assert len(families) == 3  # two candidates and the baseline
    screenshot(trained, "train_page")


def test_validate_page_shows_metrics_against_the_baseline(trained, qtbot):
    trained.page("Train")._go_validate()
    page = trained.page("Validate")
    assert trained.stack.currentWidget() is page
    assert page.model_combo.currentData().endswith(":1")
    page.subgroup.setCurrentText("island")
    page.run_validation()
    wait_jobs(qtbot, trained, timeout_s=120)
    assert page.result is not None and page.result.report.task == "multiclass"
    assert page.metrics.rowCount() == len(page.result.report.metrics)
    assert "the baseline" in page.verdict.text()
    screenshot(trained, "validate_metrics")
    for i, name in enumerate(["curves", "calibration", "confusion", "subgroups", "importance"]):
        page.tabs.setCurrentIndex(i)
        screenshot(trained, f"validate_{name}")
    page.tabs.setCurrentIndex(5)
    assert page.pdp_feature.count() > 0
    screenshot(trained, "validate_partial_dependence")
    page.tabs.setCurrentIndex(7)
    assert "Model card" in page.card.toPlainText()
    screenshot(trained, "validate_card")
    out = Path(trained.state.workspace.root) / "card.html"
    page.write_card(str(out))
    assert "<svg" in out.read_text() or "<table" in out.read_text()
    assert trained.state.workspace.audit_entries(limit=1)[0].action == "model.validated"
    assert page.stage_buttons["validated"].isEnabled() and not page.stage_buttons["approved"].isEnabled()
    page.set_stage("validated")
    assert "validated" in page.stage_label.text() and page.stage_buttons["approved"].isEnabled()
    page.set_stage("approved", comment="looks fine")  # the trainer approving: refused with a message
    from .conftest import message_boxes

    qtbot.waitUntil(lambda: len(message_boxes()) == 1, timeout=5_000)
    assert "four eyes" in message_boxes()[0].text()
    message_boxes()[0].close()
    trained.state.prefs.display_name = "Second Reviewer"
    page.set_stage("approved", comment="Checked the intervals and the subgroups.")
    assert "approved" in page.stage_label.text()
    screenshot(trained, "validate_approved")


def test_ui_stays_responsive_while_training(window, qtbot, tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(3)
    n = 10_000
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                          "c": rng.choice(list("pqrstu"), n), "d": rng.integers(0, 50, n)})
    frame["y"] = 2 * frame["a"] - frame["b"] + (frame["c"] == "p") + rng.normal(size=n)
    path = tmp_path / "synthetic.csv"
    frame.to_csv(path, index=False)
    window.page("Data").start_import(str(path), None, None)
    wait_jobs(qtbot, window)
    from mlops_desktop.core.train import TrainSpec

    pauses, slowdowns = [], []
    for run in range(RUNS):
        meter = GapMeter()
        meter.start()
        started = time.perf_counter()
        job = window.page("Train").start_training(TrainSpec(dataset="synthetic", target="y",
                                                            models=["random_forest", "hgb"], cv_folds=3))
        assert job is not None
        wait_jobs(qtbot, window, timeout_s=300)
        meter.stop()
        took = time.perf_counter() - started
        print(f"training {run + 1} took {took:.2f} s; longest UI pause {meter.max_gap_ms:.0f} ms")
        assert window.page("Train").last_result.status == "succeeded"
        assert took > 0.5 and meter.ticks > 20
        pauses.append(meter.max_gap_ms)
        slowdowns.append(machine_slowdown())
    assert_responsive(pauses, slowdowns)


def test_the_wizard_infers_the_task_the_run_trains_for(window, qtbot, tmp_path):
    """The wizard asks core how a run decides the task (train.prepare.training_task): a 0/1
    target with infinite values (rows a run leaves out) is binary in the wizard, as in the
    run, where counting its values as read would have made it three classes."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mlops_desktop.core.train import TrainSpec, find_version, train

    rng = np.random.default_rng(3)
    x = rng.normal(size=400)
    passed = (x + rng.normal(size=400) > 0).astype(float)
    passed[:5] = np.inf
    pq.write_table(pa.table({"x": x, "z": rng.normal(size=400), "passed": passed}), tmp_path / "exam.parquet")
    ws = window.state.workspace
    ws.import_file(tmp_path / "exam.parquet", name="exam", actor="tester")
    ws.update_column("exam", "passed", role="target", actor="tester")
    window.state.datasets_changed.emit(-1)
    window.go_to("Train")
    page = window.page("Train")
    page.open_wizard()
    wizard = page.last_wizard
    assert wizard.target_combo.currentText() == "passed"
    wait_jobs(qtbot, window)
    run = train(ws, TrainSpec(dataset="exam", target="passed", features=["x", "z"], models=["logistic"],
                              model_name="exam"), actor="tester")
    assert wizard.inferred_task[0] == find_version(ws, f"exam:{run.version}").task == "binary"
    assert "Binary classification, inferred" in dict(wizard.review_rows())["Task"]
    wizard.reject()
