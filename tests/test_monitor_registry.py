"""Drift reports in the registry (migration 5): stored with the reference, the batch's
fingerprint, thresholds and results, audited in the same transaction; thresholds
overridden per workspace and per model."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest

from conftest import DATA
from mlops_desktop.core.errors import MlopsError
from mlops_desktop.core.monitor import (DriftError, Reference, batch_from_dataset, batch_from_file, drift_reports,
                                        effective_thresholds, load_report, reset_thresholds, run_drift,
                                        set_thresholds, split_batch, threshold_layers)
from mlops_desktop.core.store import migrations


@pytest.fixture
def halves(workspace, tmp_path):
    df = pd.read_csv(DATA / "flights_6000.csv")
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    df[df.month <= 6].to_csv(first, index=False)
    df[df.month > 6].to_csv(second, index=False)
    workspace.import_file(first, name="first half", actor="tester")
    workspace.import_file(second, name="second half", actor="tester")
    return workspace, first, second


def test_migration_5_creates_the_tables(workspace):
    assert 5 in [v for v, _, _ in migrations.MIGRATIONS]
    assert {"drift_reports", "drift_thresholds"} <= set(workspace.registry.db.table_names())


def test_a_report_is_stored_with_its_audit_entry(halves):
    ws, _, second = halves
    reference = Reference.from_dataset(ws, "first half")
    batch = batch_from_file(second)
    run = run_drift(ws, reference, [batch], actor="analyst")
    report = run.reports[0]
    assert report.id is not None and report.created_by == "analyst" and run.drifted

    [row] = drift_reports(ws, dataset="first half")
    ref_ds, batch_ds = ws.dataset("first half"), ws.dataset("second half")
    assert row.id == report.id and row.reference_type == "dataset"
    assert row.reference_dataset_id == ref_ds.id and row.reference_fingerprint == ref_ds.fingerprint
    assert row.batch_fingerprint == batch_ds.fingerprint  # the file's data, as its import fingerprints it
    assert row.batch_label == "second.csv" and row.batch_rows == batch_ds.n_rows
    assert row.batch_source["type"] == "file" and row.thresholds == report.thresholds
    assert row.verdict == "drift" and row.n_drifted >= 1 and row.summary == report.summary

    [entry] = [e for e in ws.audit_entries(entity_type="dataset", entity_id=ref_ds.id)
               if e.action == "drift.report_created"]
    assert entry.actor == "analyst" and entry.details["drift_report_id"] == report.id
    assert entry.details["batch_fingerprint"] == batch_ds.fingerprint
    stored = ws.registry.query_one("SELECT results FROM drift_reports WHERE id = ?", (report.id,))
    assert entry.details["results_sha256"] == hashlib.sha256(stored["results"].encode("utf-8")).hexdigest()
    assert ws.verify_audit() == []

    again = load_report(ws, report.id)
    assert again.id == report.id and again.created_by == "analyst" and again.verdict == report.verdict
    assert [f.to_dict() for f in again.features] == [f.to_dict() for f in report.features]
    assert again.summary == report.summary and again.charts == json.loads(json.dumps(report.charts))


def test_a_series_is_stored_in_batch_order_and_store_false_writes_nothing(halves):
    ws, _, _ = halves
    reference = Reference.from_dataset(ws, "first half")
    batches = split_batch(batch_from_dataset(ws, "second half"), "time_hour", "M")
    before = len(ws.audit_entries())
    dry = run_drift(ws, reference, batches[:2], store=False)
    assert len(ws.audit_entries()) == before and drift_reports(ws) == [] and dry.reports[0].id is None
    run = run_drift(ws, reference, batches, actor="analyst")
    series = drift_reports(ws, series_id=run.series_id)
    assert [r.batch_label for r in series] == [b.label for b in batches]
    assert [r.batch_index for r in series] == list(range(len(batches)))
    assert series[0].batch_source["period"] == "2013-07" and series[0].batch_dataset_id == ws.dataset(
        "second half").id
    assert run.timeline is not None and run.timeline.labels == [b.label for b in batches]
    assert len(ws.audit_entries()) == before + len(batches)


def test_thresholds_per_workspace_and_per_model(workspace):
    ws = workspace
    assert effective_thresholds(ws).to_dict() == effective_thresholds(None).to_dict()
    set_thresholds(ws, {"psi_moderate": 0.2, "psi_major": 0.4}, actor="lead")
    model = set_thresholds(ws, {"wasserstein": 0.3, "psi_moderate": 0.15}, model_name="churn", actor="lead")
    assert model.psi_moderate == 0.15 and model.psi_major == 0.4 and model.wasserstein == 0.3
    assert effective_thresholds(ws).psi_moderate == 0.2 and effective_thresholds(ws).wasserstein == 0.1
    assert effective_thresholds(ws, "other model").psi_moderate == 0.2
    layers = threshold_layers(ws, "churn")
    assert layers["workspace"] == {"psi_moderate": 0.2, "psi_major": 0.4}
    assert layers["model"] == {"wasserstein": 0.3, "psi_moderate": 0.15}

    with pytest.raises(DriftError, match="psi_major"):
        set_thresholds(ws, {"psi_major": 0.1}, model_name="churn", actor="lead")  # below psi_moderate
    with pytest.raises(DriftError, match="Unknown drift threshold 'psi'"):
        set_thresholds(ws, {"psi": 0.1}, actor="lead")
    assert effective_thresholds(ws, "churn").psi_major == 0.4  # nothing stored by a refused change

    set_thresholds(ws, {"psi_moderate": None}, model_name="churn", actor="lead")
    assert effective_thresholds(ws, "churn").psi_moderate == 0.2
    reset_thresholds(ws, actor="lead")
    assert effective_thresholds(ws).psi_moderate == 0.1 and effective_thresholds(ws, "churn").wasserstein == 0.3
    actions = [(e.action, e.entity_type, e.entity_id) for e in ws.audit_entries()
               if e.action == "drift.thresholds_changed"]
    assert len(actions) == 4 and ("drift.thresholds_changed", "model", "churn") in actions
    assert ws.verify_audit() == []


def test_workspace_thresholds_are_used_and_stored(halves):
    ws, _, second = halves
    set_thresholds(ws, {"wasserstein": 0.01, "psi_moderate": 0.001}, actor="lead")
    run = run_drift(ws, Reference.from_dataset(ws, "first half"), [batch_from_file(second)], actor="analyst")
    assert run.thresholds["wasserstein"] == 0.01
    assert drift_reports(ws)[0].thresholds["psi_moderate"] == 0.001
    assert run.reports[0].dataset.n_drifted > 1  # stricter thresholds flag more


def test_storing_needs_a_workspace_and_an_actor(halves):
    ws, _, second = halves
    reference = Reference.from_dataset(ws, "first half")
    with pytest.raises(MlopsError, match="needs a workspace"):
        run_drift(None, reference, [batch_from_file(second)])
    with pytest.raises(MlopsError, match="Say who"):
        run_drift(ws, reference, [batch_from_file(second)])
    with pytest.raises(MlopsError, match="at least one current batch"):
        run_drift(ws, reference, [], actor="x")


def test_a_dataset_target_is_compared_apart_from_the_features(halves):
    ws, _, second = halves
    ws.update_column("first half", "arr_delay", role="target", actor="tester")
    reference = Reference.from_dataset(ws, "first half")
    assert "arr_delay" not in reference.features and reference.target == "arr_delay"
    report = run_drift(ws, reference, [batch_from_file(second)], store=False).reports[0]
    assert report.target is not None and report.target.name == "arr_delay" and report.target.comparable
    assert "arr_delay" not in [f.name for f in report.features]
    assert report.to_dict()["target"]["metrics"]["psi"] == report.target.metrics["psi"]
