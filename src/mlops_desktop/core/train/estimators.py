"""The custom estimators inside a trained model: the input step, the statsmodels
wrappers and the segment router.

This module is self-contained on purpose: it imports only numpy, pandas, scipy,
scikit-learn, statsmodels and joblib, never ``mlops_desktop``, so that an export
package can ship it alone next to a pickled model. Every class follows the
scikit-learn estimator conventions: ``__init__`` stores parameters and does nothing
else, ``fit`` returns ``self``, learned state ends in ``_``; so ``clone``,
``get_params``, pipelines and cross-validation work with them.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Iterable, Optional

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def validate_data(estimator, X, y="no_validation", reset=True, **kwargs):  # type: ignore[misc]
        return estimator._validate_data(X, y, reset=reset, **kwargs)

__all__ = ["InputColumns", "StatsmodelsOLS", "StatsmodelsLogit", "SegmentRouter",
           "category_labels", "segment_keys"]

MISSING_SEGMENT = None
#: statsmodels covariance types a caller may ask for (HC3 is the small-sample robust one)
ROBUST_TYPES = ("HC0", "HC1", "HC2", "HC3")


# -- column values -----------------------------------------------------------------------

def _label(value: Any) -> Any:
    """One category as text; whole numbers without a decimal part, so 2007, 2007.0 and
    "2007" read from different files are the same category."""
    if value is None or value is pd.NA or value is pd.NaT:
        return np.nan
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return np.nan
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return str(value)


def category_labels(values: Any) -> np.ndarray:
    """A column as category labels (text), missing values as ``nan``, in an object array."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    missing = s.isna().to_numpy()
    if (pd.api.types.is_string_dtype(s.dtype) and s.dtype != object) or \
            (s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty")):
        out = s.to_numpy(dtype=object, na_value=np.nan)  # already text: the fast path
    else:
        out = np.array([_label(v) for v in s.to_numpy(dtype=object)], dtype=object)
    if missing.any():
        out = out.copy()  # the fast path may hand back the column's own (read-only) memory
        out[missing] = np.nan
    return out


def numeric_values(values: Any) -> np.ndarray:
    """A column as float64 with ``nan`` for missing; text that is not a number is missing."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if s.dtype == np.float64:
        return s.to_numpy()
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        return s.to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def segment_keys(values: Any) -> np.ndarray:
    """The segment of each row, as text (``None`` where the value is missing)."""
    labels = category_labels(values)
    return np.array([None if (isinstance(v, float) and math.isnan(v)) else v for v in labels],
                    dtype=object)


# -- the input step --------------------------------------------------------------------------

class InputColumns(TransformerMixin, BaseEstimator):
    """The first step of every model: takes the raw table, checks that the model's
    columns are there and gives each its type (numbers as floats, categories as text).

    Scoring then accepts a table read from any file: a number read as text, or a
    category read as a number, means the same thing as at training time.
    ``feature_names_in_`` lists the columns the model needs, in order.
    """

    def __init__(self, numeric: Iterable[str] = (), categorical: Iterable[str] = ()) -> None:
        self.numeric = numeric
        self.categorical = categorical

    def fit(self, X: pd.DataFrame, y: Any = None) -> "InputColumns":
        """Remember the columns; ``X`` must hold every one of them."""
        columns = [*self.numeric, *self.categorical]
        if len(set(columns)) != len(columns):
            raise ValueError("A column is listed twice among the model's inputs.")
        self.feature_names_in_ = np.asarray(columns, dtype=object)
        self.n_features_in_ = len(columns)
        self._check(X)
        return self

    def _check(self, X: Any) -> None:
        if not isinstance(X, pd.DataFrame):
            raise ValueError("The model needs a table with named columns (a pandas DataFrame).")
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if missing:
            raise ValueError(f"The data lacks {len(missing)} column(s) the model needs: "
                             f"{', '.join(map(repr, missing[:10]))}.")

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """The model's columns, typed, in the order they were fitted."""
        check_is_fitted(self, "feature_names_in_")
        self._check(X)
        data = {c: numeric_values(X[c]) for c in self.numeric}
        data.update({c: category_labels(X[c]) for c in self.categorical})
        return pd.DataFrame(data, index=X.index, columns=list(self.feature_names_in_))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "feature_names_in_")
        return self.feature_names_in_.copy()


# -- statsmodels wrappers --------------------------------------------------------------------

def _design(X: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(X.shape[0]), X])


def _too_few_rows(n_rows: int, n_coefficients: int, what: str) -> None:
    if n_rows <= n_coefficients:
        raise ValueError(
            f"{what} needs more rows than coefficients: {n_coefficients:,} coefficients "
            f"(the intercept included) for {n_rows:,} rows. Use a regularised model (ridge, "
            "lasso, elastic net) or fewer features.")


class StatsmodelsOLS(RegressorMixin, BaseEstimator):
    """Ordinary least squares fitted by statsmodels, with an intercept.

    Keeps the coefficient table (estimates, standard errors, t statistics, p-values,
    95% intervals) as arrays, not the statsmodels results object: the fitted model
    stays small and holds no training data. ``robust="HC3"`` gives
    heteroscedasticity-robust standard errors (the estimates do not change).
    """

    def __init__(self, robust: Optional[str] = None) -> None:
        self.robust = robust

    def fit(self, X: Any, y: Any) -> "StatsmodelsOLS":
        import statsmodels.api as sm

        if self.robust is not None and self.robust not in ROBUST_TYPES:
            raise ValueError(f"robust must be None or one of {', '.join(ROBUST_TYPES)}, "
                             f"not {self.robust!r}.")
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        n, p = X.shape
        _too_few_rows(n, p + 1, "Ordinary least squares")
        design = _design(X)
        with warnings.catch_warnings():
            # nan statistics and a singular design are reported below, in the app's words
            warnings.simplefilter("ignore")
            result = sm.OLS(np.asarray(y, dtype=np.float64), design).fit(
                cov_type=self.robust or "nonrobust")
        params = np.asarray(result.params, dtype=np.float64)
        self.params_ = params
        self.intercept_ = float(params[0])
        self.coef_ = params[1:].copy()
        self.bse_ = np.asarray(result.bse, dtype=np.float64)
        self.tvalues_ = np.asarray(result.tvalues, dtype=np.float64)
        self.pvalues_ = np.asarray(result.pvalues, dtype=np.float64)
        self.conf_int_ = np.asarray(result.conf_int(0.05), dtype=np.float64)
        self.rank_ = int(np.linalg.matrix_rank(design))
        self.nobs_ = int(n)
        self.df_resid_ = float(result.df_resid)
        self.rsquared_ = float(result.rsquared)
        self.rsquared_adj_ = float(result.rsquared_adj)
        self.cov_type_ = self.robust or "nonrobust"
        self.statistic_ = "z" if self.robust else "t"
        if self.rank_ < p + 1:
            warnings.warn(ConvergenceWarning(
                f"Ordinary least squares: the features are collinear ({p + 1 - self.rank_} "
                "coefficient(s) not identified); their estimates and p-values are not meaningful."))
        return self

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_ + self.intercept_


class StatsmodelsLogit(ClassifierMixin, BaseEstimator):
    """Logistic regression without a penalty, fitted by statsmodels, with an intercept.

    Two classes: ``Logit`` (the second class, in sorted order, is the event). More
    classes: ``MNLogit``, each class against the first. Keeps the coefficient table
    (estimates, standard errors, z statistics, p-values, 95% Wald intervals) as
    arrays of shape (coefficients, classes - 1), intercept first.
    """

    def __init__(self, max_iter: int = 100) -> None:
        self.max_iter = max_iter

    def fit(self, X: Any, y: Any) -> "StatsmodelsLogit":
        import statsmodels.api as sm
        from scipy import stats

        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        k = len(self.classes_)
        if k < 2:
            raise ValueError(f"Logistic regression needs at least two classes; the data has "
                             f"only {self.classes_[0]!r}.")
        n, p = X.shape
        _too_few_rows(n, (p + 1) * (k - 1), "Logistic regression")
        design = _design(X)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                if k == 2:
                    result = sm.Logit(codes.astype(np.float64), design).fit(
                        disp=0, maxiter=self.max_iter)
                else:
                    result = sm.MNLogit(codes, design).fit(disp=0, maxiter=self.max_iter)
            except np.linalg.LinAlgError:
                raise ValueError("Logistic regression could not be fitted: the features are "
                                 "collinear or separate the classes perfectly. Use regularised "
                                 "logistic regression, or fewer features.") from None
        params = np.asarray(result.params, dtype=np.float64).reshape(p + 1, -1)
        if not np.all(np.isfinite(params)):
            raise ValueError("Logistic regression could not be fitted (its estimates are not "
                             "finite): the features probably separate the classes perfectly. "
                             "Use regularised logistic regression.")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            bse = np.asarray(result.bse, dtype=np.float64).reshape(p + 1, -1)
            zvalues = params / bse
            pvalues = 2 * stats.norm.sf(np.abs(zvalues))
        z = stats.norm.ppf(0.975)
        self.params_ = params
        self.intercept_ = params[0].copy()
        self.coef_ = params[1:].T.copy()
        self.bse_ = bse
        self.zvalues_ = zvalues
        self.pvalues_ = pvalues
        self.conf_int_ = np.stack([params - z * bse, params + z * bse], axis=-1)
        self.nobs_ = int(n)
        self.converged_ = bool(result.mle_retvals.get("converged", True))
        messages = [str(w.message) for w in caught]
        # statsmodels warns of separation for Logit only; an unpenalised fit that classifies
        # every training row correctly also means the classes are separable (no finite MLE)
        separable = bool(np.all(np.argmax(_probabilities(design @ params), axis=1) == codes))
        self.separation_ = separable or any("separation" in m.lower() for m in messages)
        self.statistic_ = "z"
        if self.separation_:
            warnings.warn(ConvergenceWarning(
                "Logistic regression: the features (almost) perfectly separate the classes; "
                "the coefficients, odds ratios and p-values are not reliable. Regularised "
                "logistic regression copes with this."))
        elif not self.converged_:
            warnings.warn(ConvergenceWarning(
                f"Logistic regression did not converge in {self.max_iter} iterations; its "
                "coefficients and p-values may be inaccurate."))
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """The log-odds against the first class (one column per other class)."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        logits = _design(X) @ self.params_
        return logits[:, 0] if logits.shape[1] == 1 else logits

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return _probabilities(_design(X) @ self.params_)

    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


def _probabilities(logits: np.ndarray) -> np.ndarray:
    """Class probabilities from log-odds against the first class (one column per other
    class), computed without overflow."""
    from scipy.special import expit, softmax

    if logits.shape[1] == 1:
        p1 = expit(logits[:, 0])
        return np.column_stack([1.0 - p1, p1])
    return softmax(np.column_stack([np.zeros(len(logits)), logits]), axis=1)


# -- many simple models ------------------------------------------------------------------------

def _fit_one(estimator: Any, X: pd.DataFrame, y: np.ndarray) -> Any:
    return estimator.fit(X, y)


def _has_proba(router: "SegmentRouter") -> bool:
    inner = getattr(router, "fallback_", None) or router.fallback or router.estimator
    return hasattr(inner, "predict_proba")


class SegmentRouter(BaseEstimator):
    """One model per value of a segment column, and a fallback model for the rest.

    ``fit`` trains a clone of ``estimator`` on the rows of every segment with at least
    ``min_rows`` rows (and, for classifiers, two classes), in parallel over
    ``n_jobs`` workers, and a clone of ``fallback`` (default: ``estimator``) on every
    row. ``predict`` sends each row to its segment's model; rows of small, missing or
    unseen segments go to the fallback. :meth:`from_fitted` assembles a router from
    models trained elsewhere.

    Fitted: ``segment_pipelines_`` (segment -> model), ``fallback_``,
    ``segment_rows_`` (training rows per segment), ``feature_names_in_`` and, for
    classifiers, ``classes_``.
    """

    def __init__(self, segment_column: str = "segment", estimator: Any = None,
                 fallback: Any = None, min_rows: int = 200, n_jobs: Optional[int] = None) -> None:
        self.segment_column = segment_column
        self.estimator = estimator
        self.fallback = fallback
        self.min_rows = min_rows
        self.n_jobs = n_jobs

    # scikit-learn's tags: a router is a classifier or a regressor as its models are
    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()
        inner = self.estimator if self.estimator is not None else self.fallback
        if inner is not None:
            inner_tags = get_tags(inner)
            tags.estimator_type = inner_tags.estimator_type
            tags.classifier_tags = inner_tags.classifier_tags
            tags.regressor_tags = inner_tags.regressor_tags
        return tags

    @property
    def _estimator_type(self) -> Optional[str]:  # scikit-learn < 1.6
        inner = self.estimator if self.estimator is not None else self.fallback
        return getattr(inner, "_estimator_type", None)

    def fit(self, X: pd.DataFrame, y: Any) -> "SegmentRouter":
        from joblib import Parallel, delayed

        if self.estimator is None:
            raise ValueError("SegmentRouter needs an estimator to train per segment.")
        self._check_table(X)
        y = np.asarray(y)
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)} values.")
        keys = segment_keys(X[self.segment_column])
        classifier = hasattr(self.estimator, "predict_proba") and _looks_like_classes(y)
        chosen: list[tuple[str, np.ndarray]] = []
        for key, rows in _group_rows(keys).items():
            if key is MISSING_SEGMENT or len(rows) < self.min_rows:
                continue
            if classifier and len(np.unique(y[rows])) < 2:
                continue
            chosen.append((key, rows))
        fitted = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_one)(clone(self.estimator), X.iloc[rows], y[rows]) for _, rows in chosen)
        fallback = clone(self.fallback if self.fallback is not None else self.estimator).fit(X, y)
        counts = {k: int(len(r)) for k, r in _group_rows(keys).items() if k is not MISSING_SEGMENT}
        self._set_fitted(dict(zip((k for k, _ in chosen), fitted)), fallback, counts)
        return self

    @classmethod
    def from_fitted(cls, segment_column: str, segment_pipelines: dict[str, Any], fallback: Any, *,
                    segment_rows: Optional[dict[str, int]] = None, min_rows: int = 200,
                    estimator: Any = None) -> "SegmentRouter":
        """A fitted router from models already trained per segment (keys as given by
        :func:`segment_keys`) and a fitted fallback."""
        router = cls(segment_column=segment_column,
                     estimator=estimator if estimator is not None else clone(fallback),
                     min_rows=min_rows)
        router._set_fitted(dict(segment_pipelines), fallback, dict(segment_rows or {}))
        return router

    def _set_fitted(self, pipelines: dict[str, Any], fallback: Any, counts: dict[str, int]) -> None:
        self.segment_pipelines_ = pipelines
        self.fallback_ = fallback
        self.segment_rows_ = counts
        needed = [self.segment_column]
        for model in [fallback, *pipelines.values()]:
            for name in getattr(model, "feature_names_in_", []):
                if name not in needed:
                    needed.append(str(name))
        self.feature_names_in_ = np.asarray(needed, dtype=object)
        self.n_features_in_ = len(needed)
        if hasattr(fallback, "classes_"):
            labels = [fallback.classes_, *(m.classes_ for m in pipelines.values())]
            self.classes_ = np.unique(np.concatenate(labels))

    def _check_table(self, X: Any) -> None:
        if not isinstance(X, pd.DataFrame):
            raise ValueError("SegmentRouter needs a table with named columns (a pandas DataFrame).")
        if self.segment_column not in X.columns:
            raise ValueError(f"The data lacks the segment column {self.segment_column!r}.")

    def routes(self, X: pd.DataFrame) -> np.ndarray:
        """Each row's segment, or ``None`` for rows the fallback scores."""
        check_is_fitted(self, "fallback_")
        self._check_table(X)
        keys = segment_keys(X[self.segment_column])
        return np.array([k if k in self.segment_pipelines_ else None for k in keys], dtype=object)

    def _by_route(self, X: pd.DataFrame) -> list[tuple[Any, np.ndarray]]:
        groups = _group_rows(self.routes(X))
        return [(self.segment_pipelines_[k] if k is not None else self.fallback_, rows)
                for k, rows in groups.items()]

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Each row predicted by its segment's model (or the fallback)."""
        parts = [(rows, np.asarray(model.predict(X.iloc[rows]))) for model, rows in self._by_route(X)]
        if not parts:
            return np.empty(0, dtype=getattr(self, "classes_", np.empty(0, float)).dtype)
        out = np.empty(len(X), dtype=np.result_type(*(p.dtype for _, p in parts)))
        for rows, values in parts:
            out[rows] = values
        return out

    @available_if(_has_proba)
    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Class probabilities in ``classes_`` order (a class a segment's model never saw
        gets probability 0 in that segment)."""
        out = np.zeros((len(X), len(self.classes_)))
        for model, rows in self._by_route(X):
            columns = np.searchsorted(self.classes_, model.classes_)
            out[np.ix_(rows, columns)] = model.predict_proba(X.iloc[rows])
        return out


def _group_rows(keys: np.ndarray) -> dict[Any, np.ndarray]:
    """Row positions per key, keys in order of first appearance."""
    codes, uniques = pd.factorize(pd.Series(keys, dtype=object), use_na_sentinel=False)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    return {(None if _is_missing(k) else k): order[bounds[i]:bounds[i + 1]].astype(np.intp)
            for i, k in enumerate(uniques)}


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _looks_like_classes(y: np.ndarray) -> bool:
    from sklearn.utils.multiclass import type_of_target

    return type_of_target(y) in ("binary", "multiclass")
