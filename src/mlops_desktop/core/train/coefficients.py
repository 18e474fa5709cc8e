"""The coefficient table of an ordinary-least-squares or logistic model trained by the
app: one row per term with estimate, standard error, test statistic, p-value and 95%
interval, and for logistic models odds ratios per unit and per standard deviation of
the feature. Numbers are in the units of the original features (these families are not
scaled by default); one-hot columns are named ``column_level`` and compare that level
with the column's reference level (its most frequent in the training rows, as on the
Check page), which each row names. :func:`coefficient_notes` says which rows the table
was fitted on, how (maximum likelihood or Firth's penalised likelihood) and which
columns separate the classes."""

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
    estimator = _estimator(model)
    if not isinstance(estimator, (StatsmodelsOLS, StatsmodelsLogit)) or not hasattr(estimator, "params_"):
        return None
    names = [INTERCEPT] + _feature_names(model, len(estimator.params_) - 1)
    references = _reference_levels(model)
    if isinstance(estimator, StatsmodelsOLS):
        rows = [_row(names[i], estimator.params_[i], estimator.bse_[i], estimator.tvalues_[i],
                     estimator.pvalues_[i], estimator.conf_int_[i], estimator.statistic_)
                for i in range(len(names))]
        for row in rows:
            row.update(_reference_of(row["name"], references))
        return json_safe(rows)
    rows = []
    classes = estimator.classes_
    numeric = set(_numeric_columns(model))
    std = getattr(estimator, "feature_std_", None)
    for k in range(estimator.params_.shape[1]):
        for i, name in enumerate(names):
            row = _row(name, estimator.params_[i, k], estimator.bse_[i, k], estimator.zvalues_[i, k],
                       estimator.pvalues_[i, k], estimator.conf_int_[i, k], "z")
            with np.errstate(over="ignore"):
                row.update(odds_ratio=np.exp(row["estimate"]), odds_ratio_ci_low=np.exp(row["ci_low"]),
                           odds_ratio_ci_high=np.exp(row["ci_high"]))
                if name in numeric and std is not None:
                    # per unit, income's odds ratio reads 1.00; per standard deviation it says something
                    sd = float(std[i - 1])
                    row.update(sd=sd, odds_ratio_per_sd=np.exp(row["estimate"] * sd),
                               odds_ratio_per_sd_ci_low=np.exp(row["ci_low"] * sd),
                               odds_ratio_per_sd_ci_high=np.exp(row["ci_high"] * sd))
            row.update(_reference_of(name, references))
            row.update({"class": classes[k + 1], "reference_class": classes[0]})
            rows.append(row)
    return json_safe(rows)


def _estimator(model: Any) -> Any:
    from .estimators import final_estimator

    return final_estimator(model)


def fit_warning(model: Any) -> Optional[str]:
    """The sentence a reader of a logistic model must see, or None: fitted with Firth's
    penalised likelihood because the classes are separated (naming the separating
    columns), or coefficients that mean nothing (separated classes left to maximum
    likelihood, no convergence)."""
    estimator = _estimator(model)
    if not hasattr(estimator, "method_"):
        return None
    if not estimator.reliable:
        return estimator.unreliable_reason()
    if estimator.method_ != "firth":
        return None
    columns = getattr(estimator, "separating_columns_", np.empty(0, dtype=int))
    names = _feature_names(model, len(estimator.params_) - 1)
    named = ", ".join(names[int(j)] for j in columns[:10]) + (" and more" if len(columns) > 10 else "")
    return ("Logistic regression: the classes are (quasi-)completely separated"
            + (f" by {named}" if named else "")
            + ", so maximum likelihood has no finite estimates; fitted with Firth's bias-reduced "
            "(penalised) likelihood, whose estimates are finite. Check "
            + (named if named else "the features") + " for leakage of the target; p-values and "
            "intervals are Wald's, rough for those columns.")


def coefficient_notes(model: Any, rows: Optional[dict[str, Any]] = None) -> list[str]:
    """What a reader of the coefficient table must know: the rows it was fitted on
    (``rows``: a run's rows summary), the fitting method and separating columns, and the
    reference level of each categorical column."""
    estimator = _estimator(model)
    notes = []
    n = getattr(estimator, "nobs_", None)
    if rows and n is not None:
        where = ("all rows (the run kept no holdout)" if not rows.get("holdout")
                 else "the training split (the holdout was left out)")
        notes.append(f"Fitted on {where}: {int(n):,} rows.")
    elif n is not None:
        notes.append(f"Fitted on {int(n):,} rows.")
    note = fit_warning(model)
    if note:
        notes.append(note)
    from .formula import model_terms

    terms = model_terms(model)
    references = _reference_levels(model)
    if terms is not None:
        notes.append(f"Model terms: {', '.join(terms['terms'])} (columns named as in R and "
                     "statsmodels, e.g. poly(x, 2)[1] for a polynomial's first column).")
        if terms["retransform_note"]:
            notes.append("The coefficients are on the scale of the transformed target. "
                         + terms["retransform_note"])
        if references:
            notes.append("Each categorical term's columns compare a level with its reference level: "
                         + ", ".join(f"{c} = {lev!r}" for c, lev in references.items()) + ".")
    elif references:
        notes.append("One-hot columns compare a level with the column's reference level (its most "
                     "frequent in the training rows): "
                     + ", ".join(f"{c} = {lev!r}" for c, lev in references.items()) + ".")
    return notes


def _reference_levels(model: Any) -> dict[str, str]:
    """Each one-hot encoded column's (or categorical term's) left-out level."""
    terms = _formula_terms(model)
    if terms is not None:
        return dict(terms.reference_levels_)
    encoder, columns = _encoder(model)
    if encoder is None or getattr(encoder, "drop_idx_", None) is None:
        return {}
    return {c: str(cats[int(i)]) for c, cats, i in zip(columns, encoder.categories_, encoder.drop_idx_)
            if i is not None}


def _reference_of(name: str, references: dict[str, str]) -> dict[str, Any]:
    column = next((c for c in sorted(references, key=len, reverse=True)
                   if name.startswith(f"{c}_") or name.startswith(f"{c}[T.")), None)
    return {} if column is None else {"column": column, "reference_level": references[column]}


def _formula_terms(model: Any) -> Any:
    """The pipeline's :class:`~.estimators.FormulaTerms` step, or None."""
    from .estimators import FormulaTerms

    preprocess = dict(getattr(model, "steps", [])).get("preprocess")
    if hasattr(preprocess, "steps"):
        preprocess = preprocess.steps[0][1]
    return preprocess if isinstance(preprocess, FormulaTerms) else None


def _encoder(model: Any) -> tuple[Any, list[str]]:
    """The one-hot encoder of a pipeline's categorical columns, and those columns."""
    preprocess = dict(getattr(model, "steps", [])).get("preprocess")
    for name, steps, columns in getattr(preprocess, "transformers_", []):
        if name == "categorical":
            return (steps.steps[-1][1] if hasattr(steps, "steps") else steps), [str(c) for c in columns]
    return None, []


def _numeric_columns(model: Any) -> list[str]:
    terms = _formula_terms(model)
    if terms is not None:  # the columns of terms without a category
        categorical = set(terms.reference_levels_)
        return [c for c, term in zip(terms.get_feature_names_out(), terms.column_terms_)
                if not any(f in categorical for f in term.split(":"))]
    preprocess = dict(getattr(model, "steps", [])).get("preprocess")
    for name, _, columns in getattr(preprocess, "transformers_", []):
        if name == "numeric":
            return [str(c) for c in columns]
    return []


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
