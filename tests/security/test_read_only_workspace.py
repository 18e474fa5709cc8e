"""A workspace nobody may write opens for reading (issue 12, item 13): ``models list``,
``datasets list`` and ``verify`` exit 0 on an intact read-only workspace, even one the
app last left with a write-ahead log (a copy taken while it ran), and a change is
still refused clearly.

Root ignores file modes, so the workspace is made read-only for real: a read-only bind
mount in a private mount namespace (skipped where none can be made). The monkeypatched
variant at the end runs everywhere, as tests/test_read_only.py does."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from mlops_desktop.core.workspace import Workspace

from . import private_mounts

#: runs inside the namespace: bind-mount the workspace read-only, run each command on it
DRIVER = r'''
import json, subprocess, sys
spec = json.loads(sys.argv[1])
mount = spec["mount"]
subprocess.run(["mount", "--bind", spec["workspace"], mount], check=True)
subprocess.run(["mount", "-o", "remount,bind,ro", mount], check=True)
out = []
for args in spec["commands"]:
    done = subprocess.run([sys.executable, "-m", "mlops_desktop", *args, "--workspace", mount], capture_output=True,
                          text=True)
    out.append({"args": args, "code": done.returncode, "stdout": done.stdout, "stderr": done.stderr})
print(json.dumps(out))
'''
READING = [["models", "list", "--json"], ["datasets", "list", "--json"], ["verify", "--json"]]


def _left_with_a_log(root: Path, *, keep_shared_memory: bool) -> None:
    """Make a change and leave without closing, as a copy taken while the app ran: the
    change is only in registry.sqlite-wal."""
    import subprocess
    import sys

    code = ("import os, sys\nfrom mlops_desktop.core.workspace import Workspace\nws = Workspace.open(sys.argv[1])\n"
            "ws.update_column('penguins', 'island', kind='text', actor='ann')\nos._exit(0)\n")
    subprocess.run([sys.executable, "-c", code, str(root)], check=True, timeout=120)
    assert (root / "registry.sqlite-wal").stat().st_size > 0
    if not keep_shared_memory:
        (root / "registry.sqlite-shm").unlink()


@pytest.mark.parametrize("left", ["closed", "with a log", "with a log, without its shared memory"])
def test_a_read_only_mount_opens_for_reading(trained, tmp_path, left, monkeypatch):
    (tmp_path / "probe").mkdir()
    private_mounts.skip_unless_available(tmp_path / "probe")
    # a temporary folder of its own, so another test process's private copy is not taken for ours
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    with Workspace.open(trained, read_only=True) as ws:
        entries = len(ws.audit_entries())
    root = tmp_path / "ws"
    shutil.copytree(trained, root)
    if left != "closed":
        _left_with_a_log(root, keep_shared_memory=left == "with a log")
    mount = tmp_path / "read-only"
    mount.mkdir()
    results = private_mounts.run_python(DRIVER, {
        "workspace": str(root), "mount": str(mount),
        "commands": READING + [["datasets", "column", "penguins", "sex", "--role", "ignore", "--as", "ann"]]})
    by_command = {" ".join(r["args"][:2]): r for r in results}
    for command in ("models list", "datasets list", "verify --json"):
        assert by_command[command]["code"] == 0, (command, by_command[command]["stderr"])
    assert [v["ref"] for v in json.loads(by_command["models list"]["stdout"])["versions"]] == ["mass:1"]
    assert [d["name"] for d in json.loads(by_command["datasets list"]["stdout"])] == ["penguins"]
    report = json.loads(by_command["verify --json"]["stdout"])
    assert report["ok"] and report["problems"] == []
    assert report["audit_entries"] == entries + (left != "closed")  # the change left in the log is read too
    change = by_command["datasets column"]
    assert change["code"] == 2 and "is read-only" in change["stderr"], change["stderr"]
    assert not list(mount.iterdir())  # the mount is gone with its namespace
    assert not list((tmp_path / "tmp").glob("mlops-desktop-read-only-*"))  # the private copy is gone


def test_listing_a_workspace_the_system_says_is_read_only(ws_root, monkeypatch, capsys):
    from mlops_desktop.cli import run

    root = ws_root
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if (str(p) == str(root) and mode == os.W_OK)
                        else real(p, mode, **kw))
    assert run(["models", "list", "--workspace", str(root), "--json"]) == 0
    assert [v["ref"] for v in json.loads(capsys.readouterr().out)["versions"]] == ["mass:1"]
    assert run(["datasets", "list", "--workspace", str(root), "--json"]) == 0
    assert [d["name"] for d in json.loads(capsys.readouterr().out)] == ["penguins"]
    assert run(["verify", "--workspace", str(root)]) == 0
    assert "everything is intact" in capsys.readouterr().out
    assert run(["models", "stage", "mass:1", "retired", "--comment", "x", "--workspace", str(root), "--as", "ann"]) == 2
    assert "is read-only" in capsys.readouterr().err
