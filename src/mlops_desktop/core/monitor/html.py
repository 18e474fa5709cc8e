"""The drift report as one self-contained HTML file: inline CSS and SVG, no script,
nothing fetched. Per batch: the verdict and summary, a table of every feature with
the rule that decided, and per feature overlaid distributions and the PSI bin table;
with several batches, a timeline first."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional, Sequence

from markupsafe import Markup, escape
from mlops_model_support import drift as metrics
from mlops_model_support import performance as perf

from .. import numbers
from ... import __version__
from ..report.html import CSS
from ..report.svg import BLUE, GREY, overlay_histogram, paired_bars
from ..report.svg import frame as _svg
from .drift import DriftReport, DriftTimeline

COLOURS = {metrics.NO_DRIFT: "#1e7b34", metrics.MODERATE: "#a86b00", metrics.MAJOR: "#b3261e",
           metrics.NOT_COMPARABLE: "#6b7280", "drift": "#b3261e"}
EXTRA_CSS = """
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px;vertical-align:middle}
.tl td{text-align:center;font-size:11px;min-width:44px;color:#fff}
details{margin:6px 0}summary{cursor:pointer}.badge{white-space:nowrap}td.num{white-space:nowrap}
"""




def _n(v: Any) -> str:
    return escape(numbers.cell(v))


def _badge(verdict: str) -> str:
    return (f'<span class="badge" style="background:{COLOURS.get(verdict, "#6b7280")}">'
            f"{escape(verdict)}</span>")


def timeline_chart(timeline: DriftTimeline, *, width: int = 640, height: int = 170) -> Markup:
    """The drifted share per batch, each point coloured by the batch's verdict."""
    n = len(timeline.labels)
    pad_l, pad_r, pad_t, pad_b = 40, 12, 10, 40
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    step = w / max(n - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return pad_l + i * step, pad_t + h - h * v

    parts = [f'<rect x="{pad_l}" y="{pad_t}" width="{w}" height="{h}" fill="none" stroke="#ccc"/>',
             f'<text x="{pad_l - 4}" y="{pad_t + 8}" text-anchor="end">100%</text>',
             f'<text x="{pad_l - 4}" y="{pad_t + h}" text-anchor="end">0%</text>']
    pts = [xy(i, v or 0.0) for i, v in enumerate(timeline.drifted_share)]
    parts.append(f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in pts)}" fill="none" '
                 f'stroke="{BLUE}"/>')
    every = max(1, n // 12)
    for i, ((x, y), verdict) in enumerate(zip(pts, timeline.verdicts)):
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{COLOURS.get(verdict, GREY)}">'
                     f'<title>{escape(timeline.labels[i])}: {escape(verdict)}, '
                     f'{(timeline.drifted_share[i] or 0):.0%} drifted</title></circle>')
        if i % every == 0:
            parts.append(f'<text x="{x:.1f}" y="{pad_t + h + 14}" text-anchor="end" '
                         f'transform="rotate(-35 {x:.1f} {pad_t + h + 14})">{escape(timeline.labels[i])}</text>')
    return _svg(width, height, "".join(parts))


def _timeline_table(timeline: DriftTimeline) -> str:
    head = "".join(f"<th>{escape(label)}</th>" for label in timeline.labels)
    body = []
    for name, entry in timeline.features.items():
        cells = "".join(
            f"<td style='background:{COLOURS.get(v, GREY)}' title='{escape(name)} · {escape(label)}: "
            f"{escape(v)}'>{escape(numbers.value(psi, 2)) if psi is not None else '–'}</td>"
            for label, v, psi in zip(timeline.labels, entry["verdict"], entry["psi"]))
        body.append(f"<tr><th>{escape(name)}</th>{cells}</tr>")
    return (f"<table class='tl'><tr><th>feature (PSI)</th>{head}</tr>{''.join(body)}</table>"
            "<p class='muted'>Cells show PSI; colour: the feature's verdict for that batch.</p>")


def _distance(r: metrics.FeatureResult) -> tuple[str, Optional[float]]:
    if r.kind == metrics.NUMERIC:
        return "W/σ", r.metrics.get("wasserstein_normalised")
    return "JS", r.metrics.get("jensen_shannon")


def _features_table(results: Sequence[metrics.FeatureResult], anchor: str) -> str:
    rows = []
    for r in results:
        name, value = _distance(r)
        m = r.metrics
        stat, p = ((m.get("ks_statistic"), m.get("ks_p_value")) if r.kind == metrics.NUMERIC
                   else (m.get("chi_square"), m.get("chi_square_p_value")))
        rows.append(f"<tr><td><a href='#{anchor}-{escape(r.name)}'>{escape(r.name)}</a></td><td>{escape(r.kind)}</td>"
                    f"<td>{_badge(r.verdict)}</td><td class='num'>{_n(m.get('psi'))}</td>"
                    f"<td class='num'>{name} {_n(value)}</td><td class='num'>{_n(stat)}</td>"
                    f"<td class='num'>{_n(p)}</td><td class='num'>{_n(m.get('missing_share_change'))}</td>"
                    f"<td class='num'>{_n(r.weight)}</td><td>{escape(r.decided_by)}</td></tr>")
    return ("<table><tr><th>feature</th><th>type</th><th>verdict</th><th>PSI</th><th>distance</th>"
            "<th>KS D / χ²</th><th>p-value</th><th>Δ missing</th><th>weight</th><th>decided by</th></tr>"
            + "".join(rows) + "</table><p class='muted'>p-values are supporting figures; verdicts come "
            "from the thresholds and the no-drift noise of a batch of this size.</p>")


def _feature_card(r: metrics.FeatureResult, chart: Optional[dict[str, Any]], anchor: str) -> str:
    figure = ""
    if r.comparable and chart and chart.get("kind") == "histogram":
        figure = overlay_histogram(chart["edges"], chart["reference"], chart["current"])
    elif r.comparable and r.bins:
        figure = paired_bars(r.bins["labels"], r.bins["reference"], r.bins["current"])
    legend = (f"<div class='legend muted'><span style='background:{GREY}'></span>reference"
              f"<span style='background:{BLUE}'></span>batch</div>" if figure else "")
    m, noise = r.metrics, r.noise
    lines = []
    if r.comparable:
        keys = (["psi", "wasserstein", "wasserstein_normalised", "ks_statistic", "ks_p_value", "mean_change",
                 "mean_change_sd", "missing_share_change"] if r.kind == metrics.NUMERIC else
                ["psi", "jensen_shannon", "chi_square", "chi_square_dof", "chi_square_p_value",
                 "new_count", "new_share", "vanished_count", "missing_share_change"])
        for k in keys:
            extra = f" <span class='muted'>(noise {_n(noise[k])})</span>" if k in noise else ""
            lines.append(f"<tr><td class='muted'>{escape(k.replace('_', ' '))}</td>"
                         f"<td class='num'>{_n(m.get(k))}{extra}</td></tr>")
        if m.get("new_categories"):
            names = ", ".join(f"{c['category']} ({c['share']:.1%})" for c in m["new_categories"][:8])
            lines.append(f"<tr><td class='muted'>new categories</td><td>{escape(names)}</td></tr>")
        if m.get("vanished_categories"):
            names = ", ".join(f"{c['category']} ({c['reference_share']:.1%})"
                              for c in m["vanished_categories"][:8])
            lines.append(f"<tr><td class='muted'>vanished</td><td>{escape(names)}</td></tr>")
    bins = ""
    if r.comparable and r.bins:
        rows = "".join(f"<tr><td>{escape(label)}</td><td class='num'>{a:.1%}</td><td class='num'>{b:.1%}</td></tr>"
                       for label, a, b in zip(r.bins["labels"], r.bins["reference"], r.bins["current"]))
        bins = (f"<details><summary>PSI bins</summary><table><tr><th>bin</th><th>reference</th><th>batch</th>"
                f"</tr>{rows}</table></details>")
    return (f"<div class='card' id='{anchor}-{escape(r.name)}'><h3>{_badge(r.verdict)} {escape(r.name)}</h3>"
            f"{figure}{legend}<p>{escape(r.decided_by)}</p>"
            f"{'<table>' + ''.join(lines) + '</table>' if lines else ''}{bins}</div>")


def _batch_section(report: DriftReport, *, all_cards: bool, anchor: str) -> str:
    dv = report.dataset
    b = report.batch
    out = [f"<h2>{_badge(report.verdict)} {escape(report.label)}</h2>",
           f"<p><b>{escape(report.summary)}</b></p>",
           f"<p class='muted'>{b['rows']:,} rows · fingerprint {escape(str(b['fingerprint'])[:16])}… · "
           f"{escape(dv.decided_by)}</p>"]
    out += [f"<p class='muted'>{escape(n)}</p>" for n in report.notes]
    if report.performance and report.performance.get("current"):
        measured = report.performance
        rows = "".join(f"<tr><td>{escape(numbers.metric_name(k))}</td><td class='num'>{_n(v)}</td>"
                       f"<td class='num'>{_n((measured.get('holdout') or {}).get(k))}</td></tr>"
                       for k, v in measured["current"].items())
        source = f"<p class='muted'>Holdout: {escape(measured['holdout_source'])}.</p>" \
            if measured.get("holdout_source") else ""
        out.append(f"<h3>Performance on {measured['rows']:,} labelled rows</h3>{source}<table><tr><th>metric</th>"
                   f"<th>this batch</th><th>holdout</th></tr>{rows}</table>")
    out.append(_performance_section(report))
    extra = [r for r in (report.prediction, report.target) if r is not None]
    out.append(_features_table(list(report.features) + extra, anchor))
    cards = [r for r in list(report.features) + extra if all_cards or r.verdict != metrics.NO_DRIFT]
    if cards:
        out.append("<div class='cards'>" + "".join(_feature_card(r, report.charts.get(r.name), anchor)
                                                   for r in cards) + "</div>")
    return "".join(out)


def _performance_section(report: DriftReport) -> str:
    """Estimated performance with its band beside realized performance, with the
    assumption and, when it holds, why the estimate is unreliable."""
    est, real = report.estimated_performance, report.realized_performance
    if est is None and real is None:
        return f"<p class='muted'>{escape(report.performance_note)}</p>" if report.performance_note else ""
    rows = []
    for k in perf.METRICS:
        m = est.metrics.get(k) if est is not None else None
        shown = (f"{_n(m.estimate)} <span class='muted'>({_n(numbers.interval(m.low, m.high))})</span>"
                 if m is not None and m.estimate is not None else "—")
        r = real.metrics.get(k) if real is not None else None
        rows.append(f"<tr><td>{perf.METRIC_LABELS[k]}</td><td class='num'>{shown}</td>"
                    f"<td class='num'><b>{_n(r)}</b></td></tr>")
    level = f"{est.level:.0%} band" if est is not None else "band"
    out = [f"<h3>Performance</h3><table><tr><th>metric</th><th>estimated ({level})</th><th>realized</th></tr>"
           + "".join(rows) + "</table>"]
    if est is not None and not est.reliable:
        out.append(f"<p style='color:{COLOURS['drift']}'>{escape(est.reason)}</p>")
    if report.realized_note:
        out.append(f"<p class='muted'>{escape(report.realized_note)}</p>")
    if est is not None:
        out.append(f"<p class='muted'>{escape(est.assumption)}</p>")
    return "".join(out)


def _performance_timeline(reports: Sequence[DriftReport]) -> str:
    """ROC AUC per batch: the estimate's band as bars, the estimate and realized value."""
    cells = []
    for r in reports:
        m = r.estimated_performance.metrics.get("roc_auc") if r.estimated_performance is not None else None
        real = r.realized_performance.metrics.get("roc_auc") if r.realized_performance is not None else None
        est = (f"{_n(m.estimate)} ({_n(numbers.interval(m.low, m.high))})"
               + ("" if m.reliable else " unreliable") if m is not None and m.estimate is not None else "—")
        cells.append(f"<tr><td>{escape(r.label)}</td><td>{_badge(r.verdict)}</td><td class='num'>{est}</td>"
                     f"<td class='num'><b>{_n(real)}</b></td></tr>")
    if not any(r.estimated_performance or r.realized_performance for r in reports):
        return ""
    return ("<h2>Performance across batches (ROC AUC)</h2><table><tr><th>batch</th><th>drift</th>"
            "<th>estimated (band)</th><th>realized</th></tr>" + "".join(cells) + "</table>")


def render_drift_report(reports: Sequence[DriftReport], *, title: Optional[str] = None) -> str:
    """The HTML text for one batch or a timeline of batches against one reference.
    Feature details: every feature of the last batch; the drifted and not comparable
    ones of earlier batches."""
    if not reports:
        raise ValueError("no reports to render")
    ref = reports[0].reference
    title = title or f"Drift report: {ref.get('label')}"
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    t = reports[0].thresholds
    meta = (f"Generated {generated} by MLOps Desktop {__version__} · reference {escape(str(ref.get('label')))}"
            f" ({_n(ref.get('rows'))} rows"
            + (f", fingerprint {escape(str(ref['fingerprint'])[:16])}…" if ref.get("fingerprint") else "") + ")")
    body = [f"<h1>{escape(title)}</h1><p class='muted'>{meta}</p>",
            "<p class='muted'>Thresholds: " + ", ".join(f"{escape(k)} {escape(str(v))}" for k, v in t.items())
            + "</p>"]
    if len(reports) > 1:
        timeline = DriftTimeline.from_reports(reports)
        drifted = sum(1 for r in reports if r.drifted)
        body.append(Markup("<h2>Timeline: {} of {} batches drifted</h2>{}{}").format(
            drifted, len(reports), timeline_chart(timeline), Markup(_timeline_table(timeline))))
        body.append(_performance_timeline(reports))
    for i, report in enumerate(reports):
        body.append(_batch_section(report, all_cards=i == len(reports) - 1, anchor=f"b{i}"))
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{CSS}{EXTRA_CSS}</style></head><body>{''.join(body)}</body></html>")


def write_drift_report(path: Path | str, reports: Sequence[DriftReport], *,
                       title: Optional[str] = None) -> Path:
    """Render and write the report atomically; returns the path."""
    from ..storage import write_text_file
    from .errors import DriftError

    return write_text_file(path, render_drift_report(reports, title=title), error=DriftError)
