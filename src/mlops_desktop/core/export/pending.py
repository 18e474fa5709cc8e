"""An export between the moment its package takes its final name and the moment it is
recorded.

The package is renamed into place first (a record of a package that is not there would
be false), then recorded; a process killed in between would leave a package nobody
recorded. So before the rename a note is written into the workspace (``exports-pending/``,
named after the process like a temporary file): the version, where the package goes, its
manifest's SHA-256, who exports. It is removed once the record is committed, or the
package removed. A note left behind by a process that died is settled the next time the
workspace is opened for changes: a package found where the note says, with the noted
manifest, is recorded (the audit entry says it was recorded after an interruption);
otherwise the note is dropped.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import MlopsError, WorkspaceError
from ..regular_files import open_regular_file, read_regular_file
from ..storage import TMP_PREFIX, atomic_write, left_behind, temporary_name

if TYPE_CHECKING:
    from ..workspace import Workspace

FOLDER = "exports-pending"


def note(ws: "Workspace", entry: dict[str, Any]) -> Path:
    """Write the note of an export about to be published; ``entry`` holds the arguments
    of :func:`registry.exports.record` (``size_bytes`` None for a zip: measured later)."""
    folder = ws.root / FOLDER
    path = folder / temporary_name("export.json")
    try:
        folder.mkdir(exist_ok=True)
        atomic_write(path, lambda tmp: tmp.write_text(json.dumps(entry, sort_keys=True), encoding="utf-8"))
    except OSError as exc:
        raise WorkspaceError(f"Cannot note the export in the workspace {ws.root}: {exc.strerror or exc}.") from None
    return path


def record_interrupted(ws: "Workspace") -> list[dict[str, Any]]:
    """Settle the notes that processes which died left behind; returns the exports
    recorded now."""
    from ..store import exports as export_rows

    folder = ws.root / FOLDER
    if not folder.is_dir():
        return []
    recorded = []
    for path in sorted(folder.glob(f"{TMP_PREFIX}*")):
        try:
            if not left_behind(path):
                continue  # its export is still running
            entry = json.loads(read_regular_file(path))
            dest = Path(entry["out_path"])
            published = _published(dest, bool(entry["zip"]), entry["manifest_sha256"])
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, MlopsError):
            published = False
        if published:
            size = dest.stat().st_size if entry["zip"] else entry["size_bytes"]
            with ws.registry.transaction():  # one process records it, however many open the workspace
                if export_rows.find(ws.registry, out_path=entry["out_path"],
                                    manifest_sha256=entry["manifest_sha256"]) is None:
                    details = dict(entry.get("details") or {}, recorded_after_an_interruption=True)
                    recorded.append(export_rows.record(ws.registry, **(entry | {"size_bytes": size,
                                                                                "details": details})))
        path.unlink(missing_ok=True)
    return recorded


def _published(dest: Path, zip: bool, manifest_sha256: str) -> bool:
    """Whether ``dest`` holds the package with that manifest."""
    if zip:
        with open_regular_file(dest) as fh, zipfile.ZipFile(fh) as zf:
            manifest = zf.read(f"{dest.stem}/manifest.json")
    else:
        manifest = read_regular_file(dest / "manifest.json")
    return hashlib.sha256(manifest).hexdigest() == manifest_sha256
