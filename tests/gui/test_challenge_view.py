"""Issue 16 in the GUI: Retrain from the Registry and from a drift report, the Challenge view
(data, window, rule and margin; run as a job; the verdict, the figures and the segments),
approval with the verdict in front of the approver, promotion, roll back, and the
improved segments promoted one by one. Screenshots to look at."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QDate
from PySide6.QtWidgets import QDialog, QInputDialog, QMessageBox

from .conftest import screenshot, wait_jobs

FLIGHTS = Path(__file__).resolve().parents[1] / "data" / "flights_6000.csv"
FEATURES = ["dep_delay", "distance", "hour", "carrier", "origin"]


def plain(label) -> str:
    """What a rich-text label reads as."""
    from PySide6.QtGui import QTextDocument

    doc = QTextDocument()
    doc.setHtml(label.text())
    return doc.toPlainText()


@pytest.fixture
def registry(window, qtbot, tmp_path):
    """late:1 (one logistic model per origin, January to June) approved by bob and in
    production; the Registry page shown with late:1 selected."""
    from mlops_desktop.core.registry.lifecycle import change_stage, set_alias
    from mlops_desktop.core.train import SplitSpec, TrainSpec, train
    from mlops_desktop.core.validate.for_version import validate_version

    df = pd.read_csv(FLIGHTS)
    df["late"] = np.where(df["arr_delay"].isna(), None, np.where(df["arr_delay"] > 15, "yes", "no"))
    ws = window.state.workspace
    for name, months in (("early", range(1, 7)), ("later", range(7, 11)), ("all", range(1, 13))):
        df[df["month"].isin(months)].to_csv(tmp_path / f"{name}.csv", index=False)
        ws.import_file(tmp_path / f"{name}.csv", name=f"flights_{name}", actor="ann")
    train(ws, TrainSpec(dataset="flights_early", target="late", features=FEATURES, models=["logistic"],
                        split=SplitSpec("time", "time_hour", 0.2), segment_by="origin", cv_folds=3,
                        model_name="late"), actor="ann")
    validate_version(ws, "late:1", actor="ann", n_bootstrap=50)
    change_stage(ws, "late:1", "validated", actor="ann", override_reason="test model")
    change_stage(ws, "late:1", "approved", actor="bob", comment="first release")
    set_alias(ws, "late", "production", 1, actor="bob")
    window.state.prefs.display_name = "ann"
    window.state.models_changed.emit("late:1")
    window.go_to("Registry")
    page = window.page("Registry")
    page.select_ref("late:1")
    wait_jobs(qtbot, window)
    return page


def _retrain_dialog_choosing(monkeypatch, names: list[str], window_text: str | None = None) -> list[str]:
    """Make the Retrain dialog tick ``names`` (and the window) and accept, as a person would;
    returns the titles it was opened with."""
    from mlops_desktop.gui.retrain_dialog import RetrainDialog

    opened = []

    def exec_(dialog: RetrainDialog) -> int:
        opened.append(dialog.windowTitle())
        ids = [dialog.datasets.item(i).data(0x0100) for i in range(dialog.datasets.count())
               if dialog.datasets.item(i).text().split(" (")[0] in names]
        dialog.choose(ids, window_text)
        screenshot(dialog, "retrain_dialog")
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(RetrainDialog, "exec", exec_)
    return opened


def test_retrain_challenge_approve_promote_roll_back(registry, window, qtbot, monkeypatch):
    from mlops_desktop.core.registry.lifecycle import aliases_of, version_at

    page, ws = registry, window.state.workspace
    opened = _retrain_dialog_choosing(monkeypatch, ["flights_later"])
    page.buttons["retrain"].click()
    wait_jobs(qtbot, window, timeout_s=120)
    assert opened == ["Retrain late:1"]
    assert page.lineage.ref == "late:2"
    assert "From late:1, retrained on flights_later." in plain(page.detail_text)
    assert page.detail_title.text() == "late:2 — draft (challenger)"
    screenshot(window, "registry_retrained")

    # the Challenge view: data, rows, rule and margin; run as a job
    page.buttons["challenge"].click()
    view = page.challenge_view
    assert page.stack.currentWidget() is view and view.title.text() == "Challenge late:2 (draft)"
    assert view.against.currentData() == "production" and "late:1" in view.against.currentText()
    assert view.shown.currentText() == "none yet"
    view.data.setCurrentIndex(view.data.findText("flights_all"))
    view.window.setCurrentIndex(view.window.findData("since"))
    view.since.setDate(QDate(2013, 11, 1))
    view.rule.setCurrentIndex(view.rule.findData("non-inferiority"))
    assert not view.run_button.isEnabled() and "above 0" in view.declared.text()  # margin 0: refused before running
    view.margin.setValue(0.02)
    assert view.declared.text().startswith("Run challenge declares, and records before anything is scored: "
                                           "non-inferiority on ROC AUC")
    view.run_button.click()
    wait_jobs(qtbot, window, timeout_s=180)
    report = view.shown_report
    assert report is not None and report.rule == {"metric": "roc_auc", "rule": "non-inferiority", "margin": 0.02}
    assert report.holdout["window"] == {"kind": "since", "value": "2013-11-01"}
    assert report.sentence.partition(": ")[2] in plain(view.verdict)
    assert view.metrics.rowCount() == len(report.metrics) and view.segments.rowCount() == 3
    assert view.tabs.tabText(0) == "Per segment of origin"
    assert "McNemar's test" in plain(view.more) and "Production's calibration" in plain(view.more)
    assert "none of its" in plain(view.rows_text)
    assert not view.approve_button.isEnabled() and "validate it on the Validate page" in view.next_step.text()
    screenshot(window, "challenge_view")
    view.tabs.setCurrentIndex(1)
    screenshot(window, "challenge_view_calibration")
    view.tabs.setCurrentIndex(0)

    # a refusal is a message, and nothing is recorded
    view.since.setDate(QDate(2013, 8, 1))
    shown = []
    monkeypatch.setattr("mlops_desktop.gui.pages.challenge_view.show_error",
                        lambda parent, title, exc, tb=None: shown.append(str(exc)))
    view.run_button.click()
    wait_jobs(qtbot, window, timeout_s=60)
    assert shown and "not out of time for late:2" in shown[0]
    assert view.shown_report.challenge_id == report.challenge_id  # the decided one still shows

    # approval: a second person, with the verdict in front of them
    from mlops_desktop.core.registry.lifecycle import change_stage
    from mlops_desktop.core.validate.for_version import validate_version

    validate_version(ws, "late:2", actor="ann", n_bootstrap=50)
    change_stage(ws, "late:2", "validated", actor="ann", override_reason="test model")
    view.open_for("late:2")
    assert view.approve_button.isEnabled()
    prompts = []

    def answer(parent, title, prompt, text=""):
        prompts.append(prompt)
        return "Read the challenge: not worse on November and December.", True

    monkeypatch.setattr(QInputDialog, "getMultiLineText", staticmethod(answer))
    window.state.prefs.display_name = "bob"
    view.approve_button.click()
    assert report.sentence in prompts[0]
    assert view.title.text() == "Challenge late:2 (approved)" and view.promote_button.isEnabled()
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    view.promote_button.click()
    assert version_at(ws, "late", "production", "now")["ref"] == "late:2"
    assert {a["alias"] for a in aliases_of(ws, "late")} == {"production"}
    screenshot(window, "challenge_view_promoted")

    # roll back from the list: one recorded move, with a reason
    view.back.emit()
    qtbot.wait(50)
    assert page.stack.currentWidget() is page.splitter
    page.select_ref("late:2", force=True)
    wait_jobs(qtbot, window)
    assert page.buttons["rollback"].isEnabled()
    page.buttons["rollback"].click()
    assert version_at(ws, "late", "production", "now")["ref"] == "late:1"
    assert "rolled back" in prompts[-1] or "back from version 2 to version 1" in prompts[-1]
    wait_jobs(qtbot, window)
    page.tabs.setCurrentIndex(1)
    assert any("rolled back from version 2 to 1" in page.history.item(r, 2).text()
               for r in range(page.history.rowCount()))
    screenshot(window, "registry_rolled_back")

    # compare: the challenge's figures on the same rows, and its verdict
    page.tabs.setCurrentIndex(2)
    page.compare_with.setCurrentIndex(page.compare_with.findText("late:1"))
    wait_jobs(qtbot, window)
    aspects = [page.compare_table.item(r, 0).text() for r in range(page.compare_table.rowCount())]
    assert any(a.startswith(f"Challenge {report.challenge_id}: ROC AUC on the same") for a in aspects)
    assert report.sentence in page.compare_notes.text()
    screenshot(window, "registry_compare_challenge")


def test_improved_segments_only_and_retrain_from_a_drift_report(registry, window, qtbot, monkeypatch, tmp_path):
    from mlops_desktop.core.challenge import challenge, retrain
    from mlops_desktop.core.registry.lifecycle import version_at

    ws = window.state.workspace
    delayed = pd.read_csv(ws.dataset("flights_later").source_path)
    delayed["dep_delay"] = delayed["dep_delay"] + 60  # a strike: every flight an hour late
    delayed.to_csv(tmp_path / "delayed.csv", index=False)
    retrain(ws, "late:1", ["flights_later"], actor="ann")
    challenge(ws, "late:2", on="flights_all", holdout="since:2013-11-01", rule="non-inferiority", margin=0.02,
              n_bootstrap=200, actor="ann")
    window.state.models_changed.emit("late:2")
    page = registry
    page.open_challenge("late:2")
    view = page.challenge_view
    report = view.shown_report
    assert report.improved_segments and view.segments_button.isEnabled()
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    view.segments_button.click()
    wait_jobs(qtbot, window, timeout_s=120)
    assert view.ref == "late:3" and version_at(ws, "late", "challenger", "now")["ref"] == "late:3"
    view.back.emit()
    page.select_ref("late:3", force=True)
    wait_jobs(qtbot, window)
    assert "From late:2:" in plain(page.detail_text)
    screenshot(window, "registry_segments_promoted")

    # the Monitor page: a drifted batch of a model offers Retrain
    window.go_to("Monitor")
    monitor = window.page("Monitor")
    from mlops_desktop.gui.page_parts import find_data

    monitor.reference.setCurrentIndex(find_data(monitor.reference, ("model", "late:1")))
    monitor.add_batch("dataset", ws.dataset("flights_later").id)
    monitor.add_batch("file", str(tmp_path / "delayed.csv"))
    monitor.compare()
    wait_jobs(qtbot, window, timeout_s=180)
    monitor.batch_list.setCurrentRow(0)
    assert not monitor.current_report().drifted and not monitor.retrain_button.isEnabled()
    monitor.batch_list.setCurrentRow(1)
    report = monitor.current_report()
    assert report.drifted and "consider retraining" in report.summary and monitor.retrain_button.isEnabled()
    screenshot(window, "monitor_retrain_offered")
    opened = _retrain_dialog_choosing(monkeypatch, ["flights_later"], "since:2013-08-01")
    monitor.retrain_button.click()
    wait_jobs(qtbot, window, timeout_s=120)
    assert opened == ["Retrain late:1"]
    assert window.current_page() is page and page.lineage.ref == "late:4"
    assert "since:2013-08-01" in plain(page.detail_text)
