"""The append-only audit log, hash-chained so that an edit, a deletion or an
insertion anywhere in it shows.

Each entry's hash is the SHA-256 of a canonical JSON of its sequence number, time,
actor, action, entity, summary, details and the previous entry's hash. Triggers
refuse UPDATE and DELETE; someone with the file can still drop them, which is why
the chain exists: on a machine the user controls the log is tamper-evident, not
tamper-proof.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Optional

from .db import Registry, utc_now

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str
    actor: str
    action: str
    entity_type: str
    entity_id: Optional[str]
    summary: str
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: the same value always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def entry_hash(seq: int, at: str, actor: str, action: str, entity_type: str,
               entity_id: Optional[str], summary: str, details_json: str, prev_hash: str) -> str:
    payload = canonical_json({
        "seq": seq, "at": at, "actor": actor, "action": action,
        "entity_type": entity_type, "entity_id": entity_id, "summary": summary,
        "details": details_json, "prev_hash": prev_hash,
    })
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def append(reg: Registry, *, actor: str, action: str, entity_type: str,
           entity_id: Optional[object], summary: str,
           details: Optional[dict[str, Any]] = None) -> AuditEntry:
    """Append one entry. Call inside ``reg.transaction()`` together with the change
    it records, so the change and its entry commit or roll back as one."""
    if not reg.db.conn.in_transaction:
        raise RuntimeError("audit.append must run inside the change's transaction")
    last = reg.query_one("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
    seq = (last["seq"] + 1) if last else 1
    prev_hash = last["hash"] if last else GENESIS_HASH
    at = utc_now()
    eid = None if entity_id is None else str(entity_id)
    details_json = canonical_json(details or {})
    digest = entry_hash(seq, at, actor, action, entity_type, eid, summary, details_json, prev_hash)
    reg.db.execute(
        "INSERT INTO audit_log (seq, at, actor, action, entity_type, entity_id, summary, details,"
        " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, at, actor, action, entity_type, eid, summary, details_json, prev_hash, digest))
    return AuditEntry(seq, at, actor, action, entity_type, eid, summary, details or {},
                      prev_hash, digest)


def _entry(row: dict) -> AuditEntry:
    return AuditEntry(row["seq"], row["at"], row["actor"], row["action"], row["entity_type"],
                      row["entity_id"], row["summary"], json.loads(row["details"]),
                      row["prev_hash"], row["hash"])


def entries(reg: Registry, *, limit: Optional[int] = None, entity_type: Optional[str] = None,
            entity_id: Optional[object] = None) -> list[AuditEntry]:
    """Entries, newest first, optionally for one entity."""
    sql = "SELECT * FROM audit_log"
    params: list[Any] = []
    if entity_type is not None:
        sql += " WHERE entity_type = ?"
        params.append(entity_type)
        if entity_id is not None:
            sql += " AND entity_id = ?"
            params.append(str(entity_id))
    sql += " ORDER BY seq DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    return [_entry(r) for r in reg.query(sql, tuple(params))]


def verify_chain(reg: Registry) -> list[str]:
    """Recompute the chain. Returns one sentence per problem; empty when intact."""
    problems: list[str] = []
    expected_prev = GENESIS_HASH
    expected_seq = 1
    for row in reg.db.query("SELECT * FROM audit_log ORDER BY seq"):
        seq = row["seq"]
        if seq != expected_seq:
            if seq > expected_seq:
                problems.append(f"audit entries {expected_seq}..{seq - 1} are missing (deleted).")
            else:
                problems.append(f"audit entry {seq} is out of order.")
        if row["prev_hash"] != expected_prev:
            problems.append(f"audit entry {seq} does not follow the entry before it "
                            "(an entry was inserted, deleted or edited before it).")
        digest = entry_hash(seq, row["at"], row["actor"], row["action"], row["entity_type"],
                            row["entity_id"], row["summary"], row["details"], row["prev_hash"])
        if digest != row["hash"]:
            problems.append(f"audit entry {seq} was edited: its content no longer matches its hash.")
        expected_prev = row["hash"]
        expected_seq = seq + 1
    return problems
