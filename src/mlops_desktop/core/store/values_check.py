"""Does each value that changes over time equal what its last recorded change set?

Workspace settings (single-user mode), drift thresholds, tags, descriptions, a
version's purpose and the types and roles of a dataset's columns are changed in place; each change writes an
audit entry with the value after it. So the value now must be the last entry's
"after" (or, never changed, what the creating entry recorded): anything else was
changed outside the app. A dataset's columns are checked back to their import, whose
entry records the SHA-256 of every column's type and role. Part of ``verify``, next to
:mod:`.consistency`; only entries whose own hash is intact are used.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable, Optional

from .audit import CollectedEntry
from .datasets import columns_digest
from .db import Registry
from .problem import Problem, shown

#: the audit actions of the values checked here
ACTIONS = frozenset({"workspace.setting_changed", "drift.thresholds_changed", "tag.set", "tag.removed",
                     "model.described", "model.purpose_set", "dataset.column_changed"})

_NEVER = object()


def check(reg: Registry, collected: dict[str, list[CollectedEntry]]) -> list[Problem]:
    """Every value that differs from its last recorded change, in a sentence each."""
    return (_settings(reg, collected) + _thresholds(reg, collected) + _tags(reg, collected)
            + _descriptions(reg, collected) + _purposes(reg, collected) + _columns(reg, collected))


def _last(entries: Iterable[CollectedEntry], key) -> dict[Any, CollectedEntry]:
    """The newest entry for each key (entries come oldest first)."""
    found: dict[Any, CollectedEntry] = {}
    for e in entries:
        found[key(e)] = e
    return found


def _compare(name: Callable[[], str], entity: tuple[str, str], now: Any, who: Optional[str],
             last: Optional[CollectedEntry], after: Any) -> Optional[Problem]:
    """The value ``now`` (``_NEVER`` when there is none) set by ``who`` against the last
    entry's ``after`` (``_NEVER`` when no entry recorded one). ``name()`` says what the
    value is, asked only for a problem."""
    etype, eid = entity
    if now is _NEVER:
        if after is _NEVER or after is None or after == {}:
            return None
        return Problem("record_deleted", f"{name()} is gone, but its last recorded change (audit entry "
                       f"{last.seq}) set it to {shown(after)}: it was deleted outside the app.",
                       seq=last.seq, entity_type=etype, entity_id=eid)
    if after is _NEVER:
        return Problem("missing_audit_entry", f"{name()} has no audit entry recording it being set: it was "
                       "set outside the app, or its entry was deleted.", entity_type=etype, entity_id=eid)
    if now != after or (who is not None and last is not None and who != last.actor):
        said = f"it is {shown(now)}" + (f", set by {who!r}" if who is not None else "")
        recorded = (f"its last recorded change (audit entry {last.seq}) set it to {shown(after)} by "
                    f"{last.actor!r}" if last is not None else f"the app recorded {shown(after)}")
        return Problem("record_altered", f"{name()} was changed outside the app: {said}, but {recorded}.",
                       seq=last.seq if last else None, entity_type=etype, entity_id=eid)
    return None


def _settings(reg: Registry, collected: dict[str, list[CollectedEntry]]) -> list[Problem]:
    last = _last(collected.get("workspace.setting_changed", []), lambda e: e.details.get("key"))
    rows = {r["key"]: r for r in reg.query("SELECT key, value, updated_by FROM workspace_settings")}
    out = []
    for key in sorted(set(rows) | {k for k in last if k is not None}):
        row, e = rows.get(key), last.get(key)
        now = json.loads(row["value"]) if row else _NEVER
        after = e.details.get("after") if e is not None else _NEVER
        found = _compare(lambda: f"the workspace setting {key}", ("workspace_setting", key), now,
                         row["updated_by"] if row else None, e, after)
        if found:
            out.append(found)
    return out


def _thresholds(reg: Registry, collected: dict[str, list[CollectedEntry]]) -> list[Problem]:
    last = _last(collected.get("drift.thresholds_changed", []), lambda e: e.details.get("model") or "")
    rows = {r["model_name"]: r for r in reg.query(
        "SELECT model_name, thresholds, updated_by FROM drift_thresholds")}
    out = []
    for scope in sorted(set(rows) | set(last)):
        row, e = rows.get(scope), last.get(scope)
        label = f"the drift-threshold setting of model {scope}" if scope else \
            "the workspace's drift-threshold setting"
        found = _compare(lambda: label, ("model" if scope else "workspace", scope or "thresholds"),
                         json.loads(row["thresholds"]) if row else _NEVER,
                         row["updated_by"] if row else None, e,
                         e.details.get("after") if e is not None else _NEVER)
        if found:
            out.append(found)
    return out


def _tags(reg: Registry, collected: dict[str, list[CollectedEntry]]) -> list[Problem]:
    entries = sorted(collected.get("tag.set", []) + collected.get("tag.removed", []), key=lambda e: e.seq)
    last = _last(entries, lambda e: (e.entity_type, e.entity_id, e.details.get("key")))
    rows: dict[tuple, tuple[str, str]] = {}
    for etype, table, column in (("model", "model_tags", "model_id"),
                                 ("model_version", "version_tags", "version_id")):
        for owner, key, value, set_by in reg.rows(
                f"SELECT {column}, key, value, set_by FROM {table}"):
            rows[(etype, str(owner), key)] = (value, set_by)
    out = []
    for key in list(rows) + [k for k in last if k not in rows]:
        row, e = rows.get(key), last.get(key)
        found = _compare(lambda: f"tag {key[2]} of {_owner(reg, *key[:2])}", key[:2],
                         row[0] if row else _NEVER, row[1] if row else None, e,
                         e.details.get("after") if e is not None else _NEVER)
        if found:
            out.append(found)
    return out


def _owner(reg: Registry, etype: str, owner: str) -> str:
    if etype == "model":
        row = reg.query_one("SELECT name FROM registered_models WHERE id = ?", (int(owner),))
        return f"registered model {row['name'] if row else owner}"
    row = reg.query_one("SELECT m.name || ':' || v.version AS ref FROM model_versions v"
                        " JOIN registered_models m ON m.id = v.model_id WHERE v.id = ?", (int(owner),))
    return f"model version {row['ref'] if row else 'id ' + owner}"


def _descriptions(reg: Registry, collected: dict[str, list[CollectedEntry]]) -> list[Problem]:
    last = _last(collected.get("model.described", []), lambda e: (e.entity_type, e.entity_id))
    registered = {e.entity_id: e for e in collected.get("model.registered", [])}
    out = []
    for r in reg.query("SELECT id, name, description FROM registered_models"):
        e = last.get(("model", str(r["id"])))
        if e is not None:
            after = e.details.get("after", _NEVER)
        else:  # never described: what it was registered with, when the entry says
            e = registered.get(str(r["id"]))
            after = e.details.get("description", _NEVER) if e is not None else _NEVER
            if after is _NEVER:
                continue
        found = _compare(lambda: f"the description of registered model {r['name']}",
                         ("model", str(r["id"])), r["description"], None, e, after)
        if found:
            out.append(found)
    for r in reg.query("SELECT v.id, m.name || ':' || v.version AS ref, v.description FROM model_versions v"
                       " LEFT JOIN registered_models m ON m.id = v.model_id"):
        e = last.get(("model_version", str(r["id"])))
        after = e.details.get("after", _NEVER) if e is not None else ""  # a new version has none
        found = _compare(lambda: f"the description of model version {r['ref']}",
                         ("model_version", str(r["id"])), r["description"], None, e, after)
        if found:
            out.append(found)
    return out


def _purposes(reg: Registry, collected: dict[str, list[CollectedEntry]]) -> list[Problem]:
    last = _last(collected.get("model.purpose_set", []), lambda e: e.entity_id)
    out = []
    for r in reg.query("SELECT v.id, m.name || ':' || v.version AS ref, v.purpose FROM model_versions v"
                       " LEFT JOIN registered_models m ON m.id = v.model_id"):
        e = last.get(str(r["id"]))
        after = e.details.get("after", _NEVER) if e is not None else ""  # a new version has none
        found = _compare(lambda: f"the purpose of model version {r['ref']}",
                         ("model_version", str(r["id"])), r["purpose"] or "", None, e, after)
        if found:
            out.append(found)
    return out


def _columns(reg: Registry, collected: dict[str, list[CollectedEntry]]) -> list[Problem]:
    """Walk each dataset's column changes back from now to its import: the newest change of
    a column must have left it as it is; what remains must be what was imported."""
    columns: dict[int, list[tuple[str, str, str]]] = {}
    for r in reg.query("SELECT dataset_id, name, kind, role FROM dataset_columns ORDER BY dataset_id, position"):
        columns.setdefault(r["dataset_id"], []).append((r["name"], r["kind"], r["role"]))
    changes: dict[str, list[tuple[CollectedEntry, dict]]] = {}
    parsed: dict[str, dict] = {}  # a role switched back and forth writes the same details again
    for e in collected.get("dataset.column_changed", []):
        d = parsed.get(e.details_json)
        if d is None:
            d = parsed[e.details_json] = json.loads(e.details_json)
        changes.setdefault(e.entity_id, []).append((e, d))
    imported = {e.entity_id: e for e in [*collected.get("dataset.imported", []),
                                         *collected.get("dataset.prepared", [])]}
    names = {r["id"]: r["name"] for r in reg.query("SELECT id, name FROM datasets")}
    out = []
    for dataset_id, cols in columns.items():
        label = f"dataset {dataset_id} ({names.get(dataset_id, '?')})"
        entity = ("dataset", str(dataset_id))
        state = {name: [kind, role] for name, kind, role in cols}
        seen: set[str] = set()
        altered = []
        for e, d in reversed(changes.get(str(dataset_id), [])):
            moves = [(d.get("column"), d.get("before") or {}, d.get("after") or {})]
            previous = d.get("previous_target")
            if previous is not None and previous in state:  # the old target became a feature
                kind = state[previous][0]
                moves.append((previous, {"kind": kind, "role": "target"}, {"kind": kind, "role": "feature"}))
            for name, before, after in moves:
                now = state.get(name)
                if now is None:
                    continue
                if name not in seen:
                    seen.add(name)
                    if now != [after.get("kind"), after.get("role")]:
                        altered.append((name, now, after, e))
                state[name] = [before.get("kind"), before.get("role")]
        for name, (kind, role), after, e in altered:
            out.append(Problem("record_altered", f"column {name} of {label} was changed outside the app: "
                               f"it is {kind} with role {role}, but its last recorded change (audit entry "
                               f"{e.seq}) made it {after.get('kind')} with role {after.get('role')}.",
                               seq=e.seq, entity_type=entity[0], entity_id=entity[1]))
        start = imported.get(str(dataset_id))
        digest = start.details.get("columns_sha256") if start is not None else None
        if not altered and digest and columns_digest((n, *state[n]) for n, _, _ in cols) != digest:
            out.append(Problem("record_altered", f"the type or role of a column of {label} was changed "
                               f"outside the app: its columns are not what its import (audit entry "
                               f"{start.seq}) and its recorded changes made them.", seq=start.seq,
                               entity_type=entity[0], entity_id=entity[1]))
    return out
