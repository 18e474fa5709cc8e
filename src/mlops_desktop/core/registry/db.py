"""Opening the registry database, migrations and transactions."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import sqlite_utils

from ..errors import WorkspaceError
from . import migrations

BUSY_TIMEOUT_MS = 15_000


def utc_now() -> str:
    """The current time as an ISO 8601 UTC string with microseconds."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Registry:
    """A connection to one workspace's registry database.

    One ``Registry`` per thread: sqlite3 connections are not shared across threads.
    """

    def __init__(self, path: Path | str, *, create: bool = False) -> None:
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise WorkspaceError(f"No registry at {self.path}.")
        try:
            conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000,
                                   check_same_thread=False)
            self.db = sqlite_utils.Database(conn, execute_plugins=False)
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.db.execute("PRAGMA foreign_keys = ON")
            if self.db.journal_mode != "wal":
                self.db.enable_wal()
            self.db.execute("PRAGMA synchronous = NORMAL")
            migrations.migrate(self)
        except sqlite3.DatabaseError as exc:
            self._close_quietly()
            raise WorkspaceError(f"Cannot open the registry {self.path}: {exc}.") from exc
        except BaseException:
            self._close_quietly()
            raise

    def _close_quietly(self) -> None:
        try:
            self.db.close()
        except Exception:
            pass

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Registry":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """A write transaction that takes the write lock at once (BEGIN IMMEDIATE).

        Taking the lock first means two processes never both read the audit chain's
        last hash and then race to append; the second one waits (busy timeout).
        Nested calls join the outer transaction.
        """
        conn = self.db.conn
        if conn.in_transaction:
            with self.db.atomic():  # a savepoint inside the outer transaction
                yield self.db
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def query(self, sql: str, params: tuple | dict = ()) -> list[dict]:
        """Rows of a read-only query as dictionaries."""
        return list(self.db.query(sql, params))

    def query_one(self, sql: str, params: tuple | dict = ()) -> dict | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None
