"""One thing ``verify`` found wrong (shared by the checks of the log, the records, the
database file and the workspace's files)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional


@dataclass(frozen=True)
class Problem:
    """One thing ``verify`` found wrong, in words, with a machine-readable ``kind``.

    Kinds: ``audit_entry_edited``, ``audit_entries_deleted``, ``audit_entry_inserted``,
    ``audit_entries_truncated``, ``audit_chain_broken``, ``audit_head_missing``,
    ``audit_protection_removed``, ``trigger_altered``, ``schema_object_unknown``,
    ``clock_backwards``, ``missing_audit_entry``, ``record_deleted``, ``record_altered``,
    ``rule_broken``, ``dangling_reference``, ``database_malformed``, ``registry_missing``,
    ``rolled_back``, ``snapshot_missing``, ``snapshot_modified``, ``artifact_missing``,
    ``artifact_modified``, ``stored_file_missing``, ``stored_file_damaged``.
    """

    kind: str
    message: str
    #: the audit entry concerned, when there is one
    seq: Optional[int] = None
    #: the registry record concerned, when there is one (e.g. "model_version", "12")
    entity_type: Optional[str] = None
    entity_id: Optional[str] = None

    def to_dict(self) -> dict[str, Any]:
        """The problem's fields as a plain dict, without those that are not set."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


def shown(value: Any) -> str:
    """A recorded value in a problem's sentence: a SHA-256 shortened, a long text cut."""
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return f"{value[:12]}…"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"
