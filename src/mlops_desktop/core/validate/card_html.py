"""The model card as one self-contained HTML file: inline CSS and SVG charts, no
script, nothing fetched from a network (the same look as the data report)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable, Sequence

from markupsafe import Markup, escape

from ... import __version__
from .. import numbers
from ..report import svg
from ..report.html import CSS, VERDICT_COLOURS
from .card import (CHALLENGE_HEAD, MONITORING_HEAD, NO_CHECK_RESULTS, ODDS_HEAD, ModelCard, approval_rows,
                   calibration_sentence, challenge_rows, challenge_sentences, data_period, few, metric_rows,
                   monitoring_rows, odds_cells, preparation_lines, segment_rows, terms_in_words, training_in_words,
                   warning_figures, warning_name)
from ..report.svg import line_chart
from .metrics import label
from .results import ValidationReport

CARD_CSS = CSS + """
.verdict{padding:8px 12px;border-radius:6px;margin:8px 0}
.good{background:#e6f4ea;border:1px solid #1e7b34}.bad{background:#fdecea;border:1px solid #b3261e}
tr.primary td{font-weight:600}td.unreliable{color:#a86b00}
.charts{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.charts figure{margin:0}.charts figcaption{font-size:12px;color:#6b7280}
"""


def _v(v: Any) -> Markup:
    return escape(numbers.cell(v))


def _table(head: Sequence[str], rows: Iterable[Sequence[Any]], *, row_class: Sequence[str] = ()) -> Markup:
    """A table of values: each cell written as core.numbers writes it and escaped, unless
    it is Markup this module made (a badge)."""
    th = Markup("").join(Markup("<th>{}</th>").format(h) for h in head)
    body = []
    for i, r in enumerate(rows):
        cls = Markup(" class='{}'").format(row_class[i]) if i < len(row_class) and row_class[i] else ""
        cells = Markup("").join(
            Markup("<td class='num'>{}</td>").format(numbers.cell(c))
            if isinstance(c, (int, float)) and not isinstance(c, bool)
            else Markup("<td>{}</td>").format(c if isinstance(c, Markup) else numbers.cell(c)) for c in r)
        body.append(Markup("<tr{}>{}</tr>").format(cls, cells))
    return Markup("<table><tr>{}</tr>{}</table>").format(th, Markup("").join(body))


def _badge(verdict: str) -> Markup:
    colour = VERDICT_COLOURS.get(verdict, "#6b7280")
    return Markup('<span class="badge" style="background:{}">{}</span>').format(colour, verdict.replace("_", " "))


def _figure(chart: Markup, caption: str) -> Markup:
    return Markup("<figure>{}<figcaption>{}</figcaption></figure>").format(chart, caption) if chart else Markup()


def _binary_charts(c: dict[str, Any], suffix: str = "") -> list[str]:
    out = []
    roc, pr, cal = c.get("roc"), c.get("pr"), c.get("calibration")
    if roc:
        marks = [(roc["at_threshold"]["fpr"], roc["at_threshold"]["tpr"], "chosen threshold")] \
            if roc.get("at_threshold") else []
        out.append(_figure(line_chart([("model", roc["fpr"], roc["tpr"])], x_range=(0, 1), y_range=(0, 1),
                                      diagonal=True, x_label="false positive rate",
                                      y_label="true positive rate", marks=marks), "ROC curve" + suffix))
    if pr:
        at = pr.get("at_threshold") or {}
        marks = [(at["recall"], at["precision"], "chosen threshold")] if at.get("precision") is not None else []
        out.append(_figure(line_chart([("model", pr["recall"], pr["precision"])],
                                      reference=(pr["positive_rate"], "share of positives"),
                                      x_range=(0, 1), y_range=(0, 1), x_label="recall",
                                      y_label="precision", marks=marks), "Precision–recall curve" + suffix))
    if cal and cal.get("observed"):
        out.append(_figure(line_chart([("model", cal["mean_predicted"], cal["observed"])], x_range=(0, 1),
                                      y_range=(0, 1), diagonal=True, x_label="mean predicted probability",
                                      y_label="observed share"),
                           f"Calibration ({cal['n_bins']} bins of equal rows; diagonal = perfect)" + suffix))
    return out


def _charts(v: ValidationReport) -> str:
    c = v.curves or {}
    figs: list[str] = []
    if v.task == "binary":
        figs = _binary_charts(c)
    elif v.task == "multiclass":
        for entry in c.get("by_class", []):
            figs += _binary_charts(entry, f" — {entry['class']} vs rest")[:1]
    else:
        rf, hist, pa = c.get("residuals_vs_fitted"), c.get("residual_histogram"), c.get("predicted_vs_actual")
        if rf:
            figs.append(_figure(svg.scatter(rf["fitted"], rf["residual"], hline=0.0, x_label="fitted",
                                            y_label="residual"), "Residuals against fitted values"))
        if hist:
            figs.append(_figure(svg.histogram(hist["edges"], hist["counts"], x_label="residual",
                                              marks=[(0.0, "0")]), "Residuals"))
        if pa and pa["actual"]:
            lo = min(min(pa["actual"]), min(pa["predicted"]))
            hi = max(max(pa["actual"]), max(pa["predicted"]))
            figs.append(_figure(svg.scatter(pa["actual"], pa["predicted"], line=(lo, lo, hi, hi),
                                            x_label="actual", y_label="predicted"),
                                "Predicted against actual (line: perfect)"))
    return f"<div class='charts'>{''.join(figs)}</div>" if figs else ""


def _validation(card: ModelCard) -> list[str]:
    v = card.validation
    out = ["<h2>Validation</h2>"]
    if v is None:
        return out + ["<p class='muted'>Not validated yet.</p>"]
    cls, head = ("good", "The model beats the baseline.") if v.beats_baseline else \
        ("bad", "The model does NOT beat the baseline.")
    out.append(f"<div class='verdict {cls}'><b>{head}</b> {escape(v.baseline_verdict)}</div>")
    if card.override:
        out.append(f"<p><b>Override</b> recorded by {_v(card.override.get('by'))} on "
                   f"{_v(numbers.timestamp(card.override.get('at')))}: {_v(card.override.get('reason'))}</p>")
    out.append(f"<p class='muted'>Holdout: {v.n_rows:,} rows; task {escape(v.task)}"
               + (f"; positive class {escape(repr(v.positive_class))}" if v.positive_class is not None else "")
               + f". Baseline: {escape(v.baseline_description)}. Intervals: 95% percentile bootstrap, "
               f"{v.n_bootstrap:,} resamples (seed {v.seed}), paired for the differences.</p>")
    rows, classes = [], []
    for r in metric_rows(v):
        m, b, d = r["model"], r["baseline"], r["difference"]
        rows.append([r["label"], r["better"], numbers.value(m.value), numbers.interval(m.low, m.high),
                     numbers.value(b.value) if b else "—", numbers.interval(b.low, b.high) if b else "—",
                     numbers.signed(d.value) if d else "—",
                     numbers.interval(d.low, d.high, sign=True) if d else "—"])
        classes.append("primary" if r["primary"] else "")
    out.append(_table(["metric", "better", "model", "95% interval", "baseline", "95% interval",
                       "difference", "95% interval"], rows, row_class=classes))
    if v.threshold is not None:
        out.append(f"<p>Threshold {escape(numbers.value(v.threshold, 4))}: {escape(v.threshold_reason or '')}.</p>")
    cm = v.confusion_matrix
    if cm:
        out.append(Markup("<h3>Confusion matrix (rows actual, columns predicted)</h3>")
                   + _table(["actual \\ predicted"] + cm["labels"],
                            [[lab] + row for lab, row in zip(cm["labels"], cm["matrix"])]))
    out.append(_charts(v))
    if v.subgroups:
        out.append("<h2>Segments and subgroups</h2>")
        for g in v.subgroups:
            names = g["metrics"]
            rows = [[x["value"], x["count"], numbers.share(x["share"]),
                     "yes" if x["reliable"] else Markup("<span class='unreliable'>no ({})</span>").format(few(g))]
                    + [x["metrics"].get(m) for m in names] for x in g["groups"]]
            out.append(Markup("<h3>{}: {}</h3>").format(g["kind"].capitalize(), g["column"])
                       + _table(["value", "rows", "share", "reliable"] + [label(m, v.task) for m in names], rows))
    if v.importance:
        out.append(f"<h2>Permutation importance</h2><p class='muted'>{escape(v.importance_metric)}; "
                   "the bar is the mean over repeats.</p>")
        top = v.importance[:20]
        out.append(svg.bars([r["feature"] for r in top], [max(r["mean"], 0.0) for r in top], width=460,
                            value_format="value"))
        out.append(_table(["feature", "importance", "std"], [[r["feature"], r["mean"], r["std"]]
                                                             for r in v.importance]))
    if v.contributions:
        c = v.contributions
        from .explanations import contributions_intro

        out.append(f"<h2>Contributions per column</h2><p>{escape(contributions_intro(c))}</p>")
        top = c["columns"][:20]
        out.append(svg.bars([r["column"] for r in top], [r["mean_abs"] for r in top], width=460,
                            value_format="value"))
    if v.partial_dependence:
        out.append("<h2>Partial dependence</h2><div class='charts'>")
        for p in v.partial_dependence:
            caption = f"{p['feature']}: {p['response']}"
            if p["kind"] == "numeric":
                series = [("average", p["grid"], p["average"])] if p.get("average") is not None else \
                    [(c, p["grid"], ys) for c, ys in p["average_by_class"].items()]
                out.append(_figure(line_chart(series, x_label=p["feature"], y_label="average prediction"),
                                   caption))
            elif p.get("average") is not None:
                out.append(_figure(svg.bars(p["grid"], p["average"], width=360, value_format="value"), caption))
            else:
                classes = list(p["average_by_class"])
                out.append(_figure(_table(["value"] + classes,
                                          [[g] + [p["average_by_class"][c][i] for c in classes]
                                           for i, g in enumerate(p["grid"])]), caption))
        out.append("</div>")
    if v.notes:
        out.append("<h3>Notes on the validation</h3><ul>"
                   + "".join(f"<li>{escape(n)}</li>" for n in v.notes) + "</ul>")
    return out


def model_card_html(card: ModelCard) -> str:
    """The card as the text of one self-contained HTML file."""
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    meta = [f"Stage: <b>{escape(card.stage)}</b>"
            + (" (self-approved, single-user mode)" if card.self_approved else "")]
    if card.created_by or card.created_at:
        meta.append(f"created by {escape(card.created_by or '?')} on {escape(numbers.timestamp(card.created_at))}")
    meta.append(f"generated {generated} by MLOps Desktop {escape(__version__)}")
    body = [f"<h1>{escape(card.title)}</h1><p class='muted'>{' · '.join(meta)}</p>",
            "<h2>Purpose</h2>", f"<p>{escape(card.purpose)}</p>" if card.purpose else
            "<p class='muted'>Not stated.</p>"]
    ds = card.dataset or {}
    body.append(Markup("<h2>Data</h2>") + _table(
        ["dataset", "id", "fingerprint", "rows", "period"],
        [[ds.get("name"), ds.get("id"), ds.get("fingerprint"), ds.get("rows"), data_period(card)]]))
    made = preparation_lines(card)
    if made:
        body.append(f"<p>{escape(made[0])}</p>" + ("<ol>" + "".join(
            f"<li>{escape(line.split('. ', 1)[1])}</li>" for line in made[1:]) + "</ol>" if made[1:] else ""))
    body.append(f"<h2>Target and features</h2><p>Target: <b>{escape(card.target)}</b> "
                f"({escape(card.task)}).</p><p>Features ({len(card.features)}): "
                f"{escape(', '.join(card.features)) or '—'}</p>")
    if card.terms:
        body.append("<h2>Model terms</h2><ul>" + "".join(f"<li>{escape(x)}</li>" for x in terms_in_words(card))
                    + "</ul>")
    body.append(Markup("<h2>Training</h2>") + (_table(["setting", "value"], training_in_words(card))
                                               if card.training_spec else
                                               Markup("<p class='muted'>No training specification recorded.</p>")))
    if card.segments:
        head, rows = segment_rows(card)
        body.append(Markup("<h3>One model per value of {}</h3>").format(str(card.segments.get("column")))
                    + _table(head, rows))
    body.append(Markup("<h2>Assumption checks</h2>") + (
        _table(["check", "verdict"], [[c.get("name"), _badge(str(c.get("verdict")))] for c in card.checks])
        if card.checks else Markup("<p class='muted'>{}</p>").format(NO_CHECK_RESULTS)))
    body.append(Markup("<h3>Accepted warnings</h3>") + (
        _table(["check", "reason", "accepted by", "when", "what was accepted"],
               [[warning_name(w), w.get("reason"), w.get("accepted_by"), numbers.timestamp(w.get("accepted_at")),
                     warning_figures(w) or None]
                for w in card.accepted_warnings]) if card.accepted_warnings else Markup("<p>None.</p>")))
    body += _validation(card)
    if card.challenge:
        good = card.challenge.get("wins")
        sentences = challenge_sentences(card)
        body.append(Markup("<h2>Challenge against production</h2><p>{} {}</p><div class='verdict {}'>{}</div>")
                    .format(sentences[0], sentences[1], "good" if good else "bad", sentences[2])
                    + Markup("").join(Markup("<p>{}</p>").format(x) for x in sentences[3:])
                    + _table(CHALLENGE_HEAD, challenge_rows(card)))
    if card.coefficients:
        has_class = any("class" in r for r in card.coefficients)
        has_or = any("odds_ratio" in r for r in card.coefficients)
        head = (["class"] if has_class else []) + ["term", "estimate", "std. error", "statistic",
                                                   "p-value", "95% interval"] + (ODDS_HEAD if has_or else [])
        rows = [([r.get("class")] if has_class else []) + [
            r["name"], r.get("estimate"), r.get("std_error"), r.get("statistic"),
            numbers.p_value(r.get("p_value")),
            numbers.interval(r.get("ci_low"), r.get("ci_high"))] + (odds_cells(r) if has_or else [])
            for r in card.coefficients]
        body.append(Markup("<h2>Coefficients</h2>")
                    + Markup("").join(Markup("<p class='muted'>{}</p>").format(n) for n in card.coefficient_notes)
                    + _table(head, rows))
    if card.monitoring is not None:
        body.append(Markup("<h2>Monitoring</h2><p>{}</p><p class='muted'>{}</p>").format(
                        calibration_sentence(card), card.monitoring.get("assumption", ""))
                    + (_table(MONITORING_HEAD, monitoring_rows(card)) if card.monitoring.get("batches") else
                       Markup("<p>{}</p>").format(card.monitoring.get("history_note") or "No batch monitored yet.")))
    lims = card.shown_limitations()
    body.append("<h2>Limitations</h2>" + ("<ul>" + "".join(f"<li>{escape(x)}</li>" for x in lims) + "</ul>"
                                          if lims else "<p>None identified from the recorded facts.</p>"))
    body.append(Markup("<h2>Approvals</h2>") + (
        _table(["by", "when", "decision", "comment"], approval_rows(card))
        if card.approvals else Markup("<p>None yet.</p>")))
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(card.title)}</title>"
            f"<style>{CARD_CSS}</style></head><body>{''.join(body)}</body></html>")
