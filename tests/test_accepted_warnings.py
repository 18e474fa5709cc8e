"""Accepting a check's warning: migration 2, the registry rows, the audit entry in the
same transaction, the rules on the reason, and showing acceptances on a report."""

from __future__ import annotations

import sqlite3

import pytest

from mlops_desktop.core.checks import (accept_warning, accepted_warnings, attach_acceptances,
                                       run_checks)
from mlops_desktop.core.errors import CheckError, InvalidChoiceError, NotFoundError
from mlops_desktop.core.store import accepted_warnings as rows
from mlops_desktop.core.store import audit, migrations
from mlops_desktop.core.workspace import REGISTRY_FILE, Workspace

FEATURES = ["species", "island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "sex",
            "year"]


@pytest.fixture
def ws(workspace, penguins_csv):
    workspace.import_file(penguins_csv, actor="alice")
    return workspace


def test_migration_2_creates_the_table(workspace):
    assert 2 in [v for v, _, _ in migrations.MIGRATIONS]
    assert "accepted_warnings" in workspace.registry.db.table_names()
    cols = {c.name for c in workspace.registry.db["accepted_warnings"].columns}
    assert {"id", "dataset_id", "target", "features", "check_id", "reason", "accepted_by",
            "accepted_at"} <= cols
    fks = workspace.registry.db["accepted_warnings"].foreign_keys
    assert [(fk.column, fk.other_table) for fk in fks] == [("dataset_id", "datasets")]


def test_accepting_a_warning_records_it_with_an_audit_entry(ws):
    ds = ws.dataset("penguins")
    row = rows.accept(ws.registry, dataset_id=ds.id, target="body_mass_g",
                      features=["year", "sex", "year"], check_id="linearity_reset",
                      reason="  The curvature is small; a tree model is planned.  ", actor="bob")
    assert row["dataset_id"] == ds.id and row["target"] == "body_mass_g"
    assert row["features"] == ["sex", "year"]  # sorted, without repeats
    assert row["reason"] == "The curvature is small; a tree model is planned."
    assert row["accepted_by"] == "bob" and row["accepted_at"].endswith("Z")
    entry = ws.audit_entries(limit=1)[0]
    assert entry.action == "check.warning_accepted" and entry.actor == "bob"
    assert entry.entity_type == "dataset" and entry.entity_id == str(ds.id)
    assert entry.details["accepted_warning_id"] == row["id"]
    assert entry.details["check_id"] == "linearity_reset"
    assert entry.details["reason"] == row["reason"]
    assert ws.verify_audit() == []


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_reason_is_required(ws, reason):
    ds = ws.dataset("penguins")
    before = len(ws.audit_entries())
    with pytest.raises(CheckError, match="reason is required"):
        rows.accept(ws.registry, dataset_id=ds.id, target="body_mass_g", features=FEATURES,
                    check_id="vif", reason=reason, actor="bob")
    assert rows.list_for(ws.registry, ds.id) == []
    assert len(ws.audit_entries()) == before


def test_the_database_refuses_an_empty_reason_too(ws):
    ds = ws.dataset("penguins")
    with pytest.raises(sqlite3.IntegrityError):
        with ws.registry.transaction() as db:
            db.execute("INSERT INTO accepted_warnings (dataset_id, target, features, check_id,"
                       " reason, accepted_by, accepted_at) VALUES (?, 't', '[]', 'vif', '  ',"
                       " 'x', 'now')", (ds.id,))


def test_an_unknown_dataset(ws):
    with pytest.raises(NotFoundError, match="no dataset with id 999"):
        rows.accept(ws.registry, dataset_id=999, target="y", features=["x"], check_id="vif",
                    reason="fine", actor="bob")
    with pytest.raises(NotFoundError, match="No dataset with id or name 'nope'"):
        accept_warning(ws, "nope", "y", ["x"], "vif", "fine", "bob")


def test_the_change_and_its_audit_entry_commit_together(ws, monkeypatch):
    ds = ws.dataset("penguins")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "append", broken)
    with pytest.raises(RuntimeError):
        rows.accept(ws.registry, dataset_id=ds.id, target="body_mass_g", features=FEATURES,
                    check_id="vif", reason="fine", actor="bob")
    assert rows.list_for(ws.registry, ds.id) == []


def test_listing_by_target_and_feature_set(ws):
    ds = ws.dataset("penguins")
    a = accept_warning(ws, "penguins", "body_mass_g", FEATURES, "vif", "species and island go "
                       "together by design", "bob")
    b = accept_warning(ws, ds.id, "body_mass_g", ["year"], "independence", "rows are not in "
                       "time order", "carol")
    c = accept_warning(ws, "penguins", "species", ["island"], "class_balance", "known", "bob")
    assert [r["id"] for r in accepted_warnings(ws, "penguins")] == [c["id"], b["id"], a["id"]]
    assert [r["id"] for r in rows.list_for(ws.registry, ds.id, "body_mass_g")] == [b["id"], a["id"]]
    # a feature set matches whatever its order
    got = rows.list_for(ws.registry, ds.id, "body_mass_g", list(reversed(FEATURES)))
    assert [r["id"] for r in got] == [a["id"]]
    assert rows.list_for(ws.registry, ds.id, "body_mass_g", ["sex"]) == []
    assert [e.action for e in ws.audit_entries(limit=3)] == ["check.warning_accepted"] * 3


def test_accept_warning_checks_its_arguments(ws):
    with pytest.raises(InvalidChoiceError, match="Unknown check 'normality'"):
        accept_warning(ws, "penguins", "body_mass_g", FEATURES, "normality", "fine", "bob")
    with pytest.raises(NotFoundError, match="no column 'weight'"):
        accept_warning(ws, "penguins", "weight", FEATURES, "vif", "fine", "bob")
    with pytest.raises(NotFoundError, match="no column 'beak'"):
        accept_warning(ws, "penguins", "body_mass_g", ["beak"], "vif", "fine", "bob")
    with pytest.raises(CheckError, match="reason is required"):
        accept_warning(ws, "penguins", "body_mass_g", FEATURES, "vif", " ", "bob")


def test_a_report_shows_the_acceptances_and_they_survive_reopening(ws):
    df = ws.load_dataframe(ws.dataset("penguins"))
    report = run_checks(df, "body_mass_g")
    assert report.features == FEATURES
    vif = report.check("vif")
    assert vif.verdict == "warning"
    accept_warning(ws, "penguins", "body_mass_g", FEATURES, "vif", "first thoughts", "bob")
    accept_warning(ws, "penguins", "body_mass_g", FEATURES, "vif",
                   "species and island are confounded by design", "carol", result=vif)
    accept_warning(ws, "penguins", "body_mass_g", ["year"], "linearity_reset", "other set", "bob")
    root = ws.root
    ws.close()
    with Workspace.open(root) as again:
        attach_acceptances(report, accepted_warnings(again, "penguins"))
    shown = report.check("vif").accepted
    assert shown["reason"] == "species and island are confounded by design"
    assert shown["accepted_by"] == "carol"
    assert shown["details"]["verdict"] == "warning"
    assert shown["details"]["statistic"] == pytest.approx(vif.statistic)
    assert report.check("linearity_reset").accepted is None  # accepted for another feature set
    assert report.to_dict()["checks"][1]["accepted"]["reason"] == shown["reason"]
    assert (root / REGISTRY_FILE).is_file()


def test_a_result_for_another_check_is_refused(ws):
    df = ws.load_dataframe(ws.dataset("penguins"))
    report = run_checks(df, "body_mass_g")
    with pytest.raises(InvalidChoiceError, match="for check 'vif', not 'influence'"):
        accept_warning(ws, "penguins", "body_mass_g", FEATURES, "influence", "fine", "bob",
                       result=report.check("vif"))


def test_withdrawing_an_acceptance_is_recorded_and_the_earlier_one_holds_again(ws):
    from mlops_desktop.core.checks import withdraw_acceptance

    ds = ws.dataset("penguins")
    first = accept_warning(ws, "penguins", "body_mass_g", FEATURES, "vif", "Collinearity is expected.", "bob")
    second = accept_warning(ws, "penguins", "body_mass_g", FEATURES, "vif", "Checked again; still fine.", "bob")
    assert [a["id"] for a in accepted_warnings(ws, "penguins")] == [second["id"], first["id"]]
    done = withdraw_acceptance(ws, second["id"], "carol", reason="undone")
    assert done["accepted_warning_id"] == second["id"] and done["withdrawn_by"] == "carol"
    assert [a["id"] for a in accepted_warnings(ws, "penguins", "body_mass_g", FEATURES)] == [first["id"]]
    entry = ws.audit_entries(limit=1)[0]
    assert entry.action == "check.warning_withdrawn" and entry.actor == "carol"
    assert entry.entity_id == str(ds.id) and entry.details["accepted_warning_id"] == second["id"]
    assert entry.details["withdrawal_id"] == done["withdrawal_id"] and "undone" in entry.summary
    # the acceptance itself stays on record, as its audit entry does
    stored = ws.registry.query("SELECT id FROM accepted_warnings ORDER BY id")
    assert [r["id"] for r in stored] == [first["id"], second["id"]]
    assert any(e.action == "check.warning_accepted" and e.details["accepted_warning_id"] == second["id"]
               for e in ws.audit_entries())
    assert ws.verify_audit() == []
    before = len(ws.audit_entries())
    with pytest.raises(InvalidChoiceError, match="withdrawn already, by carol"):
        withdraw_acceptance(ws, second["id"], "carol")
    with pytest.raises(NotFoundError, match="no accepted warning 999"):
        withdraw_acceptance(ws, 999, "carol")
    assert len(ws.audit_entries()) == before  # a refused withdrawal records nothing
    # accepting anew after a withdrawal: a new row, which holds
    third = accept_warning(ws, "penguins", "body_mass_g", FEATURES, "vif", "Checked again; still fine.", "bob")
    assert accepted_warnings(ws, "penguins")[0]["id"] == third["id"]


def test_migration_12_keeps_one_withdrawal_per_acceptance(ws):
    import sqlite3 as sq

    row = accept_warning(ws, "penguins", "body_mass_g", FEATURES, "vif", "fine", "bob")
    assert 12 in [v for v, _, _ in migrations.MIGRATIONS]
    with pytest.raises(sq.IntegrityError):
        with ws.registry.transaction() as db:
            for _ in range(2):
                db.execute("INSERT INTO accepted_warning_withdrawals (accepted_warning_id, withdrawn_by,"
                           " withdrawn_at) VALUES (?, 'x', 'now')", (row["id"],))


def test_verify_names_a_withdrawal_made_or_removed_outside_the_app(ws):
    from mlops_desktop.core.checks import withdraw_acceptance
    from mlops_desktop.core.workspace.integrity import verify_workspace

    kept = accept_warning(ws, "penguins", "body_mass_g", FEATURES, "vif", "Expected.", "bob")
    hidden = accept_warning(ws, "penguins", "body_mass_g", FEATURES, "normality_residuals", "Large sample.", "bob")
    done = withdraw_acceptance(ws, kept["id"], "bob", reason="undone")
    assert verify_workspace(ws).ok
    with ws.registry.transaction() as db:  # hiding an acceptance from the model card, by hand
        db.execute("INSERT INTO accepted_warning_withdrawals (accepted_warning_id, withdrawn_by, withdrawn_at)"
                   " VALUES (?, 'mallory', '2030-01-01')", (hidden["id"],))
    report = verify_workspace(ws)
    assert any(f.kind == "missing_audit_entry" and f"accepted warning {hidden['id']}" in f.message
               for f in report.findings)
    with ws.registry.transaction() as db:
        db.execute("DELETE FROM accepted_warning_withdrawals")
    report = verify_workspace(ws)
    assert any(f.kind == "record_deleted" and f"withdrawal {done['withdrawal_id']}" in f.message
               for f in report.findings)
