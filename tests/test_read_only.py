"""A workspace that cannot be written (a read-only folder or registry file, or one
opened read-only on purpose) gives a clear WorkspaceError, never an sqlite error, and
changes nothing."""

from __future__ import annotations

import os
import stat
import sys

import pytest

from mlops_desktop.core.errors import WorkspaceError
from mlops_desktop.core.workspace.integrity import verify_workspace
from mlops_desktop.core.store import Registry
from mlops_desktop.core.workspace import Workspace
from wsstate import workspace_state

AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def closed_ws(workspace, penguins_csv):
    workspace.import_file(penguins_csv, actor="ann")
    root = workspace.root
    workspace.close()
    return root


def test_opened_read_only_it_reads_and_refuses_every_change(closed_ws, penguins_csv):
    before = workspace_state(closed_ws)
    with Workspace.open(closed_ws, read_only=True) as ws:
        assert ws.read_only
        assert [d.name for d in ws.datasets()] == ["penguins"]
        assert ws.load_table(ws.dataset("penguins")).num_rows == 344
        assert verify_workspace(ws).ok
        with pytest.raises(WorkspaceError, match=r"The workspace .* is read-only: it was opened "
                                                 r"read-only\. Nothing was changed"):
            ws.update_column("penguins", "species", role="target", actor="ann")
        with pytest.raises(WorkspaceError, match="is read-only"):
            ws.import_file(penguins_csv, name="again", actor="ann")
    assert workspace_state(closed_ws) == before


def test_an_sqlite_read_only_error_becomes_a_workspace_error(closed_ws):
    """The database refusing a write (here: SQLite's query_only switch, which fails
    writes with SQLITE_READONLY as a read-only file does) reads as a WorkspaceError."""
    with Workspace.open(closed_ws) as ws:
        ws.registry.db.execute("PRAGMA query_only = ON")
        with pytest.raises(WorkspaceError, match=r"is read-only: attempt to write a readonly database"):
            ws.update_column("penguins", "species", role="target", actor="ann")
        ws.registry.db.execute("PRAGMA query_only = OFF")
        assert not ws.registry.db.conn.in_transaction  # rolled back, nothing half-done
        assert ws.dataset("penguins").column("species").role != "target"
        assert ws.verify_audit() == []


def test_a_registry_file_the_system_says_is_read_only_is_refused_for_changes(closed_ws, monkeypatch):
    registry = closed_ws / "registry.sqlite"
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if (str(p) == str(registry) and
                                                                     mode == os.W_OK) else real(p, mode, **kw))
    with pytest.raises(WorkspaceError, match=r"The workspace .* is read-only: the file registry\.sqlite "
                                             r"is read-only\. Nothing was changed"):
        Workspace.open(closed_ws)
    with Workspace.open(closed_ws, read_only=True) as ws:  # looking at it still works
        assert len(ws.datasets()) == 1


def test_a_read_only_folder_is_refused_for_changes(closed_ws, monkeypatch):
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if (str(p) == str(closed_ws) and
                                                                     mode == os.W_OK) else real(p, mode, **kw))
    with pytest.raises(WorkspaceError, match=r"is read-only: the folder .* cannot be written to"):
        Workspace.open(closed_ws)


def test_the_cli_reports_a_read_only_workspace_in_one_line(closed_ws, monkeypatch, capsys):
    from mlops_desktop.cli import run

    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if (str(p) == str(closed_ws) and
                                                                     mode == os.W_OK) else real(p, mode, **kw))
    code = run(["datasets", "column", "penguins", "species", "--role", "target",
                "--workspace", str(closed_ws)])
    err = capsys.readouterr().err
    assert code == 2 and "is read-only" in err and "Traceback" not in err and "sqlite" not in err


@pytest.mark.skipif(AS_ROOT, reason="root may write a read-only folder: chmod cannot make one")
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_a_chmod_read_only_workspace_gives_a_clear_error(closed_ws):
    mode = stat.S_IRUSR | stat.S_IXUSR
    os.chmod(closed_ws / "registry.sqlite", stat.S_IRUSR)
    os.chmod(closed_ws, mode)
    try:
        with pytest.raises(WorkspaceError, match="is read-only"):
            Workspace.open(closed_ws)
        with Workspace.open(closed_ws, read_only=True) as ws:  # immutable read of a WAL file
            assert [d.name for d in ws.datasets()] == ["penguins"]
            with pytest.raises(WorkspaceError, match="is read-only"):
                ws.update_column("penguins", "species", role="target", actor="ann")
    finally:
        os.chmod(closed_ws, stat.S_IRWXU)
        os.chmod(closed_ws / "registry.sqlite", stat.S_IRUSR | stat.S_IWUSR)


def test_a_read_only_open_of_a_newer_workspace_is_refused(closed_ws):
    import sqlite3

    conn = sqlite3.connect(closed_ws / "registry.sqlite")
    conn.execute("INSERT INTO schema_migrations VALUES (9999, 'from the future', 'x')")
    conn.commit()
    conn.close()
    with pytest.raises(WorkspaceError, match="made by a newer version"):
        Registry(closed_ws / "registry.sqlite", read_only=True)


def test_verify_checks_a_read_only_workspace(closed_ws, monkeypatch, capsys):
    from mlops_desktop.cli import run

    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if (str(p) == str(closed_ws) and
                                                                     mode == os.W_OK) else real(p, mode, **kw))
    assert run(["verify", "--workspace", str(closed_ws)]) == 0
    assert "everything is intact" in capsys.readouterr().out
