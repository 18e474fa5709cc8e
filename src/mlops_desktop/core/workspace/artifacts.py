"""Content-addressed artifacts: files in the workspace's ``artifacts/`` folder named
by the SHA-256 of their bytes.

A model is written to a temporary file, fsynced, hashed and renamed to its hash
*before* the registry row that points to it commits; if that commit never happens,
:func:`discard_unreferenced` removes the file. Model files are skops files read with
an explicit list of trusted types (:mod:`.model_format`); loading checks the file's
SHA-256 against the name the registry recorded first, and never falls back to pickle:
a pickle from an earlier version is refused (:mod:`.legacy_models` converts those a
workspace made itself, when asked).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from ..errors import MlopsError, NotAFileError
from ..regular_files import read_regular_file
from ..storage import publish, sha256_file, write_temporary

if TYPE_CHECKING:
    from ..store.audit import Problem
    from . import Workspace

SHA256 = re.compile(r"[0-9a-f]{64}")


class ArtifactError(MlopsError):
    """A stored artifact is missing, unrecorded or does not match its hash."""


class UntrustedModelError(ArtifactError):
    """A model file is not a trusted model file (a pickle, a file made elsewhere, damaged
    content); nothing in it was loaded."""


@dataclass(frozen=True)
class StoredArtifact:
    """A file kept in the workspace's artifacts folder: its SHA-256, its size and where it is."""
    sha256: str
    size_bytes: int
    path: Path


def artifact_path(ws: "Workspace", sha256: str) -> Path:
    """Where the artifact with this SHA-256 is kept in the workspace; refuses anything that is not a hash."""
    if not SHA256.fullmatch(sha256 or ""):
        raise ArtifactError(f"{sha256!r} is not an artifact hash (64 hexadecimal characters).")
    return ws.artifacts_dir / sha256


def save_model_file(ws: "Workspace", model: Any) -> StoredArtifact:
    """Store ``model`` as a skops file in the artifacts folder under its SHA-256 (see
    :func:`.model_format.model_to_bytes`). Writing the same bytes twice keeps one file."""
    from ..model_format import model_to_bytes

    return store_bytes(ws, model_to_bytes(model), "model.skops")


def store_bytes(ws: "Workspace", data: bytes, name: str) -> StoredArtifact:
    """Store ``data`` in the artifacts folder under its SHA-256 (``name`` only names the
    temporary file while it is written)."""
    folder = ws.artifacts_dir
    folder.mkdir(exist_ok=True)
    tmp = write_temporary(folder, name, lambda p: p.write_bytes(data))
    try:
        digest = sha256_file(tmp)
        size = tmp.stat().st_size
        dest = folder / digest
        if dest.is_file() and sha256_file(dest) == digest:
            tmp.unlink()
        else:
            publish(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return StoredArtifact(digest, size, dest)


def verify_artifact(ws: "Workspace", sha256: str) -> str | None:
    """None when the artifact is recorded, present and intact; else the problem."""
    from ..store import artifacts as artifact_rows

    path = artifact_path(ws, sha256)
    if not artifact_rows.is_recorded(ws.registry, sha256):
        return f"artifact {sha256[:12]}… is not recorded in the registry."
    if not path.is_file():
        return f"artifact {sha256[:12]}… is missing from {ws.artifacts_dir}."
    if sha256_file(path) != sha256:
        return f"artifact {sha256[:12]}… was modified: its content no longer matches its SHA-256."
    return None


def read_model_bytes(ws: "Workspace", sha256: str, *, owner: str = "") -> tuple[Path, bytes]:
    """The bytes of a recorded model file, after checking them against the hash (one
    read: the bytes that were hashed are the bytes returned). ``owner`` names the
    version in messages ("churn:3")."""
    from ..store import artifacts as artifact_rows
    from ..store.stored_files import here_or_fetched

    of = f" of {owner}" if owner else ""
    path = artifact_path(ws, sha256)
    if not artifact_rows.is_recorded(ws.registry, sha256):
        raise ArtifactError(f"The artifact {sha256[:12]}… is not recorded in this workspace's "
                            "registry; it will not be loaded.")
    here_or_fetched(ws.registry, sha256, f"artifacts/{sha256}")  # trained by another member
    try:
        data = read_regular_file(path, error=ArtifactError)  # a pipe or a device in its place never blocks
    except FileNotFoundError:
        raise ArtifactError(f"The model file{of} ({path}) is missing. The workspace is damaged; "
                            "restore the artifacts folder from a backup, or retrain.") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ArtifactError(f"The model file{of} ({path}) was modified after it was saved: its "
                            "SHA-256 no longer matches the registry. It was not loaded. Restore it "
                            "from a backup, or retrain.")
    return path, data


def load_model_file(ws: "Workspace", sha256: str, *, owner: str = "") -> Any:
    """The fitted model stored as ``sha256``: its bytes checked against the hash, then
    read as a skops file with the trusted types only. Anything else (a pickle, a file
    made elsewhere) raises :class:`UntrustedModelError`; nothing is ever unpickled."""
    from ..legacy_models import PICKLE_REASON, looks_like_pickle, refusal
    from ..model_format import UnreadableModelFile, model_from_bytes

    path, data = read_model_bytes(ws, sha256, owner=owner)
    try:
        return model_from_bytes(data)
    except UnreadableModelFile as exc:
        of = f" of {owner}" if owner else ""
        if looks_like_pickle(data):
            why, then = PICKLE_REASON, refusal(ws, sha256)
        else:
            why, then = str(exc), "Restore the workspace from a backup you trust, or train the model again."
        raise UntrustedModelError(f"The model file{of} ({path}) is not a trusted model file: {why}. "
                                  f"It was not loaded. {then}") from None


def discard_unreferenced(ws: "Workspace", sha256: str) -> bool:
    """Delete an artifact file that no registry row records (left by a failed or
    cancelled run). Returns True when a file was deleted."""
    from ..store import artifacts as artifact_rows

    if artifact_rows.is_recorded(ws.registry, sha256):
        return False
    path = artifact_path(ws, sha256)
    if path.is_file():
        path.unlink()
        return True
    return False


def verify_all(ws: "Workspace") -> tuple[int, list[str]]:
    """Every recorded artifact checked against its hash: (artifacts checked, one
    sentence per problem)."""
    checked, problems = check_files(ws)
    return checked, [p.message for p in problems]


def check_files(ws: "Workspace", *, users: Optional[dict[str, list[str]]] = None
                ) -> tuple[int, list["Problem"]]:
    """Every recorded artifact's file checked against its hash, the model versions that
    use it named in the sentence: (artifacts checked, problems). Files are hashed on a
    few threads (hashlib releases the GIL), for a workspace of many model files."""
    from concurrent.futures import ThreadPoolExecutor

    from ..store import artifacts as artifact_rows
    from ..store.audit import Problem
    from ..store.consistency import artifact_users

    hashes = artifact_rows.all_hashes(ws.registry)
    users = artifact_users(ws.registry) if users is None else users

    def problem(sha: str) -> Optional[Problem]:
        if not SHA256.fullmatch(sha or ""):
            return Problem("record_altered", f"artifact {sha!r} is not a SHA-256: its record was "
                           "changed outside the app.", entity_type="artifact", entity_id=sha)
        path = ws.artifacts_dir / sha
        used = users.get(sha)
        of = f" (the model file of {', '.join(used[:3])}{' and others' if len(used) > 3 else ''})" \
            if used else ""
        try:
            actual = sha256_file(path)
        except FileNotFoundError:
            return Problem("artifact_missing", f"artifact {sha[:12]}…{of} is missing from "
                           f"{ws.artifacts_dir}.", entity_type="artifact", entity_id=sha)
        except NotAFileError as exc:
            return Problem("artifact_modified", f"artifact {sha[:12]}…{of} was replaced outside the app: "
                           f"{exc}", entity_type="artifact", entity_id=sha)
        if actual != sha:
            return Problem("artifact_modified", f"artifact {sha[:12]}…{of} was modified: its content "
                           "no longer matches its SHA-256.", entity_type="artifact", entity_id=sha)
        return None

    # four threads, each with its share of the files (a task per file costs more than
    # hashing a small one)
    shares = [hashes[i::4] for i in range(4)]
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="verify") as pool:
        results = list(pool.map(lambda share: [problem(h) for h in share], shares))
    by_hash = {h: p for share, found in zip(shares, results) for h, p in zip(share, found)}
    return len(hashes), [by_hash[h] for h in hashes if by_hash[h] is not None]
