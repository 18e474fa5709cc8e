"""The metrics every run records, per cross-validation fold and on the holdout, and
the primary metric that chooses between candidates.

Regression: RMSE, MAE, R². Classification: accuracy, balanced accuracy, F1 (of the
positive class for two classes, macro-averaged for more), ROC AUC (one-vs-rest,
macro-averaged for more classes) and log loss. Candidates are ranked by the
cross-validated mean of RMSE (regression) or log loss (classification): log loss is
defined for two and more classes alike and rewards probabilities that can be
trusted, which a threshold choice and a model card rely on.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from typing import Any, Optional

import numpy as np

REGRESSION_METRICS = ("rmse", "mae", "r2")
CLASSIFICATION_METRICS = ("accuracy", "balanced_accuracy", "f1", "roc_auc", "log_loss")
#: metric -> True when larger is better
HIGHER_IS_BETTER = {"rmse": False, "mae": False, "r2": True, "accuracy": True,
                    "balanced_accuracy": True, "f1": True, "roc_auc": True, "log_loss": False}


def primary_metric(task: str) -> str:
    """The metric that ranks candidates; the Validate page judges against the baseline
    on the same one (ROC AUC: a sound tree with pure leaves is not failed for its
    confident probabilities, as log loss would)."""
    return "rmse" if task == "regression" else "roc_auc"


def metric_names(task: str) -> tuple[str, ...]:
    return REGRESSION_METRICS if task == "regression" else CLASSIFICATION_METRICS


def _number(value: Any) -> Optional[float]:
    value = float(value)
    return value if math.isfinite(value) else None


def regression_metrics(y: np.ndarray, predicted: np.ndarray) -> dict[str, Optional[float]]:
    """RMSE, MAE and R² (None when it is not defined, e.g. a constant target)."""
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    y = np.asarray(y, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    if len(y) == 0:
        return {m: None for m in REGRESSION_METRICS}
    r2 = None
    if len(y) >= 2 and np.ptp(y) > 0:
        r2 = _number(r2_score(y, predicted))
    return {"rmse": _number(math.sqrt(mean_squared_error(y, predicted))),
            "mae": _number(mean_absolute_error(y, predicted)), "r2": r2}


def classification_metrics(y: np.ndarray, proba: np.ndarray,
                           classes: np.ndarray) -> dict[str, Optional[float]]:
    """The classification metrics from class probabilities (columns in ``classes``
    order); the predicted class is the most probable one."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, log_loss

    y = np.asarray(y)
    if len(y) == 0:
        return {m: None for m in CLASSIFICATION_METRICS}
    proba = np.asarray(proba, dtype=np.float64)
    predicted = classes[np.argmax(proba, axis=1)]
    binary = len(classes) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # absent classes in a small fold are expected
        out = {
            "accuracy": _number(accuracy_score(y, predicted)),
            "balanced_accuracy": _number(balanced_accuracy_score(y, predicted)),
            "f1": _number(f1_score(y, predicted, pos_label=classes[1], average="binary") if binary
                          else f1_score(y, predicted, labels=classes, average="macro", zero_division=0)),
            "roc_auc": _roc_auc(y, proba, classes),
            "log_loss": _number(log_loss(y, _normalised(proba), labels=classes)),
        }
    return out


def _normalised(proba: np.ndarray) -> np.ndarray:
    totals = proba.sum(axis=1, keepdims=True)
    return np.divide(proba, totals, out=np.full_like(proba, 1.0 / proba.shape[1]), where=totals > 0)


def _roc_auc(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> Optional[float]:
    """Binary AUC of the second class, or the mean one-vs-rest AUC over the classes
    that have both positive and negative rows (None when no class has)."""
    from sklearn.metrics import roc_auc_score

    columns = [1] if len(classes) == 2 else range(len(classes))
    scores = []
    for k in columns:
        positive = y == classes[k]
        if positive.all() or not positive.any():
            continue
        scores.append(roc_auc_score(positive, proba[:, k]))
    return _number(np.mean(scores)) if scores else None


def compute(task: str, y: np.ndarray, predictions: np.ndarray,
            classes: Optional[np.ndarray]) -> dict[str, Optional[float]]:
    """The task's metrics; ``predictions`` are values (regression) or probabilities."""
    if task == "regression":
        return regression_metrics(y, predictions)
    return classification_metrics(y, predictions, classes)


def summarise(folds: list[dict[str, Optional[float]]], task: str) -> dict[str, dict[str, Optional[float]]]:
    """Mean and standard deviation of each metric over the folds where it is defined."""
    out: dict[str, dict[str, Optional[float]]] = {}
    for name in metric_names(task):
        values = [f[name] for f in folds if f.get(name) is not None]
        out[name] = {"mean": _number(np.mean(values)) if values else None,
                     "std": _number(np.std(values)) if values else None,
                     "folds": len(values)}
    return out


def better(a: Optional[float], b: Optional[float], metric: str) -> bool:
    """True when ``a`` is strictly better than ``b`` (a missing value is worst)."""
    if a is None:
        return False
    if b is None:
        return True
    return a > b if HIGHER_IS_BETTER[metric] else a < b


def prediction_hash(predictions: np.ndarray) -> str:
    """SHA-256 of a prediction array (as little-endian float64, its shape included):
    the same model on the same rows gives the same hash."""
    arr = np.ascontiguousarray(np.asarray(predictions, dtype="<f8"))
    h = hashlib.sha256(f"{arr.shape}".encode("ascii"))
    h.update(arr.tobytes())
    return h.hexdigest()
