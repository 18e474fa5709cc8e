"""Crash safety on both backends: a writer SIGKILLed inside its transaction (an import,
on PostgreSQL also midway through uploading its snapshot's chunks; training's version
write; a stage change) leaves nothing half-written. On the server: no row of the dead
transaction, no stored file or chunk that no record names, a stored file's chunks whole,
the audit chain intact, and the dead writer's session gone with its advisory lock, so the
next writer is not blocked. In the member's folder: no temporary file once reopened.

The kill lands where it is meant to: the child wraps one of the app's functions (test
code, not the app's) to write a marker, holding the server session's id, and wait there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import DATA
from mlops_desktop.core.workspace.integrity import verify_workspace
from mlops_desktop.core.registry.lifecycle import change_stage, stage_history
from mlops_desktop.core.store import runs as run_rows
from mlops_desktop.core.train import find_version
from wsstate import tmp_leftovers

from .test_team_lifecycle import _trained

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

CHILD = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path

    root, marker, what, who, source = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]

    from mlops_desktop.core.workspace import Workspace
    ws = Workspace.open(root)


    def stop_here():
        # the server session's id, for the parent to watch it end; then wait to be killed
        session = ws.registry.conn.info.backend_pid if ws.is_team else 0
        tmp = marker.with_suffix(".tmp")
        tmp.write_text(str(session))
        os.replace(tmp, marker)
        time.sleep(300)


    def after(module, name, when=lambda *a, **k: True):
        real = getattr(module, name)
        def wrapper(*a, **k):
            out = real(*a, **k)
            if when(*a, **k):
                stop_here()
            return out
        setattr(module, name, wrapper)


    if what == "import-upload":
        # small chunks, so the snapshot is many; stop after the second (inside the transaction)
        from mlops_desktop.core.store import stored_files
        stored_files.CHUNK = 16 * 1024
        reg, real_execute, sent = ws.registry, ws.registry.execute_binary, []
        def execute_binary(sql, params=()):
            out = real_execute(sql, params)
            if sql.startswith("INSERT INTO stored_file_chunks"):
                sent.append(1)
                if len(sent) == 2:
                    stop_here()
            return out
        reg.execute_binary = execute_binary
        ws.import_file(source, name="flights", actor=who)
    elif what == "import-register":
        from mlops_desktop.core.store import datasets
        after(datasets, "insert")  # the row written and, on a team registry, its snapshot stored
        ws.import_file(source, name="flights", actor=who)
    elif what == "train-register":
        from mlops_desktop.core.store import models
        after(models, "insert_version")  # the model file stored, the version row not committed
        from mlops_desktop.core.train import TrainSpec, train
        train(ws, TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"], model_name="mass"),
              actor=who)
    elif what == "stage-change":
        from mlops_desktop.core.registry.lifecycle import change_stage
        from mlops_desktop.core.store import audit
        after(audit, "append", lambda *a, **k: k.get("action") == "model.stage_changed")
        change_stage(ws, "mass:1", "validated", actor=who)
    print("finished without being killed")
""")


def _kill_at(team, what: str, who: str, tmp_path: Path, source: Path | str = "") -> int:
    """Run the child as ``who``, SIGKILL it at its marker; returns its server session's id
    (0 on SQLite)."""
    marker = tmp_path / f"{what}.marker"
    env = {**os.environ, "PGUSER": who}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(team.root), str(marker), what, who, str(source)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 180
    try:
        while not marker.exists():
            if child.poll() is not None:
                out, err = child.communicate()
                pytest.fail(f"the child ended before the kill point ({child.returncode}): {out} {err}")
            assert time.monotonic() < deadline, "the kill point was never reached"
            time.sleep(0.005)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(30)
    assert child.returncode == -signal.SIGKILL
    return int(marker.read_text())


def _server_let_go(team, session: int) -> None:
    """On PostgreSQL: the dead writer's session ends (the server reads the closed socket)
    and with it its transaction and advisory lock; no advisory lock is left held."""
    if team.backend != "postgresql":
        return
    deadline = time.monotonic() + 60
    while team.cluster.sql(f"SELECT 1 FROM pg_stat_activity WHERE pid = {session}", team.dbname):
        assert time.monotonic() < deadline, "the dead writer's session is still open on the server"
        time.sleep(0.01)
    assert team.cluster.sql("SELECT objid FROM pg_locks WHERE locktype = 'advisory'", team.dbname) == []


def _stored_files_whole(team) -> list[tuple]:
    """On PostgreSQL: every stored file is named by a record and its chunks are all there
    (their count and total size as recorded); returns (sha256, size) of each."""
    if team.backend != "postgresql":
        return []
    sql = team.cluster.sql
    unnamed = sql("SELECT sha256 FROM stored_files WHERE sha256 NOT IN"
                  " (SELECT sha256 FROM artifacts UNION SELECT snapshot_sha256 FROM datasets)", team.dbname)
    assert unnamed == [], "a stored file no record names"
    broken = sql("SELECT f.sha256 FROM stored_files f LEFT JOIN stored_file_chunks c USING (sha256)"
                 " GROUP BY f.sha256, f.chunks, f.size_bytes"
                 " HAVING count(c.n) <> f.chunks OR coalesce(sum(length(c.data)), 0) <> f.size_bytes", team.dbname)
    assert broken == [], "a stored file whose chunks are not all there"
    loose = sql("SELECT count(*) FROM stored_file_chunks WHERE sha256 NOT IN (SELECT sha256 FROM stored_files)",
                team.dbname)
    assert loose == [(0,)]
    return sql("SELECT sha256, size_bytes FROM stored_files ORDER BY sha256", team.dbname)


def _reopened_sound(team, who: str):
    """Reopen as ``who`` (which tidies up): verify passes, no temporary file is left."""
    ws = team.open(who)
    report = verify_workspace(ws)
    assert report.ok, report.text()
    assert tmp_leftovers(team.root) == []
    return ws


@pytest.fixture
def flights_csv() -> Path:
    """Data no import has stored yet: its snapshot is uploaded by the child."""
    return DATA / "flights_6000.csv"


@pytest.mark.parametrize("what", ["import-upload", "import-register"])
def test_killed_while_importing(team, penguins_csv, flights_csv, tmp_path, what):
    if what == "import-upload" and team.backend == "sqlite":
        pytest.skip("a workspace of one's own uploads nothing")
    ws = team.open("ana")
    ws.import_file(penguins_csv, actor="ana")
    stored_before = _stored_files_whole(team)
    entries_before = len(ws.audit_entries())
    ws.close()
    session = _kill_at(team, what, "ana", tmp_path, flights_csv)
    _server_let_go(team, session)
    assert _stored_files_whole(team) == stored_before  # nothing of the dead upload is kept
    alex = _reopened_sound(team, "alex")
    assert [d.name for d in alex.datasets()] == ["penguins"]
    assert len(alex.audit_entries()) == entries_before
    # the next writer imports the same data, stored whole this time
    alex.import_file(flights_csv, name="flights", actor="alex")
    assert len(_stored_files_whole(team)) == (2 if team.backend == "postgresql" else 0)
    report = verify_workspace(alex)
    assert report.ok, report.text()


def test_killed_while_writing_a_trained_version(team, penguins_csv, tmp_path):
    ws = team.open("ana")
    ws.import_file(penguins_csv, actor="ana")
    stored_before = _stored_files_whole(team)
    ws.close()
    session = _kill_at(team, "train-register", "ana", tmp_path)
    _server_let_go(team, session)
    assert _stored_files_whole(team) == stored_before  # the model file's upload rolled back with its rows
    ana = _reopened_sound(team, "ana")
    [run] = run_rows.list_all(ana.registry)
    assert (run.status, run.error) == ("failed", "the app stopped during training")
    assert ana.registry.query("SELECT * FROM model_versions") == []
    assert ana.registry.query("SELECT * FROM artifacts") == []
    report = verify_workspace(ana)
    assert report.ok, report.text()


def test_killed_while_changing_a_stage(team, penguins_csv, tmp_path):
    ana = _trained(team, penguins_csv)
    entries_before = len(ana.audit_entries())
    session = _kill_at(team, "stage-change", "carol", tmp_path)
    _server_let_go(team, session)
    assert find_version(ana, "mass:1").stage == "draft"
    assert stage_history(ana, "mass:1") == []
    assert len(ana.audit_entries()) == entries_before
    carol = _reopened_sound(team, "carol")
    # the next writer is not blocked by the dead one
    change_stage(carol, "mass:1", "validated", actor="carol")
    assert [h["changed_by"] for h in stage_history(ana, "mass:1")] == ["carol"]
    report = verify_workspace(carol)
    assert report.ok, report.text()
