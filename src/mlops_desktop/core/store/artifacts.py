"""Artifact rows: one per content-addressed file in the workspace's ``artifacts/``
folder, named by its SHA-256."""

from __future__ import annotations

from typing import Optional

from . import stored_files
from .db import Registry


def insert(reg: Registry, *, sha256: str, size_bytes: int, kind: str, created_by: str,
           created_at: str) -> bool:
    """Record an artifact (inside the caller's transaction). The same content stored
    twice is one artifact: returns False when it was already recorded."""
    changed = reg.execute(
        "INSERT INTO artifacts (sha256, size_bytes, kind, created_by, created_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING", (sha256, size_bytes, kind, created_by, created_at))
    stored_files.keep(reg, sha256, f"artifacts/{sha256}")
    return changed == 1


def get(reg: Registry, sha256: str) -> Optional[dict]:
    """The record of the artifact with this SHA-256 (None when there is none)."""
    return reg.query_one("SELECT * FROM artifacts WHERE sha256 = ?", (sha256,))


def is_recorded(reg: Registry, sha256: str) -> bool:
    """Whether the registry records an artifact with this SHA-256."""
    return get(reg, sha256) is not None


def all_hashes(reg: Registry) -> list[str]:
    """The SHA-256 of every recorded artifact, oldest first (backups and the artifact check
    walk them)."""
    return [r["sha256"] for r in reg.query("SELECT sha256 FROM artifacts ORDER BY created_at")]


def delete_unused(reg: Registry, sha256: str) -> bool:
    """Forget an artifact no model version points to any more (inside the caller's
    transaction). Returns True when its row was deleted."""
    changed = reg.execute(
        "DELETE FROM artifacts WHERE sha256 = ?"
        " AND NOT EXISTS (SELECT 1 FROM model_versions WHERE artifact_sha256 = ?)", (sha256, sha256))
    return changed == 1
