"""What a registered dataset is: its record, its columns, their kinds and roles."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Optional

#: What a column holds, as the analyst sees it (inferred, then changeable).
KINDS = ("numeric", "categorical", "boolean", "datetime", "id", "text", "constant")
#: What a column is for in modelling. At most one column is the target.
ROLES = ("feature", "target", "id", "ignore")
#: Kinds the assumption checks leave out of the feature set (a datetime is the time
#: column of the time checks, not a regressor).
CHECK_EXCLUDED_KINDS = ("id", "text", "constant", "datetime")


@dataclass
class Column:
    """A column of a dataset: its type as read, its kind and role for modelling, its missing and distinct counts."""
    name: str
    position: int
    physical_type: str
    inferred_kind: str
    kind: str
    role: str
    n_missing: int
    n_distinct: int

    def to_dict(self) -> dict[str, Any]:
        """The column's fields as a plain dict."""
        return asdict(self)


@dataclass
class Dataset:
    """A registered dataset: where it came from, its fingerprint, schema, size and snapshot."""
    id: int
    name: str
    source_path: str
    source_format: str
    options: dict[str, Any]
    n_rows: int
    n_columns: int
    fingerprint: str
    snapshot: str
    snapshot_sha256: str
    snapshot_bytes: int
    created_by: str
    created_at: str
    columns: list[Column] = field(default_factory=list)

    @property
    def target(self) -> Optional[str]:
        """The name of the target column, if one is set."""
        return next((c.name for c in self.columns if c.role == "target"), None)

    def column(self, name: str) -> Column:
        """The column named ``name``; raises NotFoundError listing the dataset's columns when
        there is none."""
        from ..errors import NotFoundError

        for c in self.columns:
            if c.name == name:
                return c
        raise NotFoundError(f"Dataset {self.name!r} has no column {name!r}. "
                            f"Columns: {', '.join(c.name for c in self.columns)}.")

    def to_dict(self, *, with_columns: bool = True) -> dict[str, Any]:
        """Plain data for JSON: ``columns`` is the column count, ``schema`` the columns."""
        d = asdict(self)
        schema = d.pop("columns")
        d.update(dataset_id=self.id, rows=self.n_rows, columns=self.n_columns, target=self.target)
        if with_columns:
            d["schema"] = schema
        return d
