"""Issue 12, item 4: the database file itself. ``verify`` runs SQLite's own integrity
check and names a damaged file; a missing or empty (0-byte) ``registry.sqlite`` next to
model files and snapshots is "the registry is gone", never a fresh, empty workspace
that passes every check."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from conftest import run_cli
from mlops_desktop.core.errors import WorkspaceError
from mlops_desktop.core.workspace import Workspace

from .conftest import named, verify_json


def _damage_page_of(root: Path, name: str) -> None:
    """Overwrite the first page of table or index ``name`` (its b-tree's root) with junk,
    as a failing disk or a careless tool would."""
    path = root / "registry.sqlite"
    conn = sqlite3.connect(path)
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    start = (page - 1) * size
    data[start + 8:start + size] = b"\xa5" * (size - 8)  # keep the page header, spoil its cells
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", ["audit_log", "audit_log_entity", "model_versions"])
def test_a_damaged_page_is_named(ws_copy, name):
    _damage_page_of(ws_copy, name)
    code, report = verify_json(ws_copy)
    assert code == 2 and report["ok"] is False
    assert named(report, "database_malformed", "the registry file is damaged", "On tree page"), report


def test_a_file_that_is_not_a_database_is_named(ws_copy):
    path = ws_copy / "registry.sqlite"
    path.write_bytes(b"this is not SQLite" + path.read_bytes()[18:])
    code, report = verify_json(ws_copy)
    assert code == 2 and named(report, "database_malformed", "not a database")
    with pytest.raises(WorkspaceError, match="Cannot open the registry .*: the file is damaged"):
        Workspace.open(ws_copy)


@pytest.mark.parametrize("how", ["empty", "missing"])
def test_a_registry_gone_beside_its_files_is_not_an_empty_workspace(ws_copy, how):
    path = ws_copy / "registry.sqlite"
    if how == "empty":
        path.write_bytes(b"")
    else:
        path.unlink()
    code, report = verify_json(ws_copy)
    assert code == 2 and report["ok"] is False
    assert named(report, "registry_missing", "is gone", "model file(s) and snapshot(s)"), report
    for opening in (lambda: Workspace.open(ws_copy), lambda: Workspace.open(ws_copy, read_only=True),
                    lambda: Workspace.open_or_create(ws_copy, actor="ann"),
                    lambda: Workspace.create(ws_copy, actor="ann")):
        with pytest.raises(WorkspaceError, match="The registry of the workspace .* is gone"):
            opening()
    for command in (["datasets", "list"], ["models", "list"], ["init"]):
        result = run_cli(*command, "--workspace", str(ws_copy))
        assert result.returncode == 2 and "is gone" in result.stderr, (command, result.stderr)
    # nothing was created where the registry should be
    assert (path.stat().st_size == 0) if how == "empty" else not path.exists()


def test_an_empty_registry_file_alone_is_not_made_into_a_registry(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    (root / "registry.sqlite").write_bytes(b"")
    with pytest.raises(WorkspaceError, match="empty file"):
        Workspace.open(root)
    code, report = verify_json(root)
    assert code == 2 and named(report, "registry_missing", "empty file (0 bytes)")
    assert (root / "registry.sqlite").stat().st_size == 0


def test_the_app_says_the_registry_is_gone(ws_copy, qapp, tmp_path):
    """The GUI opens workspaces through AppState: a clear WorkspaceError, no workspace."""
    from PySide6.QtCore import QSettings

    from mlops_desktop.gui.state import AppState, Preferences

    (ws_copy / "registry.sqlite").write_bytes(b"")
    state = AppState(Preferences(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)))
    for create in (True, False):
        with pytest.raises(WorkspaceError, match="is gone"):
            state.open_workspace(ws_copy, create=create)
    assert state.workspace is None
