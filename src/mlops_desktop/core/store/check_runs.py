"""Check runs (migration 10): the assumption checks of a dataset for a target, stored as
the JSON of the whole report so that it opens again without recomputing. The SHA-256 of
that JSON is in the audit entry written in the same transaction (``check.run_recorded``).
Acceptances of warnings are records of their own (``accepted_warnings``), not part of a run.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Optional

from ..errors import NotFoundError
from . import audit
from . import datasets as dataset_rows
from .db import Registry, utc_now


_SUMMARY = ("id, dataset_id, target, task, features, time_column, n_ok, n_warning, n_problem, report_sha256,"
            " created_by, created_at")


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def record(reg: Registry, *, dataset_id: int, report: dict[str, Any], actor: str) -> dict[str, Any]:
    """Store a check report (``CheckReport.to_dict()``) and its audit entry in one
    transaction; returns the stored row without the report."""
    report_json = _json(report)
    digest = hashlib.sha256(report_json.encode("utf-8")).hexdigest()
    counts = report.get("verdict_counts") or {}
    features = sorted(str(f) for f in report.get("features") or [])
    with reg.transaction():
        ds = dataset_rows.get(reg, int(dataset_id))  # NotFoundError for an unknown dataset
        run_id = reg.insert(
            "INSERT INTO check_runs (dataset_id, target, task, features, time_column, n_ok, n_warning,"
            " n_problem, report, report_sha256, created_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (ds.id, report["target"], report["task"], _json(features), report.get("time_column"),
             int(counts.get("ok", 0)), int(counts.get("warning", 0)), int(counts.get("problem", 0)),
             report_json, digest, actor, utc_now()))
        audit.append(reg, actor=actor, action="check.run_recorded", entity_type="dataset", entity_id=ds.id,
                     summary=f"{ds.name}: checked the assumptions for target {report['target']} "
                             f"({counts.get('warning', 0)} warnings, {counts.get('problem', 0)} problems)",
                     details={"check_run_id": run_id, "target": report["target"], "task": report["task"],
                              "features": features, "verdict_counts": counts, "report_sha256": digest})
        row = reg.query_one(f"SELECT {_SUMMARY} FROM check_runs WHERE id = ?", (run_id,))
    assert row is not None
    return _row(row)


def _row(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["features"] = json.loads(out["features"])
    if "report" in out:
        out["report"] = json.loads(out["report"])
    return out


def get(reg: Registry, run_id: int) -> dict[str, Any]:
    """One stored run with its report."""
    row = reg.query_one("SELECT * FROM check_runs WHERE id = ?", (int(run_id),))
    if row is None:
        raise NotFoundError(f"There is no check run with id {run_id}.")
    return _row(row)


def latest(reg: Registry, dataset_id: int, target: str) -> Optional[dict[str, Any]]:
    """The newest stored run of a dataset for a target, with its report, or None."""
    row = reg.query_one("SELECT * FROM check_runs WHERE dataset_id = ? AND target = ? ORDER BY id DESC LIMIT 1",
                        (int(dataset_id), target))
    return _row(row) if row is not None else None
