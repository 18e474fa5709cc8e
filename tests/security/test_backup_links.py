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

from conftest import run_cli
from mlops_desktop.core.workspace.backup import backup
from mlops_desktop.core.errors import WorkspaceError
from mlops_desktop.core.workspace import Workspace

pytestmark = pytest.mark.skipif(os.name != "posix", reason="symbolic links without privileges: POSIX")

SECRET = b"-----BEGIN OPENSSH PRIVATE KEY-----\nnot for a backup\n-----END OPENSSH PRIVATE KEY-----\n"


@pytest.fixture
def secret(tmp_path) -> Path:
    key = tmp_path / "home" / ".ssh" / "id_ed25519"
    key.parent.mkdir(parents=True)
    key.write_bytes(SECRET)
    return key


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


@pytest.mark.parametrize("which", ["snapshot", "model_file"])
def test_a_linked_file_is_refused_by_name_and_never_copied(request, ws_root, secret, tmp_path, which):
    path = request.getfixturevalue(which)
    name = _replace_with_link(path, secret)
    out = tmp_path / "out"
    out.mkdir()
    with Workspace.open(ws_root) as ws:
        with pytest.raises(WorkspaceError, match=rf"{path.parent.name}/{name} is a symbolic link \(to "
                                                 rf"{secret}\)"):
            backup(ws, out / "b.zip", actor="ann")
    _no_backup_written(out)


@pytest.mark.parametrize("name", ["snapshots", "artifacts", "registry.sqlite"])
def test_a_linked_folder_or_registry_is_refused(ws_root, tmp_path, name):
    elsewhere = tmp_path / "elsewhere"
    shutil.move(ws_root / name, elsewhere)
    (ws_root / name).symlink_to(elsewhere, target_is_directory=elsewhere.is_dir())
    out = tmp_path / "out"
    out.mkdir()
    with Workspace.open(ws_root) as ws:
        with pytest.raises(WorkspaceError, match=rf": {name} is a symbolic link \(to {elsewhere}\)"):
            backup(ws, out / "b.zip", actor="ann")
    _no_backup_written(out)


def test_the_cli_names_the_link_and_exits_2(ws_root, snapshot, secret, tmp_path):
    name = _replace_with_link(snapshot, secret)
    out = tmp_path / "out"
    out.mkdir()
    done = run_cli("backup", str(out / "b.zip"), "--workspace", str(ws_root), "--as", "ann")
    assert done.returncode == 2 and f"snapshots/{name} is a symbolic link" in done.stderr, done.stderr
    _no_backup_written(out)


def test_a_workspace_without_links_still_backs_up(ws_root, tmp_path):
    with Workspace.open(ws_root) as ws:
        result = backup(ws, tmp_path / "b.zip", actor="ann")
    assert result.members == 3 and not result.missing
