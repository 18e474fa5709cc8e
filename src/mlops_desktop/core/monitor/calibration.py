"""Fitting the calibration that estimated performance rests on (applying it is
``mlops_model_support.performance``'s, which an exported package carries too).

For each calibrated class (binary: the positive class; more: every class, one-vs-rest)
isotonic regression of the outcome on the model's probability, fitted on labelled rows
the model was not fitted on. It is used only when it lowers the expected calibration
error (``ECE_BINS`` equal-count bins) on average across ``ECE_SPLITS`` stratified
splits (fitted on four fifths, measured on the fifth), as NannyML's CBPE decides.
``BOOTSTRAP`` isotonic fits on resamples of the same rows give the calibration's own
noise. Everything is seeded: the same rows give the same numbers (an export writes
them, and an export of the same version must give the same bytes).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
from mlops_model_support import performance as perf

SEED = 20_240_611
ECE_SPLITS = 5
ECE_BINS = 10
#: fewer labelled rows, or fewer rows of a class, and no calibration is fitted
MIN_ROWS = 100
MIN_CLASS_ROWS = 20
#: neighbouring scores pooled for the bootstrap fits
BOOTSTRAP_GROUPS = 4096


def expected_calibration_error(p: np.ndarray, outcome: np.ndarray, bins: int = ECE_BINS) -> float:
    """Σ over equal-count bins of p of the bin's share × |mean outcome − mean p|."""
    order = np.argsort(p, kind="stable")
    error = 0.0
    for part in np.array_split(order, min(bins, len(p))):
        if len(part):
            error += len(part) / len(p) * abs(float(outcome[part].mean()) - float(p[part].mean()))
    return error


def _isotonic(scores: np.ndarray, outcome: np.ndarray, weights: Optional[np.ndarray] = None) -> Any:
    from sklearn.isotonic import IsotonicRegression

    return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, outcome,
                                                                               sample_weight=weights)


def _one_class(label: str, scores: np.ndarray, outcome: np.ndarray, seed: int) -> perf.ClassCalibration:
    from sklearn.model_selection import StratifiedKFold

    raw, iso = [], []
    splits = StratifiedKFold(n_splits=ECE_SPLITS, shuffle=True, random_state=seed)
    for fit_rows, test_rows in splits.split(scores.reshape(-1, 1), outcome):
        model = _isotonic(scores[fit_rows], outcome[fit_rows])
        raw.append(expected_calibration_error(np.clip(scores[test_rows], 0, 1), outcome[test_rows]))
        iso.append(expected_calibration_error(model.predict(scores[test_rows]), outcome[test_rows]))
    ece_raw, ece_iso = float(np.mean(raw)), float(np.mean(iso))
    model = _isotonic(scores, outcome)
    cells = np.unique(np.quantile(scores, np.linspace(0, 1, perf.SCORE_CELLS + 1)[1:-1]))
    grid = np.unique(np.concatenate(([0.0], np.quantile(scores, np.linspace(0, 1, perf.BOOTSTRAP_GRID - 2)),
                                     [1.0])))
    # resamples as counts per row (the same draw as taking rows with replacement), each
    # fitted on the rows pooled into BOOTSTRAP_GROUPS runs of neighbouring scores: the
    # curves only serve the band, and a fit on a few thousand points takes milliseconds
    rng = np.random.default_rng([seed, 1])
    n = len(scores)
    order = np.argsort(scores, kind="stable")
    group = np.empty(n, dtype=np.int64)
    group[order] = np.arange(n) * min(BOOTSTRAP_GROUPS, n) // n
    curves = np.empty((perf.BOOTSTRAP, len(grid)))
    for r in range(perf.BOOTSTRAP):
        counts = np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
        weight = np.bincount(group, counts)
        kept = weight > 0
        mean_score = np.bincount(group, counts * scores)[kept] / weight[kept]
        mean_outcome = np.bincount(group, counts * outcome)[kept] / weight[kept]
        curves[r] = _isotonic(mean_score, mean_outcome, weight[kept]).predict(grid)
    return perf.ClassCalibration(label, ece_iso < ece_raw, np.asarray(model.X_thresholds_, dtype=np.float64),
                                 np.asarray(model.y_thresholds_, dtype=np.float64), ece_raw, ece_iso,
                                 cells, grid, curves)


def fit_calibration(proba: np.ndarray, labels: Sequence[Any], classes: Sequence[str], *,
                    positive_class: Optional[str] = None, threshold: Optional[float] = None,
                    reference: str = "", seed: int = SEED) -> tuple[Optional[perf.Calibration], str]:
    """The calibration of a classifier from its probabilities (columns in ``classes``
    order) on labelled rows it was not fitted on. Binary: ``positive_class`` (default
    the second class) and the decision ``threshold`` (None: the most probable class).
    Returns (the calibration, "") or (None, why none could be fitted)."""
    classes = [str(c) for c in classes]
    y = np.asarray([str(v) for v in labels], dtype=object)
    proba = np.asarray(proba, dtype=np.float64)
    if len(classes) < 2:
        return None, "the model knows one class only"
    if len(y) < MIN_ROWS:
        return None, (f"only {len(y)} labelled rows the model was not fitted on (the holdout); at least "
                      f"{MIN_ROWS} are needed to calibrate its probabilities")
    binary = len(classes) == 2
    positive = (positive_class if positive_class in classes else classes[1]) if binary else None
    kept = [positive] if binary else classes
    curves = []
    for k, label in enumerate(kept):
        outcome = (y == label).astype(np.float64)
        rows = int(outcome.sum())
        if min(rows, len(y) - rows) < MIN_CLASS_ROWS:
            return None, (f"the holdout has {rows} rows of class {label} and {len(y) - rows} of the others; "
                          f"at least {MIN_CLASS_ROWS} of each are needed to calibrate")
        column = classes.index(label)
        curves.append(_one_class(label, proba[:, column], outcome, seed + k))
    return perf.Calibration(classes, positive, None if not binary or threshold is None else float(threshold),
                            curves, len(y), reference, seed), ""
