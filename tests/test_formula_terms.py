"""Model terms (issue 13, A): a formula in R's and statsmodels' notation fits the same
model statsmodels' formula API fits (coefficients and standard errors to 1e-8, on
wage-like data with a polynomial, an interaction and a non-default reference level);
its terms are fitted on the training rows only, kept as plain numbers, reproduced
identically and named as statsmodels names them; a transformed target comes back in the
target's units with Duan's smearing estimate; and a formula never runs Python it was not
meant to."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlops_desktop.core.errors import InvalidChoiceError
from mlops_desktop.core.train import TrainSpec, describe_version, find_version, load_model, reproduce, train
from wage_data import TRUE_FORMULA, wage_frame

#: the same formula in statsmodels' spelling (np.log) and the app's
SM_FORMULA = TRUE_FORMULA.replace("log(wage)", "np.log(wage)")


@pytest.fixture
def formulaic_engine(monkeypatch):
    """statsmodels' formula API with formulaic (patsy has no poly())."""
    import statsmodels.formula

    monkeypatch.setattr(statsmodels.formula.options, "formula_engine", "formulaic")


def _fit(formula: str, df: pd.DataFrame, family: str, task: str = "regression"):
    from mlops_desktop.core.train.families import resolve
    from mlops_desktop.core.train.formula import parse_formula
    from mlops_desktop.core.train.preprocess import build_pipeline

    parsed = parse_formula(formula)
    numeric = [v for v in parsed.variables if pd.api.types.is_numeric_dtype(df[v])]
    categorical = [v for v in parsed.variables if v not in numeric]
    model = build_pipeline(resolve([family], task)[0], numeric, categorical, seed=0, formula=formula)
    return model.fit(df, df[parsed.target].to_numpy())


def _by_name(result) -> tuple[dict, dict]:
    return dict(result.params.items()), dict(result.bse.items())


def test_ols_equals_statsmodels_formula_api(formulaic_engine):
    import statsmodels.formula.api as smf

    df = wage_frame(3000)
    reference = smf.ols(SM_FORMULA, df).fit()
    model = _fit(TRUE_FORMULA, df, "ols")
    ols = model.steps[-1][1].regressor_
    names = ["Intercept", *model.steps[1][1].get_feature_names_out()]
    params, bse = _by_name(reference)
    assert sorted(names) == sorted(params)  # the same columns, named as statsmodels names them
    assert "poly(experience, 2)[1]" in names
    assert "C(ethnicity, contr.treatment('cauc'))[T.afam]" in names  # cauc is the reference
    np.testing.assert_allclose(ols.params_, [params[n] for n in names], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(ols.bse_, [bse[n] for n in names], rtol=1e-8, atol=1e-12)
    # the prediction is in dollars: exp of the linear predictor times Duan's smearing factor
    linear = reference.predict(df)
    smearing = np.mean(np.exp(reference.resid))
    np.testing.assert_allclose(model.predict(df), np.exp(linear) * smearing, rtol=1e-9)


def test_logistic_equals_statsmodels_formula_api(formulaic_engine):
    import statsmodels.formula.api as smf

    df = wage_frame(3000, seed=11)
    df["city"] = (df["smsa"] == "yes").astype(int)
    formula = ("city ~ log(wage) + poly(experience, 2) + C(ethnicity, contr.treatment('cauc')) "
               "+ education:parttime")
    reference = smf.logit(formula, df).fit(disp=0)
    model = _fit(formula, df, "logistic", task="binary")
    logit = model.steps[-1][1]
    names = ["Intercept", *model.steps[1][1].get_feature_names_out()]
    params, bse = _by_name(reference)
    assert sorted(names) == sorted(params)
    np.testing.assert_allclose(logit.params_[:, 0], [params[n] for n in names], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(logit.bse_[:, 0], [bse[n] for n in names], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(model.predict_proba(df)[:, 1], reference.predict(df), rtol=1e-8)


def test_terms_are_fitted_on_training_rows_and_kept_as_plain_data():
    df = wage_frame(1000)
    model = _fit("wage ~ ns(experience, df=3) + boxcox(education) + smsa", df.iloc[:600], "ols")
    terms = model.steps[1][1]
    centred = _fit("wage ~ center(experience)", df.iloc[:600], "ols").steps[1][1]

    def plain(value) -> bool:
        if isinstance(value, dict):
            return all(isinstance(k, (str, int)) and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return value is None or type(value) in (bool, int, float, str)

    assert plain(terms.state_) and plain(terms.fill_values_) and plain(centred.state_)
    state = terms.state_["transforms"]
    # the centre is the mean of the first 600 rows, not of all rows
    centre = centred.state_["transforms"]["center(experience)"]["center"]
    assert centre == pytest.approx(df["experience"].iloc[:600].mean(), rel=1e-12)
    assert centre != pytest.approx(df["experience"].mean(), rel=1e-6)
    from scipy import stats
    assert state["boxcox(education)"]["lambda"] == pytest.approx(
        stats.boxcox_normmax(df["education"].iloc[:600].to_numpy(), method="mle"), rel=1e-10)
    # the same columns for other rows, whatever their levels, from the plain state alone
    new = df.iloc[600:].copy()
    new.loc[new.index[:5], "smsa"] = "unheard of"
    design = terms.transform(new)
    assert design.shape == (400, 5) and np.isfinite(design).all()
    assert (design[:5, -1] == 0).all()  # an unseen level is the reference level


def test_natural_spline_spans_the_natural_cubic_splines_through_its_knots():
    """ns(x, df=3): the fit of an independent basis (scipy's natural cubic splines through
    the same knots, one per knot) is the same fit."""
    import statsmodels.api as sm
    from scipy.interpolate import CubicSpline

    df = wage_frame(1500)
    y = np.log(df["wage"].to_numpy())
    model = _fit("log(wage) ~ ns(experience, df=3)", df, "ols")
    knots = np.asarray(model.steps[1][1].state_["transforms"]["ns(experience, df=3)"]["knots"])
    assert len(knots) == 4
    x = df["experience"].to_numpy()
    basis = np.column_stack([CubicSpline(knots, np.eye(len(knots))[j], bc_type="natural")(x)
                             for j in range(len(knots))])
    independent = sm.OLS(y, basis).fit()  # the splines through every knot span the constant
    ours = model.steps[-1][1].regressor_
    fitted = model.steps[1][1].transform(df) @ ours.coef_ + ours.intercept_
    np.testing.assert_allclose(fitted, independent.fittedvalues, rtol=1e-9, atol=1e-9)


def test_normal_theory_and_no_correction():
    df = wage_frame(800)
    from mlops_desktop.core.train.estimators import TransformedTarget

    smeared = _fit("log(wage) ~ education + experience", df, "ols")
    inner = smeared.steps[-1][1].regressor_
    linear = smeared.steps[1][1].transform(df) @ inner.coef_ + inner.intercept_
    normal = smeared.set_params(model__retransform="normal").fit(df, df["wage"].to_numpy())
    sigma2 = inner.df_resid_ and np.sum((np.log(df["wage"]) - linear) ** 2) / inner.df_resid_
    np.testing.assert_allclose(normal.predict(df), np.exp(linear + sigma2 / 2), rtol=1e-9)
    none = smeared.set_params(model__retransform="none").fit(df, df["wage"].to_numpy())
    np.testing.assert_allclose(none.predict(df), np.exp(linear), rtol=1e-12)
    # Box–Cox: smearing over the residuals, back in dollars, close to log's
    boxcox = _fit("boxcox(wage) ~ education + experience", df, "ols")
    assert isinstance(boxcox.steps[-1][1], TransformedTarget)
    assert 0.8 < np.mean(boxcox.predict(df)) / np.mean(smeared.set_params(
        model__retransform="smearing").fit(df, df["wage"].to_numpy()).predict(df)) < 1.25


def test_a_model_file_with_a_foreign_formula_does_nothing(tmp_path):
    """A formula read from a model file is checked before formulaic sees it: Python that
    slips into the stored text raises, it does not run."""
    df = wage_frame(300)
    model = _fit("wage ~ education", df, "ols")
    terms = model.steps[1][1]
    terms.formula = "1 + education + I(__import__('os').system('touch " + str(tmp_path / "ran") + "'))"
    with pytest.raises(ValueError):
        model.predict(df)
    assert not (tmp_path / "ran").exists()


def test_train_reproduce_and_describe_a_formula_model(workspace, tmp_path):
    df = wage_frame(1500)
    df.loc[df.index[:20], "experience"] = np.nan  # missing values are filled with the training median
    path = tmp_path / "wage.csv"
    df.to_csv(path, index=False)
    workspace.import_file(path, actor="tester")
    spec = TrainSpec(dataset="wage", target="wage", formula=TRUE_FORMULA, models=["ols", "hgb"], cv_folds=3)
    result = train(workspace, spec, actor="tester")
    assert result.chosen == "ols" and [f["name"] for f in result.features] == \
        ["education", "experience", "ethnicity", "smsa", "parttime"]
    described = describe_version(workspace, result.model)
    rows = {r["name"]: r for r in described["coefficients"]}
    assert rows["C(ethnicity, contr.treatment('cauc'))[T.afam]"]["reference_level"] == "cauc"
    assert set(rows) >= {"(intercept)", "education", "poly(experience, 2)[1]", "poly(experience, 2)[2]",
                         "smsa[T.yes]", "education:parttime[T.yes]"}
    assert any("Duan's smearing estimate" in n for n in described["coefficient_notes"])
    terms = described["terms"]
    assert terms["target_transform"] == "log" and terms["retransform"] == "smearing"
    assert terms["terms"] == ["education", "poly(experience, 2)", "C(ethnicity, contr.treatment('cauc'))",
                              "smsa", "education:parttime"]
    # predictions in dollars, not log-dollars
    model = load_model(workspace, find_version(workspace, result.model).ref)
    assert 200 < float(np.median(model.predict(df))) < 2000
    again = reproduce(workspace, result.run_id, actor="tester")
    assert again.identical
    # the spec is recorded with its formula, as typed
    from mlops_desktop.core.train import run
    assert run(workspace, result.run_id).spec["formula"] == TRUE_FORMULA


def test_formula_choices_that_cannot_work(workspace, tmp_path):
    df = wage_frame(300)
    df["union"] = np.where(df["education"] > 13, "yes", "no")
    path = tmp_path / "wage.csv"
    df.to_csv(path, index=False)
    workspace.import_file(path, actor="tester")
    with pytest.raises(InvalidChoiceError, match="formula's target is 'wage'"):
        train(workspace, TrainSpec(dataset="wage", target="education", formula="wage ~ experience"), actor="t")
    with pytest.raises(InvalidChoiceError, match="do not choose features"):
        train(workspace, TrainSpec(dataset="wage", target="wage", formula="wage ~ experience",
                                   features=["education"]), actor="t")
    with pytest.raises(InvalidChoiceError, match="numeric target"):
        train(workspace, TrainSpec(dataset="wage", target="union", formula="log(union) ~ experience"), actor="t")
    with pytest.raises(Exception, match="no_such"):
        train(workspace, TrainSpec(dataset="wage", target="wage", formula="wage ~ no_such"), actor="t")
