"""The model card as Markdown: readable as plain text, renders as tables anywhere."""

from __future__ import annotations

import json
from typing import Any, Iterable, Optional, Sequence

from ..checks.result import fmt, fmt_p
from .card import (NO_CHECK_RESULTS, ODDS_HEAD, ModelCard, approval_rows, interval, metric_rows,
                   odds_cells, signed, signed_interval, warning_figures, warning_name)
from .metrics import label


def _cell(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return fmt(v, 4)
    if isinstance(v, (dict, list)):
        v = json.dumps(v, default=str)
    return str(v).replace("|", "\\|").replace("\n", " ")


def _table(head: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
    return out + [""]


def model_card_markdown(card: ModelCard) -> str:
    """The card as Markdown text."""
    lines = [f"# {card.title}", ""]
    meta = [f"Stage: **{card.stage}**" + (" (self-approved, single-user mode)" if card.self_approved else "")]
    if card.created_by or card.created_at:
        meta.append(f"created by {card.created_by or '?'} on {card.created_at or '?'}")
    lines += [" · ".join(meta), "", "## Purpose", "", card.purpose or "_Not stated._", ""]

    ds = card.dataset or {}
    dr = ds.get("date_range") or {}
    lines += ["## Data", ""]
    lines += _table(["dataset", "id", "fingerprint", "rows", "date range"],
                    [[ds.get("name"), ds.get("id"), ds.get("fingerprint"), ds.get("rows"),
                      f"{dr.get('start')} to {dr.get('end')}" if dr.get("start") else None]])
    lines += ["## Target and features", "", f"Target: **{card.target}** ({card.task}).", "",
              f"Features ({len(card.features)}): " + (", ".join(card.features) or "—"), ""]
    if card.segments:
        lines += ["Segments: " + _cell(card.segments), ""]
    lines += ["## Training", ""]
    lines += _table(["setting", "value"], sorted(card.training_spec.items())) if card.training_spec \
        else ["_No training specification recorded._", ""]

    lines += ["## Assumption checks", ""]
    lines += _table(["check", "verdict"], [[c.get("name"), c.get("verdict")] for c in card.checks]) \
        if card.checks else [f"_{NO_CHECK_RESULTS}_", ""]
    lines += ["### Accepted warnings", ""]
    lines += _table(["check", "reason", "accepted by", "when", "what was accepted"],
                    [[warning_name(w), w.get("reason"), w.get("accepted_by"), w.get("accepted_at"),
                     warning_figures(w) or None]
                     for w in card.accepted_warnings]) if card.accepted_warnings else ["None.", ""]

    lines += _validation(card)
    if card.coefficients:
        lines += ["## Coefficients", ""]
        for note in card.coefficient_notes:
            lines += [f"_{note}_", ""]
        has_class = any("class" in r for r in card.coefficients)
        has_or = any("odds_ratio" in r for r in card.coefficients)
        head = (["class"] if has_class else []) + ["term", "estimate", "std. error", "statistic",
                                                   "p-value", "95% interval"] + (ODDS_HEAD if has_or else [])
        rows = []
        for r in card.coefficients:
            row = ([r.get("class")] if has_class else []) + [
                r["name"], r.get("estimate"), r.get("std_error"), r.get("statistic"),
                fmt_p(r.get("p_value")) if r.get("p_value") is not None else None,
                interval(r.get("ci_low"), r.get("ci_high"))]
            rows.append(row + (odds_cells(r) if has_or else []))
        lines += _table(head, rows)
    lines += ["## Limitations", ""]
    lims = card.shown_limitations()
    lines += [f"- {x}" for x in lims] if lims else ["None identified from the recorded facts."]
    lines += ["", "## Approvals", ""]
    lines += _table(["by", "when", "decision", "comment"], approval_rows(card)) \
        if card.approvals else ["None yet.", ""]
    return "\n".join(lines).rstrip() + "\n"


def _validation(card: ModelCard) -> list[str]:
    v = card.validation
    lines = ["## Validation", ""]
    if v is None:
        return lines + ["_Not validated yet._", ""]
    verdict = "beats the baseline" if v.beats_baseline else "does NOT beat the baseline"
    lines += [f"**The model {verdict}.** {v.baseline_verdict}", "",
              f"Holdout: {v.n_rows:,} rows; task {v.task}"
              + (f"; positive class {v.positive_class!r}" if v.positive_class is not None else "")
              + f". Baseline: {v.baseline_description}. Intervals: 95% percentile bootstrap, "
              f"{v.n_bootstrap:,} resamples (seed {v.seed}), paired for the differences.", ""]
    if card.override:
        lines += [f"Override recorded by {card.override.get('by')} on {card.override.get('at')}: "
                  f"{card.override.get('reason')}", ""]
    rows = []
    for r in metric_rows(v):
        m, b, d = r["model"], r["baseline"], r["difference"]
        rows.append([("**" + r["label"] + "**") if r["primary"] else r["label"], r["better"],
                     fmt(m.value), interval(m.low, m.high), fmt(b.value) if b else None,
                     interval(b.low, b.high) if b else None,
                     signed(d.value) if d else None, signed_interval(d.low, d.high) if d else None])
    lines += _table(["metric", "better", "model", "95% interval", "baseline", "95% interval",
                     "difference", "95% interval"], rows)
    if v.threshold is not None:
        lines += [f"Threshold: {fmt(v.threshold, 4)} — {v.threshold_reason}.", ""]
    cm = v.confusion_matrix
    if cm:
        lines += ["### Confusion matrix (rows actual, columns predicted)", ""]
        lines += _table(["actual \\ predicted"] + cm["labels"],
                        [[lab] + row for lab, row in zip(cm["labels"], cm["matrix"])])
    if v.subgroups:
        lines += ["## Segments and subgroups", ""]
        for g in v.subgroups:
            lines += [f"### {g['kind'].capitalize()}: {g['column']}", ""]
            names = g["metrics"]
            lines += _table(["value", "rows", "share", "reliable"] + [label(m, v.task) for m in names],
                            [[x["value"], x["count"], f"{x['share']:.1%}", "yes" if x["reliable"] else "no (few rows)"]
                             + [x["metrics"].get(m) for m in names] for x in g["groups"]])
    if v.importance:
        lines += ["## Permutation importance", "", f"Importance: {v.importance_metric}.", ""]
        lines += _table(["feature", "importance", "std"], [[r["feature"], r["mean"], r["std"]]
                                                            for r in v.importance])
    if v.partial_dependence:
        lines += ["## Partial dependence", ""]
        for p in v.partial_dependence:
            lines += [f"### {p['feature']} ({p['response']})", ""]
            if p.get("average") is not None:
                lines += _table(["value", "average prediction"], zip(p["grid"], p["average"]))
            else:
                classes = list(p["average_by_class"])
                lines += _table(["value"] + classes,
                                [[g] + [p["average_by_class"][c][i] for c in classes]
                                 for i, g in enumerate(p["grid"])])
    if v.notes:
        lines += ["### Notes on the validation", ""] + [f"- {n}" for n in v.notes] + [""]
    return lines
