"""What the PostgreSQL server itself refuses, whoever runs the SQL: self-approval, changes
to the audit log, analysts moving stages or aliases, rows naming another login; and what
a team registry refuses before it connects (a password in the connection string)."""

from __future__ import annotations

import psycopg
import pytest

from mlops_desktop.core.errors import WorkspaceError
from mlops_desktop.core.registry.lifecycle import change_stage
from mlops_desktop.core.store.postgres import check_conninfo, placeholders
from mlops_desktop.core.train import find_version
from mlops_desktop.core.workspace import Workspace

from .test_team_lifecycle import _trained


def _sql(team, login: str, statement: str, params=()):
    with psycopg.connect(f"{team.conninfo} user={login}", autocommit=True) as conn:
        return conn.execute(statement, params).rowcount


def test_self_approval_is_refused_by_the_server_even_through_direct_sql(pg_team, penguins_csv):
    ana = _trained(pg_team, penguins_csv)
    version = find_version(ana, "mass:1")
    # the analyst who trained it may not approve or retire, even typing the SQL herself
    for stage in ("approved", "retired"):
        for statement in (f"UPDATE model_versions SET stage = '{stage}' WHERE id = %s",
                          "INSERT INTO stage_changes (version_id, from_stage, to_stage, changed_by, changed_at)"
                          f" VALUES (%s, 'validated', '{stage}', 'ana', '2026-12-07T00:00:00Z')"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege,
                               match=f"ana may not move a version to {stage}: that needs the mlops_approver role"):
                _sql(pg_team, "ana", statement, (version.id,))
    # an approver who trained a version may not approve it either, by the app or by hand
    _sql(pg_team, "postgres", "GRANT mlops_approver TO ana")  # roles are the server's: taken back below
    try:
        for statement in ("UPDATE model_versions SET stage = 'approved' WHERE id = %s",
                          "INSERT INTO stage_changes (version_id, from_stage, to_stage, changed_by, changed_at)"
                          " VALUES (%s, 'validated', 'approved', 'ana', '2026-12-07T00:00:00Z')"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="four eyes: ana trained"):
                _sql(pg_team, "ana", statement, (version.id,))
        # naming someone else as the approver is refused too
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="must name the login"):
            _sql(pg_team, "ana", "INSERT INTO stage_changes (version_id, from_stage, to_stage, changed_by,"
                 " changed_at) VALUES (%s, 'validated', 'approved', 'carol', '2026-12-07T00:00:00Z')",
                 (version.id,))
    finally:
        _sql(pg_team, "postgres", "REVOKE mlops_approver FROM ana")
    assert find_version(ana, "mass:1").stage == "draft"


def test_nobody_changes_or_deletes_audit_entries(pg_team, penguins_csv):
    _trained(pg_team, penguins_csv)
    for login in ("ana", "carol"):
        for statement in ("UPDATE audit_log SET summary = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                _sql(pg_team, login, statement)
    # the owner (here a superuser) is stopped by the triggers
    for statement in ("UPDATE audit_log SET summary = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            _sql(pg_team, "postgres", statement)


def test_analysts_mark_versions_validated_but_may_not_approve_retire_or_move_aliases(pg_team, penguins_csv):
    ana = _trained(pg_team, penguins_csv)
    change_stage(ana, "mass:1", "validated", actor="ana")
    alex = pg_team.open("alex")  # another analyst: four eyes would allow it, the role does not
    for stage in ("approved", "retired"):
        with pytest.raises(WorkspaceError, match=f"alex may not move a version to {stage}: that needs the "
                                                 "mlops_approver role. Nothing was changed"):
            change_stage(alex, "mass:1", stage, actor="alex", comment="looked at it")
    assert find_version(ana, "mass:1").stage == "validated"
    carol = pg_team.open("carol")
    change_stage(carol, "mass:1", "approved", actor="carol", comment="sound")
    from mlops_desktop.core.registry.lifecycle import set_alias

    with pytest.raises(WorkspaceError, match="Your login ana may not move a model's aliases"):
        set_alias(ana, "mass", "production", 1, actor="ana")
    set_alias(carol, "mass", "production", 1, actor="carol")
    assert ana.verify_audit() == []


def test_the_actor_is_the_login_not_a_name_typed_in(pg_team, penguins_csv):
    ws = pg_team.open("ana")
    with pytest.raises(WorkspaceError, match="you act as your database login 'ana', not as 'bob'"):
        ws.import_file(penguins_csv, actor="bob")
    assert ws.datasets() == []
    assert ws.login() == {"login": "ana", "roles": ["mlops_analyst"], "registry": ws.registry.where}


def test_a_password_in_the_connection_string_is_refused_and_never_written(tmp_path):
    for conninfo in ("postgresql://ana:secret@localhost/team", "host=localhost dbname=team password=secret"):
        with pytest.raises(WorkspaceError, match="holds a password; MLOps Desktop never stores one"):
            Workspace.connect(tmp_path / "ws", conninfo)
    assert not (tmp_path / "ws").exists()
    assert check_conninfo("postgresql://localhost/team") == "postgresql://localhost/team"


def test_an_unreachable_or_missing_registry_is_a_clear_error(postgres_server, tmp_path):
    with pytest.raises(WorkspaceError) as caught:
        Workspace.connect(tmp_path / "a", f"host={tmp_path} dbname=team user=ana")
    where, blank, why, what = str(caught.value).split("\n")  # where, why in one sentence, what to do
    assert where == f'Database "team" on {tmp_path}: the team registry cannot be reached.'
    assert blank == "" and why == "No server is running in that socket folder."
    assert what.startswith("Check that the server is running")
    assert ".s.PGSQL.5432" in caught.value.details  # the driver's own words, kept for whoever fixes it
    with pytest.raises(WorkspaceError, match="that database does not exist"):
        Workspace.connect(tmp_path / "b", f"host={postgres_server.dir} dbname=nothere user=ana")
    with pytest.raises(WorkspaceError, match="that login does not exist"):
        Workspace.connect(tmp_path / "c", f"host={postgres_server.dir} dbname=postgres user=nobody")


@pytest.mark.parametrize("conninfo, said, where, why", [
    ("host=db.example.org port=5433 dbname=team",
     'connection failed: connection to server at "10.0.0.5", port 5433 failed: Connection refused',
     'Database "team" on db.example.org, port 5433', "No server is listening on that port."),
    ("host=db.example.org dbname=team", "connection timeout expired",
     'Database "team" on db.example.org', "The server did not answer in time."),
    ("host=nowhere.invalid dbname=team", "failed to resolve host 'nowhere.invalid': Name or service not known",
     'Database "team" on nowhere.invalid', "This computer does not know that host name."),
    ("dbname=team", "connection failed: something else went wrong",
     'Database "team" on localhost', "The server did not answer."),
])
def test_a_server_that_cannot_be_reached_is_named_first_then_why_then_what_to_do(conninfo, said, where, why):
    from mlops_desktop.core.store.postgres import PostgresRegistry, shown

    error = PostgresRegistry._connect_error(shown(conninfo), psycopg.OperationalError(said), conninfo)
    assert str(error).split("\n")[:3] == [f"{where}: the team registry cannot be reached.", "", why]
    assert error.details == said


@pytest.mark.parametrize("sql, expected", [
    ("SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = %s AND b = %s"),
    ("SELECT '?' || ? FROM t", "SELECT '?' || %s FROM t"),
    ("SELECT 'it''s ? 100%' AS x, ?", "SELECT 'it''s ? 100%%' AS x, %s"),
    ('SELECT "odd?col" FROM t WHERE a LIKE ? ESCAPE \'\\\'', 'SELECT "odd?col" FROM t WHERE a LIKE %s ESCAPE \'\\\''),
    ("SELECT 5 % 2, ? -- why? 50%\n", "SELECT 5 %% 2, %s -- why? 50%%\n"),
    ("DO $$ BEGIN PERFORM '?'; END $$; SELECT ?", "DO $$ BEGIN PERFORM '?'; END $$; SELECT %s"),
    ("SELECT /* ? */ ?", "SELECT /* ? */ %s"),
])
def test_placeholders_are_translated_and_nothing_else(sql, expected):
    assert placeholders(sql) == expected


def test_a_literal_question_mark_or_percent_reaches_the_server_unchanged(pg_team):
    reg = pg_team.open("ana").registry
    row = reg.query_one("SELECT 'why? 100%' AS text, ? AS given, 7 % 4 AS rest", ("a?b%c",))
    assert row == {"text": "why? 100%", "given": "a?b%c", "rest": 3}
