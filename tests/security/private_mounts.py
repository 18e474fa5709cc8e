"""Running a script in a private mount namespace (``unshare -m``), where it may mount a
small tmpfs (a disk that fills up) or a read-only bind mount (a workspace nobody may
write) that no other process sees and that vanishes with it. Needs Linux and root (or
user namespaces); the tests that use it are skipped elsewhere."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def available(probe_dir: Path) -> bool:
    """Whether a private mount namespace with a tmpfs can be made here."""
    if sys.platform != "linux" or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "mount", "-t", "tmpfs", "-o", "size=1m",
                            "tmpfs", str(probe_dir)], capture_output=True)
    return probe.returncode == 0


def skip_unless_available(probe_dir: Path) -> None:
    if not available(probe_dir):
        pytest.skip("no private mount namespace here (needs Linux and root or user namespaces)")


def run_python(code: str, spec: dict[str, Any], *, timeout: float = 600) -> Any:
    """Run Python ``code`` in a private mount namespace with ``spec`` (JSON) as its one
    argument; it prints one JSON value, which is returned."""
    done = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable, "-c", code, json.dumps(spec)],
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
