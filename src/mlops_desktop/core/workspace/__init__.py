"""A workspace: one folder with the registry, content-addressed artifacts and
Parquet snapshots of every imported dataset."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from ... import __version__
from ..errors import MlopsError, WorkspaceError
from .network_drives import refuse_network_folder
from ..store import Registry, audit
from ..store.db import RegistryMissingError
from ..store.postgres import TeamLogin
from ..store import datasets as dataset_rows
from ..storage import atomic_write, remove_stale_temporaries

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from ..data.dataset import Column, Dataset
    from ..data.importer import ImportResult
    from ..data.readers import ImportOptions
    from ..jobs import CancelToken, ProgressCallback

REGISTRY_FILE = "registry.sqlite"
#: in a workspace folder connected to a team registry: where the registry is (never a password)
TEAM_FILE = "team-registry.json"


def team_login(root: Path | str) -> Optional[str]:
    """The database login that acts in the workspace at ``root`` when it is connected to a
    team registry (asked of the server: a service file or PGUSER may name it), else None."""
    conninfo = Workspace.team_registry(root) if Path(root).is_dir() else None
    if conninfo is None:
        return None
    from ..store.postgres import login_of

    return login_of(conninfo)


def check_team_registry(conninfo: str) -> TeamLogin:
    """Check the connection string of a team registry before connecting a folder to it: the
    login it connects as and its registry roles (nothing is set up or written). Raises
    WorkspaceError for a password in the string, a server that cannot be reached, an
    unknown login or database."""
    from ..store.postgres import team_login_of

    return team_login_of(conninfo)


class Workspace:
    """An open workspace. Use :meth:`open`, :meth:`create` or :meth:`open_or_create`."""

    def __init__(self, root: Path, registry: Registry) -> None:
        self.root = root
        self.registry = registry

    # -- opening ------------------------------------------------------------------------

    @staticmethod
    def is_workspace(root: Path | str) -> bool:
        """Whether the folder holds a workspace: its registry file, or the file naming the
        team registry it is connected to."""
        return (Path(root) / REGISTRY_FILE).is_file() or (Path(root) / TEAM_FILE).is_file()

    @staticmethod
    def team_registry(root: Path | str) -> Optional[str]:
        """The connection string of the team registry the folder is connected to, or None
        for a workspace of one's own."""
        import json

        path = Path(root) / TEAM_FILE
        if not path.is_file():
            return None
        try:
            return str(json.loads(path.read_text(encoding="utf-8"))["registry"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise WorkspaceError(f"{path} does not say which team registry the workspace uses ({exc}). "
                                 "Connect the folder again with 'mlops-desktop init --registry ...'.") from None

    @property
    def is_team(self) -> bool:
        """Whether the registry is a team registry on PostgreSQL (the actor is the login)."""
        return self.registry.dialect == "postgresql"

    @classmethod
    def open(cls, root: Path | str, *, read_only: bool = False) -> "Workspace":
        """Open a workspace for changes (a read-only folder or file raises
        :class:`WorkspaceError`), or with ``read_only=True`` only to look at it."""
        root = Path(root).expanduser().absolute()
        if not root.exists():
            raise WorkspaceError(f"There is no workspace at {root} (the folder does not exist).")
        conninfo = cls.team_registry(root)
        gone = None if conninfo else cls._registry_gone(root)
        if gone:
            raise RegistryMissingError(gone)
        if not cls.is_workspace(root):
            raise WorkspaceError(f"{root} is not a workspace (it has no {REGISTRY_FILE}).")
        if conninfo:
            from ..store.postgres import PostgresRegistry

            ws = cls(root, PostgresRegistry(conninfo, read_only=read_only))
            ws._fetch_team_files()
        else:
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
        from ..export.pending import record_interrupted
        from ..store import runs as run_rows

        for sub in ("artifacts", "snapshots"):
            (self.root / sub).mkdir(exist_ok=True)
            remove_stale_temporaries(self.root / sub)
        try:
            # on a team registry the server records only the login as the one who did it
            run_rows.fail_stale(self.registry, actor=self.team_actor or "mlops-desktop")
            record_interrupted(self)
        except MlopsError:
            pass

    @property
    def read_only(self) -> bool:
        """Whether the workspace was opened read-only (every change is refused)."""
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
        ws._record_creation(actor, f"Workspace created at {root}")
        return ws

    @classmethod
    def connect(cls, root: Path | str, conninfo: str) -> "Workspace":
        """Make ``root`` (an empty or missing folder) a workspace whose registry is the team
        registry at ``conninfo``: the folder keeps the connection string (a password is
        refused) and local copies of snapshots and model files. The first login to connect
        a new registry sets it up (its schema, roles and rules; that takes the database's
        owner) and is recorded as having created it."""
        import json

        from ..store.postgres import PostgresRegistry, check_conninfo

        root = Path(root).expanduser().absolute()
        check_conninfo(conninfo)
        if cls.is_workspace(root):
            raise WorkspaceError(f"{root} is already a workspace.")
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise WorkspaceError(f"{root} is not an empty folder. Choose an empty or new folder to "
                                 "connect to the team registry.")
        registry = PostgresRegistry(conninfo)  # connects (and sets up a new registry) first
        try:
            for sub in ("artifacts", "snapshots"):
                (root / sub).mkdir(parents=True, exist_ok=True)
            text = json.dumps({"registry": conninfo}, indent=2) + "\n"
            atomic_write(root / TEAM_FILE, lambda tmp: tmp.write_text(text, encoding="utf-8"))
            ws = cls(root, registry)
            ws._fetch_team_files()
            if "id" not in registry.info():
                ws._record_creation(registry.login, f"Team registry {registry.where} set up")
        except BaseException:
            registry.close()
            raise
        return ws

    def _fetch_team_files(self) -> None:
        """A team member's folder is a cache: the snapshots and model files other members
        made are fetched from the team registry (each checked against its SHA-256). One
        that cannot be fetched stays missing, and 'verify' names it."""
        from ..store import stored_files

        self.registry.files_root = self.root
        for sha256, relative in stored_files.missing_here(self.registry):
            try:
                stored_files.fetch(self.registry, sha256, relative)
            except MlopsError:
                pass

    def _record_creation(self, actor: str, summary: str) -> None:
        with self.registry.transaction() as db:
            workspace_id = uuid.uuid4().hex
            db.execute("INSERT INTO workspace_info (key, value) VALUES ('id', ?), "
                       "('created_with', ?)", (workspace_id, __version__))
            audit.append(self.registry, actor=actor, action="workspace.created", entity_type="workspace",
                         entity_id=workspace_id, summary=summary,
                         details={"path": str(self.root), "app_version": __version__})

    @property
    def team_actor(self) -> Optional[str]:
        """On a team registry the login, who acts whatever name is set; else None."""
        return self.registry.login if self.is_team else None

    def team_member(self) -> Optional[TeamLogin]:
        """On a team registry: the login, the registry roles it holds and where the registry
        is; None for a workspace of one's own."""
        return self.registry.team_login() if self.is_team else None

    def login(self) -> Optional[dict[str, Any]]:
        """On a team registry: the login and the registry roles it holds ({login, roles,
        registry}); None for a workspace of one's own."""
        me = self.team_member()
        if me is None:
            return None
        return {"login": me.login, "roles": list(me.roles), "registry": me.registry}

    @classmethod
    def open_or_create(cls, root: Path | str, *, actor: str) -> tuple["Workspace", bool]:
        """Open the workspace at ``root``, creating it if the folder is missing or empty."""
        root = Path(root).expanduser().absolute()
        if cls.is_workspace(root):
            return cls.open(root), False
        return cls.create(root, actor=actor), True

    def close(self) -> None:
        """Close the registry's connection."""
        self.registry.close()

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def snapshots_dir(self) -> Path:
        """The folder holding the Parquet snapshot of every imported dataset."""
        return self.root / "snapshots"

    @property
    def artifacts_dir(self) -> Path:
        """The folder of content-addressed files (models and other artifacts)."""
        return self.root / "artifacts"

    # -- datasets -----------------------------------------------------------------------

    def import_file(self, path: Path | str, options: Optional["ImportOptions"] = None, *,
                    name: Optional[str] = None, actor: str,
                    progress: Optional["ProgressCallback"] = None,
                    cancel: Optional["CancelToken"] = None) -> "ImportResult":
        """Import a file as a new dataset (see :func:`data.importer.import_dataset`)."""
        from ..data.importer import import_dataset
        from ..jobs import no_progress

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
        from ..data.catalog import load_table

        return load_table(self, dataset, columns)

    def load_dataframe(self, dataset: "Dataset") -> "pd.DataFrame":
        """The dataset's data from its snapshot, as a pandas frame (all of it in memory)."""
        return self.load_table(dataset).to_pandas()

    def update_column(self, dataset_ref: str | int, column: str, *, kind: Optional[str] = None,
                      role: Optional[str] = None, actor: str) -> "Column":
        """Change a column's kind and/or role; the change is recorded in the audit log."""
        from ..data.catalog import update_column

        return update_column(self, dataset_ref, column, kind=kind, role=role, actor=actor)

    # -- audit --------------------------------------------------------------------------

    def audit_head(self) -> dict[str, Any]:
        """The newest audit entry's number and hash (``seq``, ``hash``), to keep outside
        the workspace and check a copy against later (see :func:`registry.audit.last_entry`)."""
        from ..store import audit

        return audit.last_entry(self.registry)

    def audit_entries(self, *, limit: Optional[int] = None, entity_type: Optional[str] = None,
                      entity_id: Optional[Any] = None) -> list[audit.AuditEntry]:
        """Audit log entries, newest first: at most ``limit`` of them, and only those of one
        entity when it is named."""
        return audit.entries(self.registry, limit=limit, entity_type=entity_type,
                             entity_id=entity_id)

    def verify_audit(self) -> list[str]:
        """Recompute the audit chain and check the records against it: one sentence per
        problem, empty when intact."""
        return audit.verify_chain(self.registry)
