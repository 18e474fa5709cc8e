"""Registered models and their versions.

A registered model is a name; each successful run adds a version (1, 2, ...) that
points to the run and to its artifact. A new version's stage is ``draft``; later
stages (validated, approved, retired) are a column, not a separate table, so the
approval workflow can build on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

from ..errors import NotFoundError
from .db import Registry


@dataclass
class ModelVersion:
    id: int
    model_id: int
    model: str
    version: int
    run_id: int
    stage: str
    artifact_sha256: str
    family: str
    task: str
    target: str
    features: list[str]
    metrics: dict[str, Any]
    details: dict[str, Any]
    created_by: str
    created_at: str

    @property
    def ref(self) -> str:
        """``name:version``, as the CLI takes it."""
        return f"{self.model}:{self.version}"

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["ref"] = self.ref
        return d


@dataclass
class RegisteredModel:
    id: int
    name: str
    description: str
    created_by: str
    created_at: str
    latest_version: Optional[int]
    n_versions: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)


def model_id_for(reg: Registry, name: str) -> Optional[int]:
    row = reg.query_one("SELECT id FROM registered_models WHERE name = ?", (name,))
    return None if row is None else int(row["id"])


def insert_model(reg: Registry, *, name: str, description: str, created_by: str,
                 created_at: str) -> int:
    """A new registered model (inside the caller's transaction)."""
    cur = reg.db.execute(
        "INSERT INTO registered_models (name, description, created_by, created_at) VALUES (?, ?, ?, ?)",
        (name, description, created_by, created_at))
    return int(cur.lastrowid)


def insert_version(reg: Registry, *, model_id: int, run_id: int, artifact_sha256: str, family: str,
                   task: str, target: str, features: list[str], metrics: dict[str, Any],
                   details: dict[str, Any], created_by: str, created_at: str) -> tuple[int, int]:
    """The next version of a model, in stage draft (inside the caller's transaction, which
    holds the write lock, so two runs never get the same number). Returns (id, version)."""
    row = reg.query_one("SELECT COALESCE(MAX(version), 0) + 1 AS v FROM model_versions WHERE model_id = ?",
                        (model_id,))
    version = int(row["v"])
    cur = reg.db.execute(
        "INSERT INTO model_versions (model_id, version, run_id, stage, artifact_sha256, family, task,"
        " target, features, metrics, details, created_by, created_at)"
        " VALUES (?, ?, ?, 'draft', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (model_id, version, run_id, artifact_sha256, family, task, target, _json(features),
         _json(metrics), _json(details), created_by, created_at))
    return int(cur.lastrowid), version


_SELECT = ("SELECT v.*, m.name AS model_name FROM model_versions v"
           " JOIN registered_models m ON m.id = v.model_id")


def _version(row: dict) -> ModelVersion:
    return ModelVersion(id=row["id"], model_id=row["model_id"], model=row["model_name"],
                        version=row["version"], run_id=row["run_id"], stage=row["stage"],
                        artifact_sha256=row["artifact_sha256"], family=row["family"],
                        task=row["task"], target=row["target"], features=json.loads(row["features"]),
                        metrics=json.loads(row["metrics"]), details=json.loads(row["details"]),
                        created_by=row["created_by"], created_at=row["created_at"])


def get_version(reg: Registry, name: str, version: Optional[int] = None) -> ModelVersion:
    """A version of a model by name (the latest when ``version`` is None)."""
    if model_id_for(reg, name) is None:
        names = [r["name"] for r in reg.query("SELECT name FROM registered_models ORDER BY id DESC LIMIT 10")]
        hint = f" Registered models: {', '.join(names)}." if names else " No model is registered yet."
        raise NotFoundError(f"There is no registered model {name!r}.{hint}")
    if version is None:
        row = reg.query_one(_SELECT + " WHERE m.name = ? ORDER BY v.version DESC LIMIT 1", (name,))
    else:
        row = reg.query_one(_SELECT + " WHERE m.name = ? AND v.version = ?", (name, int(version)))
    if row is None:
        have = [str(r["version"]) for r in reg.query(
            _SELECT + " WHERE m.name = ? ORDER BY v.version", (name,))]
        raise NotFoundError(f"Model {name!r} has no version {version}; it has "
                            f"{', '.join(have) or 'none'}.")
    return _version(row)


def version_for_run(reg: Registry, run_id: int) -> Optional[ModelVersion]:
    row = reg.query_one(_SELECT + " WHERE v.run_id = ?", (run_id,))
    return None if row is None else _version(row)


def versions_of(reg: Registry, name: str) -> list[ModelVersion]:
    """Every version of a model, newest first."""
    return [_version(r) for r in reg.query(_SELECT + " WHERE m.name = ? ORDER BY v.version DESC", (name,))]


def list_models(reg: Registry) -> list[RegisteredModel]:
    """Every registered model, newest first, with its latest version number."""
    rows = reg.query(
        "SELECT m.*, MAX(v.version) AS latest_version, COUNT(v.id) AS n_versions"
        " FROM registered_models m LEFT JOIN model_versions v ON v.model_id = m.id"
        " GROUP BY m.id ORDER BY m.id DESC")
    return [RegisteredModel(id=r["id"], name=r["name"], description=r["description"],
                            created_by=r["created_by"], created_at=r["created_at"],
                            latest_version=r["latest_version"], n_versions=r["n_versions"])
            for r in rows]
