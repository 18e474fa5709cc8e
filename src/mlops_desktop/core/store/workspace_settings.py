"""Settings that belong to a workspace rather than to one user's machine (migration 7):
single-user mode, for one. Values are stored as JSON; every change is audited with the
value before and after."""

from __future__ import annotations

import json
from typing import Any

from . import audit
from .db import Registry, utc_now


def get(reg: Registry, key: str, default: Any = None) -> Any:
    """The stored value of ``key``, or ``default`` when it was never set."""
    row = reg.query_one("SELECT value FROM workspace_settings WHERE key = ?", (key,))
    return default if row is None else json.loads(row["value"])


def all_settings(reg: Registry) -> dict[str, dict[str, Any]]:
    """Every stored setting: {key: {value, updated_by, updated_at}}."""
    return {r["key"]: {"value": json.loads(r["value"]), "updated_by": r["updated_by"],
                       "updated_at": r["updated_at"]}
            for r in reg.query("SELECT * FROM workspace_settings ORDER BY key")}


def put(reg: Registry, key: str, value: Any, *, actor: str, summary: str, default: Any = None) -> Any:
    """Store ``value`` under ``key`` with its audit entry (before/after), in one transaction
    (joining the caller's). Returns the value before (``default`` when never set)."""
    with reg.transaction():
        before = get(reg, key, default)
        reg.execute(
            "INSERT INTO workspace_settings (key, value, updated_by, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by,"
            " updated_at = excluded.updated_at",
            (key, json.dumps(value, sort_keys=True), actor, utc_now()))
        audit.append(reg, actor=actor, action="workspace.setting_changed", entity_type="workspace_setting",
                     entity_id=key, summary=summary, details={"key": key, "before": before, "after": value})
    return before
