"""Two processes (two app instances, or the app and the CLI) writing to one workspace
at once: no write is lost, the audit chain stays intact, and nobody sees "database is
locked" (WAL, a busy timeout, BEGIN IMMEDIATE and retries with backoff)."""

from __future__ import annotations

import time

from concurrent_writers import LEAST_SWITCHES, switches, write_at_once

from mlops_desktop.core.workspace.integrity import verify_workspace
from mlops_desktop.core.workspace import Workspace

WRITES = 500


def test_two_processes_writing_at_once_lose_nothing(workspace, penguins_csv, tmp_path):
    workspace.import_file(penguins_csv, actor="setup")
    root = workspace.root
    workspace.close()
    with Workspace.open(root) as ws:
        before = len(ws.audit_entries())
    write_at_once(root, tmp_path / "go", [("ann", "bill_length_mm"), ("bob", "bill_depth_mm")], WRITES)
    with Workspace.open(root) as ws:
        entries = list(reversed(ws.audit_entries()))[before:]
        assert len(entries) == 2 * WRITES
        for who in ("ann", "bob"):
            mine = [e for e in entries if e.actor == who]
            assert sum(e.action == "check.warning_accepted" for e in mine) == WRITES // 2
            assert sum(e.action == "dataset.column_changed" for e in mine) == WRITES // 2
            rows = ws.registry.query("SELECT COUNT(*) AS n FROM accepted_warnings WHERE accepted_by = ?", (who,))
            assert rows[0]["n"] == WRITES // 2
        # the last change of each column stands (250 toggles: ignore, feature, ... ends on feature)
        assert ws.dataset(1).column("bill_length_mm").role == "feature"
        assert [e.seq for e in entries] == list(range(before + 1, before + 2 * WRITES + 1))
        assert switches(entries) >= LEAST_SWITCHES  # they did interleave
        report = verify_workspace(ws)
        assert report.ok, report.text()


def _hold_write_lock(path, seconds: float):
    """Another program holding the write lock for ``seconds`` (in a thread)."""
    import sqlite3
    import threading

    ready = threading.Event()

    def hold():
        conn = sqlite3.connect(path, check_same_thread=False)
        conn.execute("BEGIN IMMEDIATE")
        ready.set()
        time.sleep(seconds)
        conn.execute("ROLLBACK")
        conn.close()

    t = threading.Thread(target=hold)
    t.start()
    ready.wait(5)
    return t


def test_a_write_waits_out_a_lock_longer_than_the_busy_timeout(workspace):
    """SQLite's own wait (shortened here to 50 ms) runs out; the retries carry on."""
    from mlops_desktop.core.store import audit

    reg = workspace.registry
    reg.db.execute("PRAGMA busy_timeout = 50")
    holder = _hold_write_lock(reg.path, 1.0)
    started = time.monotonic()
    with reg.transaction():
        audit.append(reg, actor="ann", action="note", entity_type="workspace", entity_id=None,
                     summary="written after the lock was released")
    holder.join()
    assert time.monotonic() - started >= 0.9
    assert workspace.audit_entries(limit=1)[0].summary == "written after the lock was released"


def test_a_lock_held_too_long_is_a_clear_error_not_database_is_locked(workspace, monkeypatch):
    import pytest

    from mlops_desktop.core.errors import WorkspaceError
    from mlops_desktop.core.store import db

    reg = workspace.registry
    reg.db.execute("PRAGMA busy_timeout = 50")
    monkeypatch.setattr(db, "WRITE_PATIENCE_S", 0.4)
    holder = _hold_write_lock(reg.path, 1.5)
    try:
        with pytest.raises(WorkspaceError, match=r"is busy: another program .* kept it locked"):
            workspace.update_column("1", "x", role="target", actor="ann")
    finally:
        holder.join()
    assert not reg.db.conn.in_transaction
