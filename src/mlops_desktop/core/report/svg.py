"""Small inline SVG charts: enough for a report a reviewer reads offline."""

from __future__ import annotations

from html import escape
from typing import Optional, Sequence

BLUE = "#3b6ea8"
GREY = "#9aa5b1"
RED = "#b3261e"


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e5 or a < 1e-3:
        return f"{v:.2e}"
    if a >= 100:
        return f"{v:,.0f}"
    return f"{v:.3g}"


def _frame(width: int, height: int, body: str, title: str = "") -> str:
    t = f"<title>{escape(title)}</title>" if title else ""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" font-family="sans-serif" font-size="10">'
            f"{t}{body}</svg>")


def histogram(edges: Sequence[float], counts: Sequence[int], *, width: int = 320, height: int = 140,
              x_label: str = "", marks: Optional[Sequence[tuple[float, str]]] = None) -> str:
    """Bars over numeric bins, with the range under the axis."""
    if not counts:
        return ""
    pad_l, pad_b, pad_t = 8, 28, 6
    w, h = width - 2 * pad_l, height - pad_b - pad_t
    top = max(counts) or 1
    bw = w / len(counts)
    parts = []
    for i, c in enumerate(counts):
        bh = h * c / top
        parts.append(f'<rect x="{pad_l + i * bw:.1f}" y="{pad_t + h - bh:.1f}" width="{max(bw - 1, 0.5):.1f}" '
                     f'height="{bh:.1f}" fill="{BLUE}"><title>{_fmt(edges[i])} – {_fmt(edges[i + 1])}: '
                     f'{c:,}</title></rect>')
    lo, hi = edges[0], edges[-1]
    for value, label in marks or []:
        if hi > lo and lo <= value <= hi:
            x = pad_l + w * (value - lo) / (hi - lo)
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{pad_t}" y2="{pad_t + h}" stroke="{RED}" '
                         f'stroke-dasharray="3,2"/><text x="{x + 2:.1f}" y="{pad_t + 9}" fill="{RED}">'
                         f"{escape(label)}</text>")
    y_axis = pad_t + h
    parts.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{y_axis}" y2="{y_axis}" stroke="#555"/>')
    parts.append(f'<text x="{pad_l}" y="{y_axis + 12}">{_fmt(lo)}</text>')
    parts.append(f'<text x="{pad_l + w}" y="{y_axis + 12}" text-anchor="end">{_fmt(hi)}</text>')
    if x_label:
        parts.append(f'<text x="{pad_l + w / 2}" y="{y_axis + 24}" text-anchor="middle" fill="#555">'
                     f"{escape(x_label)}</text>")
    return _frame(width, height, "".join(parts))


def bars(labels: Sequence[str], counts: Sequence[float], *, width: int = 320, other: int = 0,
         value_format: str = "count") -> str:
    """Horizontal bars, one per label (top values of a category, VIF per feature...)."""
    items = list(zip(labels, counts))
    if other:
        items.append(("(other values)", other))
    if not items:
        return ""
    row = 16
    height = row * len(items) + 6
    label_w = 110
    w = width - label_w - 60
    top = max(c for _, c in items) or 1
    parts = []
    for i, (label, c) in enumerate(items):
        y = 3 + i * row
        bw = w * c / top
        colour = GREY if label == "(other values)" else BLUE
        text = label if len(label) <= 18 else label[:17] + "…"
        shown = f"{int(c):,}" if value_format == "count" else _fmt(float(c))
        parts.append(f'<text x="{label_w - 4}" y="{y + 11}" text-anchor="end">{escape(text)}</text>'
                     f'<rect x="{label_w}" y="{y + 2}" width="{max(bw, 0.5):.1f}" height="{row - 4}" '
                     f'fill="{colour}"><title>{escape(label)}: {shown}</title></rect>'
                     f'<text x="{label_w + bw + 4:.1f}" y="{y + 11}">{shown}</text>')
    return _frame(width, height, "".join(parts))


def scatter(x: Sequence[float], y: Sequence[float], *, width: int = 360, height: int = 240,
            x_label: str = "", y_label: str = "", line: Optional[tuple[float, float, float, float]] = None,
            hline: Optional[float] = None) -> str:
    """Points (at most a few thousand), with an optional reference line."""
    pts = [(a, b) for a, b in zip(x, y) if a is not None and b is not None]
    if not pts:
        return ""
    pad_l, pad_r, pad_t, pad_b = 44, 10, 8, 30
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    if line:
        xs += [line[0], line[2]]
        ys += [line[1], line[3]]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    if hline is not None:
        y0, y1 = min(y0, hline), max(y1, hline)
    x1 = x1 if x1 > x0 else x0 + 1
    y1 = y1 if y1 > y0 else y0 + 1

    def px(v: float) -> float:
        return pad_l + w * (v - x0) / (x1 - x0)

    def py(v: float) -> float:
        return pad_t + h - h * (v - y0) / (y1 - y0)

    parts = [f'<rect x="{pad_l}" y="{pad_t}" width="{w}" height="{h}" fill="none" stroke="#ccc"/>']
    parts += [f'<circle cx="{px(a):.1f}" cy="{py(b):.1f}" r="1.6" fill="{BLUE}" fill-opacity="0.55"/>'
              for a, b in pts]
    if line:
        parts.append(f'<line x1="{px(line[0]):.1f}" y1="{py(line[1]):.1f}" x2="{px(line[2]):.1f}" '
                     f'y2="{py(line[3]):.1f}" stroke="{RED}"/>')
    if hline is not None:
        parts.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{py(hline):.1f}" y2="{py(hline):.1f}" '
                     f'stroke="{RED}"/>')
    parts.append(f'<text x="{pad_l}" y="{height - 16}">{_fmt(x0)}</text>'
                 f'<text x="{pad_l + w}" y="{height - 16}" text-anchor="end">{_fmt(x1)}</text>'
                 f'<text x="{pad_l - 3}" y="{pad_t + h}" text-anchor="end">{_fmt(y0)}</text>'
                 f'<text x="{pad_l - 3}" y="{pad_t + 9}" text-anchor="end">{_fmt(y1)}</text>')
    if x_label:
        parts.append(f'<text x="{pad_l + w / 2}" y="{height - 4}" text-anchor="middle" fill="#555">'
                     f"{escape(x_label)}</text>")
    if y_label:
        parts.append(f'<text x="10" y="{pad_t + h / 2}" text-anchor="middle" fill="#555" '
                     f'transform="rotate(-90 10 {pad_t + h / 2})">{escape(y_label)}</text>')
    return _frame(width, height, "".join(parts))
