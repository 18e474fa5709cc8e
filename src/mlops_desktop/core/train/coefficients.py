"""The coefficient table of an ordinary-least-squares or logistic model trained by the
app: one row per term with estimate, standard error, test statistic, p-value and 95%
interval, and odds ratios for logistic models. Numbers are in the units of the
original features (these families are not scaled by default); one-hot columns are
named ``column_level`` and compare that level with the left-out first level."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..plain import json_safe

INTERCEPT = "(intercept)"


def coefficient_table(model: Any) -> Optional[list[dict[str, Any]]]:
    """Rows of the coefficient table of a fitted pipeline whose estimator is the OLS or
    logistic wrapper; None for any other model (trees, penalised models, segments)."""
    from .estimators import StatsmodelsLogit, StatsmodelsOLS  # scikit-learn loads on first use

    if not hasattr(model, "steps"):
        return None
    estimator = model.steps[-1][1]
    if not isinstance(estimator, (StatsmodelsOLS, StatsmodelsLogit)) or not hasattr(estimator, "params_"):
        return None
    names = [INTERCEPT] + _feature_names(model, len(estimator.params_) - 1)
    if isinstance(estimator, StatsmodelsOLS):
        return json_safe([_row(names[i], estimator.params_[i], estimator.bse_[i], estimator.tvalues_[i],
                               estimator.pvalues_[i], estimator.conf_int_[i], estimator.statistic_)
                          for i in range(len(names))])
    rows = []
    classes = estimator.classes_
    for k in range(estimator.params_.shape[1]):
        for i, name in enumerate(names):
            row = _row(name, estimator.params_[i, k], estimator.bse_[i, k], estimator.zvalues_[i, k],
                       estimator.pvalues_[i, k], estimator.conf_int_[i, k], "z")
            with np.errstate(over="ignore"):
                row.update(odds_ratio=np.exp(row["estimate"]), odds_ratio_ci_low=np.exp(row["ci_low"]),
                           odds_ratio_ci_high=np.exp(row["ci_high"]))
            row.update({"class": classes[k + 1], "reference_class": classes[0]})
            rows.append(row)
    return json_safe(rows)


def _row(name: str, estimate: float, se: float, statistic: float, p: float, ci: np.ndarray,
         kind: str) -> dict[str, Any]:
    return {"name": name, "estimate": float(estimate), "std_error": float(se),
            "statistic": float(statistic), "statistic_kind": kind, "p_value": float(p),
            "ci_low": float(ci[0]), "ci_high": float(ci[1])}


def _feature_names(pipeline: Any, n: int) -> list[str]:
    steps = dict(pipeline.steps)
    preprocess = steps.get("preprocess")
    try:
        names = [str(v) for v in preprocess.get_feature_names_out()] if preprocess is not None else []
    except (AttributeError, ValueError):
        names = []
    return names if len(names) == n else [f"x{i}" for i in range(n)]
