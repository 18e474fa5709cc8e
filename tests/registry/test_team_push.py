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
    from mlops_desktop.core.registry.push import PUSHED_TABLES

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
