"""A team registry keeps the bytes of every snapshot and model file, content-addressed.

Each member's workspace folder is a local cache of them: a file written there (a
snapshot at import, a model file at training) is stored in the database in the same
transaction as the row that names it, once per SHA-256, in chunks; a file the folder
lacks (made by another member) is fetched when the workspace is opened, checked against
its SHA-256 and only then put in place (written to a temporary name, fsynced, renamed).
A workspace of one's own (SQLite) keeps its files in its folder alone.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import WorkspaceError
from .db import utc_now

if TYPE_CHECKING:
    from .db import Registry

#: the size of one stored chunk (a row of stored_file_chunks)
CHUNK = 1 << 20


def _root(reg: "Registry") -> Path | None:
    return getattr(reg, "files_root", None) if reg.dialect == "postgresql" else None


def keep(reg: "Registry", sha256: str, relative: str) -> bool:
    """Store the workspace file ``relative`` (whose SHA-256 is ``sha256``) in a team
    registry, inside the caller's transaction, unless it is stored already. Returns
    whether it was stored now (always False in a workspace of one's own)."""
    root = _root(reg)
    if root is None:
        return False
    if reg.query_one("SELECT 1 AS x FROM stored_files WHERE sha256 = ?", (sha256,)):
        return False
    path = root / relative
    size = path.stat().st_size
    reg.execute("INSERT INTO stored_files (sha256, size_bytes, chunks, stored_by, stored_at)"
                " VALUES (?, ?, ?, ?, ?)", (sha256, size, -(-size // CHUNK), reg.login, utc_now()))
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        n = 0
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            reg.execute("INSERT INTO stored_file_chunks (sha256, n, data) VALUES (?, ?, ?)", (sha256, n, chunk))
            n += 1
    if digest.hexdigest() != sha256:
        raise WorkspaceError(f"{path} changed while it was being stored in the team registry (its SHA-256 "
                             "is no longer the one recorded). Nothing was changed; try again.")
    return True


def missing_here(reg: "Registry") -> list[tuple[str, str]]:
    """The (sha256, path relative to the workspace folder) of every file the registry's
    rows name that the folder lacks."""
    root = _root(reg)
    if root is None:
        return []
    wanted = [(r["sha256"], f"artifacts/{r['sha256']}") for r in reg.query("SELECT sha256 FROM artifacts")]
    wanted += [(r["snapshot_sha256"], r["snapshot"])
               for r in reg.query("SELECT snapshot, snapshot_sha256 FROM datasets")]
    # one listing per folder, not a look-up per file: 10,000 versions are 10,000 files
    present = {f"{folder}/{name}" for folder in ("artifacts", "snapshots") if (root / folder).is_dir()
               for name in os.listdir(root / folder)}
    return [(sha, rel) for sha, rel in wanted if rel not in present and not (root / rel).is_file()]


def fetch(reg: "Registry", sha256: str, relative: str) -> bool:
    """Copy a stored file into the workspace folder, checked against its SHA-256 before it
    takes its name. False when the registry holds no copy (the member who made it has
    not stored it); a stored copy that does not match its hash raises."""
    from ..storage import publish, write_temporary

    root = _root(reg)
    head = reg.query_one("SELECT size_bytes, chunks FROM stored_files WHERE sha256 = ?", (sha256,)) \
        if root is not None else None
    if head is None:
        return False
    dest = root / relative
    if Path(relative).is_absolute() or not any(
            (root / folder).resolve() in dest.resolve().parents for folder in ("artifacts", "snapshots")):
        raise WorkspaceError(f"The team registry names a file {relative!r} outside the workspace's artifacts "
                             "and snapshots folders: its rows were changed outside the app. Nothing was "
                             "written; run 'mlops-desktop verify'.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    counted = {"chunks": 0}

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as out:
            for (data,) in reg.rows("SELECT data FROM stored_file_chunks WHERE sha256 = ? ORDER BY n", (sha256,)):
                out.write(data)
                digest.update(data)
                counted["chunks"] += 1

    tmp = write_temporary(dest.parent, dest.name, write)
    if digest.hexdigest() != sha256 or counted["chunks"] != head["chunks"]:
        tmp.unlink(missing_ok=True)
        raise WorkspaceError(
            f"The team registry's copy of {relative} is damaged (it no longer matches its SHA-256 "
            f"{sha256[:12]}…): it was changed outside the app. Nothing was written; ask the registry's "
            "administrator to restore it from a backup.")
    publish(tmp, dest)
    return True
