"""Small inline SVG charts: enough for a report a reviewer reads offline."""

from __future__ import annotations

from html import escape
from typing import Optional, Sequence

from .. import numbers

BLUE = "#3b6ea8"
GREY = "#9aa5b1"
RED = "#b3261e"




def frame(width: int, height: int, body: str, title: str = "") -> str:
    """An SVG document of the given size around ``body``, with an optional title."""
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
                     f'height="{bh:.1f}" fill="{BLUE}"><title>{numbers.value(edges[i])} – {numbers.value(edges[i + 1])}: '
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
    parts.append(f'<text x="{pad_l}" y="{y_axis + 12}">{numbers.value(lo)}</text>')
    parts.append(f'<text x="{pad_l + w}" y="{y_axis + 12}" text-anchor="end">{numbers.value(hi)}</text>')
    if x_label:
        parts.append(f'<text x="{pad_l + w / 2}" y="{y_axis + 24}" text-anchor="middle" fill="#555">'
                     f"{escape(x_label)}</text>")
    return frame(width, height, "".join(parts))


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
        shown = numbers.count(c) if value_format == "count" else numbers.value(float(c))
        parts.append(f'<text x="{label_w - 4}" y="{y + 11}" text-anchor="end">{escape(text)}</text>'
                     f'<rect x="{label_w}" y="{y + 2}" width="{max(bw, 0.5):.1f}" height="{row - 4}" '
                     f'fill="{colour}"><title>{escape(label)}: {shown}</title></rect>'
                     f'<text x="{label_w + bw + 4:.1f}" y="{y + 11}">{shown}</text>')
    return frame(width, height, "".join(parts))


class _PlotArea:
    """The frame, scales and axis labels shared by scatter and line charts."""

    def __init__(self, width: int, height: int, x0: float, x1: float, y0: float, y1: float, *,
                 bottom: int = 30) -> None:
        self.pad_l, self.pad_t = 44, 8
        self.w, self.h = width - self.pad_l - 10, height - self.pad_t - bottom
        self.x0, self.y0 = x0, y0
        self.x1 = x1 if x1 > x0 else x0 + 1
        self.y1 = y1 if y1 > y0 else y0 + 1

    def px(self, v: float) -> float:
        return self.pad_l + self.w * (v - self.x0) / (self.x1 - self.x0)

    def py(self, v: float) -> float:
        return self.pad_t + self.h - self.h * (v - self.y0) / (self.y1 - self.y0)

    def box(self) -> str:
        return f'<rect x="{self.pad_l}" y="{self.pad_t}" width="{self.w}" height="{self.h}" fill="none" stroke="#ccc"/>'

    def hline(self, y: float, colour: str, dashed: bool = False) -> str:
        dash = ' stroke-dasharray="4,3"' if dashed else ""
        return (f'<line x1="{self.pad_l}" x2="{self.pad_l + self.w}" y1="{self.py(y):.1f}" '
                f'y2="{self.py(y):.1f}" stroke="{colour}"{dash}/>')

    def segment(self, x0: float, y0: float, x1: float, y1: float, colour: str, dashed: bool = False) -> str:
        dash = ' stroke-dasharray="4,3"' if dashed else ""
        return (f'<line x1="{self.px(x0):.1f}" y1="{self.py(y0):.1f}" x2="{self.px(x1):.1f}" '
                f'y2="{self.py(y1):.1f}" stroke="{colour}"{dash}/>')

    def labels(self, x_label: str, y_label: str) -> str:
        base = self.pad_t + self.h
        parts = [f'<text x="{self.pad_l}" y="{base + 12}">{numbers.value(self.x0)}</text>'
                 f'<text x="{self.pad_l + self.w}" y="{base + 12}" text-anchor="end">{numbers.value(self.x1)}</text>'
                 f'<text x="{self.pad_l - 3}" y="{base}" text-anchor="end">{numbers.value(self.y0)}</text>'
                 f'<text x="{self.pad_l - 3}" y="{self.pad_t + 9}" text-anchor="end">{numbers.value(self.y1)}</text>']
        if x_label:
            parts.append(f'<text x="{self.pad_l + self.w / 2}" y="{base + 24}" text-anchor="middle" '
                         f'fill="#555">{escape(x_label)}</text>')
        if y_label:
            mid = self.pad_t + self.h / 2
            parts.append(f'<text x="10" y="{mid}" text-anchor="middle" fill="#555" '
                         f'transform="rotate(-90 10 {mid})">{escape(y_label)}</text>')
        return "".join(parts)


def scatter(x: Sequence[float], y: Sequence[float], *, width: int = 360, height: int = 240,
            x_label: str = "", y_label: str = "", line: Optional[tuple[float, float, float, float]] = None,
            hline: Optional[float] = None) -> str:
    """Points (at most a few thousand), with an optional reference line."""
    pts = [(a, b) for a, b in zip(x, y) if a is not None and b is not None]
    if not pts:
        return ""
    xs = [p[0] for p in pts] + ([line[0], line[2]] if line else [])
    ys = [p[1] for p in pts] + ([line[1], line[3]] if line else []) + ([hline] if hline is not None else [])
    area = _PlotArea(width, height, min(xs), max(xs), min(ys), max(ys))
    parts = [area.box()]
    parts += [f'<circle cx="{area.px(a):.1f}" cy="{area.py(b):.1f}" r="1.6" fill="{BLUE}" fill-opacity="0.55"/>'
              for a, b in pts]
    if line:
        parts.append(area.segment(*line, RED))
    if hline is not None:
        parts.append(area.hline(hline, RED))
    parts.append(area.labels(x_label, y_label))
    return frame(width, height, "".join(parts))


#: colours of successive lines
PALETTE = (BLUE, RED, "#1e7b34", "#a86b00", "#6b4fa8", "#2a9d8f", "#6b7280")


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
    legend_h = 14 * len(series) if len(series) > 1 else 0
    x0, x1 = x_range or (min(p[0] for p in pts_all), max(p[0] for p in pts_all))
    y0, y1 = y_range or (min(p[1] for p in pts_all), max(p[1] for p in pts_all))
    area = _PlotArea(width, height, x0, x1, y0, y1, bottom=30 + legend_h)
    parts = [area.box()]
    if diagonal:
        lo, hi = max(area.x0, area.y0), min(area.x1, area.y1)
        parts.append(area.segment(lo, lo, hi, hi, GREY, dashed=True))
    if reference is not None and area.y0 <= reference[0] <= area.y1:
        parts.append(area.hline(reference[0], GREY, dashed=True)
                     + f'<text x="{area.pad_l + area.w - 2}" y="{area.py(reference[0]) - 3:.1f}" '
                     f'text-anchor="end" fill="#555">{escape(reference[1])}</text>')
    for i, (name, xs, ys) in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        pts = " ".join(f"{area.px(x):.1f},{area.py(y):.1f}" for x, y in zip(xs, ys)
                       if x is not None and y is not None)
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="1.6">'
                     f"<title>{escape(name)}</title></polyline>")
        if len(series) > 1:
            ly = area.pad_t + area.h + 40 + 14 * i
            parts.append(f'<line x1="{area.pad_l}" x2="{area.pad_l + 14}" y1="{ly - 4}" y2="{ly - 4}" '
                         f'stroke="{colour}" stroke-width="2"/><text x="{area.pad_l + 18}" y="{ly}">'
                         f"{escape(name)}</text>")
    for x, y, text in marks:
        parts.append(f'<circle cx="{area.px(x):.1f}" cy="{area.py(y):.1f}" r="3.5" fill="{RED}">'
                     f"<title>{escape(text)}</title></circle>")
    parts.append(area.labels(x_label, y_label))
    return frame(width, height, "".join(parts))


def overlay_histogram(edges: Sequence[float], reference: Sequence[float], current: Sequence[float], *,
                      width: int = 330, height: int = 130) -> str:
    """Reference shares as grey bars, the batch's as a blue step line, on common bins."""
    if not reference:
        return ""
    pad_l, pad_b, pad_t = 6, 16, 4
    w, h = width - 2 * pad_l, height - pad_b - pad_t
    top = max(max(reference), max(current), 1e-12)
    bw = w / len(reference)
    parts = []
    for i, s in enumerate(reference):
        bh = h * s / top
        parts.append(f'<rect x="{pad_l + i * bw:.1f}" y="{pad_t + h - bh:.1f}" width="{max(bw - 1, .5):.1f}" '
                     f'height="{bh:.1f}" fill="{GREY}"><title>{numbers.value(edges[i])} – {numbers.value(edges[i + 1])}: '
                     f'reference {s:.1%}, batch {current[i]:.1%}</title></rect>')
    points = []
    for i, s in enumerate(current):
        y = pad_t + h - h * s / top
        points += [f"{pad_l + i * bw:.1f},{y:.1f}", f"{pad_l + (i + 1) * bw:.1f},{y:.1f}"]
    parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{BLUE}" stroke-width="1.6"/>')
    base = pad_t + h
    parts.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{base}" y2="{base}" stroke="#555"/>'
                 f'<text x="{pad_l}" y="{base + 12}">{numbers.value(edges[0])}</text>'
                 f'<text x="{pad_l + w}" y="{base + 12}" text-anchor="end">{numbers.value(edges[-1])}</text>')
    return frame(width, height, "".join(parts))


def paired_bars(labels: Sequence[str], reference: Sequence[float], current: Sequence[float], *,
                width: int = 330, limit: int = 12) -> str:
    """Per category two bars: the reference's share (grey) and the batch's (blue)."""
    order = sorted(range(len(labels)), key=lambda i: -max(reference[i], current[i]))[:limit]
    if not order:
        return ""
    row, label_w = 20, 96
    w = width - label_w - 44
    top = max(max(reference[i], current[i]) for i in order) or 1.0
    parts = []
    for k, i in enumerate(order):
        y = 3 + k * row
        text = labels[i] if len(labels[i]) <= 15 else labels[i][:14] + "…"
        parts.append(f'<text x="{label_w - 4}" y="{y + 12}" text-anchor="end">{escape(text)}</text>')
        for j, (share, colour) in enumerate(((reference[i], GREY), (current[i], BLUE))):
            bw = w * share / top
            parts.append(f'<rect x="{label_w}" y="{y + 2 + j * 8}" width="{max(bw, .5):.1f}" height="7" '
                         f'fill="{colour}"><title>{escape(labels[i])}: {"reference" if j == 0 else "batch"} '
                         f'{share:.1%}</title></rect>')
        parts.append(f'<text x="{label_w + w * max(reference[i], current[i]) / top + 4:.1f}" y="{y + 12}">'
                     f'{reference[i]:.0%} → {current[i]:.0%}</text>')
    return frame(width, 6 + row * len(order), "".join(parts))
