"""The custom estimators inside a trained model: the input step, the statsmodels
wrappers and the segment router.

This module is self-contained on purpose: it imports only numpy, pandas, scipy,
scikit-learn, statsmodels, joblib and ``mlops_model_support`` (the labels rule it
shares with scoring), never ``mlops_desktop``, so that an export package can ship it
as ``mlops_model_support/estimators.py`` next to its skops model. (It stays here, not in
``mlops_model_support``: models stored in workspaces name these classes by this
module's path.) Every class follows the
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

from mlops_model_support.labels import category_labels, numeric_values

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def validate_data(estimator, X, y="no_validation", reset=True, **kwargs):  # type: ignore[misc]
        return estimator._validate_data(X, y, reset=reset, **kwargs)

__all__ = ["InputColumns", "FormulaTerms", "TransformedTarget", "StatsmodelsOLS", "StatsmodelsLogit",
           "SegmentRouter", "category_labels", "segment_keys", "final_estimator"]

MISSING_SEGMENT = None
#: statsmodels covariance types a caller may ask for (HC3 is the small-sample robust one)
ROBUST_TYPES = ("HC0", "HC1", "HC2", "HC3")


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
        """The model's input columns, in order (the columns pass through unchanged)."""
        check_is_fitted(self, "feature_names_in_")
        return self.feature_names_in_.copy()


# -- model terms (a formula) ----------------------------------------------------------------

def _most_frequent(labels: pd.Series) -> Any:
    """The most frequent label (ties: the first in sorted order), as Check and training's
    reference levels choose it."""
    counts = labels.dropna().value_counts(sort=False)
    if counts.empty:
        return None
    order = np.lexsort((counts.index.to_numpy(dtype=str), -counts.to_numpy()))
    return counts.index[order[0]]


class FormulaTerms(TransformerMixin, BaseEstimator):
    """The terms of a formula's right-hand side (``education + poly(experience, 2) +
    C(ethnicity, contr.treatment('other'))``) as a design matrix, built by formulaic
    (see :mod:`mlops_model_support.terms`), without the intercept column (the model
    adds its own).

    ``fit`` learns, on the training rows only, each column's fill value for missing
    cells (``numeric_fill``: the median or mean of a number; the most frequent category)
    and the state of every stateful term (polynomial coefficients, spline knots, Box–Cox
    λ, category levels); all of it is kept as plain numbers, text, lists and dicts
    (``state_``, ``fill_values_``), and ``transform`` rebuilds the same columns from it
    for any rows. ``get_feature_names_out`` gives formulaic's names
    (``poly(experience, 2)[1]``); ``column_terms_`` the term of each column and
    ``reference_levels_`` each categorical term's level left out. A term that gives no
    finite number for a row (``log`` of 0) raises ``ValueError`` naming it.
    """

    def __init__(self, formula: str = "", numeric_fill: str = "median") -> None:
        self.formula = formula
        self.numeric_fill = numeric_fill

    def __setstate__(self, state: dict) -> None:
        """Loading from a file (skops builds the object with this): a formula that is not
        on the whitelist is refused here, before anything can evaluate it; ``transform``
        checks it again against the columns it is given."""
        from mlops_model_support.formula_guard import check_formula

        check_formula(state.get("formula") if isinstance(state, dict) else None)
        super().__setstate__(state)

    def fit(self, X: pd.DataFrame, y: Any = None) -> "FormulaTerms":
        """Learn the fill values and the terms' state on these rows (see the class); ``y`` is
        ignored."""
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: pd.DataFrame, y: Any = None, **_: Any) -> np.ndarray:
        """Fit on ``X`` and return its design (built once, not again by ``transform``)."""
        from mlops_model_support import terms

        if self.numeric_fill not in ("median", "mean"):
            raise ValueError(f"numeric_fill must be 'median' or 'mean', not {self.numeric_fill!r}.")
        if not isinstance(X, pd.DataFrame):
            raise ValueError("The formula's terms need a table with named columns (a pandas DataFrame).")
        parsed = terms.parse(self.formula, need_target=False)
        missing = [c for c in parsed.variables if c not in X.columns]
        if missing:
            raise ValueError(f"The data lacks the column(s) the formula reads: {', '.join(map(repr, missing))}.")
        fill: dict[str, Any] = {}
        for name in parsed.variables:
            values = X[name]
            if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
                finite = values.to_numpy(dtype=np.float64, na_value=np.nan)
                finite = finite[np.isfinite(finite)]
                fill[name] = (float(np.median(finite) if self.numeric_fill == "median" else np.mean(finite))
                              if len(finite) else 0.0)
            else:
                fill[name] = _most_frequent(values)
        self.fill_values_ = fill
        self.feature_names_in_ = np.asarray(parsed.variables, dtype=object)
        self.n_features_in_ = len(parsed.variables)
        built = terms.design(parsed.rhs, self._filled(X), None)
        self._check_finite(built)
        self.state_ = built.state
        self.column_terms_ = list(built.column_terms)
        self.reference_levels_ = dict(built.state["references"])
        return built.matrix

    def _filled(self, X: pd.DataFrame) -> pd.DataFrame:
        data = {}
        for name, value in self.fill_values_.items():
            column = X[name]
            data[name] = column if value is None or not column.isna().any() else column.fillna(value)
        return pd.DataFrame(data, index=X.index)

    def _check_finite(self, built: Any) -> None:
        bad = ~np.isfinite(built.matrix)
        if not bad.any():
            return
        columns = np.flatnonzero(bad.any(axis=0))
        named = list(dict.fromkeys(built.column_terms[j] for j in columns))
        rows = int(bad.any(axis=1).sum())
        raise ValueError(f"The term(s) {', '.join(named)} give no finite number for {rows:,} row(s) "
                         "(e.g. log or Box–Cox of 0 or a negative value, sqrt of a negative one); "
                         "use log1p(…) or yeojohnson(…), or leave those rows out.")

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """The design matrix of ``X``'s rows, as fitted."""
        from mlops_model_support import terms

        check_is_fitted(self, "state_")
        missing = [c for c in self.feature_names_in_ if c not in getattr(X, "columns", ())]
        if missing:
            raise ValueError(f"The data lacks the column(s) the formula reads: {', '.join(map(repr, missing))}.")
        built = terms.design(terms.parse(self.formula, need_target=False).rhs, self._filled(X), self.state_)
        self._check_finite(built)
        return built.matrix

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The design matrix's column names as formulaic writes them
        (``poly(experience, 2)[1]``)."""
        check_is_fitted(self, "state_")
        return np.asarray(self.state_["columns"], dtype=object)

    def feature_sources_out(self) -> list[tuple[str, ...]]:
        """For each column of the design, the input columns it is built from (what
        contributions sum it back to): one for ``log(x)``, every ``poly(x, 2)[k]``,
        ``bs(x, df=4)[k]``, ``C(x)[T.level]`` or ``center(x)``; each input column of an
        interaction ``a:b`` or of ``I(a * b)``. Read from formulaic's model spec, built
        as fitted for one row of fill values (no new fitted state: older models have it)."""
        from mlops_model_support import terms

        check_is_fitted(self, "state_")
        probe = pd.DataFrame({name: [value] for name, value in self.fill_values_.items()})
        return terms.design(terms.parse(self.formula, need_target=False).rhs, probe, self.state_).column_sources


def _residual_sample(residuals: np.ndarray, size: int) -> np.ndarray:
    """The residuals, or ``size`` evenly spaced quantiles of them when there are more."""
    if len(residuals) <= size:
        return np.sort(residuals)
    return np.quantile(residuals, (np.arange(size) + 0.5) / size)


class TransformedTarget(RegressorMixin, BaseEstimator):
    """A regression fitted to a transformed target (``log``, ``log1p``, ``sqrt``,
    ``boxcox``, ``yeojohnson``; λ fitted on the training rows) whose predictions come
    back in the target's own units.

    Transforming back the prediction of the transformed target gives its median, not its
    mean; ``retransform`` corrects that: ``"smearing"`` (Duan's smearing estimate, the
    mean of the back-transformed prediction plus each training residual; for ``log``
    the prediction's exponential times the mean of the residuals' exponentials),
    ``"normal"`` (the normal-theory correction, ``exp(prediction + σ²/2)`` for ``log``;
    Gauss–Hermite quadrature for the others), or ``"none"``.

    Fitted: ``regressor_`` (on the transformed target), ``parameter_`` (λ or None),
    ``factor_`` (``log``/``log1p`` smearing: the factor), ``residuals_`` (at most
    :attr:`RESIDUALS_KEPT` quantiles of the training residuals: the smearing of the other
    transformations), ``sigma2_`` (the residual variance).
    """

    RESIDUALS_KEPT = 1000
    #: Gauss–Hermite nodes for the normal-theory correction of the other transformations
    QUADRATURE_NODES = 40

    def __init__(self, regressor: Any = None, transform: str = "log", retransform: str = "smearing") -> None:
        self.regressor = regressor
        self.transform = transform
        self.retransform = retransform

    def fit(self, X: Any, y: Any) -> "TransformedTarget":
        """Fit the transformation's λ and the regressor on the transformed target, and keep
        what the retransformation needs.

        Raises ValueError for an unknown transform or retransform, a missing regressor, or
        a target the transformation has no value for (``log`` of 0 or of a negative
        number)."""
        from mlops_model_support import terms

        if self.transform not in terms.TARGET_TRANSFORMS:
            raise ValueError(f"transform must be one of {', '.join(terms.TARGET_TRANSFORMS)}, "
                             f"not {self.transform!r}.")
        if self.retransform not in ("smearing", "normal", "none"):
            raise ValueError(f"retransform must be 'smearing', 'normal' or 'none', not {self.retransform!r}.")
        if self.regressor is None:
            raise ValueError("TransformedTarget needs a regressor.")
        y = np.asarray(y, dtype=np.float64)
        self.parameter_ = terms.fit_parameter(self.transform, y)
        z = terms.forward(self.transform, y, self.parameter_)
        bad = int((~np.isfinite(z)).sum())
        if bad:
            raise ValueError(f"{self.transform} of the target has no value for {bad:,} training row(s) "
                             f"(the smallest target value is {np.nanmin(y):g}); use log1p or "
                             "yeojohnson for targets that can be 0 or negative.")
        self.regressor_ = clone(self.regressor).fit(X, z)
        residuals = z - np.asarray(self.regressor_.predict(X), dtype=np.float64)
        n = len(residuals)
        df_resid = getattr(self.regressor_, "df_resid_", None)
        self.sigma2_ = float(residuals @ residuals / (df_resid if df_resid else max(n - 1, 1)))
        self.factor_ = float(np.mean(np.exp(residuals))) if self.transform in ("log", "log1p") else None
        self.residuals_ = _residual_sample(residuals, self.RESIDUALS_KEPT)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predictions in the target's own units."""
        from mlops_model_support import terms

        check_is_fitted(self, "regressor_")
        z = np.asarray(self.regressor_.predict(X), dtype=np.float64)
        name, lam = self.transform, self.parameter_
        if self.retransform == "none":
            return terms.inverse(name, z, lam)
        if name in ("log", "log1p"):
            scale = self.factor_ if self.retransform == "smearing" else math.exp(self.sigma2_ / 2)
            level = np.exp(z) * scale
            return level - 1.0 if name == "log1p" else level
        if self.retransform == "smearing":
            shifts, weights = self.residuals_, np.full(len(self.residuals_), 1.0 / len(self.residuals_))
        else:
            nodes, w = np.polynomial.hermite.hermgauss(self.QUADRATURE_NODES)
            shifts, weights = nodes * math.sqrt(2 * self.sigma2_), w / math.sqrt(math.pi)
        out = np.empty(len(z))
        step = max(1, 2_000_000 // max(len(shifts), 1))  # rows at a time: bounded memory
        for start in range(0, len(z), step):
            part = z[start:start + step, None] + shifts[None, :]
            out[start:start + step] = terms.inverse(name, part, lam) @ weights
        return out

    def describe(self) -> str:
        """How predictions come back in the target's units, in the analyst's words."""
        check_is_fitted(self, "regressor_")
        lam = f" (λ = {self.parameter_:.4g})" if self.parameter_ is not None else ""
        if self.retransform == "none":
            return (f"The model predicts {self.transform}{lam} of the target; predictions are transformed "
                    "back without correction (for log, that is the median, not the mean).")
        if self.retransform == "smearing":
            how = ("Duan's smearing estimate" + (f" (factor {self.factor_:.4g})" if self.factor_ is not None else
                                                  f" over {len(self.residuals_):,} training residuals"))
        else:
            how = f"the normal-theory correction (residual variance {self.sigma2_:.4g})"
        return (f"The model predicts {self.transform}{lam} of the target; predictions are transformed back "
                f"to the target's units with {how}.")


def final_estimator(model: Any) -> Any:
    """The estimator at the end of a pipeline, inside a :class:`TransformedTarget` if any."""
    step = model.steps[-1][1] if hasattr(model, "steps") else model
    if isinstance(step, TransformedTarget):
        return getattr(step, "regressor_", step.regressor)
    return step


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
        """Fit by statsmodels and keep the coefficient table as arrays.

        Raises ValueError for an unknown ``robust`` or too few rows for the coefficients;
        warns (ConvergenceWarning) when collinear features leave coefficients not
        identified."""
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
        """Predictions: the design times the coefficients, plus the intercept."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_ + self.intercept_


#: fitted probabilities this close to 0 or 1 make a maximum-likelihood fit suspect of
#: separation (its estimates run off towards infinity); the linear programme then decides
SEPARATION_SUSPECT = 1e-6


class StatsmodelsLogit(ClassifierMixin, BaseEstimator):
    """Logistic regression with an intercept: maximum likelihood fitted by statsmodels,
    or, when the classes are (quasi-)separated, Firth's bias-reduced (penalised)
    likelihood.

    Two classes: ``Logit`` (the second class, in sorted order, is the event). When the
    maximum-likelihood fit shows signs of separation (fitted probabilities of 0 or 1, a
    separation warning, no convergence), the linear programme of Konis (2007) decides
    whether the classes are separated; if they are, the model is refitted with Firth's
    penalty (``firthmodels``, which gives finite estimates whenever the design has full
    rank) and ``separating_columns_`` lists the design columns whose maximum-likelihood
    estimates are infinite. ``firth="never"`` keeps maximum likelihood (separated classes
    then warn); ``"always"`` fits Firth's model in any case.
    More classes: ``MNLogit``, each class against the first (no bias-reduced fit). A fit
    that does not converge, or separated classes left to maximum likelihood, warns and is
    not :attr:`reliable`: the run notes, the coefficient notes and the model card say its
    coefficients mean nothing.

    Keeps the coefficient table (estimates, standard errors, z statistics, p-values,
    95% Wald intervals) as arrays of shape (coefficients, classes - 1), intercept first,
    and ``feature_std_`` (each column's standard deviation, for odds ratios per
    standard deviation); ``method_`` is "maximum likelihood" or "firth".
    """

    def __init__(self, max_iter: int = 100, firth: str = "auto") -> None:
        self.max_iter = max_iter
        self.firth = firth

    def fit(self, X: Any, y: Any) -> "StatsmodelsLogit":
        """Fit by maximum likelihood, or by Firth's penalised likelihood when the classes are
        separated (see the class).

        Raises ValueError for an unknown ``firth``, fewer than two classes or too few rows
        for the coefficients; warns when the fit did not converge or separation was left
        to maximum likelihood."""
        import statsmodels.api as sm

        if self.firth not in ("auto", "always", "never"):
            raise ValueError(f"firth must be 'auto', 'always' or 'never', not {self.firth!r}.")
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
        result, messages, failure = None, [], None
        if not (k == 2 and self.firth == "always"):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    if k == 2:
                        result = sm.Logit(codes.astype(np.float64), design).fit(
                            disp=0, maxiter=self.max_iter)
                    else:
                        result = sm.MNLogit(codes, design).fit(disp=0, maxiter=self.max_iter)
                except np.linalg.LinAlgError:
                    failure = "singular"
                except Exception as exc:  # statsmodels raises PerfectSeparationError on some versions
                    if "separation" not in str(exc).lower():
                        raise
                    failure = "separation"
            messages = [str(w.message) for w in caught]
        self.separating_columns_ = np.empty(0, dtype=np.int64)
        self.method_ = "maximum likelihood"
        self.feature_std_ = X.std(axis=0, ddof=1) if n > 1 else np.zeros(p)
        self.nobs_ = int(n)
        self.statistic_ = "z"
        if k == 2 and (self.firth == "always" or (self.firth == "auto" and _suspect(
                result, failure, messages, design, codes))):
            separating = _separating_columns(X, codes)
            if self.firth == "always" or (separating is not None and len(separating)):
                self.separating_columns_ = (separating if separating is not None
                                            else np.empty(0, dtype=np.int64))
                self._fit_firth(X, codes)
                return self
        if failure == "singular":
            raise ValueError("Logistic regression could not be fitted: the features are "
                             "collinear or separate the classes perfectly. Use regularised "
                             "logistic regression, or fewer features.")
        params = (np.asarray(result.params, dtype=np.float64).reshape(p + 1, -1)
                  if result is not None else np.full((p + 1, k - 1), np.nan))
        if not np.all(np.isfinite(params)):
            raise ValueError("Logistic regression could not be fitted (its estimates are not "
                             "finite): the features probably separate the classes perfectly. "
                             "Use regularised logistic regression.")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            bse = np.asarray(result.bse, dtype=np.float64).reshape(p + 1, -1)
        self._set_table(params, bse)
        self.converged_ = bool(result.mle_retvals.get("converged", True))
        # statsmodels warns of separation for Logit only; an unpenalised fit that classifies
        # every training row correctly also means the classes are separable (no finite MLE)
        separable = bool(np.all(np.argmax(_probabilities(design @ params), axis=1) == codes))
        self.separation_ = separable or any("separation" in m.lower() for m in messages)
        if not self.reliable:
            warnings.warn(ConvergenceWarning(self.unreliable_reason()))
        return self

    @property
    def reliable(self) -> bool:
        """False when the coefficients mean nothing: no convergence, or separated classes
        left to maximum likelihood (several classes, or ``firth="never"``). Training says
        so in the run notes and the model card; it is never silent."""
        check_is_fitted(self, "params_")
        return self.converged_ and not (self.separation_ and self.method_ != "firth")

    def unreliable_reason(self) -> str:
        """Why :attr:`reliable` is False, in the analyst's words."""
        if self.separation_ and self.method_ != "firth":
            return ("Logistic regression: the features (almost) perfectly separate the classes, so "
                    "maximum likelihood has no finite estimates"
                    + (" and Firth's correction is for two classes only" if len(self.classes_) > 2
                       else " and Firth's correction was switched off")
                    + "; the coefficients, odds ratios and p-values mean nothing, though the "
                    "predicted classes may be sound. Regularised logistic regression copes with this.")
        return (f"Logistic regression did not converge in {self.max_iter} iterations; its "
                "coefficients, odds ratios and p-values are not reliable.")

    def _fit_firth(self, X: np.ndarray, codes: np.ndarray) -> None:
        """Firth's penalised fit (two classes) by ``firthmodels.FirthLogisticRegression``;
        standard errors from the inverse Fisher information (XᵀWX)⁻¹ at Firth's estimates,
        as Heinze and Schemper (2002) and R's logistf give them."""
        from firthmodels import FirthLogisticRegression

        # fitted on standardised columns (Firth's estimates follow a linear change of the
        # columns exactly), so one tolerance suits incomes and shares alike
        centre = X.mean(axis=0)
        scale = X.std(axis=0)
        scale[scale == 0] = 1.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            firth = FirthLogisticRegression(backend="numpy", max_iter=max(self.max_iter, 100),
                                            gtol=1e-6, xtol=1e-6).fit((X - centre) / scale, codes)
        coef = firth.coef_ / scale
        params = np.concatenate([[firth.intercept_ - centre @ coef], coef]).reshape(-1, 1)
        design = _design(X)
        p = _probabilities(design @ params)[:, 1]
        try:
            cov = np.linalg.inv(design.T @ (design * (p * (1 - p))[:, None]))
        except np.linalg.LinAlgError:
            raise ValueError("Firth's bias-reduced logistic regression has a singular information "
                             "matrix: the features are collinear. Use fewer features.") from None
        self._set_table(params, np.sqrt(np.clip(np.diag(cov), 0, None)).reshape(-1, 1))
        self.method_ = "firth"
        self.converged_ = bool(firth.converged_)
        self.separation_ = bool(len(self.separating_columns_))
        if not self.converged_:
            warnings.warn(ConvergenceWarning(self.unreliable_reason()))

    def _set_table(self, params: np.ndarray, bse: np.ndarray) -> None:
        from scipy import stats

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
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

    def decision_function(self, X: Any) -> np.ndarray:
        """The log-odds against the first class (one column per other class)."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        logits = _design(X) @ self.params_
        return logits[:, 0] if logits.shape[1] == 1 else logits

    def predict_proba(self, X: Any) -> np.ndarray:
        """Each row's probability of each class, columns in ``classes_`` order."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return _probabilities(_design(X) @ self.params_)

    def predict(self, X: Any) -> np.ndarray:
        """Each row's most probable class."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


def _suspect(result: Any, failure: Optional[str], messages: list[str], design: np.ndarray,
             codes: np.ndarray) -> bool:
    """Whether a two-class maximum-likelihood fit shows the signs of separation."""
    if failure is not None or result is None or any("separation" in m.lower() for m in messages):
        return True
    params = np.asarray(result.params, dtype=np.float64)
    if not np.all(np.isfinite(params)) or not result.mle_retvals.get("converged", True):
        return True
    fitted = _probabilities(design @ params.reshape(-1, 1))[:, 1]
    return bool(np.any(fitted < SEPARATION_SUSPECT) or np.any(fitted > 1 - SEPARATION_SUSPECT))


def _separating_columns(X: np.ndarray, codes: np.ndarray) -> Optional[np.ndarray]:
    """The columns whose maximum-likelihood estimates are infinite, by the linear
    programme of Konis (2007) (``firthmodels.detect_separation``); None when it cannot
    tell (a design without full rank)."""
    from firthmodels import detect_separation
    from scipy.linalg import LinAlgError

    try:
        found = detect_separation(X, codes)
    except (LinAlgError, RuntimeError, ValueError):
        return None
    return np.flatnonzero(found.directions[:-1] != 0).astype(np.int64)  # the intercept is last


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
        """Train one model per large enough segment (in parallel) and the fallback on every
        row (see the class).

        Raises ValueError without an estimator, or when X and y differ in length."""
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
