"""Opening the registry database, migrations and transactions."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator, Optional

import sqlite_utils

from ..errors import WorkspaceError
from ..storage import disk_full_error
from . import migrations

BUSY_TIMEOUT_MS = 15_000
#: how long a write waits in all for another process to finish its writes, beyond which
#: the user is told the workspace is busy (SQLite's own wait is the first BUSY_TIMEOUT_MS)
WRITE_PATIENCE_S = 60.0

_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_CORRUPT, _SQLITE_CANTOPEN = 5, 6, 8, 11, 14
_SQLITE_IOERR, _SQLITE_FULL, _SQLITE_NOTADB = 10, 13, 26
#: below this much free space, an I/O error of SQLite's (it does not pass on errno) is a full disk
_NEARLY_FULL_BYTES = 1 << 20


class ReadOnlyWorkspaceError(WorkspaceError):
    """The workspace cannot be written (a read-only folder or file, or opened read-only)."""


class RegistryMissingError(WorkspaceError):
    """Where a registry should be there is none, or an empty (0-byte) file: never made
    into a fresh, empty registry, which would pass every check."""


class DamagedRegistryError(WorkspaceError):
    """The registry file is not a readable SQLite database (damaged, or another file)."""


def utc_now() -> str:
    """The current time as an ISO 8601 UTC string with microseconds."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _primary_code(exc: BaseException) -> Optional[int]:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def is_busy(exc: BaseException) -> bool:
    """Whether an sqlite error means another connection holds the lock."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = _primary_code(exc)
    if code is not None:
        return code in (_SQLITE_BUSY, _SQLITE_LOCKED)
    text = str(exc).lower()
    return "database is locked" in text or "database is busy" in text


def is_read_only(exc: BaseException) -> bool:
    """Whether an sqlite error means the database file or its folder cannot be written."""
    if not isinstance(exc, sqlite3.Error):
        return False
    return _primary_code(exc) == _SQLITE_READONLY or "readonly database" in str(exc).lower()


def is_damaged(exc: BaseException) -> bool:
    """Whether an sqlite error means the file is not a readable database."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    if _primary_code(exc) in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return True
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def _disk_full(exc: BaseException, folder: Path) -> bool:
    """Whether an sqlite error means the disk holding ``folder`` is full: SQLITE_FULL, or
    an I/O error (growing the shared-memory or journal file) with the disk nearly full."""
    if not isinstance(exc, sqlite3.Error):
        return False
    code = _primary_code(exc)
    if code == _SQLITE_FULL:
        return True
    if code == _SQLITE_IOERR:
        try:
            return shutil.disk_usage(folder).free < _NEARLY_FULL_BYTES
        except OSError:
            return False
    return False


def unwritable_reason(path: Path) -> Optional[str]:
    """Why the registry at ``path`` cannot be written, or None when it can (as far as
    the operating system says: run as root, everything looks writable)."""
    folder = path.parent
    if path.exists() and not os.access(path, os.W_OK):
        return f"the file {path.name} is read-only"
    if folder.is_dir() and not os.access(folder, os.W_OK):
        return f"the folder {folder} cannot be written to"
    return None


class Registry:
    """A connection to one workspace's registry database.

    One ``Registry`` per thread: sqlite3 connections are not shared across threads.
    ``read_only=True`` opens the file without write access (SQLite ``mode=ro``): reads
    work, and any change raises :class:`WorkspaceError` saying the workspace is read-only.
    """

    def __init__(self, path: Path | str, *, create: bool = False, read_only: bool = False) -> None:
        self.path = Path(path)
        #: a private copy read instead of the registry (see :meth:`_connect_to_copy`)
        self._copy_dir: Optional[Path] = None
        self.read_only = read_only
        self.read_only_reason = "it was opened read-only" if read_only else ""
        if not create and not self.path.is_file():
            raise RegistryMissingError(f"No registry at {self.path}.")
        if not create and self.path.stat().st_size == 0:
            raise RegistryMissingError(
                f"The registry {self.path} is an empty file (0 bytes): whatever it held is gone. "
                "Nothing was changed; restore the workspace from a backup.")
        if not read_only:
            reason = unwritable_reason(self.path)
            if reason:
                raise self._read_only_error(reason)
        try:
            self.db = sqlite_utils.Database(self._connect(), execute_plugins=False)
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if read_only:
                self._check_schema_for_reading()
            else:
                self.db.execute("PRAGMA foreign_keys = ON")
                if self.db.journal_mode != "wal":
                    self.db.enable_wal()
                self.db.execute("PRAGMA synchronous = NORMAL")
                migrations.migrate(self)
        except sqlite3.DatabaseError as exc:
            self._close_quietly()
            if is_read_only(exc):
                raise self._read_only_error(str(exc)) from None
            self._raise_if_full(exc)
            if is_damaged(exc):
                raise DamagedRegistryError(
                    f"Cannot open the registry {self.path}: the file is damaged ({exc}). Nothing was "
                    "changed; restore the workspace from a backup.") from exc
            raise WorkspaceError(f"Cannot open the registry {self.path}: {exc}.") from exc
        except BaseException:
            self._close_quietly()
            raise

    def _connect(self) -> sqlite3.Connection:
        timeout = BUSY_TIMEOUT_MS / 1000
        if not self.read_only:
            return sqlite3.connect(str(self.path), timeout=timeout, check_same_thread=False)
        uri = self.path.absolute().as_uri() + "?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError as exc:
            # A WAL database in a folder nobody may write to cannot get its shared-memory
            # file; when no writer can exist there, reading it as immutable is safe, or,
            # when a WAL file holds changes the database file lacks, reading a copy.
            if _primary_code(exc) != _SQLITE_CANTOPEN or os.access(self.path.parent, os.W_OK):
                raise
            if self.path.with_name(self.path.name + "-wal").exists():
                return self._connect_to_copy(timeout)
            return sqlite3.connect(uri + "&immutable=1", uri=True, timeout=timeout,
                                   check_same_thread=False)

    def _connect_to_copy(self, timeout: float) -> sqlite3.Connection:
        """The database and its WAL file copied into a private temporary folder, where
        SQLite can make the shared-memory file it needs to read them; removed on close."""
        import tempfile

        self._copy_dir = Path(tempfile.mkdtemp(prefix="mlops-desktop-read-only-"))
        for suffix in ("", "-wal"):
            shutil.copyfile(f"{self.path}{suffix}", self._copy_dir / f"{self.path.name}{suffix}")
        conn = sqlite3.connect(str(self._copy_dir / self.path.name), timeout=timeout, check_same_thread=False)
        conn.execute("PRAGMA query_only = ON")
        return conn

    def _check_schema_for_reading(self) -> None:
        have = migrations.current_version(self)
        if have > migrations.LATEST:
            migrations.migrate(self)  # raises the "made by a newer version" error
        if have < migrations.LATEST:
            raise WorkspaceError(
                f"The workspace {self.path.parent} was made by an older version of MLOps Desktop "
                "and must be upgraded before it can be read; open it once with write access.")

    def _read_only_error(self, reason: str) -> WorkspaceError:
        return ReadOnlyWorkspaceError(
            f"The workspace {self.path.parent} is read-only: {reason}. Nothing was changed. "
            "Copy the workspace to a folder you can write to, or ask for write permission.")

    def _raise_if_full(self, exc: BaseException, what: str = "the registry") -> None:
        if _disk_full(exc, self.path.parent):
            raise disk_full_error(what, self.path.parent) from None

    def _close_quietly(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def close(self) -> None:
        """Close the connection, and remove the private copy it read from (if it read one)."""
        try:
            self.db.close()
        finally:
            if self._copy_dir is not None:
                shutil.rmtree(self._copy_dir, ignore_errors=True)

    def __enter__(self) -> "Registry":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _busy_error(self, waited: float) -> WorkspaceError:
        return WorkspaceError(
            f"The workspace {self.path.parent} is busy: another program (the app or the command "
            f"line) kept it locked for {waited:.0f} seconds. Nothing was changed; try again.")

    def _begin(self, conn: sqlite3.Connection) -> None:
        """BEGIN IMMEDIATE, retried with a growing, jittered pause while another process
        holds the write lock beyond SQLite's own busy timeout."""
        started = time.monotonic()
        pause = 0.05
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if is_read_only(exc):
                    raise self._read_only_error(str(exc)) from None
                self._raise_if_full(exc)
                waited = time.monotonic() - started
                if not is_busy(exc) or waited >= WRITE_PATIENCE_S:
                    if is_busy(exc):
                        raise self._busy_error(waited) from None
                    raise
            time.sleep(pause * (0.5 + random.random()))
            pause = min(pause * 2, 1.0)

    # -- the backend-neutral API the store modules use ---------------------------------
    #: which SQL dialect the store speaks to (``postgresql`` for a team registry)
    dialect = "sqlite"

    def execute(self, sql: str, params: tuple | list | dict = ()) -> int:
        """Run one statement that changes rows (inside :meth:`transaction`); the number
        of rows it changed."""
        return self.db.conn.execute(sql, params).rowcount

    def insert(self, sql: str, params: tuple | list | dict = ()) -> int:
        """Run one INSERT (inside :meth:`transaction`) and return the new row's ``id``
        (``RETURNING id`` is added here, the same on both backends)."""
        cur = self.db.conn.execute(sql + " RETURNING id", params)
        try:
            return int(cur.fetchone()[0])
        finally:
            cur.close()

    def executemany(self, sql: str, rows: Iterable[tuple | list]) -> None:
        """Run one statement for each of ``rows`` (inside :meth:`transaction`)."""
        self.db.conn.executemany(sql, rows)

    def execute_script(self, script: str) -> None:
        """Run a migration's statements (inside :meth:`transaction`: executescript would
        COMMIT it, so statement by statement)."""
        for statement in migrations.statements(script):
            self.db.conn.execute(statement)

    def check_actor(self, actor: str) -> None:
        """Anyone may be named as the actor in a workspace of one's own (a team registry
        refuses any name but the login's)."""

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open on this connection (audit entries may only be
        written inside one)."""
        return self.db.conn.in_transaction

    def table_names(self) -> list[str]:
        """The names of the registry's tables."""
        return self.db.table_names()

    def rows(self, sql: str, params: tuple | list = ()) -> Iterator[tuple]:
        """The rows of a read-only query as tuples, streamed (for checks over every row)."""
        return iter(self.db.conn.execute(sql, params))

    @contextmanager
    def transaction(self) -> Iterator["Registry"]:
        """A write transaction that takes the write lock at once (BEGIN IMMEDIATE).

        Taking the lock first means two processes never both read the audit chain's
        last hash and then race to append; the second one waits (busy timeout, then
        retries with backoff). A lock held too long, or a read-only workspace, raises
        :class:`WorkspaceError`, never a raw "database is locked". Nested calls join
        the outer transaction.
        """
        if self.read_only:
            raise self._read_only_error(self.read_only_reason)
        conn = self.db.conn
        if conn.in_transaction:
            with self.db.atomic():  # a savepoint inside the outer transaction
                yield self
            return
        self._begin(conn)
        try:
            yield self
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if is_read_only(exc):
                raise self._read_only_error(str(exc)) from None
            self._raise_if_full(exc)
            if is_busy(exc):
                raise self._busy_error(BUSY_TIMEOUT_MS / 1000) from None
            raise
        else:
            try:
                conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if is_read_only(exc):
                    raise self._read_only_error(str(exc)) from None
                self._raise_if_full(exc)
                if is_busy(exc):
                    raise self._busy_error(BUSY_TIMEOUT_MS / 1000) from None
                raise

    def query(self, sql: str, params: tuple | dict = ()) -> list[dict]:
        """Rows of a read-only query as dictionaries (retried while the file is busy)."""
        started = time.monotonic()
        while True:
            try:
                return list(self.db.query(sql, params))
            except sqlite3.OperationalError as exc:
                waited = time.monotonic() - started
                if not is_busy(exc):
                    raise
                if waited >= WRITE_PATIENCE_S:
                    raise self._busy_error(waited) from None
                time.sleep(0.05 + 0.1 * random.random())

    def query_one(self, sql: str, params: tuple | dict = ()) -> dict | None:
        """The first row of a read-only query as a dictionary, or None when there is none."""
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def info(self) -> dict[str, str]:
        """The workspace's own facts (its id, the app version that created it)."""
        return {r["key"]: r["value"] for r in self.query("SELECT key, value FROM workspace_info")}

    def schema_version(self) -> int:
        """The number of the newest migration applied to the database (0 for an empty one)."""
        return migrations.current_version(self)

    def backup_to(self, dest: Path, *, progress=None, pages: int = 1024) -> None:
        """A consistent copy of the whole database into ``dest`` through SQLite's online
        backup API (other connections may keep writing meanwhile).
        ``progress(copied_pages, total_pages)`` is called after each step."""
        target = sqlite3.connect(str(dest))
        try:
            def step(status: int, remaining: int, total: int) -> None:
                if progress is not None:
                    progress(total - remaining, total)

            self.db.conn.backup(target, pages=pages, progress=step)
        except sqlite3.Error as exc:
            if _disk_full(exc, dest.parent):
                raise disk_full_error("a copy of the registry", dest.parent) from None
            raise
        finally:
            target.close()
