"""Reading and changing registered datasets."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import pyarrow as pa

from ..errors import InvalidChoiceError, WorkspaceError
from ..store import audit
from ..store import datasets as dataset_rows
from .dataset import KINDS, ROLES, Column, Dataset

if TYPE_CHECKING:
    from ..workspace import Workspace


def load_table(ws: "Workspace", dataset: Dataset, columns: Optional[list[str]] = None) -> pa.Table:
    """The dataset's rows from its snapshot (checked by :func:`snapshot_path`); ``columns``
    reads only those (Parquet is columnar, so one column of a large dataset is cheap)."""
    import pyarrow.parquet as pq

    path = snapshot_path(ws, dataset)
    try:
        return pq.read_table(path, columns=columns)
    except (pa.ArrowException, OSError) as exc:
        raise WorkspaceError(f"The snapshot of dataset {dataset.name!r} cannot be read ({exc}).") from None


def snapshot_path(ws: "Workspace", dataset: Dataset) -> Path:
    """The dataset's snapshot file, fit to read: inside the workspace's snapshots folder,
    present, and with the SHA-256 the registry records (hashed at use, see
    :mod:`..file_hashes`). Raises :class:`WorkspaceError` naming the file otherwise."""
    from ..file_hashes import current_sha256
    from ..store.stored_files import here_or_fetched

    path = ws.root / dataset.snapshot
    folder = ws.snapshots_dir.resolve()
    if Path(dataset.snapshot).is_absolute() or folder not in path.resolve().parents:
        raise WorkspaceError(f"The snapshot of dataset {dataset.name!r} is recorded as {dataset.snapshot}, "
                             "outside the workspace's snapshots folder: the registry was changed outside "
                             "the app. It was not read; run 'mlops-desktop verify'.")
    here_or_fetched(ws.registry, dataset.snapshot_sha256, dataset.snapshot)  # another member's import
    try:
        actual = current_sha256(path)
    except FileNotFoundError:
        raise WorkspaceError(f"The snapshot of dataset {dataset.name!r} is missing ({path}). "
                             "The workspace is damaged; restore it from a backup.") from None
    except OSError as exc:
        raise WorkspaceError(f"The snapshot of dataset {dataset.name!r} cannot be read ({path}: "
                             f"{exc.strerror or exc}).") from None
    if actual != dataset.snapshot_sha256:
        raise WorkspaceError(f"The snapshot of dataset {dataset.name!r} ({path}) was modified after "
                             "import: its SHA-256 no longer matches the registry. It was not read. "
                             "Restore the workspace from a backup, or import the data again.")
    return path


def row_at(ws: "Workspace", dataset: Dataset, position: int) -> dict[str, Any]:
    """One row of the dataset by its 0-based position (the Data page numbers it
    ``position + 1``), column by column; only the row group holding it is read."""
    from .on_disk import OnDiskTable

    if not 0 <= position < dataset.n_rows:
        raise InvalidChoiceError(f"Dataset {dataset.name!r} has no row {position + 1:,}; it has "
                                 f"{dataset.n_rows:,} rows.")
    row = OnDiskTable.open(snapshot_path(ws, dataset), ws.snapshots_dir).rows_at(position, 1).to_pylist()
    if row:
        return row[0]
    raise WorkspaceError(f"The snapshot of dataset {dataset.name!r} has fewer rows than recorded.")


def update_column(ws: "Workspace", dataset_ref: str | int, column: str, *,
                  kind: Optional[str], role: Optional[str], actor: str) -> Column:
    """Change a column's type or role in a dataset, recorded in the audit log; returns the column."""
    if kind is not None and kind not in KINDS:
        raise InvalidChoiceError(f"Unknown column type {kind!r}; use one of {', '.join(KINDS)}.")
    if role is not None and role not in ROLES:
        raise InvalidChoiceError(f"Unknown column role {role!r}; use one of {', '.join(ROLES)}.")
    reg = ws.registry
    with reg.transaction():
        ds = dataset_rows.find(reg, dataset_ref)
        col = ds.column(column)
        new_kind = kind or col.kind
        new_role = role or col.role
        if (new_kind, new_role) == (col.kind, col.role):
            return col
        details: dict = {"column": column, "before": {"kind": col.kind, "role": col.role},
                         "after": {"kind": new_kind, "role": new_role}}
        if new_role == "target":
            previous = ds.target
            if previous and previous != column:
                dataset_rows.update_column(reg, ds.id, previous, kind=ds.column(previous).kind,
                                           role="feature")
                details["previous_target"] = previous
        dataset_rows.update_column(reg, ds.id, column, kind=new_kind, role=new_role)
        changes = []
        if new_kind != col.kind:
            changes.append(f"type {col.kind} → {new_kind}")
        if new_role != col.role:
            changes.append(f"role {col.role} → {new_role}")
        audit.append(reg, actor=actor, action="dataset.column_changed", entity_type="dataset",
                     entity_id=ds.id, summary=f"{ds.name}: column {column}: {', '.join(changes)}",
                     details=details)
    col.kind, col.role = new_kind, new_role
    return col
