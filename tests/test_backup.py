"""Backup and restore: one zip with the registry (SQLite online backup), every model
file and snapshot and a manifest of hashes; a restore refuses anything damaged,
foreign, newer or unsafe and leaves nothing behind; a restored workspace passes
verify and lists the same models and datasets. Both are audited."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from conftest import SAMPLES, run_cli
from mlops_desktop.core.workspace.backup import backup, read_manifest, restore
from mlops_desktop.core.errors import JobCancelled, WorkspaceError
from mlops_desktop.core.workspace.integrity import verify_workspace
from mlops_desktop.core.jobs import CancelToken
from mlops_desktop.core.store import migrations
from mlops_desktop.core.store import models as model_rows
from mlops_desktop.core.workspace import Workspace


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    from mlops_desktop.core.registry.lifecycle import change_stage
    from mlops_desktop.core.train import TrainSpec, train
    from mlops_desktop.core.validate.for_version import validate_version

    base = tmp_path_factory.mktemp("source")
    shutil.copy(SAMPLES / "penguins.csv", base / "penguins.csv")
    root = base / "ws"
    with Workspace.create(root, actor="ann") as ws:
        ws.import_file(base / "penguins.csv", actor="ann")
        ws.import_file(base / "penguins.csv", name="penguins copy", actor="ann")  # shares a snapshot
        train(ws, TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"], model_name="mass"),
              actor="ann")
        train(ws, TrainSpec(dataset="penguins", target="species", models=["logistic"], model_name="kind"),
              actor="ann")
        validate_version(ws, "mass:1", actor="ann", n_bootstrap=50)
        change_stage(ws, "mass:1", "validated", actor="ann")
    return root


@pytest.fixture
def ws_copy(source, tmp_path) -> Path:
    dest = tmp_path / "src"
    shutil.copytree(source, dest)
    return dest


@pytest.fixture
def backup_zip(ws_copy, tmp_path) -> Path:
    with Workspace.open(ws_copy) as ws:
        backup(ws, tmp_path / "b.zip", actor="ann")
    return tmp_path / "b.zip"


def _listing(ws: Workspace) -> dict:
    return {"datasets": sorted((d.name, d.fingerprint, d.n_rows) for d in ws.datasets()),
            "versions": sorted((v.model, v.version, v.stage, v.artifact_sha256)
                               for m in model_rows.list_models(ws.registry)
                               for v in model_rows.versions_of(ws.registry, m.name))}


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_restored_workspace_passes_verify_and_lists_the_same(ws_copy, tmp_path):
    from mlops_desktop.core.train import load_model

    import numpy as np
    import pandas as pd

    rows = pd.read_csv(SAMPLES / "penguins.csv").dropna()
    with Workspace.open(ws_copy) as ws:
        before = _listing(ws)
        predicted = load_model(ws, "mass:1").predict(rows)
        n_entries = len(ws.audit_entries())
        result = backup(ws, tmp_path / "b.zip", actor="ann")
        [entry] = [e for e in ws.audit_entries(limit=1)]
        assert entry.action == "workspace.backed_up" and entry.actor == "ann"
        assert entry.details["sha256"] == result.sha256 and entry.details["audit_seq"] == n_entries
        assert verify_workspace(ws).ok
    assert result.members == 1 + 2 + 1  # registry, two model files, one shared snapshot
    assert result.missing == [] and result.audited
    with zipfile.ZipFile(result.path) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json"))
    assert names[0] == "registry.sqlite" and names[-1] == "manifest.json"
    assert set(manifest["members"]) == set(names) - {"manifest.json"}
    assert manifest["schema_version"] == migrations.LATEST and manifest["audit"]["last_seq"] == n_entries

    restored = restore(result.path, tmp_path / "restored", actor="bob")
    assert restored.ok and restored.datasets == 2 and restored.models == 2
    with Workspace.open(tmp_path / "restored") as ws:
        assert _listing(ws) == before
        report = verify_workspace(ws)
        assert report.ok, report.text()
        entries = ws.audit_entries()
        assert entries[0].action == "workspace.restored" and entries[0].actor == "bob"
        assert len(entries) == n_entries + 1  # the backup's log, then the restore
        # the model file is whole and checked: it predicts as before the backup
        np.testing.assert_array_equal(load_model(ws, "mass:1").predict(rows), predicted)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")] == []


def test_a_restore_into_an_existing_empty_folder(backup_zip, tmp_path):
    (tmp_path / "empty").mkdir()
    assert restore(backup_zip, tmp_path / "empty", actor="bob").ok
    assert Workspace.is_workspace(tmp_path / "empty")


def test_a_cancelled_backup_leaves_no_file(ws_copy, tmp_path):
    token = CancelToken()

    def progress(fraction, message):
        if fraction and fraction > 0.3:
            token.cancel()

    with Workspace.open(ws_copy) as ws:
        with pytest.raises(JobCancelled):
            backup(ws, tmp_path / "b.zip", actor="ann", progress=progress, cancel=token)
        assert ws.audit_entries(limit=1)[0].action != "workspace.backed_up"
    assert not (tmp_path / "b.zip").exists()
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")] == []


def test_a_backup_cannot_go_inside_the_workspace_or_a_missing_folder(ws_copy, tmp_path):
    with Workspace.open(ws_copy) as ws:
        with pytest.raises(WorkspaceError, match="outside the workspace folder"):
            backup(ws, ws_copy / "b.zip", actor="ann")
        with pytest.raises(WorkspaceError, match="does not exist"):
            backup(ws, tmp_path / "nowhere" / "b.zip", actor="ann")


# -- refused restores leave nothing behind -----------------------------------------------------

def _rewrite(src: Path, dest: Path, *, drop: str = "", replace: dict | None = None,
             manifest: dict | None = None, extra: dict | None = None) -> Path:
    """A copy of a backup zip with a member dropped or replaced, or another manifest."""
    with zipfile.ZipFile(src) as zf:
        items = [(i.filename, zf.read(i.filename)) for i in zf.infolist()]
    with zipfile.ZipFile(dest, "w") as out:
        for name, data in items:
            if name == drop:
                continue
            if name == "manifest.json" and manifest is not None:
                data = json.dumps(manifest).encode()
            out.writestr(name, (replace or {}).get(name, data))
        for name, data in (extra or {}).items():
            out.writestr(name, data)
    return dest


def _refused(zip_path: Path, tmp_path: Path, match: str, target_name: str = "restored") -> None:
    before = _files(tmp_path)
    with pytest.raises(WorkspaceError, match=match):
        restore(zip_path, tmp_path / target_name, actor="bob")
    assert _files(tmp_path) == before  # no target, no temporary folder


def test_a_corrupt_member_is_refused(backup_zip, tmp_path):
    """A flipped byte inside a stored (uncompressed) model file: the zip's CRC fails."""
    with zipfile.ZipFile(backup_zip) as zf:
        info = next(i for i in zf.infolist() if i.filename.startswith("artifacts/"))
    data = bytearray(backup_zip.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF
    bad = tmp_path / "bad.zip"
    bad.write_bytes(bytes(data))
    _refused(bad, tmp_path, r"cannot be restored: .*damaged in the zip .*CRC.*Nothing was restored")


def test_a_missing_member_is_refused(backup_zip, tmp_path):
    manifest = read_manifest(backup_zip)
    artifact = next(n for n in manifest["members"] if n.startswith("artifacts/"))
    _refused(_rewrite(backup_zip, tmp_path / "short.zip", drop=artifact), tmp_path,
             r"1 file\(s\) its manifest lists are missing from the zip")


def test_a_member_that_does_not_match_its_hash_is_refused(backup_zip, tmp_path):
    manifest = read_manifest(backup_zip)
    snapshot = next(n for n in manifest["members"] if n.startswith("snapshots/"))
    forged = _rewrite(backup_zip, tmp_path / "forged.zip", replace={snapshot: b"PAR1 not the data"})
    _refused(forged, tmp_path, f"{snapshot} does not match the SHA-256 its manifest records")


def test_a_backup_from_a_newer_schema_is_refused(backup_zip, tmp_path):
    manifest = read_manifest(backup_zip)
    manifest["schema_version"] = migrations.LATEST + 1
    _refused(_rewrite(backup_zip, tmp_path / "newer.zip", manifest=manifest), tmp_path,
             "made by a newer version of MLOps Desktop")


def test_a_zip_slip_is_refused(backup_zip, tmp_path):
    manifest = read_manifest(backup_zip)
    manifest["members"]["../evil.txt"] = {"sha256": "0" * 64, "bytes": 4}
    slip = _rewrite(backup_zip, tmp_path / "slip.zip", manifest=manifest, extra={"../evil.txt": b"evil"})
    _refused(slip, tmp_path, "'../evil.txt', which is outside a workspace's layout")
    assert not (tmp_path.parent / "evil.txt").exists()
    manifest["members"] = {"/etc/evil": {}} | read_manifest(backup_zip)["members"]
    _refused(_rewrite(backup_zip, tmp_path / "abs.zip", manifest=manifest), tmp_path, "'/etc/evil'")


def test_a_file_that_is_not_a_backup_is_refused(backup_zip, tmp_path):
    (tmp_path / "junk.zip").write_bytes(b"not a zip at all")
    _refused(tmp_path / "junk.zip", tmp_path, "not a valid zip file")
    _refused(_rewrite(backup_zip, tmp_path / "nomanifest.zip", drop="manifest.json"), tmp_path,
             "it has no manifest.json")
    _refused(_rewrite(backup_zip, tmp_path / "extra.zip", extra={"snapshots/x.parquet": b"x"}),
             tmp_path, "holds file\\(s\\) its manifest does not list")
    with pytest.raises(WorkspaceError, match="There is no backup file"):
        restore(tmp_path / "missing.zip", tmp_path / "r", actor="bob")


def test_a_non_empty_target_is_refused(backup_zip, tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    _refused(backup_zip, tmp_path, "the folder is not empty", target_name="busy")
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"


# -- the commands -------------------------------------------------------------------------------

def test_the_backup_and_restore_commands(ws_copy, tmp_path):
    zip_path = tmp_path / "cli.zip"
    made = run_cli("backup", str(zip_path), "--workspace", str(ws_copy), "--as", "ann", "--json")
    assert made.returncode == 0, made.stderr
    out = json.loads(made.stdout)
    assert out["members"] == 4 and zip_path.is_file() and out["sha256"] == out["sha256"].lower()

    restored = run_cli("restore", str(zip_path), "--workspace", str(tmp_path / "r"), "--as", "bob")
    assert restored.returncode == 0, restored.stderr
    assert "2 dataset(s), 2 registered model(s)" in restored.stdout and "everything is intact" in restored.stdout
    again = run_cli("restore", str(zip_path), "--workspace", str(tmp_path / "r"))
    assert again.returncode == 2 and "not empty" in again.stderr and "Traceback" not in again.stderr
    nowhere = run_cli("restore", str(zip_path))
    assert nowhere.returncode == 2 and "--workspace DIR" in nowhere.stderr
    listed = run_cli("models", "list", "--workspace", str(tmp_path / "r"))
    assert listed.returncode == 0 and "mass" in listed.stdout and "kind" in listed.stdout


def test_a_killed_restores_leftover_folder_is_removed_by_the_next(backup_zip, tmp_path):
    import os
    import subprocess
    import sys

    from mlops_desktop.core.storage import temporary_name

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    leftover = tmp_path / temporary_name("restore-r").replace(f".tmp-{os.getpid()}-", f".tmp-{child.pid}-")
    (leftover / "artifacts").mkdir(parents=True)
    (leftover / "registry.sqlite").write_bytes(b"half")
    someone_elses = tmp_path / ".tmp-notes"  # not ours by its name: kept
    someone_elses.write_text("x")
    assert restore(backup_zip, tmp_path / "r", actor="bob").ok
    assert not leftover.exists() and someone_elses.exists()
