"""Helpers shared by the core and CLI tests: a comparable picture of a workspace, and
small file writers. Not a test module (pytest only collects ``test_*.py``)."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

#: SQLite's own side files come and go with connections; they are not workspace content.
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def files_under(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` (relative path -> SHA-256), SQLite side files left out."""
    out = {}
    for p in sorted(Path(folder).rglob("*")):
        if p.is_file() and not p.name.endswith(_SQLITE_SIDE_FILES):
            out[p.relative_to(folder).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def registry_rows(root: Path) -> dict[str, list[tuple]]:
    """The rows of every table that an import or a change writes to."""
    conn = sqlite3.connect(str(Path(root) / "registry.sqlite"))
    try:
        return {
            "datasets": conn.execute("SELECT * FROM datasets ORDER BY id").fetchall(),
            "dataset_columns": conn.execute(
                "SELECT * FROM dataset_columns ORDER BY dataset_id, position").fetchall(),
            "audit_log": conn.execute("SELECT * FROM audit_log ORDER BY seq").fetchall(),
            "workspace_info": conn.execute("SELECT * FROM workspace_info ORDER BY key").fetchall(),
            "schema_migrations": conn.execute(
                "SELECT * FROM schema_migrations ORDER BY version").fetchall(),
        }
    finally:
        conn.close()


def workspace_state(root: Path, *, also: Path | None = None) -> dict:
    """Registry rows plus every file of the workspace (and of ``also``, e.g. the folder
    the imported file sits in, to catch temporary files left next to it)."""
    state = {"rows": registry_rows(root), "files": files_under(root)}
    if also is not None:
        state["also"] = files_under(also)
    return state


def tmp_leftovers(root: Path) -> list[str]:
    """Temporary files (our ``.tmp-`` prefix) anywhere in the workspace."""
    return sorted(p.name for p in Path(root).rglob(".tmp-*"))
