"""An export is recorded even when its process dies right after the package took its
final name (issue 12, item 13): the next open of the workspace records it, once, with
the package's manifest; a process that dies just before the rename leaves neither a
package nor a record."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import run_cli
from mlops_desktop.core.store import exports as export_rows
from mlops_desktop.core.train import find_version
from mlops_desktop.core.workspace import Workspace

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL is a POSIX signal")

#: the export command with one step replaced by the process killing itself (a power cut there)
KILLED_AT = r'''
import os, signal, sys
from mlops_desktop.cli import run
from mlops_desktop.core.export import package
from mlops_desktop.core.store import exports
step, args = sys.argv[1], sys.argv[2:]
die = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
if step == "record":  # the package is in place: killed before it is recorded
    exports.record = die
else:  # the package is built: killed before it takes its name
    package._publish_zip = package._publish_folder = die
sys.exit(run(args))
'''


def _export_killed(ws_root: Path, out: Path, step: str, *extra: str) -> None:
    done = subprocess.run([sys.executable, "-c", KILLED_AT, step, "export", "mass:1", "--out", str(out),
                           "--workspace", str(ws_root), "--as", "carl", *extra], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stderr


def _manifest_sha(out: Path, zip: bool) -> str:
    if zip:
        with zipfile.ZipFile(out) as zf:
            return hashlib.sha256(zf.read(f"{out.stem}/manifest.json")).hexdigest()
    return hashlib.sha256((out / "manifest.json").read_bytes()).hexdigest()


@pytest.mark.parametrize("zip", [False, True], ids=["folder", "zip"])
def test_a_package_published_by_a_killed_export_is_recorded_at_the_next_open(approved, tmp_path, zip):
    ws_root = tmp_path / "ws"
    shutil.copytree(approved, ws_root)
    out = tmp_path / ("mass-v1.zip" if zip else "mass-v1")
    _export_killed(ws_root, out, "record", *(["--zip"] if zip else []))
    assert out.exists()  # published, then the process died
    for _ in range(2):  # opened twice (or by two programs): recorded once
        with Workspace.open(ws_root) as ws:
            exports = export_rows.for_version(ws.registry, find_version(ws, "mass:1").id)
    assert len(exports) == 1
    record = exports[0]
    assert record["out_path"] == str(out) and record["zip"] is zip and record["created_by"] == "carl"
    assert record["manifest_sha256"] == _manifest_sha(out, zip)
    assert record["size_bytes"] == (out.stat().st_size if zip else
                                    sum(p.stat().st_size for p in out.rglob("*") if p.is_file()))
    with Workspace.open(ws_root) as ws:
        entry = [e for e in ws.audit_entries() if e.action == "model.exported"]
        assert len(entry) == 1 and entry[0].actor == "carl"
        assert not list((ws_root / "exports-pending").glob("*"))
    check = run_cli("verify", "--workspace", str(ws_root))
    assert check.returncode == 0, check.stdout + check.stderr


def test_an_export_killed_before_the_rename_leaves_no_package_and_no_record(approved, tmp_path):
    ws_root = tmp_path / "ws"
    shutil.copytree(approved, ws_root)
    out = tmp_path / "mass-v1"
    _export_killed(ws_root, out, "publish")
    assert not out.exists()
    with Workspace.open(ws_root) as ws:
        assert export_rows.for_version(ws.registry, find_version(ws, "mass:1").id) == []
    assert not list((ws_root / "exports-pending").glob("*"))
    again = run_cli("export", "mass:1", "--out", str(out), "--workspace", str(ws_root), "--as", "carl")
    assert again.returncode == 0, again.stderr
    with Workspace.open(ws_root) as ws:
        assert len(export_rows.for_version(ws.registry, find_version(ws, "mass:1").id)) == 1
