"""A backup never follows a symbolic link (issue 12, item 9): a link inside the
workspace (a snapshot, a model file, the snapshots folder, the registry) is refused
with its name, and no zip is written, so a private key a link points to never ends up
in a backup."""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import pytest

from conftest import SAMPLES, run_cli
from mlops_desktop.core.backup import backup
from mlops_desktop.core.errors import WorkspaceError
from mlops_desktop.core.train import TrainSpec, find_version, train
from mlops_desktop.core.workspace import Workspace

pytestmark = pytest.mark.skipif(os.name != "posix", reason="symbolic links without privileges: POSIX")

SECRET = b"-----BEGIN OPENSSH PRIVATE KEY-----\nnot for a backup\n-----END OPENSSH PRIVATE KEY-----\n"


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("links") / "ws"
    with Workspace.create(root, actor="ann") as ws:
        ws.import_file(SAMPLES / "penguins.csv", actor="ann")
        train(ws, TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"], model_name="mass"),
              actor="ann")
    return root


@pytest.fixture
def ws_root(template, tmp_path) -> Path:
    shutil.copytree(template, tmp_path / "ws")
    return tmp_path / "ws"


@pytest.fixture
def secret(tmp_path) -> Path:
    key = tmp_path / "home" / ".ssh" / "id_ed25519"
    key.parent.mkdir(parents=True)
    key.write_bytes(SECRET)
    return key


def _snapshot(root: Path) -> Path:
    with Workspace.open(root) as ws:
        return root / ws.dataset("penguins").snapshot


def _model_file(root: Path) -> Path:
    with Workspace.open(root) as ws:
        return ws.artifacts_dir / find_version(ws, "mass:1").artifact_sha256


def _replace_with_link(path: Path, target: Path) -> str:
    path.unlink()
    path.symlink_to(target)
    return path.name


def _no_backup_written(out: Path) -> None:
    leftovers = list(out.iterdir())
    assert leftovers == [], leftovers
    for zipped in out.rglob("*.zip"):  # none, but never the secret either way
        with zipfile.ZipFile(zipped) as zf:
            assert all(SECRET not in zf.read(n) for n in zf.namelist())


@pytest.mark.parametrize("which", ["snapshot", "model file"])
def test_a_linked_file_is_refused_by_name_and_never_copied(ws_root, secret, tmp_path, which):
    path = _snapshot(ws_root) if which == "snapshot" else _model_file(ws_root)
    name = _replace_with_link(path, secret)
    out = tmp_path / "out"
    out.mkdir()
    with Workspace.open(ws_root) as ws:
        with pytest.raises(WorkspaceError, match=rf"{path.parent.name}/{name} is a symbolic link \(to "
                                                 rf"{secret}\)"):
            backup(ws, out / "b.zip", actor="ann")
    _no_backup_written(out)


def test_a_linked_snapshots_folder_is_refused(ws_root, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    shutil.move(ws_root / "snapshots", elsewhere)
    (ws_root / "snapshots").symlink_to(elsewhere, target_is_directory=True)
    out = tmp_path / "out"
    out.mkdir()
    with Workspace.open(ws_root) as ws:
        with pytest.raises(WorkspaceError, match=r": snapshots is a symbolic link"):
            backup(ws, out / "b.zip", actor="ann")
    _no_backup_written(out)


def test_a_linked_registry_is_refused(ws_root, tmp_path):
    elsewhere = tmp_path / "registry-elsewhere.sqlite"
    shutil.move(ws_root / "registry.sqlite", elsewhere)
    (ws_root / "registry.sqlite").symlink_to(elsewhere)
    out = tmp_path / "out"
    out.mkdir()
    with Workspace.open(ws_root) as ws:
        with pytest.raises(WorkspaceError, match=r": registry\.sqlite is a symbolic link"):
            backup(ws, out / "b.zip", actor="ann")
    _no_backup_written(out)


def test_the_cli_names_the_link_and_exits_2(ws_root, secret, tmp_path):
    name = _replace_with_link(_snapshot(ws_root), secret)
    out = tmp_path / "out"
    out.mkdir()
    done = run_cli("backup", str(out / "b.zip"), "--workspace", str(ws_root), "--as", "ann")
    assert done.returncode == 2 and f"snapshots/{name} is a symbolic link" in done.stderr, done.stderr
    _no_backup_written(out)


def test_a_workspace_without_links_still_backs_up(ws_root, tmp_path):
    with Workspace.open(ws_root) as ws:
        result = backup(ws, tmp_path / "b.zip", actor="ann")
    assert result.members == 3 and not result.missing
