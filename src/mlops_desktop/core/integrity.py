"""Checking a workspace (``verify``): the audit chain and its recorded end, whether the
registry's records agree with their audit entries, whether every reference points
somewhere, and every snapshot and model file against its recorded hash.

Each problem found is a :class:`Problem` with a ``kind`` (for scripts) and a sentence
that names the entry, record or file (for people). This makes the workspace
tamper-evident, not tamper-proof: someone who can write the folder and rewrites the
log, its head and the records consistently is not caught by anything stored inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from .errors import NotAFileError
from .registry.audit import Problem
from .storage import sha256_file

if TYPE_CHECKING:
    from .workspace import Workspace

__all__ = ["Problem", "VerifyReport", "verify_workspace"]


@dataclass
class VerifyReport:
    """What ``verify`` found. ``problems`` are the sentences; ``findings`` the same
    problems with their kind (the JSON output lists these)."""

    findings: list[Problem] = field(default_factory=list)
    audit_entries: int = 0
    files_checked: int = 0
    #: the newest audit entry's number and hash, to write down or compare with a copy
    last_entry: Optional[dict[str, Any]] = None

    @property
    def problems(self) -> list[str]:
        return [p.message for p in self.findings]

    @property
    def ok(self) -> bool:
        return not self.findings

    def kinds(self) -> set[str]:
        return {p.kind for p in self.findings}

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "problems": [p.to_dict() for p in self.findings],
                "audit_entries": self.audit_entries, "files_checked": self.files_checked}

    def text(self) -> str:
        head = (f"Checked {self.audit_entries} audit entries and {self.files_checked} files: "
                + ("everything is intact." if self.ok else f"{len(self.findings)} problem(s):"))
        lines = [head] + [f"  - {p.message}" for p in self.findings]
        if self.last_entry and self.last_entry.get("seq"):
            lines.append(f"Last audit entry: {self.last_entry['seq']}, hash {self.last_entry['hash']}")
        return "\n".join(lines)


def verify_workspace(ws: "Workspace") -> VerifyReport:
    """Check everything; never raises for damage it finds (it reports it)."""
    from .artifacts import check_files
    from .registry.consistency import check_audit, dangling_references

    reg = ws.registry
    report = VerifyReport()
    chain = check_audit(reg)
    report.findings.extend(chain.problems)
    report.audit_entries = chain.entries
    report.last_entry = {"seq": chain.last_seq, "hash": chain.last_hash}
    report.findings.extend(dangling_references(reg))
    checked, problems = _check_snapshots(ws)
    report.files_checked += checked
    report.findings.extend(problems)
    checked, problems = check_files(ws)  # model files: missing or modified
    report.files_checked += checked
    report.findings.extend(problems)
    return report


def _check_snapshots(ws: "Workspace") -> tuple[int, list[Problem]]:
    """Each snapshot file once (datasets of the same data share one)."""
    seen: set[str] = set()
    problems: list[Problem] = []
    snapshots = ws.snapshots_dir.resolve()
    for ds in ws.datasets():
        if ds.snapshot in seen:
            continue
        seen.add(ds.snapshot)
        entity = {"entity_type": "dataset", "entity_id": str(ds.id)}
        path = ws.root / ds.snapshot
        if Path(ds.snapshot).is_absolute() or snapshots not in path.resolve().parents:
            problems.append(Problem("record_altered", f"dataset {ds.id} ({ds.name}): its snapshot "
                                    f"path {ds.snapshot} points outside the workspace's snapshots "
                                    "folder: it was changed outside the app.", **entity))
            continue
        try:
            actual: Optional[str] = sha256_file(path)
        except FileNotFoundError:
            actual = None
        except NotAFileError as exc:
            problems.append(Problem("snapshot_modified", f"dataset {ds.id} ({ds.name}): its snapshot "
                                    f"was replaced outside the app: {exc}", **entity))
            continue
        if actual is None:
            problems.append(Problem("snapshot_missing", f"dataset {ds.id} ({ds.name}): its "
                                    f"snapshot {ds.snapshot} is missing.", **entity))
        elif actual != ds.snapshot_sha256:
            problems.append(Problem("snapshot_modified", f"dataset {ds.id} ({ds.name}): its "
                                    f"snapshot {ds.snapshot} was modified.", **entity))
    return len(seen), problems
