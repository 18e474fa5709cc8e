"""The append-only audit log, hash-chained so that an edit, a deletion or an
insertion anywhere in it shows.

Each entry's hash is the SHA-256 of a canonical JSON of its sequence number, time,
actor, action, entity, summary, details and the previous entry's hash. Triggers
refuse UPDATE and DELETE; someone with the file can still drop them, which is why
the chain exists. A one-row ``audit_head`` (migration 8), kept by a trigger, records
the newest entry and how many were written, so cutting entries off the end shows
too. The order of the log is its sequence: times only say when, as the computer's
clock told it (a clock set back shows as ``clock_backwards``). On a machine the user
controls the log is tamper-evident, not tamper-proof: whoever rewrites the whole
chain, the head and the records consistently is not caught by anything inside the
folder; a copy of the head kept elsewhere (:func:`last_entry`, compared with
:func:`compare_head`) is what shows that, and an older copy of the file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from json.encoder import encode_basestring as _encode_str
from typing import Any, Collection, Optional

from . import database_check
from .db import Registry, utc_now
from .problem import Problem

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    """One entry of the audit log: who did what to which record, when, its details, and the
    hashes that chain it to the entry before."""

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
        """The entry's fields as a plain dict."""
        return dict(self.__dict__)


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: the same value always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def entry_hash(seq: int, at: str, actor: str, action: str, entity_type: str,
               entity_id: Optional[str], summary: str, details_json: str, prev_hash: str) -> str:
    """The SHA-256 that seals an entry: of the canonical JSON of its fields and the hash of
    the entry before it."""
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
    if not reg.in_transaction:
        raise RuntimeError("audit.append must run inside the change's transaction")
    reg.check_actor(actor)
    last = reg.query_one("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
    seq = (last["seq"] + 1) if last else 1
    prev_hash = last["hash"] if last else GENESIS_HASH
    at = utc_now()
    eid = None if entity_id is None else str(entity_id)
    details_json = canonical_json(details or {})
    digest = entry_hash(seq, at, actor, action, entity_type, eid, summary, details_json, prev_hash)
    reg.execute(
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


# -- checking the chain ------------------------------------------------------------------

class CollectedEntry:
    """An entry kept for the record checks: only entries whose own hash is intact. Its
    details are parsed when first asked for (most checks read few of them)."""

    # a verify keeps about one per entry: slots keep that light
    __slots__ = ("seq", "action", "actor", "entity_type", "entity_id", "details_json", "_details")

    def __init__(self, seq: int, action: str, actor: str, entity_type: str, entity_id: Optional[str],
                 details_json: str) -> None:
        self.seq, self.action, self.actor = seq, action, actor
        self.entity_type, self.entity_id, self.details_json = entity_type, entity_id, details_json
        self._details: Optional[dict[str, Any]] = None

    @property
    def details(self) -> dict[str, Any]:
        """The entry's details, parsed from their JSON on first use."""
        if self._details is None:
            self._details = json.loads(self.details_json)
        return self._details


@dataclass
class ChainCheck:
    """What a walk over the audit chain found: its problems, how many entries it read, the
    last entry's number and hash, and the intact entries of the actions asked for."""

    problems: list[Problem] = field(default_factory=list)
    entries: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    #: intact entries of the actions asked for, by action, oldest first
    collected: dict[str, list[CollectedEntry]] = field(default_factory=dict)


# The canonical JSON of an entry has these keys in sorted order; writing that text
# directly with the C string encoder is several times faster than entry_hash's general
# path and gives the same text (a test compares them).
def _fast_hash(seq: int, at: str, actor: str, action: str, entity_type: str,
               entity_id: Optional[str], summary: str, details_json: str, prev_hash: str) -> str:
    e = _encode_str
    payload = "".join((
        '{"action":', e(action), ',"actor":', e(actor), ',"at":', e(at), ',"details":',
        e(details_json), ',"entity_id":', "null" if entity_id is None else e(entity_id),
        ',"entity_type":', e(entity_type), ',"prev_hash":', e(prev_hash), ',"seq":', str(int(seq)),
        ',"summary":', e(summary), "}"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _entries_word(n: int) -> str:
    return "entry" if n == 1 else "entries"


def check_chain(reg: Registry, *, collect: Collection[str] = ()) -> ChainCheck:
    """Recompute the chain and compare its end with the recorded head; name each kind of
    damage (an edited, deleted or inserted entry, a cut-off end, removed protection).
    Streams the rows: 100,000 entries take about a second."""
    check = ChainCheck(collected={a: [] for a in collect})
    problems = check.problems
    problems.extend(database_check.objects_of(reg))
    seq_of_hash: dict[str, int] = {}
    expected_seq, expected_prev, prev_seq, prev_at = 1, GENESIS_HASH, 0, ""
    deleted_or_inserted = False
    wanted = check.collected
    cursor = reg.rows(
        "SELECT seq, at, actor, action, entity_type, entity_id, summary, details, prev_hash, hash"
        " FROM audit_log ORDER BY seq")
    for seq, at, actor, action, entity_type, entity_id, summary, details, prev_hash, digest in cursor:
        check.entries += 1
        gap = seq > expected_seq
        if gap:
            deleted_or_inserted = True
            n = seq - expected_seq
            span = f"{expected_seq}..{seq - 1}"
            problems.append(Problem("audit_entries_deleted",
                                    f"audit entries {span} are missing (deleted): {n} "
                                    f"{_entries_word(n)} between entry {expected_seq - 1} and "
                                    f"entry {seq}.", seq=expected_seq))
        if prev_hash != expected_prev:
            linked = seq_of_hash.get(prev_hash)
            if linked is not None and linked < prev_seq:
                deleted_or_inserted = True
                first, last = linked + 1, prev_seq
                which = f"entry {first} was" if first == last else f"entries {first}..{last} were"
                problems.append(Problem(
                    "audit_entry_inserted",
                    f"audit entry {seq} does not follow the entry before it: it links to entry "
                    f"{linked}, so {which} inserted after the fact.", seq=first))
            elif gap:
                problems.append(Problem(
                    "audit_entries_deleted",
                    f"audit entry {seq} does not follow the entry before it (the entry it links "
                    "to was deleted).", seq=seq))
            elif prev_seq:
                problems.append(Problem(
                    "audit_entry_edited",
                    f"audit entry {seq} does not follow the entry before it: entry {prev_seq} was "
                    f"replaced, or edited and given a new hash (entry {seq} recorded another).",
                    seq=prev_seq))
            else:
                problems.append(Problem(
                    "audit_chain_broken",
                    f"audit entry {seq} does not follow the entry before it (an entry was "
                    "inserted, deleted or edited before it).", seq=seq))
        computed = _fast_hash(seq, at, actor, action, entity_type, entity_id, summary, details,
                              prev_hash)
        if computed != digest:
            hint = ""
            for other in (seq - 1, seq + 1):
                if other > 0 and _fast_hash(other, at, actor, action, entity_type, entity_id,
                                            summary, details, prev_hash) == digest:
                    hint = f" (it matches as entry {other}: it was renumbered)"
                    deleted_or_inserted = True
            problems.append(Problem("audit_entry_edited",
                                    f"audit entry {seq} was edited: its content no longer matches "
                                    f"its hash{hint}.", seq=seq, entity_type=entity_type,
                                    entity_id=entity_id))
        elif action in wanted:
            wanted[action].append(CollectedEntry(seq, action, actor, entity_type, entity_id, details))
        if at < prev_at:
            back = _clock_went_back(seq, at, prev_seq, prev_at)
            if back is not None:
                problems.append(back)
        seq_of_hash[digest] = seq
        expected_prev, expected_seq, prev_seq, prev_at = digest, seq + 1, seq, at
    check.last_seq, check.last_hash = prev_seq, expected_prev
    problems.extend(_check_head(reg, check, seq_of_hash, deleted_or_inserted))
    return check


#: a step back of the clock up to this long is left alone (a time server's small corrections)
CLOCK_TOLERANCE_S = 1.0


def _clock_went_back(seq: int, at: str, prev_seq: int, prev_at: str) -> Optional[Problem]:
    """The problem for an entry timed before the entry before it, or None within the
    tolerance. The log's order is its sequence; a clock set back only makes its times lie."""
    try:
        gap = (_moment(prev_at) - _moment(at)).total_seconds()
    except ValueError:
        gap = None
    if gap is not None and gap <= CLOCK_TOLERANCE_S:
        return None
    by = f" by {_duration(gap)}" if gap is not None else ""
    return Problem("clock_backwards",
                   f"audit entry {seq} is timed {at}, before entry {prev_seq} ({prev_at}): the "
                   f"computer's clock went back{by}. The log's order is its sequence, not its times; "
                   "times around this entry cannot be compared.", seq=seq)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _duration(seconds: float) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} seconds"


def head(reg: Registry) -> Optional[dict[str, Any]]:
    """The recorded end of the log: {"seq", "hash", "entries"} (None when the record is
    gone, which only happens outside the app)."""
    if "audit_head" not in reg.table_names():
        return None
    return reg.query_one("SELECT seq, hash, entries FROM audit_head WHERE id = 1")


def last_entry(reg: Registry) -> dict[str, Any]:
    """The newest entry's number and hash, {"seq", "hash"} (0 and the genesis hash for an
    empty log): the value to write down, or keep elsewhere, to compare a copy with later."""
    row = reg.query_one("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
    return {"seq": int(row["seq"]), "hash": row["hash"]} if row else {"seq": 0, "hash": GENESIS_HASH}


@dataclass(frozen=True)
class HeadComparison:
    """The log against a head written down earlier. ``status``: ``equal`` (the same
    end), ``ahead`` (the log has grown since), ``behind`` (the log ends before it: an
    older copy) or ``not_equal`` (that entry is not in this log)."""

    expected_seq: Optional[int]
    expected_hash: str
    status: str
    #: where the expected entry is in this log, when it is
    found_at: Optional[int]
    last_seq: int
    problem: Optional[Problem] = None

    def to_dict(self) -> dict[str, Any]:
        """The comparison as plain values (the head written down, the status, where it was
        found, the log's last entry)."""
        return {"seq": self.expected_seq, "hash": self.expected_hash, "status": self.status,
                "found_at": self.found_at, "last_seq": self.last_seq}


def compare_head(reg: Registry, expected_hash: str, expected_seq: Optional[int],
                 last_seq: int) -> HeadComparison:
    """Compare the log, which ends at ``last_seq``, with a head written down earlier
    (its hash, and its number when known). A log that ends before it, or does not hold
    it, is a ``rolled_back`` problem: an older copy of ``registry.sqlite`` (or one
    copied without its ``-wal`` file), or a rewritten log."""
    row = reg.query_one("SELECT seq FROM audit_log WHERE hash = ?", (expected_hash,))
    found_at = int(row["seq"]) if row else None
    short = f"{expected_hash[:12]}…"
    named = f"entry {expected_seq} ({short})" if expected_seq is not None else f"the entry {short}"
    if found_at is not None and expected_seq in (None, found_at):
        status = "equal" if found_at == last_seq else "ahead"
        return HeadComparison(expected_seq, expected_hash, status, found_at, last_seq)
    if expected_seq is not None and expected_seq > last_seq:
        n = expected_seq - last_seq
        return HeadComparison(expected_seq, expected_hash, "behind", None, last_seq, Problem(
            "rolled_back",
            f"the audit log ends at entry {last_seq}, but the head written down is {named}: this "
            f"registry is behind it, an older copy of registry.sqlite (or one copied without its -wal "
            f"file); {n} {_entries_word(n)} and the changes they record are missing.",
            seq=last_seq))
    if expected_seq is None:
        why = (f"is not in this log, which ends at entry {last_seq}: this registry is an older copy "
               "(or one copied without its -wal file), or its log was rewritten; give the entry's "
               "number too (--expect SEQ:HASH) to tell which")
    elif found_at is not None:
        why = f"is entry {found_at} here, not entry {expected_seq}: entries before it were added or removed"
    else:
        why = (f"is not in this log (its entry {expected_seq} is another one): the log was rewritten, "
               "or this is an older copy that was changed since")
    return HeadComparison(expected_seq, expected_hash, "not_equal", found_at, last_seq, Problem(
        "rolled_back", f"the head written down, {named}, {why}.", seq=expected_seq))


def _check_head(reg: Registry, check: ChainCheck, seq_of_hash: dict[str, int],
                explained: bool) -> list[Problem]:
    recorded = head(reg)
    last = check.last_seq
    if recorded is None:
        return [Problem("audit_head_missing",
                        "the record of the audit log's last entry (audit_head) was deleted outside "
                        "the app: entries cut off the end of the log could not be noticed.")]
    out: list[Problem] = []
    h_seq, h_hash, written = int(recorded["seq"]), recorded["hash"], int(recorded["entries"])
    if h_seq > last:
        n = h_seq - last
        where = f"after entry {last}" if last else "entirely"
        out.append(Problem("audit_entries_truncated",
                           f"the last {n} audit {_entries_word(n)} ({last + 1}..{h_seq}) "
                           f"{'is' if n == 1 else 'are'} missing: the log was cut short {where}.",
                           seq=last + 1))
        return out
    if h_seq < last:
        now_at = seq_of_hash.get(h_hash)
        if now_at is not None and now_at != h_seq:
            n = now_at - h_seq
            out.append(Problem("audit_entry_inserted",
                               f"the log's recorded last entry ({h_seq}) is now numbered {now_at}: "
                               f"{n} {_entries_word(n)} {'was' if n == 1 else 'were'} inserted "
                               "before it.", seq=h_seq))
        else:
            out.append(Problem("audit_entry_inserted",
                               f"audit entries {h_seq + 1}..{last} come after the log's recorded "
                               f"last entry ({h_seq}): they were added outside the app.",
                               seq=h_seq + 1))
        return out
    if h_hash != check.last_hash and last:
        out.append(Problem("audit_entry_edited",
                           f"the last audit entry ({last}) is not the one the log recorded: it was "
                           "replaced.", seq=last))
    elif written != check.entries and not explained:
        if written > check.entries:
            n = written - check.entries
            out.append(Problem("audit_entries_deleted",
                               f"the audit log holds {check.entries} entries but {written} were "
                               f"written: {n} {'was' if n == 1 else 'were'} deleted and the rest "
                               "renumbered."))
        else:
            n = check.entries - written
            out.append(Problem("audit_entry_inserted",
                               f"the audit log holds {check.entries} entries but only {written} "
                               f"were written by the app: {n} {'was' if n == 1 else 'were'} added "
                               "outside it."))
    return out


def verify_chain(reg: Registry) -> list[str]:
    """Recompute the chain and check that the registry's records agree with it (see
    :func:`consistency.check_audit`). One sentence per problem; empty when intact."""
    from .consistency import check_audit

    return [p.message for p in check_audit(reg).problems]
