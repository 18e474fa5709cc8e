"""Chart data for the Validate page and the model card: ROC, precision–recall and
calibration curves for classifiers; residuals and predicted against actual for
regression. Curves are scikit-learn's own; long ones are thinned to evenly spaced
points with both ends kept, scatter plots to a fixed-seed sample.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_curve

from ..checks.result import quantile_positions, thin

#: most points a curve or a scatter plot carries
MAX_POINTS = 2000
CALIBRATION_BINS = 10
#: curves are drawn for at most this many classes of a multiclass model
MAX_CLASS_CURVES = 10


def _thin_curve(*arrays: np.ndarray) -> list[list[Any]]:
    keep = quantile_positions(len(arrays[0]), MAX_POINTS)
    return [np.asarray(a)[keep].tolist() for a in arrays]


def calibration(positive: np.ndarray, scores: np.ndarray, n_bins: int = CALIBRATION_BINS) -> dict[str, Any]:
    """Observed share of positives against mean predicted probability in bins holding
    equal numbers of rows, computed as scikit-learn's ``calibration_curve(strategy="quantile")``
    does, plus the rows per bin."""
    y = np.asarray(positive, dtype=float)
    p = np.asarray(scores, dtype=float)
    edges = np.percentile(p, np.linspace(0, 1, n_bins + 1) * 100)
    bin_of = np.searchsorted(edges[1:-1], p)
    total = np.bincount(bin_of, minlength=n_bins)
    used = total > 0
    return {"strategy": "quantile", "n_bins": n_bins,
            "mean_predicted": (np.bincount(bin_of, weights=p, minlength=n_bins)[used] / total[used]).tolist(),
            "observed": (np.bincount(bin_of, weights=y, minlength=n_bins)[used] / total[used]).tolist(),
            "rows": total[used].tolist()}


def binary_curves(positive: np.ndarray, scores: np.ndarray, threshold: Optional[float]) -> dict[str, Any]:
    """ROC, PR and calibration data for the positive class; the threshold's point on each."""
    y = np.asarray(positive, dtype=bool)
    out: dict[str, Any] = {}
    if y.all() or not y.any():
        # one class only: neither curve is defined (scikit-learn would warn and return NaN)
        out["roc"] = out["pr"] = None
    else:
        fpr, tpr, roc_t = roc_curve(y, scores)
        fpr, tpr, roc_t = _thin_curve(fpr, tpr, roc_t)
        precision, recall, pr_t = precision_recall_curve(y, scores)
        # precision_recall_curve has one more point than thresholds (recall 0, precision 1)
        precision, recall, pr_t = _thin_curve(precision, recall, np.r_[pr_t, np.nan])
        out["roc"] = {"fpr": fpr, "tpr": tpr, "thresholds": roc_t}
        out["pr"] = {"precision": precision, "recall": recall, "thresholds": pr_t,
                     "positive_rate": float(y.mean())}
        if threshold is not None:
            pred = np.asarray(scores) >= threshold
            tp = float((pred & y).sum())
            out["roc"]["at_threshold"] = {"threshold": threshold, "fpr": float((pred & ~y).sum() / (~y).sum()),
                                          "tpr": tp / y.sum()}
            out["pr"]["at_threshold"] = {"threshold": threshold, "recall": tp / y.sum(),
                                         "precision": tp / pred.sum() if pred.any() else None}
    out["calibration"] = calibration(y, scores)
    return out


def multiclass_curves(y_index: np.ndarray, proba: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """One-vs-rest ROC, PR and calibration curves, one entry per class (the first
    ``MAX_CLASS_CURVES`` classes)."""
    per_class = []
    for j, name in enumerate(classes[:MAX_CLASS_CURVES]):
        curves = binary_curves(np.asarray(y_index) == j, proba[:, j], None)
        per_class.append({"class": name, **curves})
    return {"by_class": per_class, "classes_shown": len(per_class), "classes": len(classes)}


def regression_curves(actual: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """Residuals (actual − predicted) against fitted values, their histogram, and
    predicted against actual."""
    actual = np.asarray(actual, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    residual = actual - predicted
    keep = thin(len(actual), MAX_POINTS)
    bins = int(min(50, max(5, np.ceil(np.sqrt(len(residual))))))
    counts, edges = np.histogram(residual, bins=bins)
    return {
        "residuals_vs_fitted": {"fitted": predicted[keep].tolist(), "residual": residual[keep].tolist(),
                                "rows_shown": len(keep), "rows": len(actual)},
        "residual_histogram": {"edges": edges.tolist(), "counts": counts.tolist()},
        "predicted_vs_actual": {"actual": actual[keep].tolist(), "predicted": predicted[keep].tolist(),
                                "rows_shown": len(keep), "rows": len(actual)},
    }
