"""A run whose process died (killed, power cut) does not stay ``running`` forever: the
next opening of the workspace on that computer marks it failed, audited."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mlops_desktop.core.workspace.integrity import verify_workspace
from mlops_desktop.core.store import audit, utc_now
from mlops_desktop.core.store import runs as run_rows
from mlops_desktop.core.storage import process_alive, this_host
from mlops_desktop.core.workspace import Workspace


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: the pid is gone
    return child.pid


def _start_run(ws, *, pid: int, host: str) -> int:
    reg = ws.registry
    ds = ws.dataset("penguins")
    with reg.transaction():
        run_id = run_rows.insert_started(reg, kind="train", reproduces_run_id=None, dataset_id=ds.id,
                                         dataset_fingerprint=ds.fingerprint, target="body_mass_g",
                                         spec={}, seed=0, library_versions={}, created_by="ann",
                                         started_at=utc_now())
        audit.append(reg, actor="ann", action="run.started", entity_type="run", entity_id=run_id,
                     summary=f"Run {run_id} started", details={})
        reg.db.execute("UPDATE runs SET pid = ?, host = ? WHERE id = ?", (pid, host, run_id))
    return run_id


@pytest.fixture
def ws(workspace, penguins_csv):
    workspace.import_file(penguins_csv, actor="ann")
    return workspace


def test_a_run_records_its_process_and_computer(ws):
    run_id = _start_run(ws, pid=os.getpid(), host=this_host())
    row = ws.registry.query_one("SELECT pid, host FROM runs WHERE id = ?", (run_id,))
    assert (row["pid"], row["host"]) == (os.getpid(), this_host())


def test_a_run_whose_process_died_is_marked_failed_on_open(ws):
    dead = _start_run(ws, pid=_dead_pid(), host=this_host())
    alive = _start_run(ws, pid=os.getpid(), host=this_host())
    elsewhere = _start_run(ws, pid=_dead_pid(), host="another-computer")
    root = ws.root
    ws.close()
    with Workspace.open(root) as again:
        status = {r.id: (r.status, r.error) for r in run_rows.list_all(again.registry)}
        assert status[dead] == ("failed", "the app stopped during training")
        assert status[alive] == ("running", None)      # this very process: still training
        assert status[elsewhere] == ("running", None)  # another computer's process: unknown here
        [entry] = [e for e in again.audit_entries(entity_type="run", entity_id=dead)
                   if e.action == "run.finished"]
        assert entry.details["status"] == "failed" and entry.summary.endswith("the app stopped during training")
        assert verify_workspace(again).ok
    with Workspace.open(root) as third:  # marked once, not again
        assert len([e for e in third.audit_entries(entity_type="run", entity_id=dead)
                    if e.action == "run.finished"]) == 1


def test_a_read_only_open_marks_nothing(ws):
    dead = _start_run(ws, pid=_dead_pid(), host=this_host())
    root = ws.root
    ws.close()
    with Workspace.open(root, read_only=True) as again:
        assert run_rows.get(again.registry, dead).status == "running"


def test_process_alive():
    assert process_alive(os.getpid())
    assert not process_alive(_dead_pid())
    assert not process_alive(0)
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        import time

        time.sleep(0.5)  # exited but not reaped yet: a zombie is not alive
        if sys.platform.startswith("linux"):
            assert not process_alive(zombie.pid)
    finally:
        zombie.wait()
