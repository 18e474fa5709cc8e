"""The candidates of a run side by side, for the leaderboard's chart: each candidate's
ROC curve (classification; one class against the rest for more than two) or its
residuals against its fitted values (regression), with 95% bootstrap bands.

The rows are the holdout, or, for a run trained on every row, the training part's
out-of-fold cross-validation predictions (never predictions on rows a model was fitted
on). The band: the rows are resampled with replacement (seeded), the curve computed
for every resample, and the 2.5th and 97.5th percentiles kept at each point.

- ROC: the true positive rate at a fixed grid of false positive rates (vertical
  averaging: at each grid value, the highest rate reached at or before it), from the
  point (0, 0), and the area under the curve.
- Residuals: the rows are put in bins of equal size by the candidate's fitted value;
  per bin, the mean fitted value and the mean residual (actual − fitted) with its band.
  A flat line at zero is a model without systematic error; a curve shows where it errs.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional, Sequence

import numpy as np

from ..plain import json_safe

RESAMPLES = 200
#: false positive rates at which ROC curves and their bands are given
FPR_GRID = np.linspace(0.0, 1.0, 51)
#: at most this many bins of fitted values, with at least ROWS_PER_BIN rows each where
#: the rows allow (a mean of three residuals is mostly noise)
RESIDUAL_BINS = 20
ROWS_PER_BIN = 30
#: curves (candidates × classes) × rows the bootstrap may cover: more rows are subsampled
#: (seeded) before it. Bands of many thousand rows are narrow already, and a run stays
#: quick (about 3 s for seven two-class candidates on 50,000 rows)
MAX_WORK = 7 * 50_000
MIN_ROWS = 5_000


def candidate_curves(task: str, y: np.ndarray, predictions: Sequence[tuple[str, str, np.ndarray]], *,
                     classes: Optional[np.ndarray], on: str, seed: int) -> dict[str, Any]:
    """The chart's data for ``predictions`` ((family, label, values or class
    probabilities) per candidate) of the rows whose actual values are ``y``. ``on`` says
    which rows these are, in words."""
    y = np.asarray(y)
    keep = np.ones(len(y), dtype=bool)
    for _f, _l, p in predictions:
        p = np.asarray(p, dtype=float)
        keep &= np.all(np.isfinite(p.reshape(len(y), -1)), axis=1)  # rows no fold predicted
    rows = np.flatnonzero(keep)
    n_curves = len(predictions) * (1 if task == "regression" or len(classes) == 2 else len(classes))
    limit = max(MIN_ROWS, MAX_WORK // max(n_curves, 1))
    note = ""
    if len(rows) > limit:
        rows = np.sort(np.random.default_rng(seed).choice(rows, limit, replace=False))
        note = f" (a random {limit:,} of them)"
    weights = _Resamples(len(rows), seed)
    out: dict[str, Any] = {"on": on + note, "rows": int(len(rows)), "resamples": RESAMPLES,
                           "interval": f"95% bootstrap band ({RESAMPLES} resamples of the rows)",
                           "kind": "residuals" if task == "regression" else "roc", "candidates": []}
    if task == "regression":
        actual = y[rows].astype(float)
        for family, label, p in predictions:
            fitted = np.asarray(p, dtype=float)[rows]
            out["candidates"].append({"family": family, "label": label,
                                      **_residuals(actual, fitted, weights)})
        return json_safe(out)
    shown = [classes[1]] if len(classes) == 2 else list(classes)  # binary: the positive class
    out["classes"] = [str(c) for c in shown]
    for family, label, p in predictions:
        proba = np.asarray(p, dtype=float).reshape(len(y), -1)[rows]
        by_class = []
        for c in shown:
            k = int(np.flatnonzero(classes == c)[0])
            by_class.append({"class": str(c), **_roc(y[rows] == c, proba[:, k], weights)})
        out["candidates"].append({"family": family, "label": label, "by_class": by_class})
    return json_safe(out)


class _Resamples:
    """The bootstrap's row weights (how often each row is drawn), one resample at a
    time (a few hundred arrays of every row would take much memory): the same
    resamples for every candidate, so their bands are comparable."""

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed = n, seed

    def __iter__(self) -> Iterator[np.ndarray]:
        for b in range(RESAMPLES):
            rng = np.random.default_rng([self.seed, b])
            yield np.bincount(rng.integers(0, self.n, self.n), minlength=self.n).astype(float)


def _roc_points(positive: np.ndarray, scores: np.ndarray, order: np.ndarray, ends: np.ndarray,
                w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False and true positive rates at each distinct score (highest first), from 0."""
    pos = np.cumsum((w * positive)[order])[ends]
    neg = np.cumsum((w * ~positive)[order])[ends]
    n_pos, n_neg = pos[-1], neg[-1]
    if n_pos == 0 or n_neg == 0:
        return np.array([0.0, 1.0]), np.array([np.nan, np.nan])
    return np.r_[0.0, neg / n_neg], np.r_[0.0, pos / n_pos]


def _roc(positive: np.ndarray, scores: np.ndarray, weights: _Resamples) -> dict[str, Any]:
    order = np.argsort(-scores, kind="mergesort")
    s = scores[order]
    ends = np.r_[np.flatnonzero(s[1:] != s[:-1]), len(s) - 1]  # the last row of each distinct score
    fpr, tpr = _roc_points(positive, scores, order, ends, np.ones(len(scores)))
    auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)) if np.isfinite(tpr).all() else None
    curves = []
    for w in weights:
        f, t = _roc_points(positive, scores, order, ends, w)
        curves.append(t[np.searchsorted(f, FPR_GRID, side="right") - 1])
    low, high = _band(np.vstack(curves))
    # from (0, 0): at a false positive rate of 0 the curve rises straight to its first grid value
    return {"fpr": np.r_[0.0, FPR_GRID], "tpr": np.r_[0.0, tpr[np.searchsorted(fpr, FPR_GRID, side="right") - 1]],
            "low": np.r_[0.0, low], "high": np.r_[0.0, high], "auc": auc}


def _residuals(actual: np.ndarray, fitted: np.ndarray, weights: _Resamples) -> dict[str, Any]:
    order = np.argsort(fitted, kind="mergesort")
    n_wanted = int(np.clip(len(fitted) // ROWS_PER_BIN, 4, RESIDUAL_BINS))
    bins = np.empty(len(fitted), dtype=int)
    bins[order] = np.minimum(np.arange(len(fitted)) * n_wanted // max(len(fitted), 1), n_wanted - 1)
    n_bins = int(bins.max()) + 1 if len(bins) else 0
    residual = actual - fitted

    def means(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        total = np.bincount(bins, w, n_bins)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (np.bincount(bins, w * fitted, n_bins) / total, np.bincount(bins, w * residual, n_bins) / total)

    x, y = means(np.ones(len(fitted)))
    low, high = _band(np.vstack([means(w)[1] for w in weights]))
    return {"fitted": x, "residual": y, "low": low, "high": high,
            "count": np.bincount(bins, minlength=n_bins)}


def _band(curves: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 2.5th and 97.5th percentiles of each point over the resamples (NaN where no
    resample defines it, e.g. a class drawn in none)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "All-NaN slice": such a point stays NaN
        low, high = np.nanpercentile(curves, [2.5, 97.5], axis=0)
    return low, high
