"""The coefficient table of a linear or logistic model: estimate, standard error,
test statistic, p-value, 95% interval, and the odds ratio for logistic models.

Estimates are the fitted model's own. Standard errors are the classical ones at those
estimates (OLS: σ²(XᵀX)⁻¹ with a t distribution; logistic: the inverse Fisher
information (XᵀWX)⁻¹ with a normal distribution, as statsmodels' ``OLS`` and ``Logit``
give them). They hold for unpenalised fits only: a penalty pulls the estimates toward
zero and the usual formulas no longer describe their uncertainty, so penalised models
get estimates without standard errors, and the table says why.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Optional

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.linear_model import (ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge)
from sklearn.pipeline import Pipeline

from ..plain import json_safe
from .errors import ValidationError
from .holdout import class_positions, model_columns

INTERCEPT = "(intercept)"
_LINEAR = (LinearRegression, Ridge, Lasso, ElasticNet)


@dataclass
class CoefficientTable:
    """One row per model term: name, estimate, std_error, statistic, p_value, ci_low,
    ci_high, and odds_ratio (logistic) or class (multiclass logistic)."""

    model: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: "t" (linear) or "z" (logistic); None when no standard errors were computed
    statistic: Optional[str] = None
    n_rows: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return json_safe(asdict(self))


def _split(model: Any) -> tuple[Optional[Any], Any]:
    if isinstance(model, Pipeline):
        return (model[:-1] if len(model.steps) > 1 else None), model.steps[-1][1]
    return None, model


def _unpenalised(est: Any) -> bool:
    if isinstance(est, LinearRegression):
        return True
    if isinstance(est, LogisticRegression):
        penalty = getattr(est, "penalty", None)
        return penalty is None or penalty == "none" or not np.isfinite(est.C)
    return float(getattr(est, "alpha", 1.0)) == 0.0


def _design(pre: Any, X: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    if pre is None:
        return X.to_numpy(dtype=float), [str(c) for c in X.columns]
    Z = pre.transform(X)
    if hasattr(Z, "toarray"):
        Z = Z.toarray()
    try:
        names = [str(n) for n in pre.get_feature_names_out()]
    except (AttributeError, ValueError, TypeError):
        names = [f"x{i}" for i in range(Z.shape[1])]
    return np.asarray(Z, dtype=float), names


def has_coefficients(model: Any) -> bool:
    """True for a linear regression or logistic model (alone or ending a pipeline)."""
    return isinstance(_split(model)[1], _LINEAR + (LogisticRegression,))


def coefficient_table(model: Any, X: pd.DataFrame, y: pd.Series, *,
                      positive_class: Any = None) -> Optional[CoefficientTable]:
    """The coefficient table of ``model``, or None when it is not a linear or logistic
    model. Pass the rows the model was trained on: standard errors describe the fit."""
    if not has_coefficients(model):
        return None
    pre, est = _split(model)
    y = pd.Series(y).reset_index(drop=True)
    keep = ~pd.isna(y).to_numpy()
    X = X.reset_index(drop=True).loc[keep, model_columns(model, X)]
    y = y[keep].reset_index(drop=True)
    if len(y) == 0:
        raise ValidationError("The coefficient table needs rows with a target value; there are none.")
    Z, names = _design(pre, X)
    table = CoefficientTable(model=type(est).__name__, n_rows=len(y))
    if pre is not None:
        table.notes.append("Coefficients are per unit of each column as the model sees it after "
                           "its preprocessing (e.g. scaled numbers, one column per category).")
    coef = np.atleast_2d(np.asarray(est.coef_, dtype=float))
    intercept = np.atleast_1d(np.asarray(est.intercept_, dtype=float)) if est.fit_intercept else None
    logistic = isinstance(est, LogisticRegression)
    if logistic and coef.shape[0] > 1:
        # multinomial: one set per class, identified only relative to each other
        for j, cls in enumerate(est.classes_):
            for name, b in _terms(names, coef[j], None if intercept is None else intercept[j]):
                table.rows.append({"class": str(cls), "name": name, "estimate": b, "odds_ratio": float(np.exp(b))})
        table.notes.append("Multiclass logistic models have one coefficient set per class, "
                           "identified only relative to each other; standard errors are not given.")
        return table
    b = coef[0]
    flip = False
    if logistic:
        if positive_class is not None:
            flip = class_positions(pd.Series([positive_class]), np.asarray(est.classes_))[0] == 0
        pos_label = est.classes_[0 if flip else 1]
        other = est.classes_[1 if flip else 0]
        table.notes.append(f"Estimates are changes in the log-odds of {str(pos_label)!r} "
                           f"(against {str(other)!r}); the odds ratio is exp(estimate).")
    terms = _terms(names, b, None if intercept is None else intercept[0])
    design = np.column_stack([np.ones(len(y)), Z]) if intercept is not None else Z
    beta = np.array([t[1] for t in terms])
    se: Optional[np.ndarray] = None
    if not _unpenalised(est):
        table.notes.append(f"{type(est).__name__} was fitted with a penalty, which pulls estimates "
                           "toward zero; standard errors and p-values do not apply to penalised "
                           "estimates and are not given. Train without a penalty to get them.")
    elif np.linalg.matrix_rank(design.T @ design) < design.shape[1]:
        table.notes.append("Some columns are exact combinations of others (e.g. every category "
                           "one-hot encoded next to an intercept); the coefficients are not "
                           "identified, so standard errors are not given.")
    elif len(y) <= design.shape[1]:
        table.notes.append("There are no more rows than coefficients; standard errors are not given.")
    else:
        se = _standard_errors(design, beta, y, logistic)
        if se is None:
            table.notes.append("The fit is (nearly) singular — with a logistic model usually because "
                               "some column separates the classes perfectly — so standard errors "
                               "are not given.")
        else:
            table.statistic = "z" if logistic else "t"
    sign = -1.0 if flip else 1.0
    for i, (name, estimate) in enumerate(terms):
        estimate = sign * estimate
        row: dict[str, Any] = {"name": name, "estimate": estimate, "std_error": None,
                               "statistic": None, "p_value": None, "ci_low": None, "ci_high": None}
        if se is not None:
            stat = estimate / se[i]
            if table.statistic == "t":
                df = len(y) - design.shape[1]
                p_value, q = 2 * stats.t.sf(abs(stat), df), stats.t.ppf(0.975, df)
            else:
                p_value, q = 2 * stats.norm.sf(abs(stat)), stats.norm.ppf(0.975)
            row.update(std_error=float(se[i]), statistic=float(stat), p_value=float(p_value),
                       ci_low=float(estimate - q * se[i]), ci_high=float(estimate + q * se[i]))
        if logistic:
            row["odds_ratio"] = float(np.exp(estimate))
        table.rows.append(row)
    return table


def _standard_errors(design: np.ndarray, beta: np.ndarray, y: pd.Series,
                     logistic: bool) -> Optional[np.ndarray]:
    """Classical standard errors at ``beta``; None when the matrix cannot be inverted."""
    with np.errstate(all="ignore"):
        if logistic:
            p = 1 / (1 + np.exp(-(design @ beta)))
            matrix = design.T @ (design * (p * (1 - p))[:, None])
            scale = 1.0
        else:
            resid = y.to_numpy(dtype=float) - design @ beta
            matrix = design.T @ design
            scale = float(resid @ resid) / (len(y) - design.shape[1])
        try:
            cov = scale * np.linalg.inv(matrix)
        except np.linalg.LinAlgError:
            return None
        variances = np.diag(cov)
    if not np.all(np.isfinite(variances)) or np.any(variances <= 0):
        return None
    return np.sqrt(variances)


def _terms(names: list[str], coef: np.ndarray, intercept: Optional[float]) -> list[tuple[str, float]]:
    terms = [(INTERCEPT, float(intercept))] if intercept is not None else []
    return terms + [(n, float(b)) for n, b in zip(names, coef)]
