"""Numbered schema migrations, recorded in the database they changed.

Each migration is one SQL file in this folder, ``NNNN_what_it_does.sql``; its first
line, a ``-- comment``, names it. Add a file with the next number; never edit one
that has shipped. A workspace made by a newer app (a version above the last file
here) is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING, Optional

from ...errors import WorkspaceError

if TYPE_CHECKING:
    from ..db import Registry


def _load(folder: str = "") -> list[tuple[int, str, str]]:
    import importlib.resources

    found = []
    root = importlib.resources.files(__name__)
    for entry in (root / folder if folder else root).iterdir():
        match = re.fullmatch(r"(\d{4})_\w+\.sql", entry.name)
        if match:
            sql = entry.read_text(encoding="utf-8")
            first = sql.splitlines()[0] if sql else ""
            name = first[2:].strip() if first.startswith("--") else entry.name[5:-4].replace("_", " ")
            found.append((int(match.group(1)), name, sql))
    return sorted(found)


#: SQLite's migrations (this folder); a team registry's are in ``postgresql/``, with the same
#: numbers for the same tables and columns, and rules of its own (logins, roles) after them
MIGRATIONS: list[tuple[int, str, str]] = _load()
LATEST = MIGRATIONS[-1][0]
POSTGRES_MIGRATIONS: list[tuple[int, str, str]] = _load("postgresql")


def for_dialect(dialect: str) -> list[tuple[int, str, str]]:
    """The migrations of a registry that speaks ``dialect`` (``sqlite`` or ``postgresql``)."""
    return POSTGRES_MIGRATIONS if dialect == "postgresql" else MIGRATIONS


def latest(reg: "Registry") -> int:
    """The newest schema version this app knows for the registry's kind of database."""
    return for_dialect(reg.dialect)[-1][0]


def current_version(reg: "Registry") -> int:
    """The number of the newest migration applied (0 before the first)."""
    if "schema_migrations" not in reg.table_names():
        return 0
    row = reg.query_one("SELECT MAX(version) AS v FROM schema_migrations")
    return int(row["v"] or 0) if row else 0


def migrate(reg: "Registry") -> list[int]:
    """Apply every migration the database lacks, each in its own transaction.

    Returns the versions applied. Raises :class:`WorkspaceError` for a database
    whose schema is newer than this app knows.
    """
    from ..db import utc_now

    have, last = current_version(reg), latest(reg)
    if have == last:
        return []  # the usual case: no write lock taken
    if have == 0:
        with reg.transaction() as db:
            db.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)""")
    if have > last:
        raise WorkspaceError(
            f"This workspace was made by a newer version of MLOps Desktop (registry schema "
            f"{have}; this app knows up to {last}). Update the app to open it.")
    applied = []
    for version, name, sql in for_dialect(reg.dialect):
        if version <= have:
            continue
        with reg.transaction() as db:
            if version <= current_version(reg):  # another process got here first
                continue
            db.execute_script(sql)
            db.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                       (version, name, utc_now()))
        applied.append(version)
    return applied


def statements(script: str) -> list[str]:
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


def objects_created(upto: Optional[int] = None) -> dict[str, tuple[str, str]]:
    """The triggers and views that migrations 1..``upto`` (default: all) create: {name:
    (type, SQL as SQLite stores it)}. Anything else of these kinds in a registry was put
    there by another tool (a trigger runs its own SQL whenever its table changes)."""
    last = LATEST if upto is None else upto
    return _objects(tuple(sql for version, _name, sql in MIGRATIONS if version <= last))


@cache
def _objects(scripts: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    import sqlite3

    conn = sqlite3.connect(":memory:")
    try:
        for sql in scripts:
            for statement in statements(sql):
                conn.execute(statement)
        return {name: (kind, text) for kind, name, text in conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE type IN ('trigger', 'view')")}
    finally:
        conn.close()


def postgres_triggers() -> dict[str, str]:
    """The triggers the PostgreSQL migrations create: {name: its CREATE TRIGGER statement,
    whitespace collapsed, without the final semicolon}."""
    return {m.group(1): trigger_statement(m.group(0)) for _v, _n, sql in POSTGRES_MIGRATIONS
            for m in re.finditer(r"CREATE TRIGGER (\w+)\b[^;]*;", sql)}


def trigger_statement(sql: str) -> str:
    """A CREATE TRIGGER statement in one form for comparison: whitespace collapsed, the final
    semicolon dropped, and its events in PostgreSQL's order (``pg_get_triggerdef`` writes
    ``DELETE OR UPDATE`` for a migration's ``UPDATE OR DELETE``)."""
    text = " ".join(sql.rstrip().rstrip(";").split())
    timing = re.search(r"\b(BEFORE|AFTER|INSTEAD OF) (.+?) ON ", text)
    if timing is None:
        return text
    order = {"INSERT": 0, "DELETE": 1, "UPDATE": 2, "TRUNCATE": 3}
    events = sorted(timing.group(2).split(" OR "), key=lambda e: order.get(e.split(" ")[0], 9))
    return text[:timing.start(2)] + " OR ".join(events) + text[timing.end(2):]


@dataclass(frozen=True)
class RuleFunction:
    """A function a PostgreSQL migration creates (the code a trigger runs), as created."""

    language: str
    #: the text between its dollar quotes, as PostgreSQL keeps it (``pg_proc.prosrc``)
    body: str
    #: runs with its owner's rights (``ALTER FUNCTION ... SECURITY DEFINER``)
    security_definer: bool
    #: takes no arguments (as every trigger function is declared)
    no_arguments: bool = True


@cache
def postgres_functions() -> dict[str, RuleFunction]:
    """The functions the PostgreSQL migrations create, as the last migration to create or
    replace each left it: recomputed from the migration files shipped in the app, so a body
    edited on the server by hand shows as a difference."""
    made: dict[str, RuleFunction] = {}
    # in each file's order: a CREATE (OR REPLACE) sets the rights its header names (a replace
    # without SECURITY DEFINER resets them), a later ALTER FUNCTION ... SECURITY DEFINER grants them
    statements = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+(\w+)\s*\(([^)]*)\)(.*?)\bAS\s+"
                            r"(\$\w*\$)(.*?)\4|ALTER FUNCTION (\w+)\(\) SECURITY DEFINER", re.S | re.I)
    for _v, _n, sql in POSTGRES_MIGRATIONS:
        for m in statements.finditer(sql):
            if m.group(6):
                if m.group(6) in made:
                    made[m.group(6)] = replace(made[m.group(6)], security_definer=True)
                continue
            language = re.search(r"\bLANGUAGE\s+(\w+)", m.group(3), re.I)
            made[m.group(1)] = RuleFunction(language.group(1).lower() if language else "sql", m.group(5),
                                            bool(re.search(r"\bSECURITY\s+DEFINER\b", m.group(3), re.I)),
                                            not m.group(2).strip())
    return made
