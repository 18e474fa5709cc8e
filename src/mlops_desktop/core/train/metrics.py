"""The metrics every run records, per cross-validation fold and on the holdout, and
the ranking metric that chooses between candidates (the one owner of that rule).

Regression: RMSE, MAE, R². Classification: accuracy, balanced accuracy, F1 (of the
positive class for two classes, macro-averaged for more), ROC AUC (one-vs-rest,
macro-averaged for more classes) and log loss. Candidates (and the settings a search
tries) are ranked by the cross-validated mean of the ranking metric: the analyst may
choose any of the task's metrics (``TrainSpec.ranking_metric``); by default it is the
primary metric, RMSE for regression and ROC AUC for classification. ROC AUC rather
than log loss: log loss would fail a sound decision tree, whose pure leaves give
confident probabilities. The primary metric is also the one Validate judges "beats
the baseline" on, whatever a run was ranked by: that verdict is a governance rule,
the same for every version.
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
    """The metric that ranks candidates unless the analyst chooses another, and that
    Validate judges "beats the baseline" on: RMSE for regression, ROC AUC for binary and
    multiclass classification."""
    return "rmse" if task == "regression" else "roc_auc"


def metric_names(task: str) -> tuple[str, ...]:
    """The metrics a run records for ``task`` (regression, classification, binary or
    multiclass): the choices for ranking its candidates."""
    return REGRESSION_METRICS if task == "regression" else CLASSIFICATION_METRICS


def ranking_metric(task: str, chosen: Optional[str] = None) -> str:
    """The metric that ranks a run's candidates: ``chosen`` (one of the task's metrics,
    else InvalidChoiceError), or the primary metric."""
    if chosen is None:
        return primary_metric(task)
    if chosen not in metric_names(task):
        from ..errors import InvalidChoiceError

        kind = "regression" if task == "regression" else "classification"
        raise InvalidChoiceError(f"{chosen!r} cannot rank {kind} models; use one of "
                                 f"{', '.join(metric_names(task))}.")
    return chosen


def best_first(values: list[Optional[float]], metric: str) -> list[int]:
    """Positions of ``values`` from the best to the worst by ``metric`` (missing last,
    ties in the given order)."""
    sign = -1.0 if HIGHER_IS_BETTER[metric] else 1.0
    return sorted(range(len(values)), key=lambda i: (values[i] is None, sign * (values[i] or 0.0)))


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
