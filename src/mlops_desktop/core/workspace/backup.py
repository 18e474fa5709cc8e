"""Backing a workspace up into one zip file, and restoring it into a new folder.

A backup holds ``registry.sqlite`` (a consistent copy made with SQLite's online backup
API, so the app may keep working meanwhile), every artifact and snapshot the copied
registry records, and ``manifest.json``: the SHA-256 and size of every member, the
registry's schema version and the audit log's last entry. It is written under a
temporary name and renamed when complete, so a file under the chosen name is always
whole. The backup is recorded in the source workspace's audit log.

A restore checks everything before anything becomes visible: the zip (CRC), the
manifest (no member missing or unexpected, every hash), the schema (not newer than
this app), every member's name (nothing may land outside the target folder). It
unpacks into a temporary folder next to the target, opens and verifies the result,
records the restore in the restored workspace's audit log, and only then renames the
folder to the target. On any problem nothing is left behind.

This is also how a small team hands a workspace to a colleague.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Optional

from .. import numbers
from ... import __version__
from ..errors import WorkspaceError
from ..jobs import CancelToken, ProgressCallback, no_progress
from ..regular_files import open_regular_file
from ..storage import publish, remove_stale_temporaries, temporary_name, write_temporary

if TYPE_CHECKING:
    from . import Workspace

FORMAT = "mlops-desktop-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
REGISTRY = "registry.sqlite"
_CHUNK = 1 << 20
#: the only names a backup may hold: anything else (``../x``, ``/etc/x``) is refused
_MEMBER = re.compile(r"registry\.sqlite|artifacts/[0-9a-f]{64}|snapshots/[A-Za-z0-9][A-Za-z0-9._-]*\.parquet")


@dataclass
class BackupResult:
    """What a backup wrote: the file, its size and SHA-256, how many members and audit entries it holds."""
    path: Path
    bytes: int
    sha256: str
    members: int
    schema_version: int
    #: the last audit entry the backup holds
    audit_seq: int
    #: recorded files that were missing from the workspace (the backup lacks them too)
    missing: list[str] = field(default_factory=list)
    audited: bool = True
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """What ``backup --json`` prints: the path as text, the time to the millisecond."""
        d = asdict(self)
        d["path"] = str(self.path)
        d["seconds"] = round(self.seconds, 3)
        return d


@dataclass
class RestoreResult:
    """What a restore made: the new workspace, what it holds, and whose backup it came from."""
    workspace: Path
    workspace_id: str
    members: int
    bytes: int
    datasets: int
    models: int
    backup_created_at: str
    backup_created_by: str
    #: verify of the restored workspace (before the restore's own audit entry)
    problems: list[dict[str, Any]] = field(default_factory=list)
    #: versions whose model file is a pickle of an earlier version: never loaded, and a
    #: restored workspace never converts them (core/legacy_models.py)
    pickled_models: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the restored workspace passed verify (else restore exits non-zero)."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """What ``restore --json`` prints, with ``ok`` and the time to the millisecond."""
        d = asdict(self)
        d["workspace"] = str(self.workspace)
        d["ok"] = self.ok
        d["seconds"] = round(self.seconds, 3)
        return d


class _Bytes:
    """Progress over a known number of bytes, with a cancel check at every report."""

    def __init__(self, total: int, progress: ProgressCallback, cancel: Optional[CancelToken],
                 start: float, share: float) -> None:
        self.total, self.done = max(total, 1), 0
        self.progress, self.cancel = progress, cancel
        self.start, self.share = start, share

    def add(self, n: int, message: str) -> None:
        if self.cancel is not None:
            self.cancel.check()
        self.done += n
        self.progress(self.start + self.share * min(self.done / self.total, 1.0), message)


def _copy(src, dst, digest: "hashlib._Hash", meter: _Bytes, message: str) -> int:
    size = 0
    while block := src.read(_CHUNK):
        digest.update(block)
        dst.write(block)
        size += len(block)
        meter.add(len(block), message)
    return size


# -- backup ------------------------------------------------------------------------------------

def backup(ws: "Workspace", path_zip: Path | str, *, actor: str,
           progress: Optional[ProgressCallback] = None,
           cancel: Optional[CancelToken] = None) -> BackupResult:
    """Back the workspace up into ``path_zip`` (replaced atomically if it exists).
    Raises :class:`WorkspaceError` for a destination that cannot be written and
    :class:`JobCancelled` on cancel (no file is left either way)."""
    from ..store import Registry, audit
    from ..store import artifacts as artifact_rows
    from ..store import datasets as dataset_rows

    started = time.monotonic()
    progress = progress or no_progress
    dest = Path(path_zip).expanduser().absolute()
    if not dest.parent.is_dir():
        raise WorkspaceError(f"Cannot write the backup: the folder {dest.parent} does not exist.")
    if dest.is_dir():
        raise WorkspaceError(f"Cannot write the backup to {dest}: it is a folder. Give a file name, "
                             "e.g. workspace-backup.zip.")
    if ws.root == dest.parent or ws.root in dest.parents:
        raise WorkspaceError("Write the backup outside the workspace folder (a backup inside it would "
                             "be lost with it).")
    _refuse_links(ws)
    remove_stale_temporaries(dest.parent, older_than_s=None)  # a killed backup's leftovers
    progress(0.0, "Copying the registry")
    db_copy = dest.parent / temporary_name(REGISTRY)
    try:
        try:
            ws.registry.backup_to(db_copy, progress=lambda done, total: progress(
                0.1 * done / max(total, 1), "Copying the registry"))
        except OSError as exc:
            raise WorkspaceError(f"Cannot write the backup into {dest.parent}: "
                                 f"{exc.strerror or exc}.") from None
        if cancel is not None:
            cancel.check()
        # what the copy records is what the backup must hold (rows written after the
        # copy point to files it need not include)
        with Registry(db_copy, read_only=True) as copy:
            schema = copy.schema_version()
            info = copy.info()
            last = audit.entries(copy, limit=1)
            n_entries = len(copy.query("SELECT seq FROM audit_log"))
            wanted = [f"artifacts/{h}" for h in artifact_rows.all_hashes(copy)]
            wanted += sorted({d.snapshot for d in dataset_rows.list_all(copy)})
        members = [(REGISTRY, db_copy)]
        missing = []
        for name in wanted:
            path = ws.root / name
            if _MEMBER.fullmatch(name) and path.is_file():
                members.append((name, path))
            else:
                missing.append(name)
        manifest: dict[str, Any] = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "app_version": __version__,
            "schema_version": schema, "created_at": _now(), "created_by": actor,
            "workspace_id": info.get("id"), "source_workspace": str(ws.root),
            "audit": {"entries": n_entries, "last_seq": last[0].seq if last else 0,
                      "last_hash": last[0].hash if last else None},
            "missing": missing, "members": {}}
        meter = _Bytes(sum(p.stat().st_size for _, p in members), progress, cancel, 0.1, 0.85)

        def write(tmp: Path) -> None:
            with zipfile.ZipFile(tmp, "w", allowZip64=True) as zf:
                for name, path in members:
                    zinfo = zipfile.ZipInfo.from_file(path, name)
                    # model files (zlib) and snapshots (snappy) are compressed already
                    zinfo.compress_type = zipfile.ZIP_DEFLATED if name == REGISTRY else zipfile.ZIP_STORED
                    digest = hashlib.sha256()
                    # a link swapped in since the check is not followed either
                    with open_regular_file(path, error=WorkspaceError, follow_links=False) as src, \
                            zf.open(zinfo, "w", force_zip64=True) as dst:
                        size = _copy(src, dst, digest, meter, f"Backing up {name}")
                    manifest["members"][name] = {"sha256": digest.hexdigest(), "bytes": size}
                zf.writestr(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True),
                            compress_type=zipfile.ZIP_DEFLATED)

        try:
            tmp_zip = write_temporary(dest.parent, dest.name, write)
        except OSError as exc:
            raise WorkspaceError(f"Cannot write the backup {dest}: {exc.strerror or exc}.") from None
    finally:
        for side in ("", "-wal", "-shm", "-journal"):
            Path(str(db_copy) + side).unlink(missing_ok=True)
    progress(0.97, "Checking the backup")
    try:
        from ..storage import sha256_file

        zip_sha = sha256_file(tmp_zip)
        size = tmp_zip.stat().st_size
        if cancel is not None:
            cancel.check()
        publish(tmp_zip, dest)
    except BaseException:
        tmp_zip.unlink(missing_ok=True)
        raise
    result = BackupResult(path=dest, bytes=size, sha256=zip_sha, members=len(members),
                          schema_version=schema, audit_seq=manifest["audit"]["last_seq"],
                          missing=missing, audited=not ws.read_only)
    if not ws.read_only:
        try:
            reg = ws.registry
            with reg.transaction():
                audit.append(reg, actor=actor, action="workspace.backed_up", entity_type="workspace",
                             entity_id=info.get("id"),
                             summary=f"Backed up to {dest} ({len(members)} files, {numbers.file_size(size)})",
                             details={"path": str(dest), "sha256": zip_sha, "bytes": size,
                                      "members": len(members), "schema_version": schema,
                                      "audit_seq": result.audit_seq, "missing": missing})
        except BaseException:
            dest.unlink(missing_ok=True)  # an unrecorded backup is not kept
            raise
    result.seconds = time.monotonic() - started
    progress(1.0, f"Backed up to {dest.name}")
    return result


def _refuse_links(ws: "Workspace") -> None:
    """A backup holds the workspace's own files: a symbolic link among them (the registry,
    the artifacts and snapshots folders and what they hold) could point anywhere, a
    private key say, and is refused by name rather than followed."""
    places = [ws.root / name for name in (REGISTRY, f"{REGISTRY}-wal", f"{REGISTRY}-shm")]
    places += [ws.artifacts_dir, ws.snapshots_dir]
    for folder in (ws.artifacts_dir, ws.snapshots_dir):
        if folder.is_dir() and not folder.is_symlink():
            places += sorted(folder.iterdir())
    for path in places:
        if path.is_symlink():
            raise WorkspaceError(
                f"Cannot back up {ws.root}: {path.relative_to(ws.root).as_posix()} is a symbolic link (to "
                f"{os.readlink(path)}). A backup holds the workspace's own files and never follows links; "
                "put the file itself in its place, or remove the link, and back up again.")


def _now() -> str:
    from ..store import utc_now

    return utc_now()


# -- restore -----------------------------------------------------------------------------------

def _damaged(path: Path, why: str) -> WorkspaceError:
    return WorkspaceError(f"The backup {path} cannot be restored: {why}. Nothing was restored.")


def _safe_member(name: str) -> bool:
    """A name that can only land inside the target folder, in the workspace layout."""
    pure = PurePosixPath(name)
    if "\\" in name or pure.is_absolute() or any(p in ("", ".", "..") for p in name.split("/")):
        return False
    return bool(_MEMBER.fullmatch(name))


def read_manifest(path_zip: Path | str) -> dict[str, Any]:
    """The manifest of a backup, checked for format and schema (no member is read)."""
    from ..store import migrations

    path = Path(path_zip).expanduser().absolute()
    if not path.is_file():
        raise WorkspaceError(f"There is no backup file at {path}.")
    try:
        with zipfile.ZipFile(path) as zf:
            try:
                manifest = json.loads(zf.read(MANIFEST).decode("utf-8"))
            except KeyError:
                raise _damaged(path, f"it has no {MANIFEST}, so it is not a backup made by MLOps "
                                     "Desktop") from None
    except zipfile.BadZipFile as exc:
        raise _damaged(path, f"it is not a valid zip file ({exc})") from None
    except (ValueError, UnicodeDecodeError):
        raise _damaged(path, f"its {MANIFEST} cannot be read") from None
    except OSError as exc:
        raise WorkspaceError(f"Cannot read the backup {path}: {exc.strerror or exc}.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or \
            not isinstance(manifest.get("members"), dict):
        raise _damaged(path, f"its {MANIFEST} is not an MLOps Desktop backup manifest")
    if int(manifest.get("format_version") or 0) > FORMAT_VERSION or \
            int(manifest.get("schema_version") or 0) > migrations.LATEST:
        raise WorkspaceError(
            f"The backup {path} was made by a newer version of MLOps Desktop (registry schema "
            f"{manifest.get('schema_version')}; this app knows up to {migrations.LATEST}). Update the "
            "app to restore it. Nothing was restored.")
    return manifest


def restore(path_zip: Path | str, target_dir: Path | str, *, actor: str,
            progress: Optional[ProgressCallback] = None,
            cancel: Optional[CancelToken] = None) -> RestoreResult:
    """Restore a backup into ``target_dir`` (a new folder, or an empty one). Raises
    :class:`WorkspaceError` for a damaged or foreign zip, a newer schema, a target that
    is not empty; nothing is left behind on any error or cancel."""
    from .. import legacy_models
    from .integrity import verify_workspace
    from ..store import audit, database_check
    from ..store import models as model_rows
    from . import Workspace

    started = time.monotonic()
    progress = progress or no_progress
    path = Path(path_zip).expanduser().absolute()
    target = Path(target_dir).expanduser().absolute()
    if target.exists() and not target.is_dir():
        raise WorkspaceError(f"Cannot restore into {target}: it is a file, not a folder.")
    if target.is_dir() and any(target.iterdir()):
        raise WorkspaceError(f"Cannot restore into {target}: the folder is not empty. Choose a new or "
                             "empty folder; nothing was changed.")
    if not target.parent.is_dir():
        raise WorkspaceError(f"Cannot restore into {target}: the folder {target.parent} does not exist.")
    manifest = read_manifest(path)
    remove_stale_temporaries(target.parent, older_than_s=None)  # a killed restore's leftovers
    members: dict[str, dict[str, Any]] = manifest["members"]
    progress(0.0, "Checking the backup")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _damaged(path, f"it is not a valid zip file ({exc})") from None
    with zf:
        names = [i.filename for i in zf.infolist() if i.filename != MANIFEST]
        for name in list(members) + names:
            if not _safe_member(name):
                raise _damaged(path, f"it holds {name!r}, which is outside a workspace's layout (a "
                                     "file there could be written outside the target folder)")
        if len(set(names)) != len(names):
            raise _damaged(path, "it holds the same file twice")
        if REGISTRY not in members:
            raise _damaged(path, f"its manifest lists no {REGISTRY}")
        absent = sorted(set(members) - set(names))
        if absent:
            raise _damaged(path, f"{len(absent)} file(s) its manifest lists are missing from the zip "
                                 f"(first: {absent[0]})")
        extra = sorted(set(names) - set(members))
        if extra:
            raise _damaged(path, f"it holds file(s) its manifest does not list (first: {extra[0]})")
        total = sum(zf.getinfo(n).file_size for n in names)
        if shutil.disk_usage(target.parent).free < total:
            raise WorkspaceError(f"Cannot restore into {target}: it needs {numbers.file_size(total)} of free space.")
        staging = target.parent / temporary_name(f"restore-{target.name}")
        target_existed = target.exists()
        try:
            staging.mkdir()
            (staging / "artifacts").mkdir()
            (staging / "snapshots").mkdir()
            meter = _Bytes(total, progress, cancel, 0.0, 0.85)
            for name in names:
                digest = hashlib.sha256()
                try:
                    with zf.open(name) as src, open(staging / name, "wb") as dst:
                        size = _copy(src, dst, digest, meter, f"Restoring {name}")
                        dst.flush()
                        os.fsync(dst.fileno())
                except zipfile.BadZipFile as exc:
                    raise _damaged(path, f"{name} is damaged in the zip ({exc})") from None
                except (ValueError, RuntimeError, NotImplementedError) as exc:
                    raise _damaged(path, f"{name} cannot be read from the zip ({exc})") from None
                actual = digest.hexdigest()
                if actual != members[name].get("sha256") or size != members[name].get("bytes"):
                    raise _damaged(path, f"{name} does not match the SHA-256 its manifest records")
                if name.startswith("artifacts/") and actual != name.split("/", 1)[1]:
                    raise _damaged(path, f"{name} is not the file its name says (SHA-256 {actual[:12]}…)")
            # a trigger is code that would run inside the restore's own write: refused unopened
            foreign = database_check.foreign_objects(staging / REGISTRY)
            if foreign:
                more = f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""
                raise _damaged(path, foreign[0].message.rstrip(".") + more)
            progress(0.88, "Checking the restored workspace")
            with Workspace.open(staging) as ws:
                report = verify_workspace(ws)
                pickled = [mv.ref for mv in legacy_models.find(ws)]
                n_datasets = len(ws.datasets())
                n_models = len(model_rows.list_models(ws.registry))
                info = ws.registry.info()
                reg = ws.registry
                with reg.transaction():
                    audit.append(reg, actor=actor, action="workspace.restored", entity_type="workspace",
                                 entity_id=info.get("id"),
                                 summary=f"Restored at {target} from the backup {path.name} made "
                                         f"{manifest.get('created_at', '?')[:19].replace('T', ' ')}"
                                         f" by {manifest.get('created_by', '?')}",
                                 details={"backup": str(path), "backup_created_at": manifest.get("created_at"),
                                          "backup_created_by": manifest.get("created_by"),
                                          "source_workspace": manifest.get("source_workspace"),
                                          "backup_audit": manifest.get("audit"),
                                          "schema_version": manifest.get("schema_version"),
                                          "verify_ok": report.ok,
                                          "verify_problems": len(report.findings)})
            if cancel is not None:
                cancel.check()
            if target.exists():
                target.rmdir()  # empty, checked above: rename cannot replace a folder everywhere
            os.rename(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            if target_existed and not target.exists():
                target.mkdir()
            raise
    progress(1.0, f"Restored into {target}")
    return RestoreResult(workspace=target, workspace_id=info.get("id", ""), members=len(names),
                         bytes=total, datasets=n_datasets, models=n_models,
                         backup_created_at=manifest.get("created_at", ""),
                         backup_created_by=manifest.get("created_by", ""),
                         problems=[dict(p.to_dict(), message=p.message.replace(str(staging), str(target)))
                                   for p in report.findings],
                         pickled_models=pickled, seconds=time.monotonic() - started)


__all__ = ["BackupResult", "RestoreResult", "backup", "read_manifest", "restore"]
