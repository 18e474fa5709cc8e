"""Metrics per segment and per subgroup, with counts and bootstrap intervals, so unequal
performance shows and how sure it is.

Each value of a column is a group; its metrics are the holdout metrics computed on its
rows only (one weight row per group for the scorers), with 95% percentile intervals over
the same resamples of the holdout as the overall metrics (each resample's rows of the
group). A group is reliable when it has enough of what its metrics count: for a
classifier at least ``MIN_RELIABLE_EVENTS`` rows of every class (a group of a thousand
rows with three events says nothing about recall), for regression at least
``MIN_RELIABLE_ROWS`` rows. Columns with many values keep the largest ``MAX_GROUPS``
and pool the rest.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import pandas as pd

from .bootstrap import percentile_interval, resample_weights
from .metrics import GROUP_METRICS, METRIC_INFO, PRIMARY, subset

MIN_RELIABLE_ROWS = 30
MIN_RELIABLE_EVENTS = 10
MAX_GROUPS = 20
MISSING = "(missing)"
OTHER = "(other values)"


def group_labels(values: pd.Series) -> tuple[np.ndarray, int]:
    """Each row's group as text (missing values as their own group, rare values pooled)
    and how many values were pooled."""
    text = values.astype(object).where(values.notna(), MISSING).astype(str)
    counts = text.value_counts(sort=True)
    if len(counts) <= MAX_GROUPS:
        return text.to_numpy(), 0
    kept = set(counts.index[:MAX_GROUPS - 1])
    pooled = len(counts) - len(kept)
    return np.where(text.isin(kept), text, OTHER), pooled


def group_report(scorer: Any, values: pd.Series, column: str, kind: str, *,
                 classes: Optional[np.ndarray] = None, n_bootstrap: int = 0,
                 seed: int = 0) -> dict[str, Any]:
    """Per-value metrics of ``scorer``'s model for one column (``kind`` is "segment" or
    "subgroup"), with intervals from ``n_bootstrap`` resamples drawn from ``seed`` (the
    overall metrics' resamples). ``classes``: each row's class index (classifiers), for
    the events that decide whether a group is reliable."""
    labels, pooled = group_labels(values.reset_index(drop=True))
    names, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    masks = np.zeros((len(names), len(labels)))
    masks[inverse, np.arange(len(labels))] = 1.0
    task = scorer.task
    computed = scorer.metrics(masks)
    shown = [m for m in GROUP_METRICS[task] if m in computed]
    intervals = _intervals(scorer, inverse, len(names), shown, n_bootstrap, seed)
    n = len(labels)
    groups = []
    for g in np.argsort(-counts, kind="mergesort"):
        metrics = {m: (float(computed[m][g]) if np.isfinite(computed[m][g]) else None) for m in shown}
        events = _fewest_per_class(classes, inverse == g) if classes is not None else None
        reliable = (events >= MIN_RELIABLE_EVENTS) if events is not None else counts[g] >= MIN_RELIABLE_ROWS
        groups.append({"value": str(names[g]), "count": int(counts[g]), "share": float(counts[g] / n),
                       "fewest_per_class": events, "reliable": bool(reliable), "metrics": metrics,
                       "intervals": intervals[g] if intervals else {}})
    primary = PRIMARY[task]
    return {"column": column, "kind": kind, "primary_metric": primary, "metrics": shown,
            "groups": groups, "pooled_values": pooled, "min_reliable_rows": MIN_RELIABLE_ROWS,
            "min_reliable_events": MIN_RELIABLE_EVENTS if classes is not None else None,
            "reliable_by": "events" if classes is not None else "rows",
            "n_bootstrap": n_bootstrap, "spread": _spread(groups, primary)}


def _fewest_per_class(classes: np.ndarray, rows: np.ndarray) -> int:
    """The rows of the rarest class in a group (0 when a class is absent)."""
    k = int(classes.max()) + 1 if len(classes) else 0
    return int(np.bincount(classes[rows], minlength=k).min()) if k else 0


def _intervals(scorer: Any, inverse: np.ndarray, n_groups: int, shown: list[str], n_bootstrap: int,
               seed: int) -> list[dict[str, list[Optional[float]]]]:
    """Per group, the 95% percentile interval of each metric over the resamples."""
    if n_bootstrap <= 0:
        return []
    rows = [np.flatnonzero(inverse == g) for g in range(n_groups)]
    scorers = [subset(scorer, r) for r in rows]
    parts: list[dict[str, list[np.ndarray]]] = [{} for _ in rows]
    for weights in resample_weights(len(inverse), n_bootstrap, seed):
        for g, (r, sub) in enumerate(zip(rows, scorers)):
            for name, values in sub.metrics(weights[:, r]).items():
                parts[g].setdefault(name, []).append(values)
    out = []
    for part in parts:
        out.append({m: list(percentile_interval(np.concatenate(part[m]))[:2]) for m in shown if m in part})
    return out


def _spread(groups: list[dict[str, Any]], metric: str) -> Optional[dict[str, Any]]:
    """Best and worst reliable group on the primary metric, and the gap between them."""
    scored = [g for g in groups if g["reliable"] and g["metrics"].get(metric) is not None]
    if len(scored) < 2:
        return None
    better = max if METRIC_INFO[metric].higher_is_better else min
    worse = min if better is max else max
    best = better(scored, key=lambda g: g["metrics"][metric])
    worst = worse(scored, key=lambda g: g["metrics"][metric])
    return {"metric": metric, "best": best["value"], "best_value": best["metrics"][metric],
            "worst": worst["value"], "worst_value": worst["metrics"][metric],
            "gap": abs(best["metrics"][metric] - worst["metrics"][metric])}
