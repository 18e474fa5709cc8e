"""A team registry keeps the bytes of every snapshot and model file, content-addressed.

Each member's workspace folder is a local cache of them: a file written there (a
snapshot at import, a model file at training) is stored in the database in the same
transaction as the row that names it, once per SHA-256, in chunks; a file the folder
lacks (made by another member) is fetched when the workspace is opened, or later when it is
first needed (:func:`here_or_fetched`), checked against its SHA-256 and only then put in
place (written to a temporary name, fsynced, renamed).
A workspace of one's own (SQLite) keeps its files in its folder alone.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional

from ..errors import MlopsError, WorkspaceError
from .db import utc_now
from .problem import Problem

if TYPE_CHECKING:
    from .db import Registry

#: the size of one stored chunk (a row of stored_file_chunks)
CHUNK = 1 << 20
#: up to this size a stored copy with no local copy to compare is hashed whole on the server
#: (its chunks joined in the server's memory, which caps a value at 1 GB); a bigger one is
#: read through and hashed here
WHOLE_ON_SERVER = 256 << 20


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
            reg.execute_binary("INSERT INTO stored_file_chunks (sha256, n, data) VALUES (?, ?, ?)",
                               (sha256, n, chunk))
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


def here_or_fetched(reg: "Registry", sha256: str, relative: str) -> None:
    """On a team registry: if the member's folder lacks the file (another member made it
    after this workspace was opened), fetch it now, checked against its SHA-256 before it
    takes its name. A file the registry holds no copy of stays missing, for the caller to
    say so; a damaged copy raises. Called where a snapshot or model file is first needed:
    by a job off the UI thread in the app, since the download can be long."""
    root = _root(reg)
    if root is not None and not (root / relative).exists():
        fetch(reg, sha256, relative)


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
    if not _inside(root, relative):
        raise WorkspaceError(f"The team registry names a file {relative!r} outside the workspace's artifacts "
                             "and snapshots folders: its rows were changed outside the app. Nothing was "
                             "written; run 'mlops-desktop verify'.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    counted = {"chunks": 0}

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as out:
            for data in _chunks(reg, sha256, int(head["chunks"])):
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


def _inside(root: Path, relative: str) -> bool:
    """Whether ``relative`` names a file inside the workspace's artifacts or snapshots
    folder (a row changed outside the app could name any path)."""
    dest = (root / relative).resolve()
    return not Path(relative).is_absolute() and any(
        (root / folder).resolve() in dest.parents for folder in ("artifacts", "snapshots"))


def _chunks(reg: "Registry", sha256: str, count: int) -> Iterator[bytes]:
    """The stored file's first ``count`` chunks, in order, until one is missing: one query
    each, so that a file of gigabytes is never held in memory whole."""
    for n in range(count):
        row = next(reg.rows_binary("SELECT data FROM stored_file_chunks WHERE sha256 = ? AND n = ?", (sha256, n)),
                   None)
        if row is None:
            return
        yield bytes(row[0])


def check(reg: "Registry") -> tuple[int, list[Problem]]:
    """On a team registry, the stored copies on the server: every file a record names is
    stored (``stored_file_missing``), and each stored file's chunks are all there and
    reassemble to its recorded size and SHA-256 (``stored_file_damaged``). Returns (stored
    files checked, problems); a workspace of one's own has none.

    The bytes are hashed on the server, never downloaded when avoidable: each chunk's
    SHA-256 (32 bytes back per MB) is compared with the same chunk of the member's local
    copy, itself checked whole against the recorded hash. A file with no sound local copy
    is hashed whole on the server up to :data:`WHOLE_ON_SERVER`, and read through above it.
    """
    root = _root(reg)
    if root is None:
        return 0, []
    from .consistency import artifact_users

    named: dict[str, tuple[str, list[str], str, str]] = {}  # sha -> (local path, whose, entity)
    for r in reg.query("SELECT id, name, snapshot, snapshot_sha256 FROM datasets ORDER BY id"):
        entry = named.setdefault(r["snapshot_sha256"], (r["snapshot"], [], "dataset", str(r["id"])))
        entry[1].append(f"dataset {r['id']} ({r['name']})")
    users = artifact_users(reg)
    for r in reg.query("SELECT sha256 FROM artifacts ORDER BY created_at"):
        named.setdefault(r["sha256"], (f"artifacts/{r['sha256']}", [f"the model file of {u}" for u in
                                       users.get(r["sha256"], [])] or ["a model file"], "artifact", r["sha256"]))
    heads = {r["sha256"]: r for r in reg.query(
        "SELECT f.sha256, f.size_bytes, f.chunks, count(c.n) AS n_chunks, max(c.n) AS last_n,"
        " coalesce(sum(octet_length(c.data)), 0) AS n_bytes"  # sizes from the values' headers
        " FROM stored_files f LEFT JOIN stored_file_chunks c ON c.sha256 = f.sha256 GROUP BY f.sha256")}
    problems = []
    for sha, (relative, whose, kind, entity_id) in named.items():
        of = f"{', '.join(whose[:3])}{' and others' if len(whose) > 3 else ''}"
        head = heads.get(sha)
        if head is None:
            problems.append(Problem(
                "stored_file_missing", f"{of}: the team registry holds no copy of {relative} ({sha[:12]}…), "
                "so the other members cannot get it: it was removed on the server, or never stored.",
                entity_type=kind, entity_id=entity_id))
            continue
        why = _damage(reg, head, root / relative if _inside(root, relative) else None)
        if why:
            problems.append(Problem(
                "stored_file_damaged", f"{of}: the team registry's copy of {relative} ({sha[:12]}…) is "
                f"damaged ({why}): it was changed on the server outside the app. Restore it from the "
                "server's backup.", entity_type=kind, entity_id=entity_id))
    return len(named), problems


def _damage(reg: "Registry", head: dict, local: Optional[Path]) -> str:
    """What is wrong with a stored copy, in words, or ''. ``local``: the member's copy."""
    sha, size, chunks = head["sha256"], int(head["size_bytes"]), int(head["chunks"])
    if (int(head["n_chunks"]), int(head["n_bytes"])) != (chunks, size) or \
            (chunks and int(head["last_n"]) != chunks - 1):
        return (f"{int(head['n_chunks'])} chunks of {int(head['n_bytes'])} bytes where {chunks} of "
                f"{size} bytes were stored")
    if local is not None and local.is_file():
        theirs = [(int(r[0]), str(r[1])) for r in reg.rows(
            "SELECT octet_length(data), encode(sha256(data), 'hex') FROM stored_file_chunks"
            " WHERE sha256 = ? ORDER BY n", (sha,))]
        bad = _differing_chunks(local, sha, theirs)
        if bad is not None:
            return (f"chunk{'s' if len(bad) > 1 else ''} {', '.join(str(n) for n in bad[:5])} of {chunks} "
                    "differ from the file") if bad else ""
    if size <= WHOLE_ON_SERVER:
        row = reg.query_one("SELECT encode(sha256(string_agg(data, ''::bytea ORDER BY n)), 'hex') AS h"
                            " FROM stored_file_chunks WHERE sha256 = ?", (sha,))
        actual = row["h"] if row and row["h"] else hashlib.sha256(b"").hexdigest()
    else:
        digest = hashlib.sha256()
        for data in _chunks(reg, sha, chunks):
            digest.update(data)
        actual = digest.hexdigest()
    return "" if actual == sha else "its chunks no longer reassemble to its SHA-256"


def _differing_chunks(path: Path, sha256: str, theirs: list[tuple[int, str]]) -> Optional[list[int]]:
    """The numbers of the stored chunks (``theirs``: size and SHA-256 of each, in order)
    that differ from the same bytes of the member's copy at ``path``; None when that copy
    is not whole (does not hash to ``sha256``), so there is nothing sound to compare with."""
    from ..regular_files import open_regular_file

    whole, bad = hashlib.sha256(), []
    try:
        with open_regular_file(path) as fh:
            for n, (size, digest) in enumerate(theirs):
                data = fh.read(size)
                whole.update(data)
                if hashlib.sha256(data).hexdigest() != digest:
                    bad.append(n)
            whole.update(fh.read())
    except (OSError, MlopsError):
        return None
    return bad if whole.hexdigest() == sha256 else None
