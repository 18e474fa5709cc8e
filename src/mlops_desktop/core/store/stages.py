"""Stage changes of model versions: the row, its history and its audit entry."""

from __future__ import annotations

from typing import Any, Optional

from . import audit
from .db import Registry, utc_now


def change(reg: Registry, *, version_id: int, ref: str, from_stage: str, to_stage: str, actor: str,
           comment: str, baseline_override: Optional[str], self_approved: bool,
           validation_id: Optional[int]) -> int:
    """Move a version to ``to_stage`` if it is still in ``from_stage`` (a concurrent change
    makes this fail cleanly), record the change and its audit entry, in one transaction."""
    from ..errors import InvalidChoiceError

    with reg.transaction():
        changed = reg.execute("UPDATE model_versions SET stage = ? WHERE id = ? AND stage = ?",
                             (to_stage, version_id, from_stage))
        if changed != 1:
            raise InvalidChoiceError(f"{ref} is no longer {from_stage}: someone changed it meanwhile. "
                                     "Look again and retry.")
        change_id = reg.insert(
            "INSERT INTO stage_changes (version_id, from_stage, to_stage, comment, baseline_override, "
            "self_approved, validation_id, changed_by, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (version_id, from_stage, to_stage, comment, baseline_override, int(self_approved),
             validation_id, actor, utc_now()))
        summary = f"{ref}: {from_stage} → {to_stage}" + (f" ({comment})" if comment else "")
        if baseline_override:
            summary += " — overriding: did not beat the baseline"
        if self_approved:
            summary += " — self-approved (single-user mode)"
        audit.append(reg, actor=actor, action="model.stage_changed", entity_type="model_version",
                     entity_id=version_id, summary=summary,
                     details={"from": from_stage, "to": to_stage, "comment": comment,
                              "baseline_override": baseline_override, "self_approved": self_approved,
                              "validation_id": validation_id, "change_id": change_id})
    return change_id


def history(reg: Registry, version_id: int) -> list[dict[str, Any]]:
    """Every stage change of a version, oldest first."""
    rows = reg.query("SELECT * FROM stage_changes WHERE version_id = ? ORDER BY id", (version_id,))
    for r in rows:
        r["self_approved"] = bool(r["self_approved"])
    return rows


def validations_of(reg: Registry, version_id: int) -> list[dict[str, Any]]:
    """The validations on record for a version (the evidence behind its stage changes),
    oldest first, without their reports."""
    rows = reg.query("SELECT id, data, beats_baseline, primary_metric, created_by, created_at"
                     " FROM validations WHERE version_id = ? ORDER BY id", (int(version_id),))
    for r in rows:
        r["beats_baseline"] = bool(r["beats_baseline"])
    return rows
