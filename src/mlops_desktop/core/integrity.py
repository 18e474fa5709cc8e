"""Checking a workspace: the audit chain, every snapshot and every artifact (model
files) against its recorded hash."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .storage import sha256_file

if TYPE_CHECKING:
    from .workspace import Workspace


@dataclass
class VerifyReport:
    problems: list[str] = field(default_factory=list)
    audit_entries: int = 0
    files_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "problems": self.problems, "audit_entries": self.audit_entries,
                "files_checked": self.files_checked}

    def text(self) -> str:
        head = (f"Checked {self.audit_entries} audit entries and {self.files_checked} files: "
                + ("everything is intact." if self.ok else f"{len(self.problems)} problem(s):"))
        return "\n".join([head] + [f"  - {p}" for p in self.problems])


def verify_workspace(ws: "Workspace") -> VerifyReport:
    from .registry import audit

    report = VerifyReport()
    report.problems.extend(audit.verify_chain(ws.registry))
    report.audit_entries = len(ws.registry.query("SELECT seq FROM audit_log"))
    seen: dict[str, str] = {}
    for ds in ws.datasets():
        if ds.snapshot in seen:
            continue
        path = ws.root / ds.snapshot
        if not path.is_file():
            problem = f"dataset {ds.id} ({ds.name}): its snapshot {ds.snapshot} is missing."
        elif sha256_file(path) != ds.snapshot_sha256:
            problem = f"dataset {ds.id} ({ds.name}): its snapshot {ds.snapshot} was modified."
        else:
            problem = ""
        report.files_checked += 1
        seen[ds.snapshot] = problem
        if problem:
            report.problems.append(problem)
    from .artifacts import verify_all

    checked, problems = verify_all(ws)  # model files: missing or modified
    report.files_checked += checked
    report.problems.extend(problems)
    return report
