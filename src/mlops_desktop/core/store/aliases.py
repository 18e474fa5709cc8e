"""Aliases of registered models (``production``, ``staging``, ...) and the history of
every move (migration 7).

An alias points to one version of its model at a time (``model_aliases``); every change
(set, moved, removed, removed because its version was retired) adds a row to
``alias_moves`` and an audit entry in the same transaction, so "which version held
``production`` on a given day" can always be answered. The rules (only an approved
version may hold an alias, the alias's spelling) are checked by
:mod:`mlops_desktop.core.registry.lifecycle` inside the caller's transaction.
"""

from __future__ import annotations

from typing import Any, Optional

from . import audit
from .db import Registry, utc_now

REASONS = ("moved", "removed", "retired")


def current(reg: Registry, model_id: int) -> list[dict[str, Any]]:
    """The model's aliases now: alias, version_id, version, stage, set_by, set_at; by alias."""
    return reg.query(
        "SELECT a.alias, a.version_id, v.version, v.stage, a.set_by, a.set_at FROM model_aliases a"
        " JOIN model_versions v ON v.id = a.version_id WHERE a.model_id = ? ORDER BY a.alias",
        (int(model_id),))


def get(reg: Registry, model_id: int, alias: str) -> Optional[dict[str, Any]]:
    """Where one alias points now, or None."""
    return reg.query_one(
        "SELECT a.alias, a.version_id, v.version, v.stage, a.set_by, a.set_at FROM model_aliases a"
        " JOIN model_versions v ON v.id = a.version_id WHERE a.model_id = ? AND a.alias = ?",
        (int(model_id), alias))


def held_by(reg: Registry, version_id: int) -> list[str]:
    """The aliases a version holds now."""
    return [r["alias"] for r in reg.query(
        "SELECT alias FROM model_aliases WHERE version_id = ? ORDER BY alias", (int(version_id),))]


def held_by_many(reg: Registry, version_ids: list[int]) -> dict[int, list[str]]:
    """The aliases each of ``version_ids`` holds (a page of a list, in one query)."""
    if not version_ids:
        return {}
    marks = ",".join("?" * len(version_ids))
    out: dict[int, list[str]] = {}
    for r in reg.query(f"SELECT version_id, alias FROM model_aliases WHERE version_id IN ({marks})"
                       " ORDER BY alias", tuple(int(i) for i in version_ids)):
        out.setdefault(int(r["version_id"]), []).append(r["alias"])
    return out


def move(reg: Registry, *, model_id: int, model_name: str, alias: str, to_version_id: Optional[int],
         to_version: Optional[int], actor: str, comment: str = "", reason: str = "moved",
         rolls_back: Optional[int] = None) -> dict[str, Any]:
    """Point ``alias`` at a version (``to_version_id`` None removes it), record the move in
    the history and the audit log, in one transaction (joining the caller's). Returns the
    move as stored. The caller has checked the rules and that the alias does change.
    ``rolls_back``: the move this one undoes (a roll back), named in its audit entry."""
    if reason not in REASONS:
        raise ValueError(f"unknown alias move reason {reason!r}")
    with reg.transaction():
        before = get(reg, model_id, alias)
        from_version = before["version"] if before else None
        at = utc_now()
        if to_version_id is None:
            reg.execute("DELETE FROM model_aliases WHERE model_id = ? AND alias = ?",
                           (int(model_id), alias))
        else:
            reg.execute(
                "INSERT INTO model_aliases (model_id, alias, version_id, set_by, set_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (model_id, alias) DO UPDATE SET"
                " version_id = excluded.version_id, set_by = excluded.set_by, set_at = excluded.set_at",
                (int(model_id), alias, int(to_version_id), actor, at))
        move_id = reg.insert(
            "INSERT INTO alias_moves (model_id, alias, from_version, to_version, reason, comment,"
            " moved_by, moved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (int(model_id), alias, from_version, to_version, reason, comment, actor, at))
        if to_version is None:
            summary = f"{model_name}: alias {alias} removed from version {from_version}"
            if reason == "retired":
                summary += " (the version was retired)"
            action = "model.alias_removed"
        elif from_version is None:
            summary = f"{model_name}: alias {alias} set to version {to_version}"
            action = "model.alias_moved"
        elif rolls_back is not None:
            summary = f"{model_name}: alias {alias} rolled back from version {from_version} to {to_version}"
            action = "model.alias_moved"
        else:
            summary = f"{model_name}: alias {alias} moved from version {from_version} to {to_version}"
            action = "model.alias_moved"
        if comment:
            summary += f" ({comment})"
        audit.append(reg, actor=actor, action=action, entity_type="model", entity_id=model_id,
                     summary=summary,
                     details={"model": model_name, "alias": alias, "reason": reason, "comment": comment,
                              "move_id": move_id, "before": {"version": from_version},
                              "after": {"version": to_version}}
                     | ({"rolls_back_move": int(rolls_back)} if rolls_back is not None else {}))
    return {"id": move_id, "model": model_name, "alias": alias, "from_version": from_version,
            "to_version": to_version, "reason": reason, "comment": comment, "moved_by": actor,
            "moved_at": at, "rolls_back_move": rolls_back}


def history(reg: Registry, model_id: int, alias: Optional[str] = None) -> list[dict[str, Any]]:
    """Every move of the model's aliases (or of one alias), oldest first."""
    sql = ("SELECT id, alias, from_version, to_version, reason, comment, moved_by, moved_at"
           " FROM alias_moves WHERE model_id = ?")
    params: list[Any] = [int(model_id)]
    if alias is not None:
        sql += " AND alias = ?"
        params.append(alias)
    return reg.query(sql + " ORDER BY id", tuple(params))


def moves_of_version(reg: Registry, model_id: int, version: int) -> list[dict[str, Any]]:
    """The alias moves to or from one version, oldest first."""
    return reg.query(
        "SELECT id, alias, from_version, to_version, reason, comment, moved_by, moved_at"
        " FROM alias_moves WHERE model_id = ? AND (from_version = ? OR to_version = ?) ORDER BY id",
        (int(model_id), int(version), int(version)))


def held_at(reg: Registry, model_id: int, alias: str, when: Optional[str]) -> Optional[dict[str, Any]]:
    """The move of ``alias`` in effect at ``when`` (an ISO UTC text in the registry's
    format): the last one made, in the order moves were made (their sequence), of those
    stamped no later than ``when``. The clock only places ``when`` in that order: a move
    stamped earlier than the one before it (a clock set back) does not undo the later one.
    ``when`` None: the last move, now, whatever the clock said. None when the alias had
    never been set by then."""
    sql = ("SELECT id, alias, from_version, to_version, reason, comment, moved_by, moved_at"
           " FROM alias_moves WHERE model_id = ? AND alias = ?")
    params: tuple = (int(model_id), alias)
    if when is not None:
        sql += " AND moved_at <= ?"
        params += (when,)
    return reg.query_one(sql + " ORDER BY id DESC LIMIT 1", params)
