"""A model's scores for prediction drift, and its performance on a labelled batch.

The model is any fitted object with scikit-learn's ``predict`` (and, for a classifier,
``predict_proba``) taking a DataFrame of the feature columns, such as the pipeline of
a model version. Its *score* per row is the positive-class probability of a binary
classifier, the predicted class of any other classifier, the prediction of a regressor.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np
import pandas as pd

from mlops_model_support import drift as metrics

#: computes the Validate page's metrics: ``evaluate(model, features, target) -> {name: value}``
Evaluate = Callable[[Any, pd.DataFrame, pd.Series], dict[str, float]]
#: rows a model scores at a time in a comparison (what it builds on the way, a one-hot
#: encoding say, grows with the rows: a million at once took more than a gigabyte)
SCORE_ROWS = 100_000


class _ScoredInParts:
    """A fitted model whose ``predict`` and ``predict_proba`` score ``SCORE_ROWS`` rows at
    a time: the same predictions, each row on its own, in the memory of one part. Every
    other attribute (``classes_``) is the model's."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._model, name)
        if name not in ("predict", "predict_proba"):
            return attr

        def in_parts(X: pd.DataFrame) -> np.ndarray:
            if len(X) <= SCORE_ROWS:
                return attr(X)
            return np.concatenate([np.asarray(attr(X.iloc[i:i + SCORE_ROWS])) for i in range(0, len(X), SCORE_ROWS)])

        return in_parts


def scored_in_parts(model: Any) -> Any:
    """``model``, scoring ``SCORE_ROWS`` rows at a time (see :class:`_ScoredInParts`)."""
    return _ScoredInParts(model)


def model_scores(model: Any, frame: pd.DataFrame) -> tuple[np.ndarray, str]:
    """One score per row and its metric kind (numeric or categorical)."""
    scores, kind, _ = scores_and_probabilities(model, frame)
    return scores, kind


def scores_and_probabilities(model: Any, frame: pd.DataFrame) -> tuple[np.ndarray, str, Optional[np.ndarray]]:
    """One score per row, its metric kind, and a classifier's class probabilities (None
    for a regressor): the model scores the rows once for both."""
    if hasattr(model, "predict_proba"):
        proba = np.asarray(model.predict_proba(frame), dtype=np.float64)
        if proba.ndim == 2 and proba.shape[1] == 2:
            return proba[:, 1].copy(), metrics.NUMERIC, proba
        return np.asarray(model.predict(frame), dtype=object), metrics.CATEGORICAL, proba
    predicted = np.asarray(model.predict(frame))
    if predicted.dtype.kind in "fiub":
        return predicted.astype(np.float64), metrics.NUMERIC, None
    return predicted.astype(object), metrics.CATEGORICAL, None


def score_batch(model: Any, frame: pd.DataFrame,
                features: list[str]) -> tuple[Optional[np.ndarray], Optional[np.ndarray], str]:
    """The model's scores and class probabilities on a batch, or None and the reason it
    could not score it."""
    missing = [f for f in features if f not in frame.columns]
    if missing:
        return None, None, f"the batch lacks columns the model needs: {', '.join(missing)}"
    try:
        scores, _, proba = scores_and_probabilities(model, frame[features])
    except Exception as exc:  # a model rejecting a batch is a property of the batch
        return None, None, f"the model could not score the batch ({type(exc).__name__}: {exc})"
    return scores, proba, ""


def performance(model: Any, frame: pd.DataFrame, features: list[str], target: str,
                evaluate: Evaluate, holdout: Optional[dict[str, float]]) -> dict[str, Any]:
    """The model's metrics on the labelled rows of a batch, next to the holdout's."""
    labelled = frame[frame[target].notna()]
    out: dict[str, Any] = {"target": target, "rows": int(len(labelled)), "holdout": holdout or {}}
    if len(labelled) == 0:
        out.update(current={}, note=f"no row of the batch has a value in {target}")
        return out
    try:
        out["current"] = {k: metrics.json_safe(v) for k, v in evaluate(model, labelled[features],
                                                                     labelled[target]).items()}
    except Exception as exc:  # the metric code rejecting this batch (e.g. one class only)
        out.update(current={}, note=f"the metrics could not be computed ({type(exc).__name__}: {exc})")
    return out
