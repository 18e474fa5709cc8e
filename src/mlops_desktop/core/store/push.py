"""The store's half of a history push (``workspace push``): copying every record of a
workspace of one's own (SQLite) into an empty team registry (PostgreSQL) with their ids,
so that every reference and every audit entry still names the right row, through the
window migration 17 opens for an administrator. The flow around it (checks, files,
verification) is :mod:`mlops_desktop.core.workspace.team_push`.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from .db import Registry

#: every table of records, parents before children (foreign keys), each with its order:
#: ids are kept, and the audit log arrives in its sequence, last
PUSHED_TABLES: tuple[tuple[str, str], ...] = (
    ("workspace_info", "key"),
    ("workspace_settings", "key"),
    ("datasets", "id"),
    ("dataset_columns", "dataset_id, position"),
    ("dataset_recipes", "dataset_id"),
    ("accepted_warnings", "id"),
    ("accepted_warning_withdrawals", "id"),
    ("check_runs", "id"),
    ("artifacts", "sha256"),
    ("runs", "id"),
    ("registered_models", "id"),
    ("model_versions", "id"),
    ("validations", "id"),
    ("stage_changes", "id"),
    ("drift_reports", "id"),
    ("drift_thresholds", "model_name"),
    ("realized_performance", "id"),
    ("exports", "id"),
    ("model_aliases", "model_id, alias"),
    ("alias_moves", "id"),
    ("model_tags", "model_id, key"),
    ("version_tags", "version_id, key"),
    ("challenges", "id"),
    ("audit_log", "seq"),
)
#: tables each registry keeps for itself: its schema's version, the head its trigger keeps
KEPT_BY_EACH = frozenset({"schema_migrations", "audit_head", "sqlite_sequence"})
#: tables only a team registry has: its stored files and its history push
TEAM_ONLY = ("stored_files", "stored_file_chunks", "history_pushes")
#: rows copied per statement, at most, and the size of their text and bytes at which a batch
#: goes sooner (validation reports and drift results can be large); progress and cancel are
#: checked between batches
BATCH = 500
BATCH_BYTES = 8 << 20


def unknown_tables(local: "Registry") -> list[str]:
    """Tables of the workspace that hold rows a push does not know how to carry (a newer
    schema): the push is refused rather than leaving them behind."""
    known = {t for t, _ in PUSHED_TABLES} | KEPT_BY_EACH
    return [t for t in local.table_names() if t not in known and not t.startswith("sqlite_")  # SQLite's own
            and local.query_one(f'SELECT 1 AS x FROM "{t}" LIMIT 1')]


def record_counts(reg: "Registry") -> dict[str, int]:
    """How many rows each table of records holds."""
    return {t: int(reg.query_one(f"SELECT COUNT(*) AS n FROM {t}")["n"]) for t, _ in PUSHED_TABLES}


def holding_rows(server: "Registry") -> dict[str, int]:
    """The tables of a team registry that hold rows, with how many: all empty is a
    registry a history may be pushed into."""
    present = set(server.table_names())
    counts = {t: n for t, n in record_counts(server).items() if n}
    for t in TEAM_ONLY:
        if t in present:
            n = int(server.query_one(f"SELECT COUNT(*) AS n FROM {t}")["n"])
            if n:
                counts[t] = n
    return counts


def may_push(server: "Registry") -> bool:
    """Whether the login may push a history: it holds mlops_admin, or owns the database
    (whose owner can do anything to it anyway). The server checks the same again."""
    row = server.query_one(
        "SELECT pg_has_role(current_user, 'mlops_admin', 'MEMBER') OR pg_has_role(current_user, d.datdba,"
        " 'MEMBER') AS ok FROM pg_database d WHERE d.datname = current_database()")
    return bool(row and row["ok"])


def open_window(server: "Registry", *, workspace_id: str, head_seq: int, head_hash: str, at: str) -> int:
    """Record the push (inside the caller's transaction), which lets the rows of the
    history name their own people until :func:`close_window`. Returns its id."""
    return server.insert(
        "INSERT INTO history_pushes (id, txid, workspace_id, local_head_seq, local_head_hash, pushed_by,"
        " pushed_at) VALUES (1, txid_current(), ?, ?, ?, ?, ?)",
        (workspace_id, head_seq, head_hash, server.login, at))


def close_window(server: "Registry", at: str) -> None:
    """Shut the push's window: identities move past the kept ids; later rows name the login."""
    server.query("SELECT history_push_close(?) AS closed", (at,))


def copy_records(local: "Registry", server: "Registry", done: Callable[[str, int], None]) -> None:
    """Copy every row of every table of records, ids and all, in :data:`PUSHED_TABLES`'
    order, inside the caller's transaction on ``server``. ``done(table, rows)`` is called
    after each batch (it may raise to stop: the transaction then leaves nothing)."""
    for table, order in PUSHED_TABLES:
        columns = [r["name"] for r in local.query("SELECT name FROM pragma_table_info(?) ORDER BY cid", (table,))]
        names = ", ".join(f'"{c}"' for c in columns)
        batch: list[tuple] = []
        size = 0
        for row in local.rows(f"SELECT {names} FROM {table} ORDER BY {order}"):
            batch.append(tuple(row))
            size += sum(len(v) for v in row if isinstance(v, (str, bytes)))
            if len(batch) >= BATCH or size >= BATCH_BYTES:
                _insert(server, table, names, batch)
                done(table, len(batch))
                batch, size = [], 0
        if batch:
            _insert(server, table, names, batch)
            done(table, len(batch))


def _insert(server: "Registry", table: str, names: str, batch: list[tuple]) -> None:
    """A batch of rows in one statement (one round trip); a row the server refuses (a
    value it cannot hold, a broken reference) is named in our error, and the caller's
    transaction leaves nothing."""
    import psycopg

    from .postgres import TeamRegistryError

    one = f"({', '.join('?' * len(batch[0]))})"
    try:
        server.execute(f"INSERT INTO {table} ({names}) VALUES {', '.join([one] * len(batch))}",
                       [value for row in batch for value in row])
    except psycopg.Error as exc:
        said = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise TeamRegistryError(f"The team registry refused a row of {table} ({said}). Nothing was "
                                "written.") from None


def local_files(local: "Registry") -> list[tuple[str, str, int]]:
    """Every file a workspace's records name, once: (SHA-256, path relative to the
    workspace folder, size in bytes): model files, then snapshots."""
    found = [(r["sha256"], f"artifacts/{r['sha256']}", int(r["size_bytes"]))
             for r in local.query("SELECT sha256, size_bytes FROM artifacts ORDER BY sha256")]
    seen = {sha for sha, _, _ in found}
    for r in local.query("SELECT snapshot, snapshot_sha256, snapshot_bytes FROM datasets ORDER BY id"):
        if r["snapshot_sha256"] not in seen:
            seen.add(r["snapshot_sha256"])
            found.append((r["snapshot_sha256"], r["snapshot"], int(r["snapshot_bytes"])))
    return found


def stored_digest(server: "Registry", sha256: str) -> tuple[int, str] | None:
    """The size and the SHA-256 recomputed from the chunks of a file the team registry
    stores, read one chunk at a time; None when it holds no such file."""
    head = server.query_one("SELECT size_bytes, chunks FROM stored_files WHERE sha256 = ?", (sha256,))
    if head is None:
        return None
    digest, size = hashlib.sha256(), 0
    for n in range(int(head["chunks"])):
        row = server.query_one("SELECT data FROM stored_file_chunks WHERE sha256 = ? AND n = ?", (sha256, n))
        data = bytes(row["data"]) if row else b""
        digest.update(data)
        size += len(data)
    return size, digest.hexdigest()


def stored_count(server: "Registry") -> int:
    """How many files the team registry stores."""
    return int(server.query_one("SELECT COUNT(*) AS n FROM stored_files")["n"])


def self_approvals(reg: "Registry") -> list[str]:
    """The approvals recorded as single-user self-approvals, as MODEL:VERSION, oldest first."""
    return [f"{r['name']}:{r['version']}" for r in reg.query(
        "SELECT m.name, v.version FROM stage_changes c JOIN model_versions v ON v.id = c.version_id"
        " JOIN registered_models m ON m.id = v.model_id WHERE c.self_approved = 1 AND c.to_stage = 'approved'"
        " ORDER BY c.id")]


def running_runs(reg: "Registry") -> list[int]:
    """Runs still marked running (a training in progress, or one whose process died)."""
    return [int(r["id"]) for r in reg.query("SELECT id FROM runs WHERE status = 'running' ORDER BY id")]


def entry_hash_at(reg: "Registry", seq: int) -> str | None:
    """The hash of audit entry ``seq``, or None when there is none."""
    row = reg.query_one("SELECT hash FROM audit_log WHERE seq = ?", (seq,))
    return None if row is None else str(row["hash"])
