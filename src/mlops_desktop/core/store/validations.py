"""Validation results of model versions, kept so a stage change can require one."""

from __future__ import annotations

import json
from typing import Any, Optional

from . import audit
from .db import Registry, utc_now
from .models import text_digest


def record(reg: Registry, *, version_id: int, ref: str, data: str, beats_baseline: bool,
           primary_metric: str, report: dict[str, Any], actor: str) -> int:
    """Store a validation and its audit entry in one transaction; returns its id."""
    text = json.dumps(report, sort_keys=True, allow_nan=False)
    with reg.transaction():
        validation_id = reg.insert(
            "INSERT INTO validations (version_id, data, beats_baseline, primary_metric, report, "
            "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (version_id, data, int(beats_baseline), primary_metric, text, actor, utc_now()))
        verdict = "beats" if beats_baseline else "does not beat"
        audit.append(reg, actor=actor, action="model.validated", entity_type="model_version",
                     entity_id=version_id, summary=f"Validated {ref} on {data}: {verdict} the baseline",
                     details={"validation_id": validation_id, "data": data,
                              "beats_baseline": beats_baseline, "primary_metric": primary_metric,
                              "report_sha256": text_digest(text)})
    return validation_id


def latest(reg: Registry, version_id: int) -> Optional[dict[str, Any]]:
    """The newest validation of a version, with its report, or None."""
    row = reg.query_one("SELECT * FROM validations WHERE version_id = ? ORDER BY id DESC LIMIT 1",
                        (version_id,))
    if row is None:
        return None
    row["report"] = json.loads(row["report"])
    row["beats_baseline"] = bool(row["beats_baseline"])
    return row
