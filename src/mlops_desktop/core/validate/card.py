"""The model card of a model version: what a reviewer reads before approving it.

:class:`ModelCard` holds the facts (the registry fills it); ``card_markdown`` and
``card_html`` render it. Limitations are generated from those facts by
:func:`limitations_from_facts`, never written as free text by the app.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from ..checks.result import fmt, json_safe
from ..checks.runner import CHECK_NAMES
from .metrics import METRIC_INFO, label
from .results import ValidationReport

#: below these the holdout is called small in the limitations
SMALL_HOLDOUT_ROWS = 200
TOP_IMPORTANT = 3


@dataclass
class ModelCard:
    """Everything the card shows about one model version.

    ``dataset``: id, name, fingerprint, rows, date_range ({"column", "start", "end"} or
    None). ``checks``: {name, verdict} per assumption check. ``accepted_warnings``: the
    registry's rows (check_id or name, reason, accepted_by, accepted_at).
    ``coefficients``: rows of ``core.train.coefficients.coefficient_table``. ``limitations``: None means
    "generate them from the facts" (:func:`limitations_from_facts`); a list is shown as
    given. ``override``: the recorded decision to move a model that did not beat its
    baseline to validated ({by, at, reason}).
    """

    model_name: str
    version: Any
    stage: str = "draft"
    purpose: str = ""
    created_by: str = ""
    created_at: str = ""
    dataset: dict[str, Any] = field(default_factory=dict)
    target: str = ""
    task: str = ""
    features: list[str] = field(default_factory=list)
    training_spec: dict[str, Any] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)
    accepted_warnings: list[dict[str, Any]] = field(default_factory=list)
    validation: Optional[ValidationReport] = None
    coefficients: Optional[list[dict[str, Any]]] = None
    coefficient_notes: list[str] = field(default_factory=list)
    limitations: Optional[list[str]] = None
    approvals: list[dict[str, Any]] = field(default_factory=list)
    segments: Optional[dict[str, Any]] = None
    override: Optional[dict[str, Any]] = None

    @property
    def title(self) -> str:
        return f"Model card: {self.model_name} version {self.version}"

    @property
    def self_approved(self) -> bool:
        """True when the approval on record was given by the person who trained the model
        (allowed only in single-user mode)."""
        return any(a.get("self_approved") and (a.get("decision") or a.get("stage")) == "approved"
                   for a in self.approvals)

    def shown_limitations(self) -> list[str]:
        return limitations_from_facts(self) if self.limitations is None else list(self.limitations)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["validation"] = self.validation.to_dict() if self.validation is not None else None
        d["limitations"] = self.shown_limitations()
        return json_safe(d)


def warning_name(row: dict[str, Any]) -> str:
    """The check's name in words for an accepted-warning row of the registry."""
    check_id = row.get("check_id")
    return str(row.get("name") or CHECK_NAMES.get(check_id) or check_id or "check")


def warning_figures(row: dict[str, Any]) -> str:
    """What was accepted, from the result stored with the acceptance (may be empty)."""
    d = row.get("details") or {}
    parts = []
    if d.get("statistic") is not None:
        parts.append(f"{d.get('statistic_name') or 'statistic'} = {fmt(d['statistic'])}")
    if d.get("effect") is not None:
        parts.append(f"{d.get('effect_name') or 'effect'} = {fmt(d['effect'])}")
    if d.get("decided_by"):
        parts.append(str(d["decided_by"]))
    return "; ".join(parts)


def limitations_from_facts(card: ModelCard) -> list[str]:
    """Limitations that follow from the card's facts: no validation, not beating the
    baseline, a small holdout, a threshold chosen on the holdout, unequal or unreliable
    subgroup results, the features the model relies on most, problems found by the
    checks, accepted warnings, and the period the data covers."""
    out: list[str] = []
    v = card.validation
    if v is None:
        out.append("The model has not been validated on held-out data.")
    else:
        if not v.beats_baseline:
            text = f"Did not beat the baseline ({v.baseline_description}). {v.baseline_verdict}"
            if card.override:
                text += (f" It was moved on by an override recorded by {card.override.get('by', '?')}: "
                         f"{card.override.get('reason', '')}")
            out.append(text)
        if v.n_rows < SMALL_HOLDOUT_ROWS:
            out.append(f"Validated on a small holdout of {v.n_rows:,} rows; the intervals are wide.")
        if v.threshold is not None and v.threshold_rule not in (None, "fixed"):
            out.append(f"The threshold {fmt(v.threshold)} was chosen on the holdout, so the metrics "
                       "at that threshold are slightly optimistic.")
        for g in v.subgroups:
            s = g.get("spread")
            if s:
                best = next(x for x in g["groups"] if x["value"] == s["best"])
                worst = next(x for x in g["groups"] if x["value"] == s["worst"])
                out.append(f"{label(s['metric'], v.task)} differs across {g['column']}: "
                           f"{fmt(s['worst_value'])} for {s['worst']!r} ({worst['count']:,} rows) "
                           f"against {fmt(s['best_value'])} for {s['best']!r} ({best['count']:,} rows).")
            small = [x for x in g["groups"] if not x["reliable"]]
            if small:
                names = ", ".join(f"{x['value']!r} ({x['count']})" for x in small[:5])
                out.append(f"Too few holdout rows to judge {g['column']} = {names}"
                           f"{' and others' if len(small) > 5 else ''}.")
        top = [r for r in v.importance if r["mean"] > 0][:TOP_IMPORTANT]
        if top:
            out.append("The predictions rely most on " + ", ".join(r["feature"] for r in top)
                       + " (permutation importance); a change in how these are recorded or "
                       "distributed will change the model's performance.")
        out.extend(n for n in v.notes if n.startswith(("MAPE is left out", "The holdout holds one class",
                                                       "The holdout has no rows of")))
    for c in card.checks:
        if c.get("verdict") == "problem":
            out.append(f"The assumption check '{c.get('name')}' found a problem.")
    for w in card.accepted_warnings:
        out.append(f"Accepted warning of '{warning_name(w)}' by {w.get('accepted_by', '?')}: "
                   f"{w.get('reason', '')}")
    dr = (card.dataset or {}).get("date_range")
    split = (card.dataset or {}).get("split") or {}
    if dr and dr.get("column") and split.get("kind") in ("random", "stratified") \
            and split.get("test_size", 0.2) > 0:
        from ..train.prepare import random_split_note

        out.append(random_split_note(split["kind"], dr["column"]))
    if dr and dr.get("start") and dr.get("end"):
        out.append(f"Trained on data from {dr['start']} to {dr['end']}"
                   + (f" (column {dr['column']})" if dr.get("column") else "")
                   + "; behaviour outside that period is untested.")
    return out


def metric_rows(v: ValidationReport) -> list[dict[str, Any]]:
    """Model, baseline and difference per metric, for the card's table."""
    rows = []
    for m in v.metrics:
        base = next((b for b in v.baseline_metrics if b.name == m.name), None)
        diff = next((d for d in v.differences if d.name == m.name), None)
        rows.append({"name": m.name, "label": m.label or METRIC_INFO[m.name].label,
                     "better": "higher" if m.higher_is_better else "lower",
                     "model": m, "baseline": base, "difference": diff,
                     "primary": m.name == v.primary_metric})
    return rows


def approval_decision(row: dict[str, Any]) -> str:
    """The decision of an approval row in words, saying when it was a self-approval."""
    decision = str(row.get("decision") or row.get("stage") or "")
    if row.get("self_approved"):
        decision += " — self-approved by the person who trained it (single-user mode, no second person)"
    return decision


def approval_rows(card: ModelCard) -> list[list[Any]]:
    """by, when, decision, comment per approval, for the card's table."""
    return [[a.get("by") or a.get("approver"), a.get("at") or a.get("approved_at"), approval_decision(a),
             a.get("comment")] for a in card.approvals]


#: what a card says when it carries no check results (only accepted warnings are recorded)
NO_CHECK_RESULTS = ("Assumption check results are not stored with a model; run them on the Check page. "
                    "Accepted warnings follow.")


def signed(v: Optional[float]) -> str:
    """A difference with its sign."""
    return "—" if v is None else f"{v:+.3g}"


def signed_interval(low: Optional[float], high: Optional[float]) -> str:
    return "—" if low is None or high is None else f"{low:+.3g} to {high:+.3g}"


def interval(low: Optional[float], high: Optional[float]) -> str:
    return "—" if low is None or high is None else f"{fmt(low)} to {fmt(high)}"


#: the columns a logistic model's coefficient table adds (both card formats)
ODDS_HEAD = ["odds ratio", "odds ratio 95% interval"]


def odds_cells(row: dict[str, Any]) -> list[Any]:
    """The odds ratio of a coefficient row and its interval (exp of the interval's bounds)."""
    return [row.get("odds_ratio"), interval(row.get("odds_ratio_ci_low"), row.get("odds_ratio_ci_high"))]
