"""Registered models and their versions.

A registered model is a name; each successful run adds a version (1, 2, ...) that
points to the run and to its artifact. A new version's stage is ``draft``; later
stages (validated, approved, retired) are a column, not a separate table, so the
approval workflow can build on it. Models and versions carry a description
(migration 7 added the versions'); :func:`search_versions` is the registry list,
filtered and paged.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Optional

from ..errors import NotFoundError
from . import audit
from .db import Registry


@dataclass
class ModelVersion:
    """A model version as the store keeps it: its model, run, stage, artifact, what it
    predicts from what, its metrics and details."""

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
    description: str = ""
    #: what the version is for, in the analyst's words (the model card's Purpose)
    purpose: str = ""

    @property
    def ref(self) -> str:
        """``name:version``, as the CLI takes it."""
        return f"{self.model}:{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """The version's fields as a plain dict, with its ``name:version`` reference."""
        d = dict(self.__dict__)
        d["ref"] = self.ref
        return d


@dataclass
class RegisteredModel:
    """A registered model: its name, description, author, and its latest version number and
    count of versions."""

    id: int
    name: str
    description: str
    created_by: str
    created_at: str
    latest_version: Optional[int]
    n_versions: int

    def to_dict(self) -> dict[str, Any]:
        """The model's fields as a plain dict."""
        return dict(self.__dict__)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)


def json_digest(value: Any) -> str:
    """The SHA-256 of the JSON text stored for ``value`` (a version's metrics): its audit
    entry records it, so verify can tell a record edited outside the app."""
    return text_digest(_json(value))


def text_digest(text: str) -> str:
    """The SHA-256 of a stored text (what :func:`json_digest` hashes)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def model_id_for(reg: Registry, name: str) -> Optional[int]:
    """The id of the registered model with this name (None when there is none)."""
    row = reg.query_one("SELECT id FROM registered_models WHERE name = ?", (name,))
    return None if row is None else int(row["id"])


def insert_model(reg: Registry, *, name: str, description: str, created_by: str,
                 created_at: str) -> int:
    """A new registered model (inside the caller's transaction)."""
    return reg.insert(
        "INSERT INTO registered_models (name, description, created_by, created_at) VALUES (?, ?, ?, ?)",
        (name, description, created_by, created_at))


def insert_version(reg: Registry, *, model_id: int, run_id: int, artifact_sha256: str, family: str,
                   task: str, target: str, features: list[str], metrics: dict[str, Any],
                   details: dict[str, Any], created_by: str, created_at: str) -> tuple[int, int]:
    """The next version of a model, in stage draft (inside the caller's transaction, which
    holds the write lock, so two runs never get the same number). Returns (id, version)."""
    row = reg.query_one("SELECT COALESCE(MAX(version), 0) + 1 AS v FROM model_versions WHERE model_id = ?",
                        (model_id,))
    version = int(row["v"])
    new_id = reg.insert(
        "INSERT INTO model_versions (model_id, version, run_id, stage, artifact_sha256, family, task,"
        " target, features, metrics, details, created_by, created_at)"
        " VALUES (?, ?, ?, 'draft', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (model_id, version, run_id, artifact_sha256, family, task, target, _json(features),
         _json(metrics), _json(details), created_by, created_at))
    return new_id, version


_SELECT = ("SELECT v.*, m.name AS model_name FROM model_versions v"
           " JOIN registered_models m ON m.id = v.model_id")


def _version(row: dict) -> ModelVersion:
    return ModelVersion(id=row["id"], model_id=row["model_id"], model=row["model_name"],
                        version=row["version"], run_id=row["run_id"], stage=row["stage"],
                        artifact_sha256=row["artifact_sha256"], family=row["family"],
                        task=row["task"], target=row["target"], features=json.loads(row["features"]),
                        metrics=json.loads(row["metrics"]), details=json.loads(row["details"]),
                        created_by=row["created_by"], created_at=row["created_at"],
                        description=row.get("description") or "", purpose=row.get("purpose") or "")


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
    """The model version a training run registered (None when the run registered none)."""
    row = reg.query_one(_SELECT + " WHERE v.run_id = ?", (run_id,))
    return None if row is None else _version(row)


def versions_of(reg: Registry, name: str) -> list[ModelVersion]:
    """Every version of a model, newest first."""
    return [_version(r) for r in reg.query(_SELECT + " WHERE m.name = ? ORDER BY v.version DESC", (name,))]


def all_versions(reg: Registry) -> list[ModelVersion]:
    """Every model version, oldest first."""
    return [_version(r) for r in reg.query(_SELECT + " ORDER BY v.id")]


def replace_artifact(reg: Registry, version_id: int, *, old: str, new: str) -> bool:
    """Point a version from its file ``old`` to another file of the same model (inside the
    caller's transaction, with the audit entry that records why: a model file converted to
    another format). False when the version no longer points to ``old``."""
    changed = reg.execute("UPDATE model_versions SET artifact_sha256 = ? WHERE id = ? AND artifact_sha256 = ?",
                         (new, int(version_id), old))
    return changed == 1


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


# -- descriptions ---------------------------------------------------------------------------

def set_model_description(reg: Registry, model_id: int, *, label: str, text: str, actor: str) -> str:
    """Replace a model's description, audited with before and after; returns the one before."""
    with reg.transaction():
        row = reg.query_one("SELECT description FROM registered_models WHERE id = ?", (int(model_id),))
        if row is None:
            raise NotFoundError(f"There is no registered model with id {model_id}.")
        reg.execute("UPDATE registered_models SET description = ? WHERE id = ?", (text, int(model_id)))
        audit.append(reg, actor=actor, action="model.described", entity_type="model", entity_id=model_id,
                     summary=f"{label}: description changed",
                     details={"on": label, "before": row["description"], "after": text})
    return row["description"]


def set_version_description(reg: Registry, version_id: int, *, label: str, text: str, actor: str) -> str:
    """Replace a version's description, audited with before and after; returns the one before."""
    with reg.transaction():
        row = reg.query_one("SELECT description FROM model_versions WHERE id = ?", (int(version_id),))
        if row is None:
            raise NotFoundError(f"There is no model version with id {version_id}.")
        reg.execute("UPDATE model_versions SET description = ? WHERE id = ?", (text, int(version_id)))
        audit.append(reg, actor=actor, action="model.described", entity_type="model_version",
                     entity_id=version_id, summary=f"{label}: description changed",
                     details={"on": label, "before": row["description"], "after": text})
    return row["description"]


def set_version_purpose(reg: Registry, version_id: int, *, label: str, text: str, actor: str) -> str:
    """Replace a version's purpose, audited with before and after; returns the one before."""
    with reg.transaction():
        row = reg.query_one("SELECT purpose FROM model_versions WHERE id = ?", (int(version_id),))
        if row is None:
            raise NotFoundError(f"There is no model version with id {version_id}.")
        reg.execute("UPDATE model_versions SET purpose = ? WHERE id = ?", (text, int(version_id)))
        audit.append(reg, actor=actor, action="model.purpose_set", entity_type="model_version",
                     entity_id=version_id, summary=f"{label}: purpose " + ("set" if text else "cleared"),
                     details={"on": label, "before": row["purpose"], "after": text})
    return row["purpose"]


def get_model(reg: Registry, name: str) -> RegisteredModel:
    """One registered model by name, with its latest version number and version count."""
    rows = reg.query(
        "SELECT m.*, MAX(v.version) AS latest_version, COUNT(v.id) AS n_versions"
        " FROM registered_models m LEFT JOIN model_versions v ON v.model_id = m.id"
        " WHERE m.name = ? GROUP BY m.id", (name,))
    if not rows:
        get_version(reg, name)  # raises the NotFoundError that names the registered models
    r = rows[0]
    return RegisteredModel(id=r["id"], name=r["name"], description=r["description"],
                           created_by=r["created_by"], created_at=r["created_at"],
                           latest_version=r["latest_version"], n_versions=r["n_versions"])


# -- the registry list ----------------------------------------------------------------------

@dataclass
class VersionRow:
    """One line of the registry list: light, no metrics or artifact details."""

    id: int
    model_id: int
    model: str
    version: int
    stage: str
    family: str
    task: str
    target: str
    dataset_id: int
    dataset: str
    description: str
    created_by: str
    created_at: str
    aliases: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """``name:version``, as the CLI takes it."""
        return f"{self.model}:{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """The row's fields as a plain dict, with its ``name:version`` reference."""
        d = dict(self.__dict__)
        d["ref"] = self.ref
        return d


@dataclass
class VersionPage:
    """A page of the registry list and how many versions match in all."""

    rows: list[VersionRow]
    total: int
    offset: int
    limit: Optional[int]

    def to_dict(self) -> dict[str, Any]:
        """The page as ``models list --json`` prints it: the total, the window asked for, and
        the versions."""
        return {"total": self.total, "offset": self.offset, "limit": self.limit,
                "versions": [r.to_dict() for r in self.rows]}


ORDERS = {"newest": "v.created_at DESC, v.id DESC", "oldest": "v.created_at, v.id",
          "name": "m.name, v.version DESC"}


def _like(text: str) -> str:
    """A LIKE pattern for a substring, with LIKE's own wildcards taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_versions(reg: Registry, *, text: Optional[str] = None, model: Optional[str] = None,
                    stages: Optional[list[str]] = None, tag_key: Optional[str] = None,
                    tag_value: Optional[str] = None, dataset_id: Optional[int] = None,
                    since: Optional[str] = None, until: Optional[str] = None, order: str = "newest",
                    offset: int = 0, limit: Optional[int] = 100) -> VersionPage:
    """Model versions matching every filter given, a page at a time.

    ``text``: a substring (any case) of the model's name or of the version's or model's
    description; ``model``: an exact model name; ``stages``: any of these stages;
    ``tag_key`` (and ``tag_value``): a tag on the version or on its model;
    ``dataset_id``: trained on that dataset; ``since``/``until``: created at or after /
    before these ISO UTC texts (the registry's format). ``limit`` None gives every match.
    """
    where, params = [], []
    if text:
        like = "ILIKE" if reg.dialect == "postgresql" else "LIKE"  # SQLite's LIKE ignores case itself
        where.append(f"(m.name {like} ? ESCAPE '\\' OR v.description {like} ? ESCAPE '\\'"
                     f" OR m.description {like} ? ESCAPE '\\')")
        params += [_like(text)] * 3
    if model is not None:
        where.append("m.name = ?")
        params.append(model)
    if stages:
        where.append(f"v.stage IN ({','.join('?' * len(stages))})")
        params += list(stages)
    if tag_key is not None:
        value_sql = "" if tag_value is None else " AND t.value = ?"
        where.append("(EXISTS (SELECT 1 FROM version_tags t WHERE t.version_id = v.id AND t.key = ?"
                     f"{value_sql}) OR EXISTS (SELECT 1 FROM model_tags t WHERE t.model_id = v.model_id"
                     f" AND t.key = ?{value_sql}))")
        params += [tag_key] + ([tag_value] if tag_value is not None else [])
        params += [tag_key] + ([tag_value] if tag_value is not None else [])
    if dataset_id is not None:
        where.append("r.dataset_id = ?")
        params.append(int(dataset_id))
    if since:
        where.append("v.created_at >= ?")
        params.append(since)
    if until:
        where.append("v.created_at < ?")
        params.append(until)
    if order not in ORDERS:
        raise ValueError(f"order is one of {', '.join(ORDERS)}, not {order!r}")
    joins = (" FROM model_versions v JOIN registered_models m ON m.id = v.model_id"
             " JOIN runs r ON r.id = v.run_id")
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    total = int(reg.query_one("SELECT COUNT(*) AS n" + joins + clause, tuple(params))["n"])
    sql = ("SELECT v.id, v.model_id, m.name AS model, v.version, v.stage, v.family, v.task, v.target,"
           " r.dataset_id, d.name AS dataset, v.description, v.created_by, v.created_at"
           + joins + " JOIN datasets d ON d.id = r.dataset_id" + clause + " ORDER BY " + ORDERS[order])
    page_params = list(params)
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        page_params += [int(limit), int(offset)]
    elif offset:
        sql += (" LIMIT ALL" if reg.dialect == "postgresql" else " LIMIT -1") + " OFFSET ?"
        page_params.append(int(offset))
    rows = [VersionRow(**r) for r in reg.query(sql, tuple(page_params))]
    if rows:
        from . import aliases, tags

        ids = [r.id for r in rows]
        held = aliases.held_by_many(reg, ids)
        tagged = tags.of_versions(reg, ids)
        for r in rows:
            r.aliases = held.get(r.id, [])
            r.tags = tagged.get(r.id, {})
    return VersionPage(rows=rows, total=total, offset=int(offset), limit=limit)


def runs_reproducing(reg: Registry, run_id: int) -> list[dict[str, Any]]:
    """The runs that reproduced ``run_id``, oldest first (light rows for lineage)."""
    return reg.query("SELECT id AS run_id, status, started_at, created_by, prediction_sha256 FROM runs"
                     " WHERE reproduces_run_id = ? ORDER BY id", (int(run_id),))


# -- the audit entries of a model ----------------------------------------------------------------

def creator_in_audit_log(reg: Registry, version_id: int) -> Optional[str]:
    """Who created the version, as its audit entry records it (the record's
    ``created_by`` can be edited outside the app; the entry is hash-chained)."""
    row = reg.query_one("SELECT actor FROM audit_log WHERE entity_type = 'model_version' AND entity_id = ?"
                        " AND action = 'model.version_created' ORDER BY seq LIMIT 1", (str(int(version_id)),))
    return None if row is None else row["actor"]


def audit_entries_for_model(reg: Registry, model_id: int, *,
                            limit: Optional[int] = None) -> list[audit.AuditEntry]:
    """Audit entries about a model, its versions and the runs that made them, newest first."""
    sql = ("SELECT * FROM audit_log WHERE (entity_type = 'model' AND entity_id = ?)"
           " OR (entity_type = 'model_version' AND entity_id IN"
           "     (SELECT CAST(id AS TEXT) FROM model_versions WHERE model_id = ?))"
           " OR (entity_type = 'run' AND entity_id IN"
           "     (SELECT CAST(run_id AS TEXT) FROM model_versions WHERE model_id = ?))"
           " ORDER BY seq DESC")
    params: list[Any] = [str(model_id), int(model_id), int(model_id)]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    return [audit.AuditEntry(r["seq"], r["at"], r["actor"], r["action"], r["entity_type"], r["entity_id"],
                             r["summary"], json.loads(r["details"]), r["prev_hash"], r["hash"])
            for r in reg.query(sql, tuple(params))]
