"""The model card as Markdown: readable as plain text, renders as tables anywhere.

The card quotes what people typed (names, descriptions, comments, reasons, column
names). Markdown renderers pass HTML through and follow links, so nothing in the card
may start a tag, an entity or a link: see :func:`inert`.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

from .. import numbers
from .card import (CHALLENGE_HEAD, MONITORING_HEAD, NO_CHECK_RESULTS, ODDS_HEAD, ModelCard, approval_rows,
                   calibration_sentence, challenge_rows, challenge_sentences, data_period, few, metric_rows,
                   monitoring_rows, odds_cells, preparation_lines, segment_rows, terms_in_words, training_in_words,
                   warning_figures, warning_name)
from .metrics import label


def _cell(v: Any) -> str:
    return numbers.cell(v).replace("|", "\\|").replace("\n", " ")


def _table(head: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
    return out + [""]


#: what would make a renderer build HTML or a link from text: the start of a tag, a
#: comment or an autolink (``<`` before a letter, ``/``, ``!`` or ``?``), an entity, an
#: inline link or image (``](``), a link reference definition (``[x]:`` opening a line)
_TAG = re.compile(r"<(?=[A-Za-z/!?])")
_ENTITY = re.compile(r"&(?=#?\w+;)")
_INLINE_LINK = re.compile(r"\]\(")
_LINK_DEFINITION = re.compile(r"^( {0,3})\[(?=[^\]\n]*\]:)", re.MULTILINE)


def inert(markdown: str) -> str:
    """``markdown`` with every tag, entity and link escaped, so it renders as the text it
    is ("p < 0.001" and "[0.1, 0.2]" stay as they read). The card's own Markdown uses
    none of them, so the whole card goes through this."""
    text = _ENTITY.sub("&amp;", markdown)
    text = _TAG.sub("&lt;", text)
    text = _INLINE_LINK.sub("]\\(", text)
    return _LINK_DEFINITION.sub(r"\1\\[", text)


def model_card_markdown(card: ModelCard) -> str:
    """The card as Markdown text."""
    lines = [f"# {card.title}", ""]
    meta = [f"Stage: **{card.stage}**" + (" (self-approved, single-user mode)" if card.self_approved else "")]
    if card.created_by or card.created_at:
        meta.append(f"created by {card.created_by or '?'} on {numbers.timestamp(card.created_at)}")
    lines += [" · ".join(meta), "", "## Purpose", "", card.purpose or "_Not stated._", ""]

    ds = card.dataset or {}
    lines += ["## Data", ""]
    lines += _table(["dataset", "id", "fingerprint", "rows", "period"],
                    [[ds.get("name"), ds.get("id"), ds.get("fingerprint"), ds.get("rows"), data_period(card)]])
    made = preparation_lines(card)
    if made:
        lines += [made[0], "", *made[1:], ""]
    lines += ["## Target and features", "", f"Target: **{card.target}** ({card.task}).", "",
              f"Features ({len(card.features)}): " + (", ".join(card.features) or "—"), ""]
    if card.terms:
        lines += ["## Model terms", ""] + [f"- {sentence}" for sentence in terms_in_words(card)] + [""]
    lines += ["## Training", ""]
    lines += _table(["setting", "value"], training_in_words(card)) if card.training_spec \
        else ["_No training specification recorded._", ""]
    if card.segments:
        head, rows = segment_rows(card)
        lines += [f"### One model per value of {card.segments.get('column')}", ""] + _table(head, rows)

    lines += ["## Assumption checks", ""]
    lines += _table(["check", "verdict"], [[c.get("name"), c.get("verdict")] for c in card.checks]) \
        if card.checks else [f"_{NO_CHECK_RESULTS}_", ""]
    lines += ["### Accepted warnings", ""]
    lines += _table(["check", "reason", "accepted by", "when", "what was accepted"],
                    [[warning_name(w), w.get("reason"), w.get("accepted_by"), numbers.timestamp(w.get("accepted_at")),
                     warning_figures(w) or None]
                     for w in card.accepted_warnings]) if card.accepted_warnings else ["None.", ""]

    lines += _validation(card)
    if card.challenge:
        lines += ["## Challenge against production", ""]
        for sentence in challenge_sentences(card):
            lines += [sentence, ""]
        lines += _table(CHALLENGE_HEAD, challenge_rows(card))
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
                numbers.p_value(r.get("p_value")),
                numbers.interval(r.get("ci_low"), r.get("ci_high"))]
            rows.append(row + (odds_cells(r) if has_or else []))
        lines += _table(head, rows)
    if card.monitoring is not None:
        lines += ["## Monitoring", "", calibration_sentence(card), "", card.monitoring.get("assumption", ""), ""]
        if card.monitoring.get("batches"):
            lines += _table(MONITORING_HEAD, monitoring_rows(card))
        else:
            lines += [card.monitoring.get("history_note") or "No batch monitored yet.", ""]
    lines += ["## Limitations", ""]
    lims = card.shown_limitations()
    lines += [f"- {x}" for x in lims] if lims else ["None identified from the recorded facts."]
    lines += ["", "## Approvals", ""]
    lines += _table(["by", "when", "decision", "comment"], approval_rows(card)) \
        if card.approvals else ["None yet.", ""]
    return inert("\n".join(lines).rstrip() + "\n")


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
        lines += [f"Override recorded by {card.override.get('by')} on {numbers.timestamp(card.override.get('at'))}: "
                  f"{card.override.get('reason')}", ""]
    rows = []
    for r in metric_rows(v):
        m, b, d = r["model"], r["baseline"], r["difference"]
        rows.append([("**" + r["label"] + "**") if r["primary"] else r["label"], r["better"],
                     numbers.value(m.value), numbers.interval(m.low, m.high), numbers.value(b.value) if b else None,
                     numbers.interval(b.low, b.high) if b else None,
                     numbers.signed(d.value) if d else None, numbers.interval(d.low, d.high, sign=True) if d else None])
    lines += _table(["metric", "better", "model", "95% interval", "baseline", "95% interval",
                     "difference", "95% interval"], rows)
    if v.calibration:
        lines += ["Calibration: " + "; ".join(f"{m.label} {numbers.value(m.value)} (95% interval "
                                              f"{numbers.interval(m.low, m.high)})" for m in v.calibration) + ".", ""]
    if v.threshold is not None:
        lines += [f"Threshold: {numbers.value(v.threshold, 4)} — {v.threshold_reason}.", ""]
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
            primary = g.get("primary_metric")
            lines += _table(["value", "rows", "share", "reliable"] + [label(m, v.task) for m in names]
                            + [f"95% interval of {label(primary, v.task)}"],
                            [[x["value"], x["count"], numbers.share(x["share"]),
                              "yes" if x["reliable"] else f"no ({few(g)})"]
                             + [x["metrics"].get(m) for m in names]
                             + [numbers.interval(*(x.get("intervals", {}).get(primary) or (None, None)))]
                             for x in g["groups"]])
    if v.importance:
        lines += ["## Permutation importance", "", f"Importance: {v.importance_metric}.", ""]
        lines += _table(["feature", "importance", "std"], [[r["feature"], r["mean"], r["std"]]
                                                            for r in v.importance])
    if v.contributions:
        lines += contributions_markdown(v.contributions)
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


def contributions_markdown(summary: dict[str, Any]) -> list[str]:
    """The card's section on contributions: the columns by mean absolute contribution."""
    from .explanations import contributions_intro

    lines = ["## Contributions per column", "", contributions_intro(summary), ""]
    return lines + _table(["column", "mean absolute contribution"],
                          [[c["column"], c["mean_abs"]] for c in summary["columns"]])
