"""Is the registry file itself sound? SQLite's own integrity check, and whether every
trigger and view in it is one a migration created, with the very SQL it created.

A trigger is code stored in the database: it runs whenever its table changes. The
audit log's protection is five of them, so one rewritten to do nothing (same name,
other SQL) protects nothing, and one added by another tool runs inside every change
the app makes. Both are named here, and a backup holding one is not restored.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from . import migrations
from .problem import Problem

if TYPE_CHECKING:
    from .db import Registry

#: how many of SQLite's integrity messages a problem quotes
_SHOWN = 3


def integrity_of(reg: "Registry") -> list[Problem]:
    """:func:`integrity` of a registry's database (a PostgreSQL server checks its own
    pages: there is nothing like SQLite's file to check)."""
    return [] if reg.dialect == "postgresql" else integrity(reg.db.conn)


def objects_of(reg: "Registry") -> list[Problem]:
    """:func:`schema_objects` of a registry (on PostgreSQL: :func:`postgres_objects`)."""
    return postgres_objects(reg) if reg.dialect == "postgresql" else schema_objects(reg.db.conn)


def integrity(conn: sqlite3.Connection) -> list[Problem]:
    """SQLite's ``integrity_check``: a problem naming what it reports, or nothing."""
    try:
        rows = [str(r[0]) for r in conn.execute(f"PRAGMA integrity_check({_SHOWN + 1})")]
    except sqlite3.DatabaseError as exc:
        rows = [str(exc)]
    if rows == ["ok"]:
        return []
    found = [line.strip() for row in rows for line in row.splitlines()
             if line.strip() and not line.startswith("***")]  # "*** in database main ***"
    return [malformed("; ".join(found[:_SHOWN]) + (" …" if len(found) > _SHOWN else ""))]


def malformed(what: str) -> Problem:
    """The problem for a registry file SQLite cannot read whole."""
    return Problem("database_malformed",
                   f"the registry file is damaged (SQLite reports: {what}): what it holds cannot be "
                   "trusted or fully checked. Restore the workspace from a backup.")


def schema_objects(conn: sqlite3.Connection, version: Optional[int] = None) -> list[Problem]:
    """The triggers and views that differ from those migrations 1..``version`` (default:
    all) create:
    one removed (``audit_protection_removed``), one whose SQL was changed
    (``trigger_altered``), one no migration creates (``schema_object_unknown``)."""
    expected = migrations.objects_created(version)
    found = {name: (kind, table, sql) for kind, name, table, sql in conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('trigger', 'view')"
        " ORDER BY name")}
    problems = []
    missing = [name for name in expected if name not in found]
    if missing:
        problems.append(Problem(
            "audit_protection_removed",
            f"the audit log's protection was removed outside the app (missing trigger"
            f"{'s' if len(missing) > 1 else ''}: {', '.join(missing)}): its entries may have been "
            "changed with another tool."))
    for name, (kind, table, sql) in found.items():
        if name not in expected:
            runs = f" that runs its own SQL whenever {table} changes" if kind == "trigger" else ""
            problems.append(Problem(
                "schema_object_unknown",
                f"the registry holds a {kind} {name!r}{runs}, which no version of MLOps Desktop "
                "creates: it was added with another tool.", entity_type=kind, entity_id=name))
        elif (kind, sql) != expected[name]:
            problems.append(Problem(
                "trigger_altered",
                f"the {kind} {name} is not the one the app created: its SQL was changed outside the "
                "app, so it may no longer protect the audit log.", entity_type=kind, entity_id=name))
    return problems


def postgres_objects(reg: "Registry") -> list[Problem]:
    """On a team registry: the triggers the PostgreSQL migrations create that were dropped
    or disabled (``audit_protection_removed``), triggers no migration creates
    (``schema_object_unknown``), and a trigger or the function it runs that is not as the
    migrations shipped in the app create it (``trigger_altered``: a body edited by hand,
    a trigger re-pointed or re-timed). Only a superuser or the tables' owner can do any."""
    import re

    expected = migrations.postgres_triggers()
    found = {r["name"]: r for r in reg.query(
        "SELECT t.tgname AS name, c.relname AS table_name, t.tgenabled AS enabled,"
        " pg_get_triggerdef(t.oid) AS definition FROM pg_trigger t"
        " JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal"
        " AND c.relnamespace = current_schema()::regnamespace ORDER BY t.tgname")}
    problems = []
    gone = [name for name in expected if name not in found]
    off = [name for name in expected if name in found and found[name]["enabled"] == "D"]
    if gone or off:
        named = ", ".join([f"{n} (dropped)" for n in gone] + [f"{n} (disabled)" for n in off])
        problems.append(Problem(
            "audit_protection_removed",
            f"the registry's protection was removed outside the app (trigger{'s' if len(gone + off) > 1 else ''} "
            f"{named}): its audit entries or its rules may have been broken with another tool."))
    # the server names the schema (public.audit_log) where the migration did not
    schema = re.compile(rf"\b{re.escape(reg.schema)}\.|\b\"{re.escape(reg.schema)}\"\.")
    for name, row in found.items():
        if name not in expected:
            problems.append(Problem(
                "schema_object_unknown",
                f"the registry holds a trigger {name!r} that runs its own SQL whenever {row['table_name']} "
                "changes, which no version of MLOps Desktop creates: it was added with another tool.",
                entity_type="trigger", entity_id=name))
        elif migrations.trigger_statement(schema.sub("", row["definition"])) != expected[name]:
            problems.append(Problem(
                "trigger_altered",
                f"the trigger {name} is not the one the app created (it is now: {row['definition']}): it was "
                "changed outside the app, so it may no longer keep the registry's rules.",
                entity_type="trigger", entity_id=name))
    return problems + _altered_functions(reg)


def _altered_functions(reg: "Registry") -> list[Problem]:
    """The rule functions (the code the triggers run) whose body, language or rights differ
    from what the migrations create, compared with the server's own copy of each body."""
    rules = migrations.postgres_functions()
    found = {(r["name"], r["bare"]): r for r in reg.query(
        "SELECT p.proname AS name, p.pronargs = 0 AS bare, p.prosrc AS body, l.lanname AS language,"
        " p.prosecdef AS definer FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang"
        " WHERE p.pronamespace = current_schema()::regnamespace")}
    users: dict[str, list[str]] = {}
    for trigger, statement in migrations.postgres_triggers().items():
        users.setdefault(statement.rsplit("EXECUTE FUNCTION ", 1)[-1].split("(")[0], []).append(trigger)
    problems = []
    for name, rule in rules.items():
        row = found.get((name, rule.no_arguments))
        if row is None:
            what = "was dropped"
        elif row["body"] != rule.body or row["language"] != rule.language:
            what = "has a body other than the one the app created: it was edited outside the app"
        elif bool(row["definer"]) != rule.security_definer:
            what = "runs with other rights than the app gave it: it was changed outside the app"
        else:
            continue
        run_by = users.get(name, [])
        by = f" (run by the trigger{'s' if len(run_by) > 1 else ''} {', '.join(run_by)})" if run_by else ""
        problems.append(Problem(
            "trigger_altered", f"the function {name}(){by} {what}, so the rule it keeps may no longer hold.",
            entity_type="function", entity_id=name))
    return problems


def foreign_objects(path: Path) -> list[Problem]:
    """:func:`schema_objects` of a registry file that is not opened as a workspace (a
    backup being restored), read without changing it: only the triggers and views that
    differ (a missing one is verify's to report), or that the file is not a readable
    database."""
    try:
        return _foreign_objects(path)
    except sqlite3.DatabaseError as exc:
        return [malformed(str(exc))]


def _foreign_objects(path: Path) -> list[Problem]:
    conn = sqlite3.connect(Path(path).absolute().as_uri() + "?mode=ro", uri=True)
    try:
        has_versions = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'"
                                    " AND name = 'schema_migrations'").fetchone()
        row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone() \
            if has_versions else None
        version = min(int(row[0] or 0), migrations.LATEST) if row else 0
        return [p for p in schema_objects(conn, version) if p.kind != "audit_protection_removed"]
    finally:
        conn.close()


def unreadable(exc: BaseException) -> Optional[Problem]:
    """The problem for an error SQLite raised while a check read the registry (a damaged
    file), or None for any other error."""
    if isinstance(exc, sqlite3.DatabaseError):
        return malformed(f"{exc}, while checking it")
    return None
