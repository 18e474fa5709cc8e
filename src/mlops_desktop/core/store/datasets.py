"""Dataset rows and their columns."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Iterable, Optional

from ..data.dataset import Column, Dataset
from ..errors import NotFoundError
from . import stored_files
from .db import Registry


def insert(reg: Registry, *, name: str, source_path: str, source_format: str,
           options: dict[str, Any], n_rows: int, fingerprint: str, snapshot: str,
           snapshot_sha256: str, snapshot_bytes: int, created_by: str, created_at: str,
           columns: list[Column]) -> int:
    """Insert a dataset and its columns (inside the caller's transaction)."""
    dataset_id = reg.insert(
        "INSERT INTO datasets (name, source_path, source_format, options, n_rows, n_columns,"
        " fingerprint, snapshot, snapshot_sha256, snapshot_bytes, created_by, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (name, source_path, source_format, json.dumps(options, sort_keys=True), n_rows,
         len(columns), fingerprint, snapshot, snapshot_sha256, snapshot_bytes, created_by,
         created_at))
    stored_files.keep(reg, snapshot_sha256, snapshot)
    reg.executemany(
        "INSERT INTO dataset_columns (dataset_id, position, name, physical_type, inferred_kind,"
        " kind, role, n_missing, n_distinct) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(dataset_id, c.position, c.name, c.physical_type, c.inferred_kind, c.kind, c.role,
          c.n_missing, c.n_distinct) for c in columns])
    return dataset_id


def columns_digest(columns: Iterable[tuple[str, str, str]]) -> str:
    """The SHA-256 of a dataset's columns as (name, type, role), in their order: its import
    entry records it, so verify can tell a type or role changed outside the app."""
    text = json.dumps([list(c) for c in columns], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _dataset(row: dict, columns: list[Column]) -> Dataset:
    return Dataset(id=row["id"], name=row["name"], source_path=row["source_path"],
                   source_format=row["source_format"], options=json.loads(row["options"]),
                   n_rows=row["n_rows"], n_columns=row["n_columns"],
                   fingerprint=row["fingerprint"], snapshot=row["snapshot"],
                   snapshot_sha256=row["snapshot_sha256"], snapshot_bytes=row["snapshot_bytes"],
                   created_by=row["created_by"], created_at=row["created_at"], columns=columns)


def columns_of(reg: Registry, dataset_id: int) -> list[Column]:
    """A dataset's columns in their order, with their kinds, roles and counts."""
    rows = reg.query("SELECT * FROM dataset_columns WHERE dataset_id = ? ORDER BY position",
                     (dataset_id,))
    return [Column(name=r["name"], position=r["position"], physical_type=r["physical_type"],
                   inferred_kind=r["inferred_kind"], kind=r["kind"], role=r["role"],
                   n_missing=r["n_missing"], n_distinct=r["n_distinct"]) for r in rows]


def get(reg: Registry, dataset_id: int) -> Dataset:
    """The dataset with this id and its columns; raises NotFoundError when there is none."""
    row = reg.query_one("SELECT * FROM datasets WHERE id = ?", (dataset_id,))
    if row is None:
        raise NotFoundError(f"There is no dataset with id {dataset_id}.")
    return _dataset(row, columns_of(reg, dataset_id))


def find(reg: Registry, ref: str | int) -> Dataset:
    """A dataset by id or by exact name."""
    text = str(ref).strip()
    if text.isdigit():
        row = reg.query_one("SELECT id FROM datasets WHERE id = ?", (int(text),))
        if row is not None:
            return get(reg, row["id"])
    row = reg.query_one("SELECT id FROM datasets WHERE name = ?", (text,))
    if row is None:
        names = [r["name"] for r in reg.query("SELECT name FROM datasets ORDER BY id DESC LIMIT 10")]
        hint = f" Known datasets: {', '.join(names)}." if names else " The workspace has no datasets yet."
        raise NotFoundError(f"No dataset with id or name {text!r}.{hint}")
    return get(reg, row["id"])


def list_all(reg: Registry) -> list[Dataset]:
    """Every dataset, newest first, without their columns."""
    return [_dataset(r, []) for r in reg.query("SELECT * FROM datasets ORDER BY id DESC")]


def name_taken(reg: Registry, name: str) -> bool:
    """Whether a dataset already has this name."""
    return reg.query_one("SELECT 1 AS x FROM datasets WHERE name = ?", (name,)) is not None


def snapshot_sha256_for(reg: Registry, snapshot: str) -> Optional[str]:
    """The SHA-256 recorded for a snapshot file (its path inside the workspace); None when no
    dataset uses it."""
    row = reg.query_one("SELECT snapshot_sha256 FROM datasets WHERE snapshot = ? LIMIT 1", (snapshot,))
    return row["snapshot_sha256"] if row else None


def update_column(reg: Registry, dataset_id: int, name: str, *, kind: str, role: str) -> None:
    """Record a column's kind and role (inside a transaction, with its audit entry written by
    the caller)."""
    reg.execute("UPDATE dataset_columns SET kind = ?, role = ? WHERE dataset_id = ? AND name = ?",
                   (kind, role, dataset_id, name))
