"""Two versions side by side in words: rows of (aspect, A, B) and the notes under them.
One presenter for the Registry page's Compare tab and for ``models compare``, so both
name the aspects and write the figures the same way (intervals as ``core.numbers``
writes them)."""

from __future__ import annotations

from typing import Any, Optional

from .. import numbers
from .compare import Estimate, Segmentation, VersionComparison

Row = list[Any]


def comparison_rows(c: VersionComparison) -> list[Row]:
    """Every row of the comparison: the versions, their data and features, the settings
    that differ, the validated metrics, then the evidence (warnings, challenge, segments)."""
    return version_rows(c) + metric_rows(c) + evidence_rows(c)


def version_rows(c: VersionComparison) -> list[Row]:
    """Who made each version, its data, its features and the training settings that differ."""
    a, b = c.a, c.b
    da, db = c.data.a, c.data.b
    rows: list[Row] = [
        ["Stage", a.stage, b.stage], ["Family", a.family, b.family], ["Target", a.target, b.target],
        ["Trained by", a.created_by, b.created_by],
        ["Created", numbers.timestamp(a.created_at), numbers.timestamp(b.created_at)],
        ["Approved by", a.approved_by or "—", b.approved_by or "—"],
        ["Dataset", da.dataset, db.dataset],
        ["Rows in the dataset", da.dataset_rows, db.dataset_rows],
        ["Same data"] + (["yes (same fingerprint)"] * 2 if c.data.same_data else ["no", "no"]),
    ]
    f = c.features
    rows.append(["Features", f"{len(f.common) + len(f.removed)}", f"{len(f.common) + len(f.added)}"])
    if f.removed or f.added:
        rows.append(["Only in one", ", ".join(f.removed) or "—", ", ".join(f.added) or "—"])
    for d in [d for d in c.spec.differences if d.setting != "family"][:12]:
        rows.append([setting_name(d.setting), _setting(d.setting, d.a), _setting(d.setting, d.b)])
    return rows


def setting_name(setting: str) -> str:
    """A run setting's dotted path in words: "spec.models" reads "models tried",
    "hyperparameters.alpha" reads "hyperparameter alpha"."""
    kind, _, rest = setting.partition(".")
    if kind == "hyperparameters" and rest:
        return f"hyperparameter {rest}"
    if kind == "spec" and rest:
        return _SPEC_WORDS.get(rest, rest.replace("_", " ").replace(".", ": "))
    return setting.replace("_", " ")


_SPEC_WORDS = {"models": "models tried", "cv_folds": "cross-validation folds", "segment_by": "segmented by",
               "min_segment_rows": "smallest segment (rows)"}


def estimate(side: Optional[Estimate]) -> str:
    """A validated metric with its interval, or a dash where the version has none."""
    if not side or side.value is None:
        return "—"
    return numbers.with_interval(side.value, side.low, side.high)


def metric_rows(c: VersionComparison) -> list[Row]:
    """Each validated metric of both, with its 95% interval; the primary one marked."""
    return [[m.label + (" (primary)" if m.primary else ""), estimate(m.a), estimate(m.b)]
            for m in c.metrics.holdout]


def evidence_rows(c: VersionComparison) -> list[Row]:
    """The accepted warnings, the challenge between the two, and the results per segment."""
    rows: list[Row] = []
    wa, wb = c.checks.a.accepted_warnings, c.checks.b.accepted_warnings
    if wa or wb:
        rows.append(["Accepted warnings", ", ".join(w.check_id for w in wa) or "—",
                     ", ".join(w.check_id for w in wb) or "—"])
    ch = c.challenge
    if ch:
        def side(m: dict) -> str:
            return numbers.with_interval(m["value"], m["low"], m["high"])
        rows.append([f"Challenge {ch.id}: {ch.metric} on the same {ch.rows:,} rows", side(ch.a), side(ch.b)])
        rows.append([f"Challenge {ch.id}: verdict for {ch.challenger}", ch.verdict, ch.verdict])
    seg = c.segments
    if seg.a or seg.b:
        rows.append(["Segmented by", (seg.a.segment_by if seg.a else None) or "—",
                     (seg.b.segment_by if seg.b else None) or "—"])
        columns = dict.fromkeys(g.column for s in (seg.a, seg.b) if s for g in s.validated)
        for column in columns:
            rows.append([f"{_metric_name(seg.a, seg.b, column)} by {column}", _groups(seg.a, column),
                         _groups(seg.b, column)])
    return rows


def comparison_notes(c: VersionComparison) -> list[str]:
    """What the figures cannot say on their own: different holdouts, a missing validation,
    the same holdout, the challenge's verdict sentence."""
    notes = list(c.metrics.notes)
    if c.metrics.same_holdout:
        notes.append("Both were validated on the same holdout rows.")
    if c.challenge:
        notes.append(c.challenge.sentence)
    return notes


def _setting(name: str, value: Any) -> str:
    """A training setting in words (a split as a sentence, lists joined), no JSON."""
    from ..validate.card import split_in_words

    if name == "split":
        return split_in_words(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')} {numbers.cell(v)}" for k, v in value.items()) or "—"
    return numbers.cell(value)


def _metric_name(a: Optional[Segmentation], b: Optional[Segmentation], column: str) -> str:
    for side in (a, b):
        for g in side.validated if side else ():
            if g.column == column:
                return numbers.metric_name(str(g.primary_metric)) if g.primary_metric else "metric"
    return "metric"


def _groups(side: Optional[Segmentation], column: str) -> str:
    """Each group's primary metric, e.g. "DL 0.71, AA 0.69 (few rows)"."""
    for g in side.validated if side else ():
        if g.column != column:
            continue
        parts = []
        for x in g.groups[:12]:
            value = (x.metrics or {}).get(g.primary_metric)
            if isinstance(value, dict):
                value = value.get("value")
            text = f"{x.value} {numbers.value(value)}"
            parts.append(text + ("" if x.reliable is None or x.reliable else " (few rows)"))
        return ", ".join(parts) + (" …" if len(g.groups) > 12 else "")
    return "—"
