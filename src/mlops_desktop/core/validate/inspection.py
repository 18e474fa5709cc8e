"""What the model relies on: permutation importance on the holdout and partial
dependence of the most important features, both from ``sklearn.inspection``.

Both work on the model's raw input columns (a categorical column is permuted as a whole,
not one one-hot column at a time) and on a seeded sample of at most a few thousand rows,
because each needs many predictions.
"""

from __future__ import annotations

import warnings
from typing import Any, Optional

import numpy as np
import pandas as pd
from scipy.stats.mstats import mquantiles
from sklearn.inspection import partial_dependence, permutation_importance

from .holdout import Holdout
from .results import BINARY, MULTICLASS

#: rows used for permutation importance and partial dependence
IMPORTANCE_ROWS = 5000
DEPENDENCE_ROWS = 2000
GRID_POINTS = 20
#: scikit-learn scorer per task, and what a drop in it means
SCORING = {BINARY: ("roc_auc", "drop in ROC AUC when the feature is shuffled"),
           MULTICLASS: ("neg_log_loss", "rise in log loss when the feature is shuffled"),
           "regression": ("neg_root_mean_squared_error", "rise in RMSE when the feature is shuffled")}


def sample_positions(n: int, limit: int, seed: int) -> np.ndarray:
    """Sorted positions of at most ``limit`` rows, drawn with ``seed``."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))


def importance(model: Any, holdout: Holdout, *, repeats: int, seed: int,
               rows: int = IMPORTANCE_ROWS) -> tuple[list[dict[str, Any]], list[str]]:
    """Permutation importance per input column, most important first, and notes.

    Calls ``permutation_importance(model, X, y, scoring=..., n_repeats=repeats,
    random_state=seed)`` on the sample; importance is how much the primary metric gets
    worse, so larger means the model relies on the column more.
    """
    notes: list[str] = []
    keep = sample_positions(holdout.n, rows, seed)
    if len(keep) < holdout.n:
        notes.append(f"Permutation importance used a random sample of {len(keep):,} of the "
                     f"{holdout.n:,} holdout rows (seed {seed}).")
    X = holdout.X.iloc[keep]
    y = holdout.y_labels[keep]
    scoring, _ = SCORING[holdout.task]
    if holdout.task == BINARY and len(np.unique(y)) < 2:
        notes.append("Permutation importance was not computed: the holdout rows hold one class, "
                     "so ROC AUC is not defined.")
        return [], notes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = permutation_importance(model, X, y, scoring=scoring, n_repeats=repeats,
                                        random_state=seed)
    rows_out = [{"feature": str(col), "mean": float(result.importances_mean[i]),
                 "std": float(result.importances_std[i])} for i, col in enumerate(X.columns)]
    rows_out.sort(key=lambda r: -r["mean"])
    return rows_out, notes


def _is_categorical(values: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)


def _grid(values: pd.Series, categorical: bool) -> Optional[np.ndarray]:
    """scikit-learn's default grid (unique values when fewer than ``GRID_POINTS``, else
    evenly spaced between the 5th and 95th percentiles; every category), built here so
    that missing values do not break it and rare categories stay out."""
    present = values.dropna()
    if present.empty:
        return None
    if categorical:
        # the most frequent values, in their own type (the model was fitted on those)
        top = list(present.value_counts().index[:GRID_POINTS])
        return np.asarray(sorted(top, key=str), dtype=object)
    x = present.to_numpy(dtype=float)
    uniques = np.unique(x)
    if len(uniques) < GRID_POINTS:
        return uniques
    # scikit-learn's own percentile estimate, so a column without gaps gets its default grid
    low, high = mquantiles(x, prob=(0.05, 0.95))
    if np.isclose(low, high):
        return uniques[:GRID_POINTS]
    return np.linspace(low, high, GRID_POINTS)


def dependence(model: Any, holdout: Holdout, features: list[str], *, seed: int,
               rows: int = DEPENDENCE_ROWS) -> tuple[list[dict[str, Any]], list[str]]:
    """Average prediction (probability of the positive class, of each class, or the
    predicted value) as each feature in ``features`` is set to each value of a grid."""
    notes: list[str] = []
    if not features:
        return [], notes
    keep = sample_positions(holdout.n, rows, seed)
    X = holdout.X.iloc[keep].copy()
    # scikit-learn refuses integer columns (the grid would be rounded); floats are the same values
    for col in X.columns:
        if pd.api.types.is_integer_dtype(X[col]) and not pd.api.types.is_bool_dtype(X[col]):
            X[col] = X[col].astype(float)
    if len(keep) < holdout.n:
        notes.append(f"Partial dependence used a random sample of {len(keep):,} holdout rows "
                     f"(seed {seed}).")
    out = []
    for feature in features:
        categorical = _is_categorical(X[feature])
        grid = _grid(X[feature], categorical)
        if grid is None:
            notes.append(f"No partial dependence for {feature!r}: it has no values in the sample.")
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pd_result = partial_dependence(model, X, [feature], kind="average", method="brute",
                                               categorical_features=[feature] if categorical else None,
                                               custom_values={feature: grid})
        except (ValueError, TypeError) as exc:
            notes.append(f"No partial dependence for {feature!r}: {exc}")
            continue
        average = np.asarray(pd_result["average"])
        entry: dict[str, Any] = {"feature": feature, "kind": "categorical" if categorical else "numeric",
                                 "grid": [str(v) if categorical else float(v)
                                          for v in pd_result["grid_values"][0]]}
        if holdout.task == BINARY:
            # scikit-learn gives the probability of classes_[1]
            curve = average[0] if holdout.positive_index == 1 else 1 - average[0]
            entry.update(average=curve.tolist(),
                         response=f"probability of {str(holdout.classes[holdout.positive_index])!r}")
        elif holdout.task == MULTICLASS:
            entry.update(average=None, response="probability of each class",
                         average_by_class={str(c): average[j].tolist()
                                           for j, c in enumerate(holdout.classes)})
        else:
            entry.update(average=average[0].tolist(), response="predicted value")
        out.append(entry)
    return out, notes
