"""A crash in the middle of an export (SIGKILL, as a power cut or a killed job) leaves
no partial package under the final name, no export on record, and a workspace that
verifies; the next export writes a package that verifies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import run_cli
from mlops_desktop.core.store import exports as export_rows
from mlops_desktop.core.train import find_version
from mlops_desktop.core.workspace import Workspace
from export_helpers import approve, flights_late, train_late

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL is a POSIX signal")


def test_sigkill_mid_export_leaves_no_partial_package(tmp_path):
    data = tmp_path / "flights_late.csv"
    flights_late(data)
    with Workspace.create(tmp_path / "ws", actor="ann") as ws:
        ref = train_late(ws, data)
        approve(ws, ref)
    out = tmp_path / "exports" / "late-v1"
    out.parent.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "mlops_desktop", "export", ref, "--out", str(out),
                             "--workspace", str(tmp_path / "ws"), "--as", "carl"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    killed_in = None
    while time.monotonic() < deadline and proc.poll() is None:
        building = [p for p in out.parent.glob(".tmp-*") if (p / "model" / "model.skops").exists()]
        if building:
            proc.send_signal(signal.SIGKILL)
            killed_in = building[0]
            break
        time.sleep(0.002)
    proc.wait(timeout=60)
    assert killed_in is not None, "the export finished before it could be interrupted"
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()  # nothing under the final name
    check = run_cli("verify", "--workspace", str(tmp_path / "ws"))
    assert check.returncode == 0, check.stdout + check.stderr
    with Workspace.open(tmp_path / "ws") as ws:
        assert export_rows.for_version(ws.registry, find_version(ws, ref).id) == []
    again = run_cli("export", ref, "--out", str(out), "--workspace", str(tmp_path / "ws"), "--as", "carl",
                    "--json")
    assert again.returncode == 0, again.stderr
    verify = subprocess.run([sys.executable, str(out / "score.py"), "--verify"], capture_output=True, text=True,
                            timeout=120)
    assert verify.returncode == 0, verify.stderr
    assert json.loads(verify.stdout)["manifest_sha256"] == json.loads(again.stdout)["manifest_sha256"]
