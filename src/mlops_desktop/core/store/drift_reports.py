"""Drift reports and drift-threshold overrides (migration 5).

A drift report row records one batch compared with one reference: what the reference
was (a dataset by id and fingerprint, or a model version by name and number), the
batch's label, fingerprint and source, the thresholds used, the verdict and the whole
result as JSON, with the SHA-256 of that JSON in the audit entry written in the same
transaction (action ``drift.report_created``). Reports of one run over several
batches (a timeline) share a ``series_id``.

Threshold overrides are stored per scope: ``model_name = ''`` holds the workspace's,
any other value a model's (by name; model tables come from another migration, so no
foreign key). Each change is audited (``drift.thresholds_changed``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Optional

from ..errors import NotFoundError
from . import audit
from .db import Registry, utc_now

WORKSPACE_SCOPE = ""

_SUMMARY_COLUMNS = ("id, reference_type, reference_label, reference_dataset_id, reference_fingerprint,"
                    " model_name, model_version, batch_label, batch_fingerprint, batch_rows, batch_source,"
                    " batch_dataset_id, series_id, batch_index, thresholds, verdict, drifted_share,"
                    " n_features, n_drifted, summary, results_sha256, created_by, created_at")


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def insert(reg: Registry, *, reference: dict[str, Any], batch: dict[str, Any], series_id: str,
           batch_index: int, thresholds: dict[str, Any], verdict: str, drifted_share: float,
           n_features: int, n_drifted: int, summary: str, results: dict[str, Any], actor: str,
           audit_entity: tuple[str, Optional[str]], details: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """Store one report and its audit entry in one transaction; returns the stored row
    (without the results JSON).

    ``reference``: {"type": "dataset"|"model_version"|"data", "label", "dataset_id",
    "fingerprint", "model", "version"}; ``batch``: {"label", "fingerprint", "rows",
    "source", "dataset_id"}. ``audit_entity``: (entity_type, entity_id) of the audit
    entry; an entity id of None means the report itself.
    """
    results_json = _json(results)
    digest = hashlib.sha256(results_json.encode("utf-8")).hexdigest()
    with reg.transaction():
        at = utc_now()
        report_id = reg.insert(
            "INSERT INTO drift_reports (reference_type, reference_label, reference_dataset_id,"
            " reference_fingerprint, model_name, model_version, batch_label, batch_fingerprint,"
            " batch_rows, batch_source, batch_dataset_id, series_id, batch_index, thresholds,"
            " verdict, drifted_share, n_features, n_drifted, summary, results, results_sha256,"
            " created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?, ?, ?)",
            (reference["type"], reference["label"], reference.get("dataset_id"),
             reference.get("fingerprint"), reference.get("model"), reference.get("version"),
             batch["label"], batch["fingerprint"], int(batch["rows"]), _json(batch.get("source") or {}),
             batch.get("dataset_id"), series_id, int(batch_index), _json(thresholds), verdict,
             float(drifted_share), int(n_features), int(n_drifted), summary, results_json, digest,
             actor, at))
        entity_type, entity_id = audit_entity
        audit.append(reg, actor=actor, action="drift.report_created", entity_type=entity_type,
                     entity_id=report_id if entity_id is None else entity_id,
                     summary=f"Drift report {report_id}: {batch['label']} against "
                             f"{reference['label']}: {verdict}",
                     details={"drift_report_id": report_id, "reference": reference,
                              "batch_label": batch["label"], "batch_fingerprint": batch["fingerprint"],
                              "batch_rows": int(batch["rows"]), "series_id": series_id,
                              "verdict": verdict, "drifted_share": float(drifted_share),
                              "n_drifted": int(n_drifted), "n_features": int(n_features),
                              "thresholds": thresholds, "results_sha256": digest, **(details or {})})
        row = reg.query_one(f"SELECT {_SUMMARY_COLUMNS} FROM drift_reports WHERE id = ?", (report_id,))
    assert row is not None
    return _row(row)


def _row(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["batch_source"] = json.loads(out["batch_source"])
    out["thresholds"] = json.loads(out["thresholds"])
    if "results" in out:
        out["results"] = json.loads(out["results"])
    return out


def with_batch_fingerprint(reg: Registry, fingerprint: str) -> Optional[int]:
    """The id of a stored report of a batch with this fingerprint, or None."""
    row = reg.query_one("SELECT id FROM drift_reports WHERE batch_fingerprint = ? ORDER BY id LIMIT 1",
                        (fingerprint,))
    return int(row["id"]) if row else None


def get(reg: Registry, report_id: int) -> dict[str, Any]:
    """One report with its results."""
    row = reg.query_one("SELECT * FROM drift_reports WHERE id = ?", (int(report_id),))
    if row is None:
        raise NotFoundError(f"There is no drift report with id {report_id}.")
    return _row(row)


def list_reports(reg: Registry, *, dataset_id: Optional[int] = None, model_name: Optional[str] = None,
                 model_version: Optional[int] = None, series_id: Optional[str] = None,
                 limit: Optional[int] = None) -> list[dict[str, Any]]:
    """Reports without their results, newest first (a series in batch order)."""
    where, params = [], []
    if dataset_id is not None:
        where.append("reference_dataset_id = ?")
        params.append(int(dataset_id))
    if model_name is not None:
        where.append("model_name = ?")
        params.append(model_name)
    if model_version is not None:
        where.append("model_version = ?")
        params.append(int(model_version))
    if series_id is not None:
        where.append("series_id = ?")
        params.append(series_id)
    sql = f"SELECT {_SUMMARY_COLUMNS} FROM drift_reports"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY batch_index, id" if series_id is not None else " ORDER BY id DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    return [_row(r) for r in reg.query(sql, tuple(params))]


def threshold_overrides(reg: Registry, model_name: Optional[str] = None) -> dict[str, Any]:
    """The stored overrides of the workspace (``model_name`` None) or of one model."""
    row = reg.query_one("SELECT thresholds FROM drift_thresholds WHERE model_name = ?",
                        (model_name or WORKSPACE_SCOPE,))
    return json.loads(row["thresholds"]) if row else {}


def save_threshold_overrides(reg: Registry, overrides: dict[str, Any], *, model_name: Optional[str],
                             actor: str) -> None:
    """Replace the overrides of one scope (an empty dict removes them), audited."""
    scope = model_name or WORKSPACE_SCOPE
    with reg.transaction():
        before = threshold_overrides(reg, model_name)
        if before == overrides:
            return
        if overrides:
            reg.execute(
                "INSERT INTO drift_thresholds (model_name, thresholds, updated_by, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (model_name) DO UPDATE SET"
                " thresholds = excluded.thresholds, updated_by = excluded.updated_by,"
                " updated_at = excluded.updated_at",
                (scope, _json(overrides), actor, utc_now()))
        else:
            reg.execute("DELETE FROM drift_thresholds WHERE model_name = ?", (scope,))
        where = f"model {model_name}" if model_name else "the workspace"
        if model_name:
            entity_id: Optional[str] = model_name
        else:
            row = reg.query_one("SELECT value FROM workspace_info WHERE key = 'id'")
            entity_id = row["value"] if row else None
        audit.append(reg, actor=actor, action="drift.thresholds_changed",
                     entity_type="model" if model_name else "workspace", entity_id=entity_id,
                     summary=f"Drift thresholds of {where} changed",
                     details={"model": model_name, "before": before, "after": overrides})
