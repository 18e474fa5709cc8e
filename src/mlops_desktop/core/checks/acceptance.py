"""Accepting a check's warning with a reason, and showing acceptances on a report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from ..errors import InvalidChoiceError
from ..store import accepted_warnings as rows
from ..store import datasets as dataset_rows
from .result import CheckReport, CheckResult

if TYPE_CHECKING:
    from ..workspace import Workspace


def accept_warning(ws: "Workspace", dataset_ref: str | int, target: str, features: list[str],
                   check_id: str, reason: str, actor: str, *,
                   result: Optional[CheckResult] = None) -> dict[str, Any]:
    """Record in the registry (with an audit entry) that ``actor`` accepts the warning of
    ``check_id`` for this dataset, target and feature set. ``result``, when given, is
    stored with it (verdict and figures) so the model card can say what was accepted."""
    from .runner import CHECK_IDS  # the checks themselves (statsmodels) only when accepting

    if check_id not in CHECK_IDS:
        raise InvalidChoiceError(f"Unknown check {check_id!r}; use one of {', '.join(CHECK_IDS)}.")
    reg = ws.registry
    ds = dataset_rows.find(reg, dataset_ref)
    ds.column(target)  # NotFoundError naming the columns
    for f in features:
        ds.column(f)
    details: dict[str, Any] = {}
    if result is not None:
        if result.id != check_id:
            raise InvalidChoiceError(f"The result given is for check {result.id!r}, not {check_id!r}.")
        details = {"verdict": result.verdict, "statistic": result.statistic,
                   "statistic_name": result.statistic_name, "p_value": result.p_value,
                   "effect": result.effect, "effect_name": result.effect_name,
                   "decided_by": result.decided_by}
    return rows.accept(reg, dataset_id=ds.id, target=target, features=list(features),
                       check_id=check_id, reason=reason, actor=actor, details=details)


def withdraw_acceptance(ws: "Workspace", accepted_warning_id: int, actor: str, *,
                        reason: str = "") -> dict[str, Any]:
    """Take back an acceptance (undoing it, say): recorded in the registry with an audit
    entry; the acceptance itself stays on record, and lists, reports and model cards no
    longer show it. A newer acceptance of the same check, if any, is the one that holds."""
    return rows.withdraw(ws.registry, accepted_warning_id, actor=actor, reason=reason)


def accepted_warnings(ws: "Workspace", dataset_ref: str | int, target: Optional[str] = None,
                      features: Optional[list[str]] = None) -> list[dict[str, Any]]:
    """Accepted warnings of a dataset (newest first, withdrawn ones left out), optionally
    for one target and feature set."""
    ds = dataset_rows.find(ws.registry, dataset_ref)
    return rows.list_for(ws.registry, ds.id, target, features)


def attach_acceptances(report: CheckReport, accepted: list[dict[str, Any]]) -> CheckReport:
    """Set ``accepted`` on each check of ``report`` that has an acceptance for the report's
    target and feature set (the newest one), and return the report."""
    key = sorted(set(report.features))
    latest: dict[str, dict[str, Any]] = {}
    for row in accepted:
        if row["target"] != report.target or sorted(row["features"]) != key:
            continue
        have = latest.get(row["check_id"])
        if have is None or row["id"] > have["id"]:
            latest[row["check_id"]] = row
    for check in report.checks:
        check.accepted = latest.get(check.id)
    return report
