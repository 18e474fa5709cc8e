"""Metrics per segment and per subgroup, with counts, so unequal performance shows.

Each value of a column is a group; its metrics are the holdout metrics computed on its
rows only (one weight row per group for the scorers). Groups of fewer than
``MIN_RELIABLE_ROWS`` rows are flagged as unreliable; columns with many values keep the
largest ``MAX_GROUPS`` and pool the rest.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import pandas as pd

from .metrics import GROUP_METRICS, METRIC_INFO, PRIMARY

MIN_RELIABLE_ROWS = 30
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


def group_report(scorer: Any, values: pd.Series, column: str, kind: str) -> dict[str, Any]:
    """Per-value point metrics of ``scorer``'s model for one column (``kind`` is
    "segment" or "subgroup")."""
    labels, pooled = group_labels(values.reset_index(drop=True))
    names, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    masks = np.zeros((len(names), len(labels)))
    masks[inverse, np.arange(len(labels))] = 1.0
    task = scorer.task
    computed = scorer.metrics(masks)
    shown = [m for m in GROUP_METRICS[task] if m in computed]
    n = len(labels)
    groups = []
    for g in np.argsort(-counts, kind="mergesort"):
        metrics = {m: (float(computed[m][g]) if np.isfinite(computed[m][g]) else None) for m in shown}
        groups.append({"value": str(names[g]), "count": int(counts[g]), "share": float(counts[g] / n),
                       "reliable": bool(counts[g] >= MIN_RELIABLE_ROWS), "metrics": metrics})
    primary = PRIMARY[task]
    return {"column": column, "kind": kind, "primary_metric": primary, "metrics": shown,
            "groups": groups, "pooled_values": pooled, "min_reliable_rows": MIN_RELIABLE_ROWS,
            "spread": _spread(groups, primary)}


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
