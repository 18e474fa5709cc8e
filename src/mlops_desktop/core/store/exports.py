"""Exports of model versions (migration 9): one row per package written, with where it
went and the SHA-256 of its manifest, and the audit entry ``model.exported`` in the
same transaction. Also the validation an approval rested on, which the package takes
its decision threshold from."""

from __future__ import annotations

import json
from typing import Any, Optional

from . import audit
from .db import Registry, utc_now


def record(reg: Registry, *, version_id: int, ref: str, out_path: str, zip: bool, manifest_sha256: str,
           files: int, size_bytes: int, exporter_version: str, actor: str,
           details: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """Store one export and its audit entry in one transaction; returns the row."""
    with reg.transaction():
        at = utc_now()
        export_id = reg.insert(
            "INSERT INTO exports (version_id, out_path, zip, manifest_sha256, files, size_bytes,"
            " exporter_version, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (int(version_id), str(out_path), int(bool(zip)), manifest_sha256, int(files), int(size_bytes),
             exporter_version, actor, at))
        audit.append(reg, actor=actor, action="model.exported", entity_type="model_version",
                     entity_id=version_id,
                     summary=f"Exported {ref} to {out_path} (manifest {manifest_sha256[:12]}…)",
                     details={"export_id": export_id, "out_path": str(out_path), "zip": bool(zip),
                              "manifest_sha256": manifest_sha256, "files": int(files),
                              "size_bytes": int(size_bytes), "exporter_version": exporter_version,
                              **(details or {})})
        row = reg.query_one("SELECT * FROM exports WHERE id = ?", (export_id,))
    assert row is not None
    return _row(row)


def find(reg: Registry, *, out_path: str, manifest_sha256: str) -> Optional[dict[str, Any]]:
    """The export recorded for the package at ``out_path`` with that manifest, or None."""
    row = reg.query_one("SELECT * FROM exports WHERE out_path = ? AND manifest_sha256 = ? ORDER BY id LIMIT 1",
                        (str(out_path), manifest_sha256))
    return None if row is None else _row(row)


def for_version(reg: Registry, version_id: int) -> list[dict[str, Any]]:
    """Every export of a version, oldest first."""
    return [_row(r) for r in reg.query("SELECT * FROM exports WHERE version_id = ? ORDER BY id",
                                       (int(version_id),))]


def _row(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["zip"] = bool(out["zip"])
    return out


def approved_validation(reg: Registry, version_id: int) -> Optional[dict[str, Any]]:
    """The validation the version's move to validated rested on (the one its approver
    saw), else its latest validation; with its report. None when it has none."""
    row = reg.query_one(
        "SELECT v.* FROM stage_changes s JOIN validations v ON v.id = s.validation_id"
        " WHERE s.version_id = ? AND s.to_stage = 'validated' ORDER BY s.id DESC LIMIT 1",
        (int(version_id),))
    if row is None:
        row = reg.query_one("SELECT * FROM validations WHERE version_id = ? ORDER BY id DESC LIMIT 1",
                            (int(version_id),))
    if row is None:
        return None
    row["report"] = json.loads(row["report"])
    row["beats_baseline"] = bool(row["beats_baseline"])
    return row
