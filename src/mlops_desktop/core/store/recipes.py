"""Dataset recipes (migration 14): the recipe that prepared a dataset from its parent,
as canonical JSON with its SHA-256. Written with the dataset's own row and its audit
entry (``dataset.prepared``, which records the same SHA-256) in one transaction, and
never changed afterwards."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .db import Registry


@dataclass(frozen=True)
class RecipeRecord:
    """How a dataset was prepared: its parent and the recipe's JSON and SHA-256."""

    dataset_id: int
    parent_id: int
    recipe_json: str
    recipe_sha256: str
    created_by: str
    created_at: str


def insert(reg: Registry, *, dataset_id: int, parent_id: int, recipe_json: str, recipe_sha256: str,
           created_by: str, created_at: str) -> None:
    """Record a dataset's recipe (inside the caller's transaction)."""
    reg.execute("INSERT INTO dataset_recipes (dataset_id, parent_id, recipe, recipe_sha256, created_by,"
                   " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                   (dataset_id, parent_id, recipe_json, recipe_sha256, created_by, created_at))


def _record(row: dict) -> RecipeRecord:
    return RecipeRecord(row["dataset_id"], row["parent_id"], row["recipe"], row["recipe_sha256"],
                        row["created_by"], row["created_at"])


def of(reg: Registry, dataset_id: int) -> Optional[RecipeRecord]:
    """The recipe that prepared a dataset, or None for an imported one."""
    row = reg.query_one("SELECT * FROM dataset_recipes WHERE dataset_id = ?", (dataset_id,))
    return _record(row) if row else None


def children(reg: Registry, dataset_id: int) -> list[int]:
    """The datasets prepared from a dataset, oldest first."""
    return [r["dataset_id"] for r in reg.query(
        "SELECT dataset_id FROM dataset_recipes WHERE parent_id = ? ORDER BY dataset_id", (dataset_id,))]


def all_records(reg: Registry) -> list[RecipeRecord]:
    """The recipe of every prepared dataset, in dataset order (none before the recipes table
    existed)."""
    if "dataset_recipes" not in reg.table_names():
        return []
    return [_record(r) for r in reg.query("SELECT * FROM dataset_recipes ORDER BY dataset_id")]
