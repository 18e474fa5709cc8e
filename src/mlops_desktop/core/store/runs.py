"""Training runs: one row per run, inserted as ``running`` when it starts and updated
once when it ends (succeeded, failed or cancelled).

A run records the process (pid) and computer (host) running it. If that process dies
(the app was killed, the laptop lost power) the run would stay ``running`` forever;
:func:`fail_stale` marks such runs failed when the workspace is next opened on that
computer.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Optional

from ..errors import NotFoundError
from ..storage import process_alive, this_host
from . import audit
from .db import Registry, utc_now

#: the error of a run whose process disappeared
STALE_ERROR = "the app stopped during training"

STATUSES = ("running", "succeeded", "failed", "cancelled")
KINDS = ("train", "reproduce")


@dataclass
class Run:
    """A training (or reproduction) run as recorded."""

    id: int
    kind: str
    reproduces_run_id: Optional[int]
    dataset_id: int
    dataset_name: str
    dataset_fingerprint: str
    target: str
    task: Optional[str]
    spec: dict[str, Any]
    seed: int
    features: list[str]
    family: Optional[str]
    hyperparameters: dict[str, Any]
    metrics: dict[str, Any]
    details: dict[str, Any]
    prediction_sha256: Optional[str]
    library_versions: dict[str, str]
    status: str
    error: Optional[str]
    started_at: str
    finished_at: Optional[str]
    duration_s: Optional[float]
    created_by: str
    #: the model version this run registered, if any
    model: Optional[str] = None
    version: Optional[int] = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The run's fields as a plain dict, as ``--json`` prints it (``run_id`` for its id,
        without the extra details)."""
        d = dict(self.__dict__)
        d.pop("extra")
        d["run_id"] = self.id
        return d

    def summary(self) -> dict[str, Any]:
        """The columns of a run list."""
        return {"run_id": self.id, "kind": self.kind, "reproduces_run_id": self.reproduces_run_id,
                "dataset": self.dataset_name, "dataset_id": self.dataset_id, "target": self.target,
                "task": self.task, "family": self.family, "status": self.status,
                "model": self.model, "version": self.version, "started_at": self.started_at,
                "duration_s": self.duration_s, "created_by": self.created_by}


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)


def insert_started(reg: Registry, *, kind: str, reproduces_run_id: Optional[int], dataset_id: int,
                   dataset_fingerprint: str, target: str, spec: dict[str, Any], seed: int,
                   library_versions: dict[str, str], created_by: str, started_at: str) -> int:
    """Insert a run with status ``running`` (inside the caller's transaction), with this
    process's id and this computer's name."""
    new_id = reg.insert(
        "INSERT INTO runs (kind, reproduces_run_id, dataset_id, dataset_fingerprint, target, spec,"
        " seed, library_versions, status, started_at, created_by, pid, host)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?)",
        (kind, reproduces_run_id, dataset_id, dataset_fingerprint, target, _json(spec), seed,
         _json(library_versions), started_at, created_by, os.getpid(), this_host()))
    return new_id


def finish(reg: Registry, run_id: int, *, status: str, finished_at: str, duration_s: float,
           task: Optional[str] = None, features: Optional[list[str]] = None,
           family: Optional[str] = None, hyperparameters: Optional[dict[str, Any]] = None,
           metrics: Optional[dict[str, Any]] = None, details: Optional[dict[str, Any]] = None,
           prediction_sha256: Optional[str] = None, error: Optional[str] = None) -> None:
    """Record how a running run ended (inside the caller's transaction)."""
    if status not in STATUSES[1:]:
        raise ValueError(f"a run ends as succeeded, failed or cancelled, not {status!r}")
    changed = reg.execute(
        "UPDATE runs SET status = ?, finished_at = ?, duration_s = ?, task = ?, features = ?,"
        " family = ?, hyperparameters = ?, metrics = ?, details = ?, prediction_sha256 = ?,"
        " error = ? WHERE id = ? AND status = 'running'",
        (status, finished_at, duration_s, task, _json(features or []), family,
         _json(hyperparameters or {}), _json(metrics or {}), _json(details or {}),
         prediction_sha256, error, run_id))
    if changed != 1:
        raise RuntimeError(f"run {run_id} is not running; it cannot be finished twice")


_SELECT = (
    "SELECT r.*, d.name AS dataset_name, m.name AS model_name, v.version AS model_version"
    " FROM runs r JOIN datasets d ON d.id = r.dataset_id"
    " LEFT JOIN model_versions v ON v.run_id = r.id"
    " LEFT JOIN registered_models m ON m.id = v.model_id")


def _run(row: dict) -> Run:
    return Run(id=row["id"], kind=row["kind"], reproduces_run_id=row["reproduces_run_id"],
               dataset_id=row["dataset_id"], dataset_name=row["dataset_name"],
               dataset_fingerprint=row["dataset_fingerprint"], target=row["target"],
               task=row["task"], spec=json.loads(row["spec"]), seed=row["seed"],
               features=json.loads(row["features"]), family=row["family"],
               hyperparameters=json.loads(row["hyperparameters"]), metrics=json.loads(row["metrics"]),
               details=json.loads(row["details"]), prediction_sha256=row["prediction_sha256"],
               library_versions=json.loads(row["library_versions"]), status=row["status"],
               error=row["error"], started_at=row["started_at"], finished_at=row["finished_at"],
               duration_s=row["duration_s"], created_by=row["created_by"],
               model=row["model_name"], version=row["model_version"])


def get(reg: Registry, run_id: int | str) -> Run:
    """A run by id; :class:`NotFoundError` names the latest runs when there is none."""
    text = str(run_id).strip()
    row = reg.query_one(_SELECT + " WHERE r.id = ?", (int(text),)) if text.isdigit() else None
    if row is None:
        latest = [str(r["id"]) for r in reg.query("SELECT id FROM runs ORDER BY id DESC LIMIT 5")]
        hint = f" Latest runs: {', '.join(latest)}." if latest else " There are no runs yet."
        raise NotFoundError(f"There is no run {text!r}.{hint}")
    return _run(row)


def host_of(reg: Registry, run_id: int) -> Optional[str]:
    """The computer a run ran on (None for runs from before it was recorded)."""
    row = reg.query_one("SELECT host FROM runs WHERE id = ?", (int(run_id),))
    return None if row is None else row["host"]


def list_all(reg: Registry, *, dataset_id: Optional[int] = None,
             limit: Optional[int] = None) -> list[Run]:
    """Runs, newest first, optionally of one dataset."""
    sql, params = _SELECT, []
    if dataset_id is not None:
        sql += " WHERE r.dataset_id = ?"
        params.append(dataset_id)
    sql += " ORDER BY r.id DESC"
    if limit:
        sql += " LIMIT ?"
        params.append(int(limit))
    return [_run(r) for r in reg.query(sql, tuple(params))]


# -- runs whose process died ------------------------------------------------------------------

def stale(reg: Registry, *, host: Optional[str] = None) -> list[dict[str, Any]]:
    """Runs marked running whose process on this computer is gone (runs started on
    another computer, or before processes were recorded, are left alone)."""
    host = host or this_host()
    rows = reg.query("SELECT id, pid, host, created_by FROM runs"
                     " WHERE status = 'running' AND host = ? AND pid IS NOT NULL", (host,))
    return [r for r in rows if not process_alive(int(r["pid"]))]


def fail_stale(reg: Registry, *, actor: str = "mlops-desktop") -> list[int]:
    """Mark each :func:`stale` run failed ("the app stopped during training"), audited,
    one transaction per run. Returns their ids. A read-only workspace is left as is."""
    if reg.read_only:
        return []
    failed = []
    for r in stale(reg):
        with reg.transaction():
            changed = reg.execute(
                "UPDATE runs SET status = 'failed', error = ?, finished_at = ?"
                " WHERE id = ? AND status = 'running'", (STALE_ERROR, utc_now(), r["id"]))
            if changed != 1:
                continue  # another process got there first
            audit.append(reg, actor=actor, action="run.finished", entity_type="run",
                         entity_id=r["id"], summary=f"Run {r['id']} failed: {STALE_ERROR}",
                         details={"status": "failed", "error": STALE_ERROR, "pid": r["pid"],
                                  "host": r["host"], "started_by": r["created_by"]})
        failed.append(int(r["id"]))
    return failed
