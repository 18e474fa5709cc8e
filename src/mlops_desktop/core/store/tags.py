"""Tags (key = value) on registered models and on model versions (migration 7).

A key holds one value per model or version; setting it again replaces the value. Every
set and removal is audited with the value before and after, in the same transaction.
"""

from __future__ import annotations

from typing import Any, Optional

from ..errors import NotFoundError
from . import audit
from .db import Registry, utc_now

# (table, id column, audit entity type): the two kinds of thing that carry tags
_TARGETS = {"model": ("model_tags", "model_id", "model"),
            "version": ("version_tags", "version_id", "model_version")}


def _target(on: str) -> tuple[str, str, str]:
    if on not in _TARGETS:
        raise ValueError(f"tags are on a 'model' or a 'version', not {on!r}")
    return _TARGETS[on]


def of(reg: Registry, on: str, owner_id: int) -> dict[str, str]:
    """The tags of one model (``on="model"``) or version (``on="version"``), by key."""
    table, column, _ = _target(on)
    return {r["key"]: r["value"] for r in reg.query(
        f"SELECT key, value FROM {table} WHERE {column} = ? ORDER BY key", (int(owner_id),))}


def of_versions(reg: Registry, version_ids: list[int]) -> dict[int, dict[str, str]]:
    """The tags of many versions (a page of a list), in one query."""
    if not version_ids:
        return {}
    marks = ",".join("?" * len(version_ids))
    out: dict[int, dict[str, str]] = {}
    for r in reg.query(f"SELECT version_id, key, value FROM version_tags WHERE version_id IN ({marks})"
                       " ORDER BY key", tuple(int(i) for i in version_ids)):
        out.setdefault(int(r["version_id"]), {})[r["key"]] = r["value"]
    return out


def set_tag(reg: Registry, on: str, owner_id: int, *, label: str, key: str, value: str,
            actor: str) -> dict[str, Any]:
    """Set ``key`` to ``value`` on a model or version (``label`` names it in the audit
    summary); returns {key, before, after}."""
    table, column, entity = _target(on)
    with reg.transaction():
        row = reg.query_one(f"SELECT value FROM {table} WHERE {column} = ? AND key = ?",
                            (int(owner_id), key))
        before: Optional[str] = row["value"] if row else None
        reg.execute(
            f"INSERT INTO {table} ({column}, key, value, set_by, set_at) VALUES (?, ?, ?, ?, ?)"
            f" ON CONFLICT ({column}, key) DO UPDATE SET value = excluded.value,"
            " set_by = excluded.set_by, set_at = excluded.set_at",
            (int(owner_id), key, value, actor, utc_now()))
        summary = (f"{label}: tag {key} = {value!r}" if before is None
                   else f"{label}: tag {key} changed from {before!r} to {value!r}")
        audit.append(reg, actor=actor, action="tag.set", entity_type=entity, entity_id=owner_id,
                     summary=summary, details={"on": label, "key": key, "before": before, "after": value})
    return {"key": key, "before": before, "after": value}


def remove_tag(reg: Registry, on: str, owner_id: int, *, label: str, key: str,
               actor: str) -> dict[str, Any]:
    """Remove ``key`` from a model or version; :class:`NotFoundError` when it has no such
    tag (and nothing changes)."""
    table, column, entity = _target(on)
    with reg.transaction():
        row = reg.query_one(f"SELECT value FROM {table} WHERE {column} = ? AND key = ?",
                            (int(owner_id), key))
        if row is None:
            have = ", ".join(of(reg, on, owner_id)) or "none"
            raise NotFoundError(f"{label} has no tag {key!r} (its tags: {have}).")
        reg.execute(f"DELETE FROM {table} WHERE {column} = ? AND key = ?", (int(owner_id), key))
        audit.append(reg, actor=actor, action="tag.removed", entity_type=entity, entity_id=owner_id,
                     summary=f"{label}: tag {key} removed (was {row['value']!r})",
                     details={"on": label, "key": key, "before": row["value"], "after": None})
    return {"key": key, "before": row["value"], "after": None}
