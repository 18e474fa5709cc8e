"""Check warnings the analyst accepted, with a reason: for a dataset, a target and a
feature set, so that the model card of a model trained on that set can show them.

Rows are only ever added (a later acceptance of the same check adds a row); each one
is recorded in the audit log in the same transaction. Taking an acceptance back (undo)
adds a withdrawal (migration 12), recorded the same way; the acceptance row stays, and
the lists here leave withdrawn acceptances out.
"""

from __future__ import annotations

import json
from typing import Any, Optional

from ..errors import CheckError, InvalidChoiceError
from . import audit
from . import datasets as dataset_rows
from .db import Registry, utc_now


def features_key(features: list[str]) -> str:
    """The stored form of a feature set: a JSON list, sorted, without repeats."""
    return json.dumps(sorted({str(f) for f in features}), ensure_ascii=False,
                      separators=(",", ":"))


def _row(r: dict) -> dict[str, Any]:
    return {"id": r["id"], "dataset_id": r["dataset_id"], "target": r["target"],
            "features": json.loads(r["features"]), "check_id": r["check_id"],
            "reason": r["reason"], "accepted_by": r["accepted_by"],
            "accepted_at": r["accepted_at"], "details": json.loads(r["details"] or "{}")}


def accept(reg: Registry, *, dataset_id: int, target: str, features: list[str], check_id: str,
           reason: str, actor: str, details: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """Record that ``actor`` accepts the warning of ``check_id`` for this dataset, target
    and feature set, because of ``reason``. Returns the stored row."""
    reason = (reason or "").strip()
    if not reason:
        raise CheckError("Say why the warning is acceptable: a reason is required to accept it.")
    target = (target or "").strip()
    check_id = (check_id or "").strip()
    if not target:
        raise CheckError("Name the target the accepted warning is about.")
    if not check_id:
        raise CheckError("Name the check whose warning is accepted.")
    if not (actor or "").strip():
        raise CheckError("Say who accepts the warning.")
    key = features_key(features)
    with reg.transaction():
        ds = dataset_rows.get(reg, int(dataset_id))  # NotFoundError for an unknown dataset
        at = utc_now()
        details = details or {}
        row_id = reg.insert(
            "INSERT INTO accepted_warnings (dataset_id, target, features, check_id, reason,"
            " accepted_by, accepted_at, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (ds.id, target, key, check_id, reason, actor, at,
             json.dumps(details, sort_keys=True, ensure_ascii=False, default=str)))
        audit.append(reg, actor=actor, action="check.warning_accepted", entity_type="dataset",
                     entity_id=ds.id,
                     summary=f"{ds.name}: accepted the {check_id} warning for target {target}",
                     details={"accepted_warning_id": row_id, "target": target,
                              "features": json.loads(key), "check_id": check_id,
                              "reason": reason, **({"check": details} if details else {})})
        stored = reg.query_one("SELECT * FROM accepted_warnings WHERE id = ?", (row_id,))
    assert stored is not None
    return _row(stored)


def withdraw(reg: Registry, accepted_warning_id: int, *, actor: str, reason: str = "") -> dict[str, Any]:
    """Record that ``actor`` takes back the acceptance ``accepted_warning_id`` (with an
    audit entry, in one transaction). Returns {withdrawal_id, accepted_warning_id,
    check_id, target, withdrawn_by, withdrawn_at, reason}. NotFoundError for an unknown
    acceptance; InvalidChoiceError when it was withdrawn already."""
    from ..errors import NotFoundError

    if not (actor or "").strip():
        raise CheckError("Say who withdraws the accepted warning.")
    reason = (reason or "").strip()
    with reg.transaction():
        row = reg.query_one("SELECT * FROM accepted_warnings WHERE id = ?", (int(accepted_warning_id),))
        if row is None:
            raise NotFoundError(f"There is no accepted warning {accepted_warning_id}.")
        done = reg.query_one("SELECT withdrawn_by, withdrawn_at FROM accepted_warning_withdrawals"
                             " WHERE accepted_warning_id = ?", (row["id"],))
        if done is not None:
            raise InvalidChoiceError(f"The acceptance of the {row['check_id']} warning was withdrawn already, "
                                     f"by {done['withdrawn_by']} on {done['withdrawn_at'][:10]}.")
        ds = dataset_rows.get(reg, row["dataset_id"])
        at = utc_now()
        withdrawal_id = reg.insert("INSERT INTO accepted_warning_withdrawals (accepted_warning_id, reason, withdrawn_by,"
                             " withdrawn_at) VALUES (?, ?, ?, ?)", (row["id"], reason, actor, at))
        audit.append(reg, actor=actor, action="check.warning_withdrawn", entity_type="dataset", entity_id=ds.id,
                     summary=f"{ds.name}: withdrew the acceptance of the {row['check_id']} warning for target "
                             f"{row['target']}" + (f" ({reason})" if reason else ""),
                     details={"withdrawal_id": withdrawal_id, "accepted_warning_id": row["id"],
                              "check_id": row["check_id"], "target": row["target"], "reason": reason})
    return {"withdrawal_id": withdrawal_id, "accepted_warning_id": row["id"], "check_id": row["check_id"],
            "target": row["target"], "withdrawn_by": actor, "withdrawn_at": at, "reason": reason}


def list_for(reg: Registry, dataset_id: int, target: Optional[str] = None,
             features: Optional[list[str]] = None) -> list[dict[str, Any]]:
    """Accepted warnings of a dataset that were not withdrawn, newest first; optionally
    for one target and one feature set (compared as a set)."""
    sql = ("SELECT * FROM accepted_warnings WHERE dataset_id = ?"
           " AND id NOT IN (SELECT accepted_warning_id FROM accepted_warning_withdrawals)")
    params: list[Any] = [int(dataset_id)]
    if target is not None:
        sql += " AND target = ?"
        params.append(target)
    if features is not None:
        sql += " AND features = ?"
        params.append(features_key(features))
    sql += " ORDER BY id DESC"
    return [_row(r) for r in reg.query(sql, tuple(params))]
