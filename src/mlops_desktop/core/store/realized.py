"""Realized performance recorded when labels arrive after a batch was scored (migration
11): one row per labels file joined to a drift report's batch, with the whole result as
JSON (the metrics and every count of the join) and its SHA-256 in the audit entry written
in the same transaction (``monitor.labels_recorded``). The newest row of a report is its
realized performance."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Optional

from . import audit
from .db import Registry, utc_now


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def record(reg: Registry, *, drift_report_id: int, version_id: int, ref: str, labels_source: str,
           labels_sha256: str, id_column: str, label_column: str, rows_matched: int, result: dict[str, Any],
           actor: str) -> dict[str, Any]:
    """Store one labels join and its audit entry in one transaction; returns the row."""
    text = _json(result)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    with reg.transaction():
        record_id = reg.insert(
            "INSERT INTO realized_performance (drift_report_id, version_id, labels_source, labels_sha256,"
            " id_column, label_column, rows_matched, result, result_sha256, created_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (int(drift_report_id), int(version_id), labels_source, labels_sha256, id_column, label_column,
             int(rows_matched), text, digest, actor, utc_now()))
        audit.append(reg, actor=actor, action="monitor.labels_recorded", entity_type="model_version",
                     entity_id=version_id,
                     summary=f"Labels for drift report {drift_report_id} of {ref}: {rows_matched:,} rows matched",
                     details={"realized_id": record_id, "drift_report_id": int(drift_report_id),
                              "labels_source": labels_source, "labels_sha256": labels_sha256,
                              "rows_matched": int(rows_matched), "result_sha256": digest})
        row = reg.query_one("SELECT * FROM realized_performance WHERE id = ?", (record_id,))
    assert row is not None
    return _row(row)


def _row(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["result"] = json.loads(out["result"])
    return out


def latest(reg: Registry, drift_report_id: int) -> Optional[dict[str, Any]]:
    """The newest labels join of a report, or None."""
    if "realized_performance" not in reg.table_names():
        return None
    row = reg.query_one("SELECT * FROM realized_performance WHERE drift_report_id = ? ORDER BY id DESC LIMIT 1",
                        (int(drift_report_id),))
    return _row(row) if row is not None else None
