"""Stored challenges as the screens and the CLI read them: :class:`StoredChallenge`, with
its declaration, how it ended and (once decided) its :class:`ChallengeReport`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any, Optional

from .report import ChallengeReport
from .rule import Rule

if TYPE_CHECKING:
    from ..workspace import Workspace


@dataclass
class StoredChallenge:
    """One challenge as recorded: declared (the rule and the rows, before scoring), then
    decided, failed or cancelled."""

    id: int
    model: str
    challenger: str
    champion: str
    dataset: str
    #: what was declared before scoring: the rule, both versions, the data and its rows
    declaration: dict[str, Any]
    status: str                              # declared | decided | failed | cancelled
    verdict: Optional[str]
    wins: Optional[bool]
    error: Optional[str]
    created_by: str
    declared_at: str
    decided_at: Optional[str]
    report: Optional[ChallengeReport]
    model_id: int
    challenger_id: int
    champion_id: int
    dataset_id: int
    challenger_version: int
    champion_version: int
    declaration_sha256: str
    report_sha256: Optional[str]

    @property
    def rule(self) -> Rule:
        """The rule declared before scoring."""
        return Rule.from_dict(self.declaration["rule"])

    @property
    def outcome(self) -> str:
        """The verdict once decided, else how it stands ("declared", "failed", "cancelled")."""
        return self.verdict or self.status

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "StoredChallenge":
        """A challenge as the store keeps it (a row of its table), with its report read back;
        columns this class does not know are left out."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in row.items() if k in known}
        values["report"] = ChallengeReport.from_dict(row["report"]) if row.get("report") else None
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """For ``--json``: every recorded field, the report as its stored JSON."""
        out = asdict(self)
        out["report"] = self.report.to_dict() if self.report is not None else None
        return out


def stored(ws: "Workspace", challenge_id: int | str) -> StoredChallenge:
    """One stored challenge (:class:`~mlops_desktop.core.errors.NotFoundError` when there is none)."""
    from ..store import challenges

    return StoredChallenge.from_row(challenges.get(ws.registry, challenge_id))


def of_model(ws: "Workspace", model: str) -> list[StoredChallenge]:
    """A model's challenges, newest first."""
    from ..store import challenges
    from ..store import models as model_rows

    m = model_rows.get_model(ws.registry, str(model or "").strip())
    return [StoredChallenge.from_row(r) for r in challenges.of_model(ws.registry, m.id)]


def latest_for(ws: "Workspace", version_id: int, *, before: Optional[str] = None) -> Optional[ChallengeReport]:
    """The newest decided challenge of a version as the challenger (decided at or before
    ``before`` when given), or None."""
    from ..store import challenges

    row = challenges.latest_decided(ws.registry, version_id, before=before)
    return None if row is None else ChallengeReport.from_dict(row["report"])
