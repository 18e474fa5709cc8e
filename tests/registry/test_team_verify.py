"""'verify' names the same kinds of tampering on both backends: an edited audit entry, a
deleted one, a record changed in SQL, and protection removed. On SQLite the tamperer has
the file (drops the triggers, edits, puts them back); on PostgreSQL a superuser disables
the triggers, edits, and enables them again; or edits what a trigger runs."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest

from mlops_desktop.core.workspace.integrity import verify_workspace
from mlops_desktop.core.store import migrations

from .test_team_lifecycle import _trained

AUDIT_TRIGGERS = ("audit_log_no_update", "audit_log_no_delete")


def _tamper(team, *statements: str, keep_protection: bool = True) -> None:
    if team.backend == "sqlite":
        conn = sqlite3.connect(team.root / "registry.sqlite")
        created = migrations.objects_created()
        for name in AUDIT_TRIGGERS:
            conn.execute(f"DROP TRIGGER {name}")
        for statement in statements:
            conn.execute(statement)
        if keep_protection:
            for name in AUDIT_TRIGGERS:
                conn.execute(created[name][1])
        conn.commit()
        conn.close()
        return
    with psycopg.connect(f"{team.conninfo} user=postgres", autocommit=True) as conn:
        conn.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
        for statement in statements:
            conn.execute(statement)
        if keep_protection:
            conn.execute("ALTER TABLE audit_log ENABLE TRIGGER USER")


def _kinds(ws) -> set[str]:
    return {p.kind for p in verify_workspace(ws).findings}


@pytest.mark.parametrize("statements, keep, expected", [
    (["UPDATE audit_log SET actor = 'mallory' WHERE seq = 3"], True, {"audit_entry_edited"}),
    (["DELETE FROM audit_log WHERE seq = 3"], True, {"audit_entries_deleted"}),
    (["UPDATE model_versions SET stage = 'approved'"], True, {"record_altered"}),
    ([], False, {"audit_protection_removed"}),
    (["DELETE FROM validations"], True, {"record_deleted"}),
], ids=["edited-entry", "deleted-entry", "stage-changed-in-sql", "protection-removed", "deleted-record"])
def test_verify_names_the_same_tampering_on_both_backends(team, penguins_csv, statements, keep, expected):
    ws = _trained(team, penguins_csv)
    assert _kinds(ws) == set()
    _tamper(team, *statements, keep_protection=keep)
    found = _kinds(ws)
    assert expected <= found, found
    # nothing else is blamed beyond what follows from the change (a deleted entry's record)
    assert found - expected <= {"missing_audit_entry", "record_deleted", "rule_broken"}, found


def test_both_backends_end_with_the_same_tables_and_columns(postgres_server, tmp_path, monkeypatch):
    from .conftest import Team

    sqlite_team = Team("sqlite", tmp_path / "a", monkeypatch)
    pg_team = Team("postgresql", tmp_path / "b", monkeypatch, postgres_server)
    lite = sqlite_team.open("ana").registry
    pg = pg_team.open("ana").registry

    def columns(reg) -> dict[str, list[str]]:
        if reg.dialect == "sqlite":
            return {t: [c["name"] for c in reg.query(f"PRAGMA table_info({t})")]
                    for t in reg.table_names()}
        out: dict[str, list[str]] = {}
        for r in reg.query("SELECT table_name, column_name FROM information_schema.columns"
                           " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"):
            out.setdefault(r["table_name"], []).append(r["column_name"])
        return out

    lite_columns, pg_columns = columns(lite), columns(pg)
    # a team registry also keeps the files a workspace folder keeps on its own (stored_files.py),
    # and the push of a workspace's history into it (push.py)
    team_only = {"stored_files", "stored_file_chunks", "history_pushes"}
    assert set(pg_columns) - set(lite_columns) == team_only
    assert lite_columns == {t: c for t, c in pg_columns.items() if t not in team_only}
    assert len(lite_columns) >= 25
    assert migrations.POSTGRES_MIGRATIONS[:len(migrations.MIGRATIONS)] and [
        (v, n) for v, n, _ in migrations.POSTGRES_MIGRATIONS[:len(migrations.MIGRATIONS)]] == [
        (v, n) for v, n, _ in migrations.MIGRATIONS]
    sqlite_team.close()
    pg_team.close()


@pytest.mark.parametrize("statements, entity", [
    (["CREATE OR REPLACE FUNCTION four_eyes() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$"],
     ("function", "four_eyes")),
    (["DROP TRIGGER stage_changes_by_login ON stage_changes",
      "CREATE TRIGGER stage_changes_by_login BEFORE INSERT ON stage_changes"
      " FOR EACH ROW EXECUTE FUNCTION written_by_login('comment')"], ("trigger", "stage_changes_by_login")),
    (["ALTER FUNCTION audit_head_follow() SECURITY INVOKER"], ("function", "audit_head_follow")),
], ids=["four-eyes-body-replaced", "trigger-re-pointed", "rights-changed"])
def test_verify_names_a_rule_edited_by_hand_on_the_server(pg_team, penguins_csv, statements, entity):
    """A superuser keeps every trigger in place and enabled but changes what it does: the
    four-eyes function made to return at once, a trigger made to check another column,
    the audit head's function stripped of its owner's rights."""
    ws = _trained(pg_team, penguins_csv)
    assert _kinds(ws) == set()
    with psycopg.connect(f"{pg_team.conninfo} user=postgres", autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)
    [altered] = verify_workspace(ws).findings
    assert (altered.kind, altered.entity_type, altered.entity_id) == ("trigger_altered", *entity)
    if entity == ("function", "four_eyes"):
        assert "stage_changes_four_eyes, model_versions_four_eyes" in altered.message
        assert "body other than the one the app created" in altered.message
