"""One scikit-learn Pipeline per model family: the input step, the preprocessing of
numbers and categories, and the estimator.

Defaults per family style:

- linear (OLS, logistic): numbers median-imputed and *not* scaled, so coefficients
  are in the units of the original features; categories one-hot encoded against
  their most frequent level in the training rows, as the Check page does (the design
  must not be collinear with the intercept), rare levels grouped.
- regularised (ridge, lasso, elastic net): numbers median-imputed and standardised
  (a penalty needs comparable scales); categories one-hot encoded, all levels.
- tree (decision tree, random forest): numbers median-imputed; categories as
  ordinal codes (a tree needs no one-hot columns).
- boosting (histogram gradient boosting): numbers as they are (missing values are
  handled natively); categories as codes that the booster treats as categories.

An ordered category (declared by a recipe: ``order cut: Fair < Good < … < Ideal``) is
encoded by its order where a model can use it: tree, random forest and boosting give
it codes 0, 1, 2, … in that order (a split then reads "cut at least Premium"; unknown
and missing values are imputed with the median code for trees, left missing for the
booster, which does not treat it as unordered). Linear families keep one-hot columns:
a slope per step would assume equal steps between the levels.
With a formula, its terms replace the preprocessing of every family: the input step
types the columns the formula reads, :class:`~.estimators.FormulaTerms` fills missing
values and builds the design (categories as its treatment contrasts), regularised
families standardise its columns, and a transformed target wraps the estimator in
:class:`~.estimators.TransformedTarget`.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .families import BASELINE, BOOSTING, LINEAR, REGULARISED, TREE, Family

DEFAULT_RARE_MIN_ROWS = 10
#: the booster's native categorical support takes at most this many categories
BOOSTING_MAX_CATEGORIES = 255


def reference_levels(train: Any, categorical: list[str]) -> list[str]:
    """Each categorical column's most frequent level in the training rows (ties: the first
    label), the level a linear model's one-hot columns leave out: Check's rule
    (``checks.prepare.levels_by_frequency``) on the labels the model reads."""
    import pandas as pd

    from ..checks.prepare import levels_by_frequency
    from .estimators import category_labels

    return [str(levels_by_frequency(pd.Series(category_labels(train[c]))).index[0]) for c in categorical]


def build_pipeline(family: Family, numeric: list[str], categorical: list[str], *, seed: int,
                   n_jobs: int = 1, robust: bool = False,
                   options: Optional[dict[str, Any]] = None,
                   reference: Optional[list[str]] = None,
                   formula: Optional[str] = None, retransform: str = "smearing",
                   ordered: Optional[dict[str, list[str]]] = None) -> Any:
    """The unfitted pipeline ``columns -> preprocess -> model`` for ``family``;
    ``reference``: the level each categorical column's one-hot columns leave out in a
    linear model (default: the first in sorted order); ``ordered``: the levels, in
    order, of categorical columns that have an order. ``formula`` (its terms and the
    target's transformation) replaces the preprocessing (see the module's docstring)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    from .estimators import InputColumns

    options = options or {}
    if family.style == BASELINE:
        # the baseline uses no feature: it takes the raw table and reads none of its columns
        return Pipeline([("columns", InputColumns()), ("model", family.make(seed=seed))])
    columns = InputColumns(numeric=list(numeric), categorical=list(categorical))
    if formula is not None:
        return _formula_pipeline(family, columns, formula, seed=seed, n_jobs=n_jobs, robust=robust,
                                 options=options, retransform=retransform)
    encoding = options.get("encoding") or ("ordinal" if family.style in (TREE, BOOSTING) else "onehot")
    scale = options.get("scale")
    if scale is None:
        scale = family.style == REGULARISED
    rare = options.get("rare_min_rows")
    rare = DEFAULT_RARE_MIN_ROWS if rare is None else int(rare)
    imputation = options.get("numeric_imputation") or "median"

    by_order = [c for c in categorical if c in (ordered or {})] \
        if family.style in (TREE, BOOSTING) and encoding == "ordinal" else []
    if by_order:
        reference = None  # no one-hot columns: nothing is left out
        categorical = [c for c in categorical if c not in by_order]
    transformers = []
    if numeric:
        transformers.append(("numeric", _numeric_steps(family, imputation, scale), list(numeric)))
    if categorical:
        transformers.append(("categorical", _category_steps(family, encoding, rare, reference),
                             list(categorical)))
    if by_order:
        transformers.append(("ordered", _ordered_steps(family, [list(ordered[c]) for c in by_order]), by_order))
    preprocess = ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False,
                                   sparse_threshold=0.0)
    native = family.style == BOOSTING and encoding == "ordinal" and categorical
    categorical_positions = list(range(len(numeric), len(numeric) + len(categorical))) if native else None
    model = family.make(seed=seed, n_jobs=n_jobs, robust=robust, categorical=categorical_positions)
    return Pipeline([("columns", columns), ("preprocess", preprocess), ("model", model)])


def _formula_pipeline(family: Family, columns: Any, formula: str, *, seed: int, n_jobs: int,
                      robust: bool, options: dict[str, Any], retransform: str) -> Any:
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from .estimators import FormulaTerms, TransformedTarget
    from .formula import parse_formula

    parsed = parse_formula(formula)
    terms = FormulaTerms(formula=parsed.rhs, numeric_fill=options.get("numeric_imputation") or "median")
    scale = options.get("scale")
    if scale is None:
        scale = family.style == REGULARISED
    preprocess = Pipeline([("terms", terms), ("scale", StandardScaler())]) if scale else terms
    model = family.make(seed=seed, n_jobs=n_jobs, robust=robust, categorical=None)
    if parsed.target_transform is not None:
        model = TransformedTarget(regressor=model, transform=parsed.target_transform, retransform=retransform)
    return Pipeline([("columns", columns), ("preprocess", preprocess), ("model", model)])


def model_parameters(pipeline: Any, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` of the final estimator as the pipeline's own parameter names (inside a
    transformed target's wrapper when there is one)."""
    from .estimators import TransformedTarget

    prefix = "model__regressor__" if isinstance(pipeline.steps[-1][1], TransformedTarget) else "model__"
    return {f"{prefix}{k}": v for k, v in params.items()}


def _numeric_steps(family: Family, imputation: str, scale: bool) -> Any:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    steps = []
    if family.style != BOOSTING:  # the booster routes missing values itself
        steps.append(("impute", SimpleImputer(strategy=imputation)))
    if scale:
        steps.append(("scale", StandardScaler()))
    return Pipeline(steps) if steps else "passthrough"


def _category_steps(family: Family, encoding: str, rare: int, reference: Optional[list[str]]) -> Any:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

    min_frequency = rare if rare > 1 else None
    if encoding == "onehot":
        encoder = OneHotEncoder(
            handle_unknown="infrequent_if_exist", min_frequency=min_frequency, sparse_output=False,
            # without a penalty, one level per category is left out (the intercept carries it)
            drop=(list(reference) if reference else "first") if family.style == LINEAR else None)
        return Pipeline([("impute", SimpleImputer(strategy="most_frequent")), ("encode", encoder)])
    if family.style == BOOSTING:
        # missing and unseen categories stay missing: the booster has a branch for them
        return OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                              encoded_missing_value=np.nan, min_frequency=min_frequency,
                              max_categories=BOOSTING_MAX_CATEGORIES)
    encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                             min_frequency=min_frequency)
    return Pipeline([("impute", SimpleImputer(strategy="most_frequent")), ("encode", encoder)])


def _ordered_steps(family: Family, levels: list[list[str]]) -> Any:
    """Codes in each column's declared order; a value outside it (or missing) is missing,
    which a tree takes as the median code and the booster routes itself."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    encoder = OrdinalEncoder(categories=levels, handle_unknown="use_encoded_value", unknown_value=np.nan,
                             encoded_missing_value=np.nan)
    if family.style == BOOSTING:
        return encoder
    return Pipeline([("encode", encoder), ("impute", SimpleImputer(strategy="median"))])


def model_step(pipeline: Any) -> Any:
    """The estimator at the end of a pipeline (inside a transformed target's wrapper)."""
    from .estimators import final_estimator

    return final_estimator(pipeline)
