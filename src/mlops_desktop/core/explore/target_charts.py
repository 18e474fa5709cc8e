"""Chart data for a feature's relation to the target (drawn by the GUI and the report)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

MAX_POINTS = 2000
MAX_CATEGORIES = 15
BINS = 20
SEED = 20131


def numeric_vs_numeric(x: np.ndarray, y: np.ndarray, x_name: str, y_name: str) -> dict[str, Any]:
    """At most ``MAX_POINTS`` rows with both values, a seeded random sample of them (the
    first rows of a file sorted by price would show only the cheap ones); ``shown`` and
    ``of`` say how many."""
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    shown = ok if len(ok) <= MAX_POINTS else \
        np.sort(np.random.default_rng(SEED).choice(ok, size=MAX_POINTS, replace=False))
    return {"kind": "scatter", "x": x[shown].tolist(), "y": y[shown].tolist(), "x_label": x_name,
            "y_label": y_name, "shown": int(len(shown)), "of": int(len(ok))}


def category_vs_numeric(codes: np.ndarray, labels: list[str], y: np.ndarray, x_name: str,
                        y_name: str) -> dict[str, Any]:
    """Mean of the (numeric) target per category, most frequent categories first."""
    ok = (codes >= 0) & np.isfinite(y)
    counts = np.bincount(codes[ok], minlength=len(labels))
    sums = np.bincount(codes[ok], weights=y[ok], minlength=len(labels))
    order = [i for i in np.argsort(-counts, kind="stable")[:MAX_CATEGORIES] if counts[i] > 0]
    return {"kind": "bars", "labels": [labels[i] for i in order],
            "y": [float(sums[i] / counts[i]) for i in order], "x_label": x_name,
            "y_label": f"mean {y_name}"}


def numeric_vs_classes(x: np.ndarray, classes: np.ndarray, class_labels: list[str],
                       x_name: str) -> Optional[dict[str, Any]]:
    """The feature's distribution within each class, as shares per bin."""
    ok = np.isfinite(x) & (classes >= 0)
    if not ok.any():
        return None
    lo, hi = float(np.min(x[ok])), float(np.max(x[ok]))
    if lo == hi:
        hi = lo + 1
    edges = np.linspace(lo, hi, BINS + 1)
    centres = ((edges[:-1] + edges[1:]) / 2).tolist()
    series = {}
    for code in range(len(class_labels))[:8]:
        values = x[ok & (classes == code)]
        if len(values):
            counts, _ = np.histogram(values, bins=edges)
            series[class_labels[code]] = (counts / len(values)).tolist()
    return {"kind": "lines", "x": centres, "series": series, "x_label": x_name, "y_label": "share of class"}


def category_vs_classes(codes: np.ndarray, labels: list[str], classes: np.ndarray,
                        class_labels: list[str], x_name: str) -> dict[str, Any]:
    """Per category, the share of each class."""
    ok = (codes >= 0) & (classes >= 0)
    counts = np.bincount(codes[ok], minlength=len(labels))
    order = [i for i in np.argsort(-counts, kind="stable")[:MAX_CATEGORIES] if counts[i] > 0]
    k = len(class_labels)
    joint = np.bincount(codes[ok] * k + classes[ok], minlength=len(labels) * k).reshape(len(labels), k)
    series = {class_labels[c]: [float(joint[i, c] / counts[i]) for i in order] for c in range(min(k, 8))}
    return {"kind": "stacked", "labels": [labels[i] for i in order], "series": series, "x_label": x_name,
            "y_label": "share of class"}
