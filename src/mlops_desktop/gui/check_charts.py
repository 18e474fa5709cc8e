"""How a check's chart and verdict are drawn: on the Check page, and side by side when a
term is applied."""

from __future__ import annotations

from typing import Any, Optional

VERDICT_COLOURS = {"ok": "#1e7b34", "warning": "#a86b00", "problem": "#b3261e", "not_applicable": "#6b7280"}
VERDICT_TEXT = {"ok": "ok", "warning": "warning", "problem": "problem", "not_applicable": "not applicable"}
MAX_BARS = 20


def draw_check_chart(widget: Any, chart: Optional[dict[str, Any]]) -> None:
    """Draw a check's chart (``CheckResult.chart``) on a :class:`~.charts.Chart`, or hide
    the widget (no empty axes) for a check without one."""
    widget.setVisible(bool(chart and chart.get("x")))
    if not chart or not chart.get("x"):
        widget.reset("")
        return
    kind, ref = chart.get("kind"), chart.get("reference") or {}
    title, x, y = chart.get("title", ""), chart["x"], chart.get("y", [])
    labels = dict(x_label=chart.get("x_label", ""), y_label=chart.get("y_label", ""))
    if kind == "qq":
        lo, hi = min(x), max(x)
        line = (lo, ref["intercept"] + ref["slope"] * lo, hi, ref["intercept"] + ref["slope"] * hi) \
            if "slope" in ref else None
        widget.scatter(x, y, title=title, line=line, **labels)
    elif kind == "scatter" and chart.get("labels"):  # a point per row: a click shows the row
        widget.scatter(x, y, title=title, hline=ref.get("zero_line"), point_labels=chart["labels"], **labels)
    elif kind in ("scatter", "line"):
        widget.scatter(x, y, title=title, hline=ref.get("zero_line"), **labels)
    elif kind == "bars":
        limit = next((ref[k] for k in ("warning", "alpha", "rare_below", "problem_below") if k in ref), None)
        names, values = [str(v) for v in x], list(y)
        if len(values) > MAX_BARS:  # e.g. VIF of many one-hot columns: the largest are the story
            top = sorted(range(len(values)), key=lambda i: -(values[i] or 0))[:MAX_BARS]
            names, values = [names[i] for i in top], [values[i] for i in top]
            title = f"{title} (the largest {MAX_BARS} of {len(x)})"
        widget.hbars(names, values, title=title, x_label=chart.get("y_label", ""), reference=limit)
    else:
        widget.reset(title)
