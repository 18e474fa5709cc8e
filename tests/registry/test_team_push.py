"""'workspace push': a workspace of one's own, with its whole history, moved into an empty
team registry on a real PostgreSQL server and verified there; refused (with nothing
written) into a registry that holds anything, by a login that is not an administrator, and
when anything fails half-way."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from conftest import run_cli


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _ok(done):
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _history(folder: Path, penguins_csv: Path) -> None:
    """A workspace of one's own with a real history: ana imports, checks (one warning
    accepted), trains and validates; carol validates, approves and sets production; a tag,
    a description, a drift report and an export; a second version self-approved by ana in
    single-user mode (switched off again); a third version validated and waiting for an
    approver."""
    ws = str(folder)

    def cli(person: str, *args: str):
        return _ok(run_cli(*args, "--workspace", ws, "--as", person))

    cli("ana", "init")
    cli("ana", "import", str(penguins_csv))
    cli("ana", "check", "penguins", "--target", "body_mass_g", "--accept", "linearity_reset",
        "--reason", "The curve is mild.", "--store")
    for _ in range(3):
        cli("ana", "train", "penguins", "--target", "body_mass_g", "--model", "ols", "--name", "mass")
    for v in (1, 2, 3):
        cli("ana", "validate", f"mass:{v}", "--bootstrap", "30")
    cli("carol", "models", "stage", "mass:1", "validated")
    cli("carol", "models", "stage", "mass:1", "approved", "--comment", "Residuals look sound.")
    cli("carol", "models", "alias", "mass", "production", "1", "--comment", "first in production")
    cli("ana", "models", "tag", "mass:1", "owner", "ana")
    cli("ana", "models", "describe", "mass", "Body mass of penguins from their measurements.")
    drift = run_cli("drift", "--reference", "mass:1", "--current", str(penguins_csv), "--workspace", ws,
                    "--as", "ana")
    assert drift.returncode in (0, 4), drift.stderr
    cli("carol", "export", "mass:1", "--out", str(folder.parent / "package"))
    cli("ana", "single-user", "on")
    cli("ana", "models", "stage", "mass:2", "validated")
    cli("ana", "models", "stage", "mass:2", "approved", "--comment", "One-person review of my own model.")
    cli("ana", "single-user", "off")
    cli("carol", "models", "stage", "mass:3", "validated")


@pytest.fixture(scope="module")
def local_history(tmp_path_factory) -> Path:
    """The history, built once for the tests of this module (each pushes a copy of it)."""
    import shutil

    from conftest import SAMPLES

    root = tmp_path_factory.mktemp("history")
    csv = root / "penguins.csv"
    shutil.copy(SAMPLES / "penguins.csv", csv)
    _history(root / "ws", csv)
    return root / "ws"


@pytest.fixture
def local(local_history, tmp_path) -> Path:
    import shutil

    dest = tmp_path / "local"
    shutil.copytree(local_history, dest)
    return dest


def _sqlite_counts(folder: Path) -> dict[str, int]:
    from mlops_desktop.core.store.push import PUSHED_TABLES

    conn = sqlite3.connect(folder / "registry.sqlite")
    try:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t, _ in PUSHED_TABLES}
    finally:
        conn.close()


def _server_tables(cluster, db: str) -> list[str]:
    return [r[0] for r in cluster.sql("SELECT table_name FROM information_schema.tables WHERE table_schema = "
                                      "'public' ORDER BY 1", db)]


def _unchanged(folder: Path, before: dict[str, str]) -> bool:
    after = _hashes(folder)
    assert after == before, {k for k in set(after) | set(before) if after.get(k) != before.get(k)}
    return True


def _hashes(folder: Path) -> dict[str, str]:
    """Every file of a workspace by its SHA-256; SQLite's own -shm index and an empty -wal
    (which a reader of a WAL database may leave) are not the workspace's content."""
    return {p.name: _sha(p) for p in folder.rglob("*") if p.is_file()
            and not p.name.endswith("-shm") and not (p.name.endswith("-wal") and p.stat().st_size == 0)}


def test_a_pushed_history_is_the_workspace_s_and_the_team_works_on_it(postgres_server, local, tmp_path):
    db = postgres_server.new_database()
    conninfo = f"host={postgres_server.dir} dbname={db}"

    # single-user mode on: refused with the reason, nothing written on the server, nothing changed here
    _ok(run_cli("single-user", "on", "--workspace", str(local), "--as", "ana"))
    refused = run_cli("workspace", "push", "--to", conninfo, "--workspace", str(local), env={"PGUSER": "postgres"})
    assert refused.returncode == 2 and "Single-user mode is on" in refused.stderr, refused.stderr
    assert _server_tables(postgres_server, db) == []
    _ok(run_cli("single-user", "off", "--workspace", str(local), "--as", "ana"))
    head = json.loads(_ok(run_cli("audit", "head", "--json", "--workspace", str(local))).stdout)
    before, local_counts = _hashes(local), _sqlite_counts(local)

    done = _ok(run_cli("workspace", "push", "--to", conninfo, "--workspace", str(local), "--json",
                       env={"PGUSER": "postgres"}))
    result = json.loads(done.stdout)
    assert _unchanged(local, before)  # the workspace is only read
    assert set(result) == {"ok", "committed", "workspace", "workspace_id", "registry", "login", "counts", "files",
                           "audit_head", "self_approvals", "verify", "differences", "next_step", "seconds"}
    assert result["ok"] and result["committed"] and result["differences"] == []
    assert result["verify"]["ok"] and result["verify"]["problems"] == []
    assert result["login"] == "postgres" and result["workspace"] == str(local)
    assert result["audit_head"]["local"] == head
    assert result["audit_head"]["server_history"] == head
    assert result["audit_head"]["server"]["seq"] == head["seq"] + 1
    assert result["self_approvals"] == ["mass:2"]
    assert {t: c["local"] for t, c in result["counts"].items()} == local_counts
    assert {t: c["server"] for t, c in result["counts"].items()} == {
        t: n + (t == "audit_log") for t, n in local_counts.items()}
    for table in ("datasets", "runs", "model_versions", "validations", "stage_changes", "accepted_warnings",
                  "check_runs", "alias_moves", "model_aliases", "version_tags", "drift_reports", "exports"):
        assert local_counts[table] > 0, table  # the history holds every kind the push must carry
    assert result["next_step"].startswith(f"mlops-desktop init --registry '{conninfo}'")

    # on the server, independently of the push's own report: the chain, entry by entry, and the records
    local_log = sqlite3.connect(local / "registry.sqlite").execute(
        "SELECT seq, at, actor, action, hash, prev_hash FROM audit_log ORDER BY seq").fetchall()
    server_log = postgres_server.sql("SELECT seq, at, actor, action, hash, prev_hash FROM audit_log ORDER BY seq", db)
    assert [tuple(r) for r in server_log[:-1]] == [tuple(r) for r in local_log]
    pushed = server_log[-1]
    assert pushed[2:4] == ("postgres", "workspace.pushed") and pushed[5] == head["hash"]
    assert postgres_server.sql("SELECT seq, hash FROM audit_head", db) == [(pushed[0], pushed[4])]
    details = json.loads(postgres_server.sql(f"SELECT details FROM audit_log WHERE seq = {pushed[0]}", db)[0][0])
    assert details["local_head"] == head and details["workspace_path"] == str(local)
    assert details["self_approvals"] == ["mass:2"]
    assert postgres_server.sql("SELECT changed_by, self_approved FROM stage_changes WHERE to_stage = 'approved'"
                               " ORDER BY id", db) == [("carol", 1 - 1), ("ana", 1)]
    assert postgres_server.sql("SELECT closed_at IS NOT NULL, pushed_by FROM history_pushes", db) == [(True, "postgres")]

    # a member connects a new folder: every file fetched and equal to the workspace's, verify passes
    postgres_server.grant_roles(db)
    team = tmp_path / "team"
    joined = _ok(run_cli("init", "--registry", conninfo, "--workspace", str(team), "--json", env={"PGUSER": "carol"}))
    assert json.loads(joined.stdout)["login"] == "carol"
    for sub in ("artifacts", "snapshots"):
        mine = {p.name: _sha(p) for p in (local / sub).iterdir()}
        theirs = {p.name: _sha(p) for p in (team / sub).iterdir()}
        assert theirs == mine and mine, sub
    checked = _ok(run_cli("verify", "--json", "--workspace", str(team), env={"PGUSER": "carol"}))
    assert json.loads(checked.stdout)["ok"]

    # the team works on it: carol lists and approves what ana trained; ana may not; the ids go on
    listed = json.loads(_ok(run_cli("models", "list", "--json", "--workspace", str(team),
                                    env={"PGUSER": "carol"})).stdout)
    assert sorted((v["version"], v["stage"]) for v in listed["versions"] if v["model"] == "mass") == [
        (1, "approved"), (2, "approved"), (3, "validated")]
    shown = json.loads(_ok(run_cli("models", "show", "mass:2", "--json", "--workspace", str(team),
                                   env={"PGUSER": "ana"})).stdout)
    assert [(h["to_stage"], h["changed_by"], bool(h["self_approved"])) for h in shown["stage_history"]] == [
        ("validated", "ana", False), ("approved", "ana", True)]
    assert "cannot approve it too" in run_cli("models", "stage", "mass:3", "approved", "--comment", "mine",
                                       "--workspace", str(team), env={"PGUSER": "ana"}).stderr
    _ok(run_cli("models", "stage", "mass:3", "approved", "--comment", "Checked the residuals too.",
                "--workspace", str(team), env={"PGUSER": "carol"}))
    _ok(run_cli("models", "alias", "mass", "production", "3", "--workspace", str(team), env={"PGUSER": "carol"}))
    _ok(run_cli("train", "penguins", "--target", "body_mass_g", "--model", "ols", "--name", "mass",
                "--workspace", str(team), env={"PGUSER": "ana"}))
    assert postgres_server.sql("SELECT max(version), max(id) FROM model_versions", db) == [(4, 4)]
    assert json.loads(_ok(run_cli("verify", "--json", "--workspace", str(team), env={"PGUSER": "ana"})).stdout)["ok"]

    # a second push into the same registry: refused, nothing written
    entries = postgres_server.sql("SELECT count(*) FROM audit_log", db)
    again = run_cli("workspace", "push", "--to", conninfo, "--workspace", str(local), env={"PGUSER": "postgres"})
    assert again.returncode == 2 and "is not empty" in again.stderr, again.stderr
    assert postgres_server.sql("SELECT count(*) FROM audit_log", db) == entries


def _empty_registry(cluster) -> tuple[str, str]:
    """A new database set up as a team registry by its owner and holding nothing yet (no
    creation entry: what an administrator who is not the owner pushes into)."""
    from mlops_desktop.core.store.postgres import PostgresRegistry

    db = cluster.new_database()
    PostgresRegistry(cluster.conninfo("postgres", db)).close()
    return db, f"host={cluster.dir} dbname={db}"


def _nothing_written(cluster, db: str) -> None:
    for table in ("audit_log", "workspace_info", "datasets", "stored_files", "history_pushes"):
        assert cluster.sql(f"SELECT count(*) FROM {table}", db) == [(0,)], table


def test_only_an_administrator_pushes_and_only_into_an_empty_registry(postgres_server, local, monkeypatch):
    # rows go in batches of 7 here, so that every table of more than 7 rows is copied in several
    monkeypatch.setattr("mlops_desktop.core.store.push.BATCH", 7)
    db, conninfo = _empty_registry(postgres_server)
    postgres_server.grant_roles(db)
    for login in ("ana", "carol"):  # an analyst, an approver
        refused = run_cli("workspace", "push", "--to", conninfo, "--workspace", str(local), env={"PGUSER": login})
        assert refused.returncode == 2, refused.stderr
        assert f"Your login {login}" in refused.stderr and "needs the mlops_admin role" in refused.stderr
        _nothing_written(postgres_server, db)
    # a brand-new database an analyst cannot even set up: refused, and no schema is left behind
    fresh = postgres_server.new_database()
    refused = run_cli("workspace", "push", "--to", f"host={postgres_server.dir} dbname={fresh}",
                      "--workspace", str(local), env={"PGUSER": "ana"})
    assert refused.returncode == 2 and "may not set it up" in refused.stderr, refused.stderr
    assert _server_tables(postgres_server, fresh) == []

    # the rule is the server's too: by hand, an analyst cannot open the window, nor shut one
    import psycopg

    with psycopg.connect(postgres_server.conninfo("ana", db), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO history_pushes (id, txid, workspace_id, local_head_seq, local_head_hash,"
                         " pushed_by, pushed_at) VALUES (1, txid_current(), 'x', 0, repeat('0', 64), 'ana', 'now')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT history_push_close('now')")

    # a login holding mlops_admin (not the owner) pushes
    postgres_server.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dana') THEN "
                        "CREATE ROLE dana LOGIN; END IF; END $$")
    postgres_server.sql("GRANT mlops_admin TO dana", db)
    done = run_cli("workspace", "push", "--to", conninfo, "--workspace", str(local), "--json", env={"PGUSER": "dana"})
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["login"] == "dana" and result["ok"]
    assert {t: c["server"] for t, c in result["counts"].items()} == {
        t: n + (t == "audit_log") for t, n in _sqlite_counts(local).items()}
    assert result["counts"]["audit_log"]["local"] > 7

    # after it, the window is shut for good: no second push, and rows name their login again,
    # even the administrator's, even the owner's
    for login in ("dana", "postgres"):
        with psycopg.connect(postgres_server.conninfo(login, db)) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="empty team registry"):
                conn.execute("INSERT INTO history_pushes (id, txid, workspace_id, local_head_seq, local_head_hash,"
                             f" pushed_by, pushed_at) VALUES (2, txid_current(), 'x', 0, repeat('0', 64), "
                             f"'{login}', 'now')")
    with psycopg.connect(postgres_server.conninfo("dana", db)) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="must name the login"):
            conn.execute("INSERT INTO audit_log (seq, at, actor, action, entity_type, summary, details, prev_hash,"
                         " hash) VALUES (999, 'now', 'carol', 'x', 'x', 'x', '{}', 'x', repeat('1', 64))")


def test_a_push_into_a_registry_someone_set_up_is_refused(postgres_server, local, tmp_path):
    db = postgres_server.new_database()
    conninfo = f"host={postgres_server.dir} dbname={db}"
    _ok(run_cli("init", "--registry", conninfo, "--workspace", str(tmp_path / "first"), env={"PGUSER": "postgres"}))
    refused = run_cli("workspace", "push", "--to", conninfo, "--workspace", str(local), env={"PGUSER": "postgres"})
    assert refused.returncode == 2, refused.stderr
    assert "is not empty (rows in workspace_info: 2, audit_log: 1)" in refused.stderr
    assert postgres_server.sql("SELECT count(*) FROM audit_log", db) == [(1,)]
    assert postgres_server.sql("SELECT count(*) FROM datasets", db) == [(0,)]


@pytest.mark.parametrize("failure", ["file changed while stored", "connection lost"])
def test_a_push_that_fails_half_way_leaves_the_server_as_it_was(postgres_server, local, failure):
    from mlops_desktop.core.errors import MlopsError
    from mlops_desktop.core.workspace.team_push import push_workspace

    db = postgres_server.new_database()
    conninfo = f"host={postgres_server.dir} dbname={db} user=postgres"
    registry = _sha(local / "registry.sqlite")
    seen: list[str] = []

    def progress(fraction, message):
        if message in seen:
            return
        seen.append(message)
        if failure == "file changed while stored" and message.startswith("Storing"):
            snapshot = next((local / "snapshots").iterdir())
            snapshot.write_bytes(snapshot.read_bytes()[:-10] + b"0123456789")
        if failure == "connection lost" and message.startswith("Copying"):
            postgres_server.sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'")

    expected = "changed while it was being stored" if failure.startswith("file") else "connection to the team"
    with pytest.raises(MlopsError, match=expected):
        push_workspace(local, conninfo, progress=progress)
    assert _server_tables(postgres_server, db) == []  # not even the schema: it was set up in the push
    assert _sha(local / "registry.sqlite") == registry


def test_a_damaged_workspace_is_not_pushed(postgres_server, local):
    snapshot = next((local / "snapshots").iterdir())
    snapshot.write_bytes(snapshot.read_bytes() + b"x")
    db = postgres_server.new_database()
    refused = run_cli("workspace", "push", "--to", f"host={postgres_server.dir} dbname={db}",
                      "--workspace", str(local), env={"PGUSER": "postgres"})
    assert refused.returncode == 2, refused.stderr
    assert "does not pass verify" in refused.stderr and "was modified" in refused.stderr
    assert _server_tables(postgres_server, db) == []


@pytest.mark.parametrize("to, said", [
    ("postgresql://ana:secret@localhost/team", "holds a password"),
    ("host=/nowhere/at/all dbname=team connect_timeout=2", "cannot be reached"),
    ("this is not = a connection string", "is not a PostgreSQL connection string"),
])
def test_a_connection_string_a_push_cannot_use_is_a_user_error(local, to, said):
    refused = run_cli("workspace", "push", "--to", to, "--workspace", str(local))
    assert refused.returncode == 2 and said in refused.stderr, refused.stderr
    assert refused.stderr.startswith("error: ") and "Traceback" not in refused.stderr


def test_a_team_workspace_is_not_pushed_again(postgres_server, tmp_path):
    db = postgres_server.new_database()
    conninfo = f"host={postgres_server.dir} dbname={db}"
    _ok(run_cli("init", "--registry", conninfo, "--workspace", str(tmp_path / "team"), env={"PGUSER": "postgres"}))
    other = postgres_server.new_database()
    refused = run_cli("workspace", "push", "--to", f"host={postgres_server.dir} dbname={other}",
                      "--workspace", str(tmp_path / "team"), env={"PGUSER": "postgres"})
    assert refused.returncode == 2 and "connected to a team registry already" in refused.stderr


def test_every_table_of_records_is_pushed(tmp_path):
    """A table added by a later migration must be carried by the push (or be one each
    registry keeps for itself): otherwise a push would leave records behind."""
    from mlops_desktop.core.store import migrations
    from mlops_desktop.core.store.push import KEPT_BY_EACH, PUSHED_TABLES, TEAM_ONLY
    from mlops_desktop.core.workspace import Workspace

    with Workspace.create(tmp_path / "ws", actor="ana") as ws:
        tables = set(ws.registry.table_names()) - KEPT_BY_EACH
    assert tables == {t for t, _ in PUSHED_TABLES}
    created = {m for _v, _n, sql in migrations.POSTGRES_MIGRATIONS
               for m in __import__("re").findall(r"CREATE TABLE (\w+)", sql)}
    assert created - KEPT_BY_EACH - set(TEAM_ONLY) == {t for t, _ in PUSHED_TABLES}


def test_a_registry_that_does_not_hold_what_was_pushed_is_rolled_back(postgres_server, local):
    """The verification decides the commit: a server that changes rows as they arrive (a
    trigger its owner added) fails it, and the push leaves nothing."""
    db, conninfo = _empty_registry(postgres_server)
    postgres_server.sql("CREATE FUNCTION shrink() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                        "NEW.n_rows := NEW.n_rows - 1; RETURN NEW; END $$", db)
    postgres_server.sql("CREATE TRIGGER shrink BEFORE INSERT ON datasets FOR EACH ROW EXECUTE FUNCTION shrink()", db)
    done = run_cli("workspace", "push", "--to", conninfo, "--workspace", str(local), "--json",
                   env={"PGUSER": "postgres"})
    assert done.returncode == 2, done.stderr
    result = json.loads(done.stdout)
    assert not result["ok"] and not result["committed"] and not result["verify"]["ok"]
    kinds = {p["kind"] for p in result["verify"]["problems"]}
    assert {"record_altered", "schema_object_unknown"} <= kinds
    _nothing_written(postgres_server, db)
    text = run_cli("workspace", "push", "--to", conninfo, "--workspace", str(local), env={"PGUSER": "postgres"})
    assert text.returncode == 2 and text.stdout.startswith("Nothing was pushed into the team registry")


def test_inside_the_window_an_approval_by_the_trainer_passes_only_with_its_self_approval_mark(postgres_server):
    """The server's own rule, by hand: in a push's window, rows may name the history's people,
    but four eyes still holds against the approver the stage change names, unless the change
    carries the single-user mark; and nothing of the window outlives its transaction."""
    import psycopg

    db, _conninfo = _empty_registry(postgres_server)
    version = ("INSERT INTO datasets (id, name, source_path, source_format, options, n_rows, n_columns, fingerprint,"
               " snapshot, snapshot_sha256, snapshot_bytes, created_by, created_at) VALUES (1, 'd', 'd.csv', 'csv',"
               " '{}', 1, 1, 'f', 'snapshots/f.parquet', repeat('a', 64), 1, 'ana', 'now');"
               "INSERT INTO artifacts (sha256, size_bytes, kind, created_by, created_at) VALUES"
               " (repeat('b', 64), 1, 'model', 'ana', 'now');"
               "INSERT INTO runs (id, dataset_id, dataset_fingerprint, target, spec, seed, library_versions, status,"
               " started_at, created_by) VALUES (1, 1, 'f', 't', '{}', 0, '{}', 'succeeded', 'now', 'ana');"
               "INSERT INTO registered_models (id, name, created_by, created_at) VALUES (1, 'm', 'ana', 'now');"
               "INSERT INTO model_versions (id, model_id, version, run_id, artifact_sha256, family, task, target,"
               " features, metrics, created_by, created_at) VALUES (1, 1, 1, 1, repeat('b', 64), 'ols',"
               " 'regression', 't', '[]', '{}', 'ana', 'now')")
    approval = ("INSERT INTO stage_changes (id, version_id, from_stage, to_stage, comment, self_approved, changed_by,"
                " changed_at) VALUES (1, 1, 'validated', 'approved', 'mine', {mark}, 'ana', 'now')")
    window = ("INSERT INTO history_pushes (id, txid, workspace_id, local_head_seq, local_head_hash, pushed_by,"
              " pushed_at) VALUES (1, txid_current(), 'w', 0, repeat('0', 64), 'postgres', 'now')")
    with psycopg.connect(postgres_server.conninfo("postgres", db)) as conn:
        conn.execute(window)
        conn.execute(version)  # rows naming ana, written by postgres: the window lets them in
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="four eyes: ana trained"):
            conn.execute(approval.format(mark=0))
        conn.rollback()
    with psycopg.connect(postgres_server.conninfo("postgres", db)) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="must name the login"):
            conn.execute(version)  # no window in this transaction
        conn.rollback()
        conn.execute(window)
        conn.execute(version)
        conn.execute(approval.format(mark=1))
        conn.execute("SELECT history_push_close('now')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="must name the login"):
            conn.execute("INSERT INTO runs (id, dataset_id, dataset_fingerprint, target, spec, seed, library_versions,"
                         " status, started_at, created_by) VALUES (2, 1, 'f', 't', '{}', 0, '{}', 'running', 'now',"
                         " 'ana')")  # shut, in the same transaction
        conn.rollback()
    _nothing_written(postgres_server, db)
