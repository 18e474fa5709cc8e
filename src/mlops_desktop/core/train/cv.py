"""Cross-validation: fit on all folds but one, predict the one left out, for each
fold; folds run in parallel where that pays, and the caller hears of each finished
fold (for progress and cancel).

Out-of-fold predictions are kept, so a segmented model's folds can be pooled and
scored like any other model's.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
import pandas as pd

from . import metrics

Folds = list[tuple[np.ndarray, np.ndarray]]


@dataclass
class FoldPredictions:
    """Out-of-fold predictions over the rows of one cross-validation."""

    #: per row: the prediction (regression) or class probabilities; nan for a row no
    #: fold predicted (the first block of a time-series split)
    predictions: np.ndarray
    #: per row: the fold that predicted it, -1 for none
    fold_of: np.ndarray
    fold_metrics: list[dict[str, Optional[float]]]
    warnings: list[str] = field(default_factory=list)


def predict_for_metrics(model: Any, X: pd.DataFrame, classes: Optional[np.ndarray]) -> np.ndarray:
    """Predicted values (regression) or probabilities in ``classes`` order: a model that
    never saw a class gives it probability 0."""
    if classes is None:
        return np.asarray(model.predict(X), dtype=np.float64)
    proba = np.asarray(model.predict_proba(X), dtype=np.float64)
    own = np.asarray(model.classes_)
    if len(own) == len(classes) and np.array_equal(own, classes):
        return proba
    out = np.zeros((len(X), len(classes)))
    out[:, np.searchsorted(classes, own)] = proba
    return out


def kept_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    """The warnings worth showing an analyst: convergence and separation problems.
    (Unknown categories in a fold, deprecations and the like are expected noise.)"""
    from sklearn.exceptions import ConvergenceWarning

    kept = []
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            text = " ".join(str(w.message).split())
            if text not in kept:
                kept.append(text)
    return kept


def fit_quietly(model: Any, X: pd.DataFrame, y: np.ndarray) -> tuple[Any, list[str]]:
    """Fit, returning the model and the warnings worth showing."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    return model, kept_warnings(caught)


def _fold(template: Any, X: pd.DataFrame, y: np.ndarray, train: np.ndarray, test: np.ndarray,
          classes: Optional[np.ndarray]) -> tuple[np.ndarray, list[str]]:
    from sklearn.base import clone

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = clone(template).fit(X.iloc[train], y[train])
        predicted = predict_for_metrics(model, X.iloc[test], classes)
    return predicted, kept_warnings(caught)


def cross_validate(template: Any, X: pd.DataFrame, y: np.ndarray, folds: Folds, task: str,
                   classes: Optional[np.ndarray], *, n_jobs: int = 1,
                   on_fold: Callable[[int], None] = lambda i: None) -> FoldPredictions:
    """Out-of-fold predictions and per-fold metrics of ``template`` (cloned per fold).

    ``on_fold(i)`` runs after each finished fold; when it raises (a cancel), the
    folds not yet started are abandoned.
    """
    n = len(y)
    shape = (n,) if classes is None else (n, len(classes))
    predictions = np.full(shape, np.nan)
    fold_of = np.full(n, -1, dtype=np.int64)
    jobs = ((template, X, y, train, test, classes) for train, test in folds)
    if n_jobs > 1 and len(folds) > 1:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=n_jobs, return_as="generator")(delayed(_fold)(*job) for job in jobs)
    else:
        results = (_fold(*job) for job in jobs)
    fold_metrics, messages = [], []
    try:
        for i, (predicted, caught) in enumerate(results):
            test = folds[i][1]
            predictions[test] = predicted
            fold_of[test] = i
            fold_metrics.append(metrics.compute(task, y[test], predicted, classes))
            messages += [m for m in caught if m not in messages]
            on_fold(i)
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()  # a generator closed early cancels the folds still queued
    return FoldPredictions(predictions, fold_of, fold_metrics, messages)
