"""Issue 12, item 6: rollback. ``audit head`` prints the log's last entry (number and
hash) to write down; ``verify --expect SEQ:HASH`` then tells an older copy of
``registry.sqlite`` (restored from an old copy, or copied without its ``-wal`` file,
where the newest changes live until SQLite checkpoints them) from the real one."""

from __future__ import annotations

import contextlib
import io
import json
import shutil

from mlops_desktop.core.registry.lifecycle import change_stage, set_alias
from mlops_desktop.core.workspace import Workspace

from .conftest import named, verify_json


def _head(root) -> dict:
    from mlops_desktop.cli import run

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert run(["audit", "head", "--workspace", str(root), "--json"]) == 0
    return json.loads(out.getvalue())


def _approve_and_promote(ws) -> None:
    change_stage(ws, "mass:2", "approved", actor="bob", comment="better residuals")
    set_alias(ws, "mass", "production", 2, actor="bob")


def test_audit_head_is_the_last_entry(ws_copy):
    head = _head(ws_copy)
    with Workspace.open(ws_copy) as ws:
        last = ws.audit_entries(limit=1)[0]
    assert head == {"seq": last.seq, "hash": last.hash}
    code, report = verify_json(ws_copy, "--expect", f"{head['seq']}:{head['hash']}")
    assert code == 0 and report["expected"]["status"] == "equal"
    code, report = verify_json(ws_copy, "--expect", head["hash"])
    assert code == 0 and report["expected"]["status"] == "equal"


def test_a_log_that_grew_since_is_not_a_problem(ws_copy):
    head = _head(ws_copy)
    with Workspace.open(ws_copy) as ws:
        _approve_and_promote(ws)
    code, report = verify_json(ws_copy, "--expect", f"{head['seq']}:{head['hash']}")
    assert code == 0 and report["expected"]["status"] == "ahead"
    assert report["expected"]["found_at"] == head["seq"] and report["expected"]["last_seq"] == head["seq"] + 2


def test_an_older_copy_is_behind(ws_copy, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(ws_copy, old)  # the copy someone puts back later
    with Workspace.open(ws_copy) as ws:
        _approve_and_promote(ws)
    head = _head(ws_copy)
    code, report = verify_json(old, "--expect", f"{head['seq']}:{head['hash']}")
    assert code == 2 and report["expected"]["status"] == "behind"
    assert named(report, "rolled_back", f"ends at entry {head['seq'] - 2}", f"entry {head['seq']}",
                 "older copy", "2 entries")
    code, report = verify_json(old, "--expect", head["hash"])  # the hash alone: not in this log
    assert code == 2 and report["expected"]["status"] == "not_equal"
    assert named(report, "rolled_back", "is not in this log")


def test_a_copy_without_its_wal_file_is_behind(ws_copy, tmp_path):
    """The newest changes are in registry.sqlite-wal while the app has the workspace open:
    a copy of registry.sqlite alone lacks them, and is otherwise a perfectly good file."""
    copy = tmp_path / "copy"
    with Workspace.open(ws_copy) as ws:
        _approve_and_promote(ws)
        head = _head(ws_copy)
        assert (ws_copy / "registry.sqlite-wal").stat().st_size > 0
        shutil.copytree(ws_copy, copy, ignore=shutil.ignore_patterns("registry.sqlite-wal", "registry.sqlite-shm"))
    code, report = verify_json(copy)
    assert code == 0, report  # on its own it is intact: only the head written down shows it
    code, report = verify_json(copy, "--expect", f"{head['seq']}:{head['hash']}")
    assert code == 2 and report["expected"]["status"] == "behind"
    assert named(report, "rolled_back", "copied without its -wal file")


def test_a_rewritten_log_is_not_equal(ws_copy, tmp_path):
    """Another history of the same length: the entry written down is not there."""
    other = tmp_path / "other"
    shutil.copytree(ws_copy, other)
    with Workspace.open(ws_copy) as ws:
        _approve_and_promote(ws)
    head = _head(ws_copy)
    with Workspace.open(other) as ws:
        change_stage(ws, "mass:3", "retired", actor="eve", comment="gone")
        change_stage(ws, "mass:2", "retired", actor="eve", comment="gone")
    code, report = verify_json(other, "--expect", f"{head['seq']}:{head['hash']}")
    assert code == 2 and report["expected"]["status"] == "not_equal"
    assert named(report, "rolled_back", f"its entry {head['seq']} is another one")


def test_a_malformed_head_is_refused(ws_copy):
    from mlops_desktop.cli import run

    assert run(["verify", "--workspace", str(ws_copy), "--expect", "12:abc"]) == 2
