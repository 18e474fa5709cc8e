"""What an attacker hands over: a malicious pickle whose loading creates a marker file,
and a backup (or workspace) whose model file was swapped for it, with every record that
could give it away rewritten to match: the registry rows, the audit log (its entries,
their hash chain and its recorded end, with the protecting triggers put back) and the
backup's manifest. ``verify`` finds such a workspace intact; only what is inside the
model file can tell. Also the honest workspace those start from."""

from __future__ import annotations

import hashlib
import json
import pickle
import sqlite3
import zipfile
import zlib
from pathlib import Path

from mlops_desktop.core.store.audit import entry_hash


def approved_workspace(folder: Path, penguins_csv: Path, *, trainer: str, approver: str) -> Path:
    """A workspace at ``folder`` with penguins and an approved OLS model of body mass
    (``mass:1``, validated): what the model-loading commands and pages need."""
    from mlops_desktop.core.registry.lifecycle import change_stage
    from mlops_desktop.core.train import TrainSpec, train
    from mlops_desktop.core.validate.for_version import validate_version
    from mlops_desktop.core.workspace import Workspace

    with Workspace.create(folder, actor=trainer) as ws:
        ws.import_file(penguins_csv, name="penguins", actor=trainer)
        train(ws, TrainSpec(dataset="penguins", target="body_mass_g", models=["ols"], model_name="mass"),
              actor=trainer)
        validate_version(ws, "mass:1", actor=trainer, n_bootstrap=50)
        change_stage(ws, "mass:1", "validated", actor=trainer)
        change_stage(ws, "mass:1", "approved", actor=approver, comment="Checked.")
    return folder


class _Payload:
    """Unpickling this runs ``code``: the marker proves that code ran."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self):
        return exec, (self.code,)


def malicious_pickle(marker: Path, *, compressed: bool = True) -> bytes:
    """A pickle that creates ``marker`` when loaded; zlib-compressed like the model files
    of earlier versions (``joblib.load`` reads it too)."""
    data = pickle.dumps(_Payload(f"open({str(marker)!r}, 'w').close()"), protocol=5)
    return zlib.compress(data, 3) if compressed else data


def swap_model_file(registry: Path, version_id: int, data: bytes, artifacts: Path) -> str:
    """Make ``data`` the model file of ``version_id`` in a closed registry and its
    artifacts folder, every record rewritten to match. Returns the new SHA-256."""
    new = hashlib.sha256(data).hexdigest()
    (artifacts / new).write_bytes(data)
    db = sqlite3.connect(registry)
    try:
        old = db.execute("SELECT artifact_sha256 FROM model_versions WHERE id = ?", (version_id,)).fetchone()[0]
        triggers = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
        for name, _sql in triggers:
            db.execute(f"DROP TRIGGER {name}")
        db.execute("INSERT INTO artifacts (sha256, size_bytes, kind, created_by, created_at)"
                   " SELECT ?, ?, kind, created_by, created_at FROM artifacts WHERE sha256 = ?",
                   (new, len(data), old))
        db.execute("UPDATE model_versions SET artifact_sha256 = ? WHERE id = ?", (new, version_id))
        db.execute("DELETE FROM artifacts WHERE sha256 = ?", (old,))
        _rewrite_log(db, old, new)
        for _name, sql in triggers:
            db.execute(sql)
        db.commit()
    finally:
        db.close()
    (artifacts / old).unlink()
    return new


def _rewrite_log(db: sqlite3.Connection, old: str, new: str) -> None:
    """Every entry that names the old file names the new one; the chain and its recorded
    end are recomputed from there."""
    rows = db.execute("SELECT seq, at, actor, action, entity_type, entity_id, summary, details, prev_hash,"
                      " hash FROM audit_log ORDER BY seq").fetchall()
    prev = None
    for seq, at, actor, action, etype, eid, summary, details, prev_hash, digest in rows:
        if old in details:
            details = details.replace(old, new)
        if prev is not None:
            prev_hash = prev
        fresh = entry_hash(seq, at, actor, action, etype, eid, summary, details, prev_hash)
        db.execute("UPDATE audit_log SET details = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                   (details, prev_hash, fresh, seq))
        prev = fresh
    db.execute("UPDATE audit_head SET hash = ? WHERE id = 1", (prev,))


def forged_backup(source: Path, dest: Path, version_id: int, data: bytes, work: Path) -> str:
    """A copy of the backup ``source`` whose model file of ``version_id`` is ``data``, its
    registry and manifest rewritten to match. Returns the forged file's SHA-256."""
    unpacked = work / "unpacked"
    with zipfile.ZipFile(source) as zf:
        zf.extractall(unpacked)
    manifest = json.loads((unpacked / "manifest.json").read_text())
    new = swap_model_file(unpacked / "registry.sqlite", version_id, data, unpacked / "artifacts")
    members = {}
    for name in manifest["members"]:
        if name.startswith("artifacts/") and not (unpacked / name).exists():
            name = f"artifacts/{new}"
        content = (unpacked / name).read_bytes()
        members[name] = {"sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}
    manifest["members"] = members
    with zipfile.ZipFile(dest, "w") as zf:
        for name in members:
            zf.write(unpacked / name, name)
        zf.writestr("manifest.json", json.dumps(manifest, indent=2, sort_keys=True))
    return new
