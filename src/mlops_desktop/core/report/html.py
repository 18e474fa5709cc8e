"""One self-contained HTML file for the Explore profile and the Check results:
inline CSS and SVG, no script, nothing fetched from a network."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional, Sequence

from markupsafe import Markup, escape

from ... import __version__
from .. import numbers
from . import svg

VERDICT_COLOURS = {"ok": "#1e7b34", "warning": "#a86b00", "problem": "#b3261e",
                   "not_applicable": "#6b7280", "info": "#3b6ea8"}

CSS = """
body{font-family:-apple-system,Segoe UI,DejaVu Sans,Arial,sans-serif;margin:24px auto;max-width:1100px;
color:#1f2933;padding:0 16px;font-size:14px;line-height:1.45}
h1{font-size:24px;margin-bottom:4px}h2{font-size:19px;margin-top:32px;border-bottom:1px solid #d5dbe1;
padding-bottom:4px}h3{font-size:15px;margin:0 0 6px}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 8px;border-bottom:1px solid #e4e7eb;
text-align:left;vertical-align:top}th{background:#f3f5f7}td.num{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#6b7280}.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #d5dbe1;border-radius:6px;padding:10px 12px;width:330px}
.badge{display:inline-block;padding:1px 7px;border-radius:9px;color:#fff;font-size:12px}
.heat td{width:46px;text-align:center;font-size:11px;border:1px solid #fff}
.heat th{font-size:11px;font-weight:normal;max-width:90px;overflow:hidden;white-space:nowrap}
.check{border-left:4px solid #ccc;padding:6px 12px;margin:10px 0;background:#fafbfc}
"""


def _num(v: Any) -> str:
    return escape(numbers.cell(v))


def _badge(verdict: str) -> str:
    colour = VERDICT_COLOURS.get(verdict, "#6b7280")
    return f'<span class="badge" style="background:{colour}">{escape(verdict.replace("_", " "))}</span>'


def _heat_colour(v: Optional[float]) -> str:
    if v is None:
        return "#f3f5f7"
    a = min(abs(v), 1.0)
    if v >= 0:
        return f"rgba(59,110,168,{a:.2f})"
    return f"rgba(179,38,30,{a:.2f})"


def _heatmap(rows: Sequence[str], cols: Sequence[str], matrix: Sequence[Sequence[Optional[float]]]) -> str:
    head = "".join(f"<th title='{escape(c)}'>{escape(c[:10])}</th>" for c in cols)
    body = []
    for name, values in zip(rows, matrix):
        cells = "".join(
            f"<td style='background:{_heat_colour(v)};color:{'#fff' if v is not None and abs(v) > 0.6 else '#1f2933'}' "
            f"title='{escape(name)} × {escape(c)}: {_num(v)}'>{'' if v is None else numbers.fixed(v, 2)}</td>"
            for c, v in zip(cols, values))
        body.append(f"<tr><th title='{escape(name)}'>{escape(name[:14])}</th>{cells}</tr>")
    return f"<table class='heat'><tr><th></th>{head}</tr>{''.join(body)}</table>"


# -- profile -------------------------------------------------------------------------------

_STAT_LABELS = [("mean", "mean"), ("std", "std"), ("min", "min"), ("q25", "25%"), ("median", "median"),
                ("q75", "75%"), ("max", "max"), ("skewness", "skewness"), ("kurtosis", "excess kurtosis"),
                ("zeros", "zeros"), ("negatives", "negatives"), ("outliers_iqr", "outliers (1.5 IQR)"),
                ("outliers_robust_z", "outliers (robust z > 3.5)"),
                ("range_days", "range (days)"), ("typical_step_hours", "typical step (h)"),
                ("largest_gap_hours", "largest gap (h)"), ("mean_length", "mean length")]
_DATETIME_LABELS = [("min", "first"), ("max", "last"), ("range_days", "range (days)"),
                    ("typical_step_hours", "typical step (h)"), ("largest_gap_hours", "largest gap (h)"),
                    ("gaps_over_10x_typical", "gaps over 10× the typical step")]


def _column_card(col: Any) -> str:
    rows = [("type / role", f"{col.kind} / {col.role}"), ("values", _num(col.count)),
            ("missing", f"{_num(col.missing)} ({numbers.share(col.missing_share)})"), ("distinct", _num(col.distinct))]
    for key, label in (_DATETIME_LABELS if col.kind == "datetime" else _STAT_LABELS):
        if key in col.stats and not isinstance(col.stats[key], (list, dict)):
            rows.append((label, _num(col.stats[key])))
    table = "".join(f"<tr><td class='muted'>{escape(k)}</td><td class='num'>{v}</td></tr>" for k, v in rows)
    chart = ""
    c = col.chart or {}
    if c.get("kind") == "histogram":
        chart = svg.histogram(c["edges"], c["counts"])
    elif c.get("kind") == "bars":
        chart = svg.bars(c["labels"], c["counts"], other=c.get("other", 0))
    elif c.get("kind") == "time_histogram":
        chart = svg.histogram(list(range(len(c["edges"]))), c["counts"]) + \
            Markup("<div class='muted'>{} → {}</div>").format(c["edges"][0], c["edges"][-1])
    return (f"<div class='card' id='col-{escape(col.name)}'><h3>{escape(col.name)}</h3>{chart}"
            f"<table>{table}</table></div>")


def _profile_sections(profile: Any) -> list[str]:
    out = []
    alerts = profile.alerts
    if alerts:
        rows = "".join(f"<tr><td>{_badge(a.severity)}</td><td>{escape(', '.join(a.columns) or 'table')}</td>"
                       f"<td>{escape(a.message)}</td></tr>" for a in alerts)
        out.append(f"<h2>Alerts ({len(alerts)})</h2><table><tr><th>severity</th><th>column(s)</th>"
                   f"<th>what</th></tr>{rows}</table>")
    else:
        out.append("<h2>Alerts</h2><p>No alerts.</p>")
    t = profile.target
    if t:
        out.append(f"<h2>Target: {escape(t['column'])} ({escape(t['task'])})</h2>")
        if t.get("classes"):
            labels = [c["value"] for c in t["classes"][:15]]
            out.append(svg.bars(labels, [c["count"] for c in t["classes"][:15]], width=420))
            if t.get("positive_class") is not None:
                out.append(f"<p class='muted'>Positive class for ROC AUC: {escape(t['positive_class'])}</p>")
        measure = {"regression": ("r2", "R² (univariate)"), "classification": ("auc", "ROC AUC (univariate)")}
        key, label = measure[t["task"]]
        if t["task"] == "classification" and not t.get("binary"):
            key, label = "strength", "η² (numeric) or Cramér's V (categories)"
        rows = []
        for r in t["relations"]:
            value = r.get(key) if key != "strength" else (r.get("eta2") if r.get("eta2") is not None else r.get("cramers_v"))
            rows.append(f"<tr><td>{escape(r['column'])}</td><td>{escape(r['kind'])}</td>"
                        f"<td class='num'>{_num(r.get('mutual_information'))}</td><td class='num'>{_num(value)}</td></tr>")
        out.append(f"<table><tr><th>feature</th><th>type</th><th>mutual information (nats)</th><th>{label}</th></tr>"
                   f"{''.join(rows)}</table>")
    out.append(f"<h2>Columns ({profile.n_columns})</h2><div class='cards'>"
               + "".join(_column_card(c) for c in profile.columns) + "</div>")
    corr = profile.correlations
    if len(corr.get("columns", [])) >= 2:
        out.append("<h2>Correlations</h2><h3>Pearson</h3>"
                   + _heatmap(corr["columns"], corr["columns"], corr["pearson"])
                   + "<h3>Spearman</h3>" + _heatmap(corr["columns"], corr["columns"], corr["spearman"]))
    assoc = profile.associations
    if len(assoc.get("columns", [])) >= 2:
        out.append("<h3>Cramér's V (categories)</h3>"
                   + _heatmap(assoc["columns"], assoc["columns"], assoc["cramers_v"]))
    mixed = profile.mixed
    if mixed.get("categorical") and mixed.get("numeric"):
        out.append("<h3>Correlation ratio η (category → number)</h3>"
                   + _heatmap(mixed["categorical"], mixed["numeric"], mixed["eta"]))
    d = profile.duplicates
    mp = profile.missing_patterns
    out.append(f"<h2>Duplicates and missing values</h2><p>{_num(d['count'])} duplicate rows "
               f"({numbers.share(d['share'])}). {_num(mp['complete_rows'])} rows ({numbers.share(mp['complete_share'])}) "
               "have no missing value.</p>")
    if mp["patterns"]:
        rows = "".join(f"<tr><td>{escape(', '.join(p['columns']))}</td><td class='num'>{_num(p['count'])}</td>"
                       f"<td class='num'>{numbers.share(p['share'])}</td></tr>" for p in mp["patterns"])
        out.append(f"<h3>Missing together</h3><table><tr><th>columns missing</th><th>rows</th><th>share</th></tr>"
                   f"{rows}</table>")
    return out


# -- checks --------------------------------------------------------------------------------

def _check_chart(chart: Optional[dict[str, Any]]) -> str:
    """SVG for a check's chart: {"kind": qq|scatter|line|bars, "x", "y", "reference"}."""
    if not chart or not chart.get("x"):
        return ""
    kind = chart.get("kind")
    ref = chart.get("reference") or {}
    x, y = chart.get("x", []), chart.get("y", [])
    labels = dict(x_label=chart.get("x_label", ""), y_label=chart.get("y_label", ""))
    title = Markup("<div class='muted'>{}</div>").format(chart.get("title", ""))
    if kind == "qq":
        lo, hi = min(x), max(x)
        line = (lo, ref["intercept"] + ref["slope"] * lo, hi, ref["intercept"] + ref["slope"] * hi) \
            if "slope" in ref else None
        return title + svg.scatter(x, y, line=line, **labels)
    if kind in ("scatter", "line"):
        return title + svg.scatter(x, y, hline=ref.get("zero_line"), **labels)
    if kind == "bars":
        return title + svg.bars([str(v) for v in x], y, width=460, value_format="value")
    return ""


def _rows_to_look_at(check: Any) -> str:
    head, rows = check.rows_to_look_at()
    if not rows:
        return ""
    body = "".join("<tr>" + "".join(f"<td class='num'>{_num(v)}</td>" for v in r) + "</tr>" for r in rows)
    return ("<p>The rows to look at (numbered from 1, as on the Data page):</p><table><tr>"
            + "".join(f"<th>{escape(h)}</th>" for h in head) + f"</tr>{body}</table>")


def _check_sections(report: Any) -> list[str]:
    counts = {v: sum(1 for c in report.checks if c.verdict == v) for v in ("ok", "warning", "problem")}
    head = (f"<h2>Assumption checks: {escape(report.task)} of {escape(report.target)}</h2>"
            f"<p>{report.n_used:,} of {report.n_rows:,} rows used"
            + (f" ({report.n_dropped_missing:,} dropped for missing values)" if report.n_dropped_missing else "")
            + f"; features: {escape(', '.join(report.features))}. "
            f"{counts['ok']} ok, {counts['warning']} warnings, {counts['problem']} problems.</p>")
    notes = "".join(f"<p class='muted'>{escape(n)}</p>" for n in report.notes)
    items = []
    for c in report.checks:
        colour = VERDICT_COLOURS.get(c.verdict, "#ccc")
        figures = []
        if c.statistic is not None:
            figures.append(f"{escape(c.statistic_name or 'statistic')} = {_num(c.statistic)}")
        if c.p_value is not None:
            figures.append(escape(numbers.p_phrase(c.p_value)))
        if c.effect is not None:
            figures.append(f"{escape(c.effect_name or 'effect')} = {_num(c.effect)}")
        items.append(
            f"<div class='check' style='border-color:{colour}'><h3>{_badge(c.verdict)} {escape(c.name)}</h3>"
            f"<p>{escape(c.tested)}<br><b>{'; '.join(figures)}</b> <span class='muted'>— decided by "
            f"{escape(c.decided_by)}</span></p><p><b>Why it matters:</b> {escape(c.why)}<br>"
            f"<b>What to do:</b> {escape(c.action)}</p>{_rows_to_look_at(c)}{_check_chart(c.chart)}</div>")
    return [head, notes] + items


def render_report(*, profile: Any = None, checks: Any = None, accepted: Sequence[dict] = (),
                  title: Optional[str] = None) -> str:
    """The HTML text of a report on a profile and/or a check report."""
    dataset = (profile.dataset if profile is not None else {}) or {}
    name = dataset.get("name") or (checks.target if checks is not None else "dataset")
    title = title or f"Data report: {name}"
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    meta = [f"Generated {generated} by MLOps Desktop {__version__}"]
    if dataset.get("fingerprint"):
        meta.append(f"dataset {escape(str(dataset.get('id')))} · fingerprint {escape(dataset['fingerprint'][:16])}…")
    if profile is not None:
        meta.append(f"{profile.n_rows:,} rows × {profile.n_columns} columns")
    body = [f"<h1>{escape(title)}</h1><p class='muted'>{' · '.join(meta)}</p>"]
    if profile is not None:
        body += [f"<p class='muted'>{escape(n)}</p>" for n in profile.notes]
        body += _profile_sections(profile)
    if checks is not None:
        body += _check_sections(checks)
    if accepted:
        rows = "".join(f"<tr><td>{escape(a['check_id'])}</td><td>{escape(a['reason'])}</td>"
                       f"<td>{escape(a['accepted_by'])}</td><td>{escape(numbers.timestamp(a['accepted_at']))}</td></tr>"
                       for a in accepted)
        body.append(f"<h2>Accepted warnings</h2><table><tr><th>check</th><th>reason</th><th>by</th>"
                    f"<th>when</th></tr>{rows}</table>")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>")


def write_report(path: Path | str, **kwargs: Any) -> Path:
    """Render and write the report atomically; returns the path."""
    from ..storage import write_text_file

    return write_text_file(path, render_report(**kwargs))
