"""Which model file the audit log says a version uses, read for one version at a time,
so that a model is loaded only when its file is the one its audit entries record
(``verify`` checks the whole log; this is the quick check made at every load).

A version's file is the one its ``model.version_created`` entry names, followed by
any ``model.file_converted`` entries (an earlier version's pickle converted to skops).
An entry counts only when its own hash is intact and the next entry links to it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from .audit import entry_hash, head
from .db import Registry

CREATED, CONVERTED = "model.version_created", "model.file_converted"


@dataclass(frozen=True)
class RecordedFile:
    """The SHA-256 the audit log records for a version's file, and why that record cannot be
    relied on if it cannot."""

    #: the SHA-256 the log records for the version's file now (None when it records none)
    sha256: Optional[str]
    #: why the log's record cannot be relied on ("" when it can)
    problem: str = ""


def expected_artifact(created: dict[str, Any], conversions: Iterable[dict[str, Any]]) -> Optional[str]:
    """The file a version uses by its entries' details: the one it was created with,
    then each conversion from that file to a new one, in order."""
    sha = created.get("artifact_sha256")
    for details in conversions:
        if details.get("from_sha256") == sha:
            sha = details.get("to_sha256")
    return sha


def model_file_of(reg: Registry, version_id: int) -> RecordedFile:
    """What the audit log records as ``version_id``'s model file."""
    rows = reg.query("SELECT * FROM audit_log WHERE entity_type = 'model_version' AND entity_id = ?"
                     " AND action IN (?, ?) ORDER BY seq", (str(int(version_id)), CREATED, CONVERTED))
    created = [r for r in rows if r["action"] == CREATED]
    if not created:
        return RecordedFile(None, "the audit log has no entry recording this version being created")
    for r in rows:
        if not _intact(reg, r):
            return RecordedFile(None, f"its audit entry {r['seq']} was changed outside the app")
    conversions = [json.loads(r["details"]) for r in rows if r["action"] == CONVERTED]
    return RecordedFile(expected_artifact(json.loads(created[0]["details"]), conversions))


def _intact(reg: Registry, row: dict[str, Any]) -> bool:
    """The entry's own hash holds and the entry after it (or the log's recorded end)
    links to it."""
    digest = entry_hash(row["seq"], row["at"], row["actor"], row["action"], row["entity_type"],
                        row["entity_id"], row["summary"], row["details"], row["prev_hash"])
    if digest != row["hash"]:
        return False
    after = reg.query_one("SELECT prev_hash FROM audit_log WHERE seq = ?", (row["seq"] + 1,))
    if after is not None:
        return after["prev_hash"] == digest
    end = head(reg)
    return end is None or (int(end["seq"]) == row["seq"] and end["hash"] == digest)
