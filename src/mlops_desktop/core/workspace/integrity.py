"""Checking a workspace (``verify``): the database file itself (SQLite's integrity check,
its triggers and views), the audit chain and its recorded end, whether the registry's
records and values agree with their audit entries, whether every recorded change kept
the rules (:mod:`.rule_replay`), whether every reference points somewhere, every
snapshot and model file against its recorded hash (on a team registry also the copies
stored on the server), and, given a head written down earlier, whether this is an older copy.

Each problem found is a :class:`Problem` with a ``kind`` (for scripts) and a sentence
that names the entry, record or file (for people). This makes the workspace
tamper-evident, not tamper-proof: someone who can write the folder and rewrites the
log, its head and the records consistently is not caught by anything stored inside it;
a head kept elsewhere (``verify --expect``) is what shows that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from ..errors import InvalidChoiceError, NotAFileError, WorkspaceError
from ..store.audit import HeadComparison
from ..store.problem import Problem
from ..storage import sha256_file

if TYPE_CHECKING:
    from . import Workspace

__all__ = ["Problem", "VerifyReport", "parse_expected_head", "report_for_unopened", "verify_workspace"]


@dataclass
class VerifyReport:
    """What ``verify`` found. ``problems`` are the sentences; ``findings`` the same
    problems with their kind (the JSON output lists these)."""

    findings: list[Problem] = field(default_factory=list)
    audit_entries: int = 0
    files_checked: int = 0
    #: on a team registry: the snapshots and model files whose copies on the server were checked
    stored_files_checked: int = 0
    #: the newest audit entry's number and hash, to write down or compare with a copy
    last_entry: Optional[dict[str, Any]] = None
    #: the log against the head written down earlier (``--expect``), when one was given
    expected: Optional[HeadComparison] = None

    @property
    def problems(self) -> list[str]:
        """Each finding in words, as the user reads them."""
        return [p.message for p in self.findings]

    @property
    def ok(self) -> bool:
        """Whether nothing was found wrong (verify's exit 0)."""
        return not self.findings

    def kinds(self) -> set[str]:
        """The kinds of problem found, to tell a damaged file from a broken chain."""
        return {p.kind for p in self.findings}

    def to_dict(self) -> dict[str, Any]:
        """What ``verify --json`` prints (its keys are a contract)."""
        out = {"ok": self.ok, "problems": [p.to_dict() for p in self.findings],
               "audit_entries": self.audit_entries, "files_checked": self.files_checked}
        if self.stored_files_checked:
            out["stored_files_checked"] = self.stored_files_checked
        if self.expected is not None:
            out["expected"] = self.expected.to_dict()
        return out

    def text(self) -> str:
        """The report as ``verify`` prints it: the counts, each problem, the head compared."""
        stored = (f" (and {self.stored_files_checked} copies stored on the team registry)"
                  if self.stored_files_checked else "")
        head = (f"Checked {self.audit_entries} audit entries and {self.files_checked} files{stored}: "
                + ("everything is intact." if self.ok else f"{len(self.findings)} problem(s):"))
        lines = [head] + [f"  - {p.message}" for p in self.findings]
        if self.expected is not None and self.expected.problem is None:
            grown = self.expected.last_seq - (self.expected.found_at or 0)
            lines.append("The log ends at the head written down." if self.expected.status == "equal" else
                         f"The log holds the head written down (entry {self.expected.found_at}) and "
                         f"{grown} entr{'y' if grown == 1 else 'ies'} after it.")
        if self.last_entry and self.last_entry.get("seq"):
            lines.append(f"Last audit entry: {self.last_entry['seq']}, hash {self.last_entry['hash']}")
        return "\n".join(lines)


def parse_expected_head(text: str) -> tuple[Optional[int], str]:
    """``SEQ:HASH`` or ``HASH`` (as ``audit head`` prints it) -> (seq or None, hash)."""
    match = re.fullmatch(r"\s*(?:(\d+)\s*:\s*)?([0-9a-fA-F]{64})\s*", str(text or ""))
    if match is None:
        raise InvalidChoiceError(f"{text!r} is not an audit head: give the hash that 'mlops-desktop audit head' "
                                 "printed (64 hexadecimal digits), best with its entry number as SEQ:HASH.")
    return (int(match.group(1)) if match.group(1) else None), match.group(2).lower()


def verify_workspace(ws: "Workspace", *, expect: Optional[str] = None) -> VerifyReport:
    """Check everything; never raises for damage it finds (it reports it). ``expect``:
    a head written down earlier (``SEQ:HASH`` or ``HASH``) to compare the log with."""
    from .artifacts import check_files
    from ..store import database_check, stored_files

    expected = parse_expected_head(expect) if expect else None
    report = VerifyReport()
    report.findings.extend(database_check.integrity_of(ws.registry))
    try:
        _check_registry(ws, report, expected)
    except Exception as exc:
        problem = database_check.unreadable(exc)
        if problem is None:
            raise
        if problem.kind not in report.kinds():
            report.findings.append(problem)
        return report  # the records cannot be read: their files cannot be listed either
    checked, problems = _check_snapshots(ws)
    report.files_checked += checked
    report.findings.extend(problems)
    checked, problems = check_files(ws)  # model files: missing or modified
    report.files_checked += checked
    report.findings.extend(problems)
    report.stored_files_checked, problems = stored_files.check(ws.registry)  # a team registry's copies
    report.findings.extend(problems)
    return report


def _check_registry(ws: "Workspace", report: VerifyReport, expected: Optional[tuple[Optional[int], str]]) -> None:
    """The chain, the records and values, the rules, the references and the expected head
    (the entries kept for these are let go on return, before the files are read)."""
    from ..store import audit
    from ..store.consistency import check_audit, dangling_references
    from ..rule_replay import ACTIONS, broken_rules, replayable

    reg = ws.registry
    chain = check_audit(reg, collect=ACTIONS)
    report.findings.extend(chain.problems)
    report.audit_entries = chain.entries
    report.last_entry = {"seq": chain.last_seq, "hash": chain.last_hash}
    if replayable(report.kinds()):
        report.findings.extend(broken_rules(chain.collected))
    report.findings.extend(dangling_references(reg))
    if expected is not None:
        seq, digest = expected
        report.expected = audit.compare_head(reg, digest, seq, chain.last_seq)
        if report.expected.problem is not None:
            report.findings.append(report.expected.problem)


def report_for_unopened(exc: WorkspaceError) -> Optional[VerifyReport]:
    """The report for a workspace that cannot be opened because its registry is gone
    (``registry_missing``) or is not a readable database (``database_malformed``);
    None for any other reason (which is then the user's error to see)."""
    from ..store.database_check import malformed
    from ..store.db import DamagedRegistryError, RegistryMissingError

    if isinstance(exc, RegistryMissingError):
        return VerifyReport(findings=[Problem("registry_missing", str(exc))])
    if isinstance(exc, DamagedRegistryError):
        return VerifyReport(findings=[malformed(str(exc.__cause__ or exc))])
    return None


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
