"""Issue 12, item 2: a snapshot or a model file whose SHA-256 differs from the registry is
refused when it is read, by every command that reads it, with the file named; not only
by ``verify``. A snapshot's hash is remembered while the file is unchanged, and checked
again as soon as anything about the file changes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import SAMPLES
from .forged_files import approved_workspace


@pytest.fixture(scope="module")
def workspace_dir(tmp_path_factory):
    """A workspace with an approved OLS model (mass:1) on penguins; returns its folder."""
    base = tmp_path_factory.mktemp("hash-at-use")
    shutil.copy(SAMPLES / "penguins.csv", base / "penguins.csv")
    return approved_workspace(base / "ws", base / "penguins.csv", trainer="ann", approver="bob")


def _snapshot(root: Path) -> Path:
    return next((root / "snapshots").glob("*.parquet"))


def _model_file(root: Path) -> Path:
    return next((root / "artifacts").iterdir())


def _swap_a_value(path: Path) -> None:
    """Rewrite the snapshot as a valid Parquet file with one number changed."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    mass = table.column("body_mass_g")
    changed = pc.if_else(pa.array([i == 0 for i in range(len(table))]), pa.scalar(9999.0, mass.type), mass)
    pq.write_table(table.set_column(table.schema.get_field_index("body_mass_g"), "body_mass_g", changed), path)


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    from mlops_desktop.cli import run

    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


SNAPSHOT_READERS = {
    "train": ["train", "penguins", "--target", "body_mass_g", "--model", "ridge", "--cv", "2"],
    "validate": ["validate", "mass:1", "--bootstrap", "20"],
    "export": ["export", "mass:1", "--out", "{out}"],
    "drift": ["drift", "--reference", "mass:1", "--current", "{csv}"],
    "reproduce": ["reproduce", "1"],
    "profile": ["profile", "penguins"],
    "check": ["check", "penguins", "--target", "body_mass_g"],
}


@pytest.fixture
def modified_snapshot(workspace_dir):
    path = _snapshot(workspace_dir)
    original = path.read_bytes()
    _swap_a_value(path)
    yield path
    path.write_bytes(original)


@pytest.mark.parametrize("case", list(SNAPSHOT_READERS))
def test_every_command_refuses_a_modified_snapshot_and_names_it(workspace_dir, modified_snapshot, capsys,
                                                                tmp_path, case):
    from wsstate import registry_rows

    before = registry_rows(workspace_dir)
    argv = [a.format(out=tmp_path / "package", csv=SAMPLES / "penguins.csv") for a in SNAPSHOT_READERS[case]]
    code, out, err = _cli(capsys, *argv, "--workspace", str(workspace_dir))
    assert code == 2, (out, err)
    assert f"The snapshot of dataset 'penguins' ({modified_snapshot}) was modified after import" in err
    assert "It was not read" in err
    assert not (tmp_path / "package").exists()
    assert registry_rows(workspace_dir) == before  # refused before anything was recorded


def test_every_command_refuses_a_modified_model_file_and_names_it(workspace_dir, capsys, tmp_path):
    path = _model_file(workspace_dir)
    original = path.read_bytes()
    path.write_bytes(original + b"\0")
    try:
        for argv in (["models", "show", "mass:1"], ["validate", "mass:1"],
                     ["export", "mass:1", "--out", str(tmp_path / "package")],
                     ["drift", "--reference", "mass:1", "--current", str(SAMPLES / "penguins.csv")]):
            code, _out, err = _cli(capsys, *argv, "--workspace", str(workspace_dir))
            assert code == 2, argv
            assert f"The model file of mass:1 ({path}) was modified after it was saved" in err, argv
    finally:
        path.write_bytes(original)
    assert not (tmp_path / "package").exists()


def test_the_remembered_hash_is_checked_again_whenever_the_file_changes(tmp_path):
    """Same size, modification time put back by hand: still noticed (the status-change
    time moved). Replaced by another file: noticed (another inode)."""
    from mlops_desktop.core.file_hashes import current_sha256
    from mlops_desktop.core.storage import sha256_file

    path = tmp_path / "snapshot.parquet"
    path.write_bytes(b"a" * 1000)
    first = current_sha256(path)
    assert current_sha256(path) == first == sha256_file(path)
    stat = path.stat()
    with open(path, "r+b") as fh:  # in place, same size
        fh.write(b"b")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    assert current_sha256(path) == sha256_file(path) != first
    other = tmp_path / "other"
    other.write_bytes(b"c" * 1000)
    os.replace(other, path)
    assert current_sha256(path) == sha256_file(path)


def test_reading_a_snapshot_hashes_it_once_while_it_is_unchanged(workspace_dir, monkeypatch):
    import mlops_desktop.core.file_hashes as file_hashes
    from mlops_desktop.core.workspace import Workspace

    hashed = []
    real = file_hashes.sha256_file
    monkeypatch.setattr(file_hashes, "sha256_file", lambda p: hashed.append(p) or real(p))
    with Workspace.open(workspace_dir) as ws:
        ds = ws.dataset("penguins")
        os.utime(_snapshot(workspace_dir))  # a new status-change time: a file not seen before
        for _ in range(3):
            ws.load_table(ds, ["body_mass_g"])
    assert hashed == [_snapshot(workspace_dir)]


def test_a_snapshot_recorded_outside_the_snapshots_folder_is_refused(workspace_dir, tmp_path):
    import sqlite3

    from mlops_desktop.core.errors import WorkspaceError
    from mlops_desktop.core.workspace import Workspace

    copy = tmp_path / "ws"
    shutil.copytree(workspace_dir, copy)
    shutil.copy(_snapshot(copy), tmp_path / "elsewhere.parquet")
    db = sqlite3.connect(copy / "registry.sqlite")
    db.execute("UPDATE datasets SET snapshot = '../elsewhere.parquet'")
    db.commit()
    db.close()
    with Workspace.open(copy) as ws:
        with pytest.raises(WorkspaceError, match=r"recorded as \.\./elsewhere\.parquet, outside the "
                                                 "workspace's snapshots folder"):
            ws.load_table(ws.dataset("penguins"))
