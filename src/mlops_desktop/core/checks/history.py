"""Check runs kept in the registry: storing a report, and opening the last one of a
dataset and target again without recomputing it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from ..store import check_runs as rows
from ..store import datasets as dataset_rows
from .acceptance import accepted_warnings, attach_acceptances
from .result import CheckReport

if TYPE_CHECKING:
    from ..workspace import Workspace


def save_check_run(ws: "Workspace", dataset_ref: str | int, report: CheckReport, *, actor: str) -> CheckReport:
    """Store ``report`` with its ``check.run_recorded`` audit entry (one transaction) and
    set its id, time and author. Acceptances are not part of the stored run: they are
    records of their own, attached again when the run is opened."""
    from ..errors import InvalidChoiceError

    if not (actor or "").strip():
        raise InvalidChoiceError("Say who ran the checks: storing a check run records it.")
    ds = dataset_rows.find(ws.registry, dataset_ref)
    stored: dict[str, Any] = report.to_dict()
    for check in stored["checks"]:
        check["accepted"] = None
        check.pop("suggested_steps", None)
    row = rows.record(ws.registry, dataset_id=ds.id, report=stored, actor=actor)
    report.id, report.created_at, report.created_by = row["id"], row["created_at"], row["created_by"]
    return report


def _opened(ws: "Workspace", row: dict[str, Any]) -> CheckReport:
    from ..prepare.suggest import attach_steps

    report = CheckReport.from_dict(row["report"])
    report.id, report.created_at, report.created_by = row["id"], row["created_at"], row["created_by"]
    attach_steps(ws, row["dataset_id"], report)
    return attach_acceptances(report, accepted_warnings(ws, row["dataset_id"], report.target))


def last_check_run(ws: "Workspace", dataset_ref: str | int, target: str) -> Optional[CheckReport]:
    """The newest stored check run of a dataset for ``target``, with the acceptances
    recorded since, or None when it was never checked for that target."""
    ds = dataset_rows.find(ws.registry, dataset_ref)
    row = rows.latest(ws.registry, ds.id, target)
    return _opened(ws, row) if row is not None else None
