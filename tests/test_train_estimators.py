"""The custom estimators inside trained models: the statsmodels wrappers give what
statsmodels gives called directly, the segment router sends each row to its
segment's model, and all of them keep the scikit-learn estimator contract."""

from __future__ import annotations

import ast
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.utils import estimator_checks as checks
from sklearn.utils.validation import check_is_fitted

from conftest import ROOT, SAMPLES
from mlops_desktop.core.train import estimators
from mlops_desktop.core.train.estimators import (InputColumns, SegmentRouter, StatsmodelsLogit,
                                                 StatsmodelsOLS, category_labels, segment_keys)


def _design(n: int = 120, p: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, p))
    # heteroscedastic noise, so that HC3 and classical errors differ
    y = 1.5 + X @ np.arange(1, p + 1) + rng.normal(scale=0.5 + np.abs(X[:, 0]), size=n)
    return X, y


def test_the_module_imports_nothing_from_the_app():
    """Shippable in an export package: only the scientific stack and the package's own
    labels rule."""
    tree = ast.parse((ROOT / "src/mlops_desktop/core/train/estimators.py").read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports"
            imported.add(node.module.split(".")[0])
    # firthmodels is imported by fit alone (Firth's fit for separated classes): scoring in a
    # package never fits, so the package does not need it
    assert imported <= {"__future__", "math", "warnings", "typing", "numpy", "pandas", "sklearn",
                        "scipy", "statsmodels", "joblib", "mlops_model_support", "firthmodels"}, imported


# -- OLS -----------------------------------------------------------------------------------

def test_ols_equals_statsmodels_called_directly():
    X, y = _design()
    ours = StatsmodelsOLS().fit(X, y)
    direct = sm.OLS(y, sm.add_constant(X)).fit()
    np.testing.assert_allclose(ours.params_, direct.params, rtol=1e-12)
    np.testing.assert_allclose(ours.bse_, direct.bse, rtol=1e-10)
    np.testing.assert_allclose(ours.pvalues_, direct.pvalues, rtol=1e-8)
    np.testing.assert_allclose(ours.conf_int_, direct.conf_int(), rtol=1e-10)
    np.testing.assert_allclose(ours.predict(X), direct.predict(sm.add_constant(X)), rtol=1e-12)
    assert ours.intercept_ == pytest.approx(direct.params[0])
    assert ours.rsquared_ == pytest.approx(direct.rsquared) and ours.statistic_ == "t"


def test_ols_robust_hc3_errors_equal_statsmodels_and_keep_the_estimates():
    X, y = _design(seed=3)
    robust = StatsmodelsOLS(robust="HC3").fit(X, y)
    direct = sm.OLS(y, sm.add_constant(X)).fit(cov_type="HC3")
    np.testing.assert_allclose(robust.bse_, direct.bse, rtol=1e-10)
    np.testing.assert_allclose(robust.pvalues_, direct.pvalues, rtol=1e-8)
    classical = StatsmodelsOLS().fit(X, y)
    np.testing.assert_allclose(robust.coef_, classical.coef_)
    assert not np.allclose(robust.bse_, classical.bse_)
    with pytest.raises(ValueError, match="robust must be"):
        StatsmodelsOLS(robust="HC9").fit(X, y)


def test_ols_matches_sklearn_linear_regression_predictions():
    X, y = _design(seed=5)
    np.testing.assert_allclose(StatsmodelsOLS().fit(X, y).predict(X),
                               LinearRegression().fit(X, y).predict(X), rtol=1e-9)


def test_ols_refuses_more_coefficients_than_rows():
    X, y = _design(n=10, p=12)
    with pytest.raises(ValueError, match="more rows than coefficients"):
        StatsmodelsOLS().fit(X, y)


def test_ols_warns_of_collinear_features():
    X, y = _design()
    X = np.column_stack([X, X[:, 0] * 2])
    with pytest.warns(Warning, match="collinear"):
        StatsmodelsOLS().fit(X, y)


# -- logistic ----------------------------------------------------------------------------------

def _binary(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(200, 3))
    p = 1 / (1 + np.exp(-(0.3 + X @ np.array([1.0, -0.5, 0.2]))))
    return X, np.where(rng.uniform(size=200) < p, "yes", "no")


def test_logit_odds_ratios_equal_exp_of_statsmodels_logit():
    X, y = _binary()
    ours = StatsmodelsLogit().fit(X, y)
    direct = sm.Logit((y == "yes").astype(float), sm.add_constant(X)).fit(disp=0)
    np.testing.assert_allclose(ours.params_[:, 0], direct.params, rtol=1e-8)
    np.testing.assert_allclose(np.exp(ours.params_[:, 0]), np.exp(direct.params), rtol=1e-8)
    np.testing.assert_allclose(ours.bse_[:, 0], direct.bse, rtol=1e-6)
    np.testing.assert_allclose(ours.pvalues_[:, 0], direct.pvalues, rtol=1e-6)
    np.testing.assert_allclose(ours.predict_proba(X)[:, 1], direct.predict(sm.add_constant(X)), rtol=1e-8)
    assert list(ours.classes_) == ["no", "yes"] and not ours.separation_


def test_logit_multiclass_uses_mnlogit_against_the_first_class():
    rng = np.random.RandomState(2)
    X = rng.normal(size=(300, 2))
    logits = np.column_stack([np.zeros(300), X @ [1.0, 0.5], X @ [-0.5, 1.0]])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array(["a", "b", "c"])[[rng.choice(3, p=row) for row in p]]
    ours = StatsmodelsLogit().fit(X, y)
    direct = sm.MNLogit(pd.Categorical(y).codes, sm.add_constant(X)).fit(disp=0)
    np.testing.assert_allclose(ours.params_, np.asarray(direct.params), rtol=1e-6)
    proba = ours.predict_proba(X)
    np.testing.assert_allclose(proba, direct.predict(sm.add_constant(X)), rtol=1e-6)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert ours.coef_.shape == (2, 2)


def test_logit_flags_separated_classes():
    """Two separated classes get Firth's finite estimates (issue 13); left to maximum
    likelihood (firth="never") the fit warns and its coefficients are not reliable."""
    X = np.arange(40, dtype=float).reshape(-1, 1)
    y = (X[:, 0] > 19.5).astype(int)
    model = StatsmodelsLogit().fit(X, y)
    assert model.separation_ and model.method_ == "firth" and model.reliable
    assert list(model.separating_columns_) == [0] and np.all(np.isfinite(model.bse_))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = StatsmodelsLogit(firth="never").fit(X, y)
    assert model.separation_ and not model.reliable
    assert any("separate the classes" in str(w.message) for w in caught)


def test_logit_needs_two_classes():
    with pytest.raises(ValueError, match="at least two classes"):
        StatsmodelsLogit().fit(np.ones((5, 1)), np.zeros(5))


# -- the scikit-learn contract ---------------------------------------------------------------

@pytest.mark.parametrize("estimator", [StatsmodelsOLS(), StatsmodelsOLS(robust="HC3"), StatsmodelsLogit()],
                         ids=["ols", "ols-hc3", "logit"])
@pytest.mark.parametrize("check", [
    checks.check_estimator_cloneable, checks.check_get_params_invariance,
    checks.check_set_params, checks.check_no_attributes_set_in_init,
    checks.check_parameters_default_constructible, checks.check_estimators_fit_returns_self,
    checks.check_estimators_unfitted, checks.check_fit_check_is_fitted,
    checks.check_dont_overwrite_parameters, checks.check_estimators_overwrite_params,
    checks.check_n_features_in, checks.check_fit2d_predict1d, checks.check_estimators_pickle,
    checks.check_estimators_nan_inf, checks.check_dataframe_column_names_consistency,
], ids=lambda c: getattr(c, "__name__", str(c)))
def test_wrappers_pass_the_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(type(estimator).__name__, clone(estimator))


def test_wrappers_are_typed_for_scikit_learn():
    assert is_regressor(StatsmodelsOLS()) and is_classifier(StatsmodelsLogit())
    assert is_classifier(SegmentRouter(estimator=LogisticRegression()))
    assert is_regressor(SegmentRouter(estimator=LinearRegression()))


# -- input columns ----------------------------------------------------------------------------

def test_input_columns_types_numbers_and_categories_whatever_the_file_gave():
    step = InputColumns(numeric=["x"], categorical=["year", "flag"]).fit(
        pd.DataFrame({"x": [1, 2], "year": [2007, 2008], "flag": [True, False], "other": [0, 0]}))
    # numbers read as text, whole numbers read as floats (a column with a gap), flags as text
    as_text = pd.DataFrame({"x": ["3.5", "n/a"], "year": [2007.0, 2009.0], "flag": ["True", None]})
    out = step.transform(as_text)
    assert list(out.columns) == ["x", "year", "flag"]
    assert out["x"].iloc[0] == 3.5 and np.isnan(out["x"].iloc[1])
    assert list(out["year"]) == ["2007", "2009"]
    assert out["flag"].iloc[0] == "True" and pd.isna(out["flag"].iloc[1])
    assert list(step.feature_names_in_) == ["x", "year", "flag"]
    with pytest.raises(ValueError, match="lacks 1 column"):
        step.transform(as_text.drop(columns="flag"))
    with pytest.raises(NotFittedError):
        InputColumns(numeric=["x"]).transform(as_text)


def test_category_labels_and_segment_keys():
    assert list(category_labels(pd.Series([1.0, 2.5, None, True], dtype=object))[[0, 1, 3]]) == ["1", "2.5", "True"]
    assert segment_keys(pd.Series(["a", None, "b"])).tolist() == ["a", None, "b"]


# -- the segment router --------------------------------------------------------------------------

def _pipeline():
    from sklearn.pipeline import Pipeline

    return Pipeline([("columns", InputColumns(numeric=["x"])), ("model", LinearRegression())])


def _segmented_data(seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.RandomState(seed)
    seg = np.array(["a"] * 60 + ["b"] * 50 + ["c"] * 8)
    x = rng.normal(size=len(seg))
    slope = {"a": 1.0, "b": -2.0, "c": 5.0}
    y = np.array([slope[s] * v for s, v in zip(seg, x)]) + rng.normal(scale=0.1, size=len(seg))
    return pd.DataFrame({"seg": seg, "x": x}), y


def test_router_trains_one_model_per_large_segment_and_a_fallback():
    X, y = _segmented_data()
    router = SegmentRouter(segment_column="seg", estimator=_pipeline(), min_rows=20, n_jobs=2)
    assert router.fit(X, y) is router
    assert sorted(router.segment_pipelines_) == ["a", "b"]
    assert router.segment_rows_ == {"a": 60, "b": 50, "c": 8}
    assert list(router.feature_names_in_) == ["seg", "x"]
    new = pd.DataFrame({"seg": ["b", "a", "c", "zzz", None], "x": [1.0, 1.0, 1.0, 1.0, 1.0]})
    predicted = router.predict(new)
    assert predicted[0] == router.segment_pipelines_["b"].predict(new.iloc[[0]])[0]
    assert predicted[1] == router.segment_pipelines_["a"].predict(new.iloc[[1]])[0]
    np.testing.assert_allclose(predicted[2:], router.fallback_.predict(new.iloc[2:]))
    assert router.routes(new).tolist() == ["b", "a", None, None, None]
    assert predicted[0] == pytest.approx(-2.0, abs=0.1)


def test_router_contract_clone_params_fitted_and_pickle():
    router = SegmentRouter(segment_column="seg", estimator=_pipeline(), min_rows=20)
    assert set(router.get_params(deep=False)) == {"segment_column", "estimator", "fallback",
                                                  "min_rows", "n_jobs"}
    assert clone(router).get_params(deep=False)["min_rows"] == 20
    with pytest.raises(NotFittedError):
        check_is_fitted(router)
    with pytest.raises(NotFittedError):
        router.predict(pd.DataFrame({"seg": ["a"], "x": [0.0]}))
    X, y = _segmented_data()
    router.fit(X, y)
    check_is_fitted(router)
    assert not hasattr(SegmentRouter(), "segment_pipelines_")  # __init__ sets no fitted state
    again = pickle.loads(pickle.dumps(router))
    np.testing.assert_array_equal(again.predict(X), router.predict(X))
    with pytest.raises(ValueError, match="segment column"):
        router.predict(X.drop(columns="seg"))


def test_router_aligns_probabilities_when_a_segment_lacks_a_class():
    from sklearn.pipeline import Pipeline

    rng = np.random.RandomState(4)
    seg = np.array(["a"] * 80 + ["b"] * 80)
    x = rng.normal(size=160)
    y = np.where(seg == "a", np.where(x > 0, "up", "down"), np.where(x > 0, "up", "flat"))
    pipe = Pipeline([("columns", InputColumns(numeric=["x"])), ("model", LogisticRegression())])
    router = SegmentRouter(segment_column="seg", estimator=pipe, min_rows=50).fit(
        pd.DataFrame({"seg": seg, "x": x}), y)
    assert list(router.classes_) == ["down", "flat", "up"]
    proba = router.predict_proba(pd.DataFrame({"seg": ["a", "b"], "x": [1.0, 1.0]}))
    assert proba.shape == (2, 3) and np.allclose(proba.sum(axis=1), 1)
    assert proba[0, 1] == 0 and proba[1, 0] == 0  # each segment never saw the other's class


def test_from_fitted_assembles_a_router_from_trained_models():
    X, y = _segmented_data()
    a = _pipeline().fit(X[X.seg == "a"], y[X.seg == "a"])
    fallback = _pipeline().fit(X, y)
    router = SegmentRouter.from_fitted("seg", {"a": a}, fallback, segment_rows={"a": 60}, min_rows=20)
    check_is_fitted(router)
    predicted = router.predict(X)
    np.testing.assert_allclose(predicted[X.seg == "a"], a.predict(X[X.seg == "a"]))
    np.testing.assert_allclose(predicted[X.seg != "a"], fallback.predict(X[X.seg != "a"]))


def test_penguins_pipeline_with_the_ols_wrapper_has_named_coefficients():
    from mlops_desktop.core.train import coefficient_table
    from mlops_desktop.core.train.families import resolve
    from mlops_desktop.core.train.preprocess import build_pipeline

    df = pd.read_csv(SAMPLES / "penguins.csv").dropna(subset=["body_mass_g"])
    pipe = build_pipeline(resolve(["ols"], "regression")[0], ["flipper_length_mm", "bill_depth_mm"],
                          ["species", "sex"], seed=0).fit(df, df["body_mass_g"])
    design = pipe[:-1].transform(df)
    direct = sm.OLS(df["body_mass_g"].to_numpy(), sm.add_constant(design)).fit()
    table = coefficient_table(pipe)
    assert [r["name"] for r in table] == ["(intercept)", "flipper_length_mm", "bill_depth_mm",
                                          "species_Chinstrap", "species_Gentoo", "sex_male"]
    np.testing.assert_allclose([r["estimate"] for r in table], direct.params, rtol=1e-10)
    np.testing.assert_allclose([r["p_value"] for r in table], direct.pvalues, rtol=1e-8)
    # not scaled: the flipper coefficient is grams per millimetre, as OLS on the raw column
    raw = sm.OLS(df["body_mass_g"], sm.add_constant(design)).fit().params
    assert table[1]["estimate"] == pytest.approx(raw.iloc[1])
    assert estimators.StatsmodelsOLS.__module__ == "mlops_desktop.core.train.estimators"
