"""Inline SVG line charts for the model card (ROC, precision–recall, calibration,
partial dependence), in the look of ``core/report/svg.py``, whose scatter, histogram
and bar charts the card uses for everything else."""

from __future__ import annotations

from html import escape
from typing import Optional, Sequence

from ..report.svg import BLUE, GREY, RED

#: colours of successive lines
PALETTE = (BLUE, RED, "#1e7b34", "#a86b00", "#6b4fa8", "#2a9d8f", "#6b7280")


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def line_chart(series: Sequence[tuple[str, Sequence[float], Sequence[float]]], *, width: int = 320,
               height: int = 240, x_label: str = "", y_label: str = "",
               x_range: Optional[tuple[float, float]] = None,
               y_range: Optional[tuple[float, float]] = None, diagonal: bool = False,
               reference: Optional[tuple[float, str]] = None,
               marks: Sequence[tuple[float, float, str]] = ()) -> str:
    """Lines through (x, y) points, one per ``(name, xs, ys)``, with an optional dashed
    diagonal (chance level for ROC, perfect calibration), a dashed horizontal
    ``reference`` line ``(y, label)`` and labelled points ``marks``."""
    pts_all = [(x, y) for _, xs, ys in series for x, y in zip(xs, ys) if x is not None and y is not None]
    if not pts_all:
        return ""
    pad_l, pad_r, pad_t, pad_b = 44, 10, 8, 30
    legend_h = 14 * len(series) if len(series) > 1 else 0
    w, h = width - pad_l - pad_r, height - pad_t - pad_b - legend_h
    x0, x1 = x_range or (min(p[0] for p in pts_all), max(p[0] for p in pts_all))
    y0, y1 = y_range or (min(p[1] for p in pts_all), max(p[1] for p in pts_all))
    x1 = x1 if x1 > x0 else x0 + 1
    y1 = y1 if y1 > y0 else y0 + 1

    def px(v: float) -> float:
        return pad_l + w * (v - x0) / (x1 - x0)

    def py(v: float) -> float:
        return pad_t + h - h * (v - y0) / (y1 - y0)

    parts = [f'<rect x="{pad_l}" y="{pad_t}" width="{w}" height="{h}" fill="none" stroke="#ccc"/>']
    if diagonal:
        lo, hi = max(x0, y0), min(x1, y1)
        parts.append(f'<line x1="{px(lo):.1f}" y1="{py(lo):.1f}" x2="{px(hi):.1f}" y2="{py(hi):.1f}" '
                     f'stroke="{GREY}" stroke-dasharray="4,3"/>')
    if reference is not None and y0 <= reference[0] <= y1:
        ry = py(reference[0])
        parts.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{ry:.1f}" y2="{ry:.1f}" stroke="{GREY}" '
                     f'stroke-dasharray="4,3"/><text x="{pad_l + w - 2}" y="{ry - 3:.1f}" '
                     f'text-anchor="end" fill="#555">{escape(reference[1])}</text>')
    for i, (name, xs, ys) in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        pts = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys) if x is not None and y is not None)
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="1.6">'
                     f"<title>{escape(name)}</title></polyline>")
        if len(series) > 1:
            ly = pad_t + h + pad_b + 10 + 14 * i
            parts.append(f'<line x1="{pad_l}" x2="{pad_l + 14}" y1="{ly - 4}" y2="{ly - 4}" '
                         f'stroke="{colour}" stroke-width="2"/><text x="{pad_l + 18}" y="{ly}">'
                         f"{escape(name)}</text>")
    for x, y, text in marks:
        parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{RED}">'
                     f"<title>{escape(text)}</title></circle>")
    parts.append(f'<text x="{pad_l}" y="{pad_t + h + 12}">{_fmt(x0)}</text>'
                 f'<text x="{pad_l + w}" y="{pad_t + h + 12}" text-anchor="end">{_fmt(x1)}</text>'
                 f'<text x="{pad_l - 3}" y="{pad_t + h}" text-anchor="end">{_fmt(y0)}</text>'
                 f'<text x="{pad_l - 3}" y="{pad_t + 9}" text-anchor="end">{_fmt(y1)}</text>')
    if x_label:
        parts.append(f'<text x="{pad_l + w / 2}" y="{pad_t + h + 24}" text-anchor="middle" '
                     f'fill="#555">{escape(x_label)}</text>')
    if y_label:
        parts.append(f'<text x="10" y="{pad_t + h / 2}" text-anchor="middle" fill="#555" '
                     f'transform="rotate(-90 10 {pad_t + h / 2})">{escape(y_label)}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" font-family="sans-serif" font-size="10">'
            f"{''.join(parts)}</svg>")
