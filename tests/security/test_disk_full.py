"""A full disk (issue 12, item 13): import, training's model save, export, backup and a
change to the registry each exit 2 with "disk full" and leave nothing half-written (no temporary file, no
partial package or zip, no record of what was not written).

The disk is real: a small tmpfs mounted in a private mount namespace (``unshare -m``,
which needs root or user namespaces), filled up to a margin before the command runs, so
the writes fail as they would on a full laptop disk. Where no such namespace can be
made the tests are skipped."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from mlops_desktop.core.workspace import Workspace

from . import private_mounts

#: runs inside the namespace: mount a tmpfs, copy what the case needs onto it, fill the
#: disk up to a margin, run the command, free the disk, report what is left on it
DRIVER = r'''
import json, os, shutil, subprocess, sys
spec = json.loads(sys.argv[1])
disk = spec["disk"]
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", disk], check=True)
for src, rel in spec["copy_in"]:
    shutil.copytree(src, os.path.join(disk, rel))
for rel in spec["folders"]:
    os.makedirs(os.path.join(disk, rel))
filler = os.path.join(disk, "filler")
free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
with open(filler, "wb") as fh:
    os.posix_fallocate(fh.fileno(), 0, max(free - spec["keep"], 0))
done = subprocess.run([sys.executable, "-m", "mlops_desktop", *spec["args"]], capture_output=True, text=True)
os.unlink(filler)
listing = sorted(os.path.relpath(os.path.join(d, f), disk) for d, _, fs in os.walk(disk) for f in fs)
for rel, dest in spec["copy_out"]:
    shutil.copytree(os.path.join(disk, rel), dest)
print(json.dumps({"code": done.returncode, "stdout": done.stdout, "stderr": done.stderr, "files": listing}))
'''


@pytest.fixture(scope="module")
def small_disk(tmp_path_factory):
    """Runs a case on a nearly full disk: ``run(args, keep=..., copy_in=[(folder, name)],
    folders=[name], copy_out=[(name, dest)])`` -> {code, stdout, stderr, files}; paths
    on the disk are written ``{disk}/name``."""
    private_mounts.skip_unless_available(tmp_path_factory.mktemp("probe"))
    disk = tmp_path_factory.mktemp("disk")

    def run(args: list[str], *, keep: int, copy_in=(), folders=(), copy_out=()) -> dict:
        return private_mounts.run_python(DRIVER, {
            "disk": str(disk), "keep": keep, "copy_in": [[str(s), r] for s, r in copy_in],
            "folders": list(folders), "copy_out": [[r, str(d)] for r, d in copy_out],
            "args": [a.replace("{disk}", str(disk)) for a in args]})

    return run


def _no_temporaries(files: list[str]) -> None:
    assert not [f for f in files if ".tmp-" in f], files


def _says_disk_full(result: dict) -> None:
    assert result["code"] == 2, result["stderr"]
    assert "disk full" in result["stderr"] and "Traceback" not in result["stderr"], result["stderr"]


def test_import_on_a_full_disk(small_disk, approved, tmp_path):
    big = tmp_path / "big.csv"
    rng = np.random.default_rng(0)
    pd.DataFrame(rng.normal(size=(50_000, 6)), columns=list("abcdef")).to_csv(big, index=False)
    result = small_disk(["import", str(big), "--workspace", "{disk}/ws", "--as", "ann"], keep=256 * 1024,
                        copy_in=[(approved, "ws")], copy_out=[("ws", tmp_path / "after")])
    _says_disk_full(result)
    _no_temporaries(result["files"])
    assert [f for f in result["files"] if f.startswith("ws/snapshots/")] == \
        [f"ws/{p.relative_to(approved).as_posix()}" for p in (approved / "snapshots").iterdir()]
    with Workspace.open(tmp_path / "after") as ws:
        assert [d.name for d in ws.datasets()] == ["penguins"]
        assert ws.verify_audit() == []


def test_training_whose_model_file_does_not_fit(small_disk, approved, tmp_path):
    # a random forest's model file takes ~400 KB; the run's records take a few pages
    result = small_disk(["train", "penguins", "--target", "body_mass_g", "--model", "random_forest", "--cv", "2",
                         "--search", "0", "--workspace", "{disk}/ws", "--as", "ann"], keep=160 * 1024,
                        copy_in=[(approved, "ws")], copy_out=[("ws", tmp_path / "after")])
    _says_disk_full(result)
    assert "model" in result["stderr"]
    _no_temporaries(result["files"])
    artifacts = sorted(f for f in result["files"] if f.startswith("ws/artifacts/"))
    assert artifacts == sorted(f"ws/artifacts/{p.name}" for p in (approved / "artifacts").iterdir())
    with Workspace.open(tmp_path / "after") as ws:
        versions = ws.registry.query("SELECT COUNT(*) AS n FROM model_versions")[0]["n"]
        last_run = ws.registry.query("SELECT status, error FROM runs ORDER BY id DESC LIMIT 1")[0]
        assert ws.verify_audit() == []
    assert versions == 1  # no version for the model that could not be saved
    assert last_run["status"] == "failed" and "disk full" in last_run["error"], last_run


def test_export_to_a_full_disk(small_disk, approved, tmp_path):
    ws_root = tmp_path / "ws"
    shutil.copytree(approved, ws_root)
    result = small_disk(["export", "mass:1", "--out", "{disk}/out/mass-v1", "--workspace", str(ws_root),
                         "--as", "ann"], keep=64 * 1024, folders=["out"])
    _says_disk_full(result)
    assert [f for f in result["files"] if f.startswith("out/")] == []  # no package, no temporary folder
    with Workspace.open(ws_root) as ws:
        assert ws.registry.query("SELECT COUNT(*) AS n FROM exports")[0]["n"] == 0


def test_backup_to_a_full_disk(small_disk, approved, tmp_path):
    ws_root = tmp_path / "ws"
    shutil.copytree(approved, ws_root)
    result = small_disk(["backup", "{disk}/out/ws.zip", "--workspace", str(ws_root), "--as", "ann"],
                        keep=96 * 1024, folders=["out"])
    _says_disk_full(result)
    assert [f for f in result["files"] if f.startswith("out/")] == []
    with Workspace.open(ws_root) as ws:
        assert [e.action for e in ws.audit_entries() if e.action == "workspace.backed_up"] == []


def test_a_change_to_the_registry_on_a_full_disk(small_disk, approved, tmp_path):
    """Not a byte left: SQLite cannot even grow its shared-memory file."""
    result = small_disk(["datasets", "column", "penguins", "island", "--type", "text", "--workspace", "{disk}/ws",
                         "--as", "ann"], keep=0, copy_in=[(approved, "ws")], copy_out=[("ws", tmp_path / "after")])
    _says_disk_full(result)
    with Workspace.open(tmp_path / "after") as ws:
        assert ws.dataset("penguins").column("island").kind != "text"
        assert ws.verify_audit() == []
