"""A workspace: one folder with the registry, content-addressed artifacts and
Parquet snapshots of every imported dataset."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from .. import __version__
from .errors import MlopsError, WorkspaceError
from .network_drives import refuse_network_folder
from .registry import Registry, audit
from .registry.db import RegistryMissingError
from .registry import datasets as dataset_rows
from .storage import remove_stale_temporaries

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from .data.dataset import Column, Dataset
    from .data.importer import ImportResult
    from .data.readers import ImportOptions
    from .jobs import CancelToken, ProgressCallback

REGISTRY_FILE = "registry.sqlite"


class Workspace:
    """An open workspace. Use :meth:`open`, :meth:`create` or :meth:`open_or_create`."""

    def __init__(self, root: Path, registry: Registry) -> None:
        self.root = root
        self.registry = registry

    # -- opening ------------------------------------------------------------------------

    @staticmethod
    def is_workspace(root: Path | str) -> bool:
        return (Path(root) / REGISTRY_FILE).is_file()

    @classmethod
    def open(cls, root: Path | str, *, read_only: bool = False) -> "Workspace":
        """Open a workspace for changes (a read-only folder or file raises
        :class:`WorkspaceError`), or with ``read_only=True`` only to look at it."""
        root = Path(root).expanduser().absolute()
        if not root.exists():
            raise WorkspaceError(f"There is no workspace at {root} (the folder does not exist).")
        gone = cls._registry_gone(root)
        if gone:
            raise RegistryMissingError(gone)
        if not cls.is_workspace(root):
            raise WorkspaceError(f"{root} is not a workspace (it has no {REGISTRY_FILE}).")
        refuse_network_folder(root)  # a SQLite registry is never opened on a network drive
        ws = cls(root, Registry(root / REGISTRY_FILE, read_only=read_only))
        if not read_only:
            ws._tidy_after_a_crash()
        return ws

    @staticmethod
    def _registry_gone(root: Path) -> Optional[str]:
        """Why ``root`` is a workspace whose registry is gone (``registry.sqlite`` missing
        or 0 bytes beside model files or snapshots), or None. Such a folder is never
        opened as an empty workspace, which would pass every check."""
        registry = root / REGISTRY_FILE
        if registry.is_file() and registry.stat().st_size > 0:
            return None
        held = sum(1 for sub in ("artifacts", "snapshots") if (root / sub).is_dir()
                   for p in (root / sub).iterdir() if not p.name.startswith("."))
        if not held:
            return None
        what = "is an empty file (0 bytes)" if registry.is_file() else "is missing"
        return (f"The registry of the workspace {root} is gone: {REGISTRY_FILE} {what}, but the folder "
                f"holds {held} model file(s) and snapshot(s). Nothing was changed. Restore the workspace "
                "from a backup ('mlops-desktop restore FILE.zip --workspace NEW_FOLDER'), or put its "
                f"{REGISTRY_FILE} back.")

    def _tidy_after_a_crash(self) -> None:
        """Remove temporary files of processes that died, mark runs whose process died
        failed (audited), and record the exports whose process died after publishing the
        package. Housekeeping: a busy (or full) registry leaves it for next time."""
        from .export.pending import record_interrupted
        from .registry import runs as run_rows

        for sub in ("artifacts", "snapshots"):
            (self.root / sub).mkdir(exist_ok=True)
            remove_stale_temporaries(self.root / sub)
        try:
            run_rows.fail_stale(self.registry)
            record_interrupted(self)
        except MlopsError:
            pass

    @property
    def read_only(self) -> bool:
        return self.registry.read_only

    @classmethod
    def create(cls, root: Path | str, *, actor: str) -> "Workspace":
        """Make a new workspace in an empty or missing folder."""
        root = Path(root).expanduser().absolute()
        if root.exists() and not root.is_dir():
            raise WorkspaceError(f"{root} is a file, not a folder.")
        gone = cls._registry_gone(root)
        if gone:
            raise RegistryMissingError(gone)
        if cls.is_workspace(root):
            raise WorkspaceError(f"{root} is already a workspace.")
        if root.is_dir() and any(root.iterdir()):
            raise WorkspaceError(f"{root} is not empty and is not a workspace. Choose an empty or new folder.")
        refuse_network_folder(root)
        try:
            root.mkdir(parents=True, exist_ok=True)
            for sub in ("artifacts", "snapshots"):
                (root / sub).mkdir(exist_ok=True)
            registry = Registry(root / REGISTRY_FILE, create=True)
        except PermissionError:
            raise WorkspaceError(f"Cannot create a workspace in {root}: permission denied.") from None
        except OSError as exc:
            raise WorkspaceError(f"Cannot create a workspace in {root}: {exc.strerror or exc}.") from None
        ws = cls(root, registry)
        with registry.transaction() as db:
            workspace_id = uuid.uuid4().hex
            db.execute("INSERT INTO workspace_info (key, value) VALUES ('id', ?), "
                       "('created_with', ?)", (workspace_id, __version__))
            audit.append(registry, actor=actor, action="workspace.created", entity_type="workspace",
                         entity_id=workspace_id, summary=f"Workspace created at {root}",
                         details={"path": str(root), "app_version": __version__})
        return ws

    @classmethod
    def open_or_create(cls, root: Path | str, *, actor: str) -> tuple["Workspace", bool]:
        """Open the workspace at ``root``, creating it if the folder is missing or empty."""
        root = Path(root).expanduser().absolute()
        if cls.is_workspace(root):
            return cls.open(root), False
        return cls.create(root, actor=actor), True

    def close(self) -> None:
        self.registry.close()

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def snapshots_dir(self) -> Path:
        return self.root / "snapshots"

    @property
    def artifacts_dir(self) -> Path:
        return self.root / "artifacts"

    # -- datasets -----------------------------------------------------------------------

    def import_file(self, path: Path | str, options: Optional["ImportOptions"] = None, *,
                    name: Optional[str] = None, actor: str,
                    progress: Optional["ProgressCallback"] = None,
                    cancel: Optional["CancelToken"] = None) -> "ImportResult":
        """Import a file as a new dataset (see :func:`data.importer.import_dataset`)."""
        from .data.importer import import_dataset
        from .jobs import no_progress

        return import_dataset(self, path, options, name=name, actor=actor,
                              progress=progress or no_progress, cancel=cancel)

    def datasets(self) -> list["Dataset"]:
        """Every dataset, newest first (without their columns)."""
        return dataset_rows.list_all(self.registry)

    def dataset(self, ref: str | int) -> "Dataset":
        """A dataset with its columns, by id or name."""
        return dataset_rows.find(self.registry, ref)

    def load_table(self, dataset: "Dataset", columns: Optional[list[str]] = None) -> "pa.Table":
        """The dataset's data, from its snapshot (the source file is not needed);
        ``columns`` reads only those."""
        from .data.catalog import load_table

        return load_table(self, dataset, columns)

    def load_dataframe(self, dataset: "Dataset") -> "pd.DataFrame":
        return self.load_table(dataset).to_pandas()

    def update_column(self, dataset_ref: str | int, column: str, *, kind: Optional[str] = None,
                      role: Optional[str] = None, actor: str) -> "Column":
        """Change a column's kind and/or role; the change is recorded in the audit log."""
        from .data.catalog import update_column

        return update_column(self, dataset_ref, column, kind=kind, role=role, actor=actor)

    # -- audit --------------------------------------------------------------------------

    def audit_head(self) -> dict[str, Any]:
        """The newest audit entry's number and hash (``seq``, ``hash``), to keep outside
        the workspace and check a copy against later (see :func:`registry.audit.last_entry`)."""
        from .registry import audit

        return audit.last_entry(self.registry)

    def audit_entries(self, *, limit: Optional[int] = None, entity_type: Optional[str] = None,
                      entity_id: Optional[Any] = None) -> list[audit.AuditEntry]:
        return audit.entries(self.registry, limit=limit, entity_type=entity_type,
                             entity_id=entity_id)

    def verify_audit(self) -> list[str]:
        return audit.verify_chain(self.registry)
