"""Numbered schema migrations, recorded in the database they changed.

Add a migration by appending to ``MIGRATIONS``; never edit one that has shipped.
A workspace made by a newer app (a version above the last one here) is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import WorkspaceError

if TYPE_CHECKING:
    from .db import Registry

MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "workspace, audit log and datasets", """
CREATE TABLE workspace_info (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT,
    summary TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);
CREATE INDEX audit_log_entity ON audit_log (entity_type, entity_id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE datasets (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    source_path TEXT NOT NULL,
    source_format TEXT NOT NULL,
    options TEXT NOT NULL,
    n_rows INTEGER NOT NULL,
    n_columns INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    snapshot_sha256 TEXT NOT NULL,
    snapshot_bytes INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX datasets_fingerprint ON datasets (fingerprint);
CREATE TABLE dataset_columns (
    dataset_id INTEGER NOT NULL REFERENCES datasets (id),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    physical_type TEXT NOT NULL,
    inferred_kind TEXT NOT NULL,
    kind TEXT NOT NULL,
    role TEXT NOT NULL,
    n_missing INTEGER NOT NULL,
    n_distinct INTEGER NOT NULL,
    PRIMARY KEY (dataset_id, position),
    UNIQUE (dataset_id, name)
);
"""),
    (2, "accepted check warnings", """
CREATE TABLE accepted_warnings (
    id INTEGER PRIMARY KEY,
    dataset_id INTEGER NOT NULL REFERENCES datasets (id),
    target TEXT NOT NULL,
    features TEXT NOT NULL,
    check_id TEXT NOT NULL,
    reason TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    accepted_by TEXT NOT NULL,
    accepted_at TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX accepted_warnings_dataset ON accepted_warnings (dataset_id, target, check_id);
"""),
]

MIGRATIONS.sort(key=lambda m: m[0])  # applied in version order, whatever order they were added in
LATEST = MIGRATIONS[-1][0]


def current_version(reg: "Registry") -> int:
    if "schema_migrations" not in reg.db.table_names():
        return 0
    row = reg.query_one("SELECT MAX(version) AS v FROM schema_migrations")
    return int(row["v"] or 0) if row else 0


def migrate(reg: "Registry") -> list[int]:
    """Apply every migration the database lacks, each in its own transaction.

    Returns the versions applied. Raises :class:`WorkspaceError` for a database
    whose schema is newer than this app knows.
    """
    from .db import utc_now

    have = current_version(reg)
    if have == LATEST:
        return []  # the usual case: no write lock taken
    if have == 0:
        with reg.transaction() as db:
            db.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)""")
    if have > LATEST:
        raise WorkspaceError(
            f"This workspace was made by a newer version of MLOps Desktop (registry schema "
            f"{have}; this app knows up to {LATEST}). Update the app to open it.")
    applied = []
    for version, name, sql in MIGRATIONS:
        if version <= have:
            continue
        with reg.transaction() as db:
            if version <= current_version(reg):  # another process got here first
                continue
            # executescript would COMMIT the open transaction, so run statement by statement
            for statement in _statements(sql):
                db.execute(statement)
            db.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                       (version, name, utc_now()))
        applied.append(version)
    return applied


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (triggers hold inner semicolons)."""
    import sqlite3

    out, buf = [], ""
    for line in script.strip().splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
