"""Separation and Firth's bias-reduced logistic regression (issue 13, B1 and C10).

References: the +½ rule (for a single binary feature Firth's estimates are the log odds
with one half added to every cell of the 2×2 table, Firth 1993; Heinze and Schemper
2002), and Firth's penalised log-likelihood maximised independently with
scipy.optimize."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import optimize
from scipy.special import expit

from mlops_desktop.core.train import TrainSpec, describe_version, train
from mlops_desktop.core.train.estimators import StatsmodelsLogit


def _penalised_fit(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Firth's estimates by direct maximisation of l(b) + ½ log det I(b), independent of
    the app and of firthmodels."""
    Z = np.column_stack([np.ones(len(X)), X])

    def loss(b):
        eta = Z @ b
        p = expit(eta)
        loglik = np.sum(y * eta - np.logaddexp(0, eta))
        _, logdet = np.linalg.slogdet(Z.T @ (Z * (p * (1 - p))[:, None]))
        return -(loglik + 0.5 * logdet)

    res = optimize.minimize(loss, np.zeros(Z.shape[1]), method="BFGS", options={"gtol": 1e-10})
    return optimize.minimize(loss, res.x, method="Nelder-Mead",
                             options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 20000}).x


def separated(seed: int = 5, n: int = 200) -> pd.DataFrame:
    """Loans where every applicant with a previous bankruptcy defaulted (quasi-complete
    separation by one binary column), plus two ordinary predictors."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10.5, 0.5, n)
    age = rng.uniform(20, 70, n)
    bankrupt = (rng.random(n) < 0.06).astype(int)
    p = expit(-1.0 - 0.00003 * (income - 36000) + 0.02 * (age - 45))
    default = np.where(bankrupt == 1, 1, (rng.random(n) < p).astype(int))
    return pd.DataFrame({"income": income, "age": age, "bankrupt": bankrupt,
                         "default": np.where(default == 1, "yes", "no")})


def test_firth_on_a_two_by_two_table_is_the_plus_half_rule():
    # 12 exposed, all events; 30 unexposed, 9 events: x separates quasi-completely
    x = np.r_[np.ones(12), np.zeros(30)]
    y = np.r_[np.ones(12), np.ones(9), np.zeros(21)]
    model = StatsmodelsLogit().fit(x[:, None], y)
    assert model.method_ == "firth" and list(model.separating_columns_) == [0]
    intercept = np.log((9 + 0.5) / (21 + 0.5))
    slope = np.log((12 + 0.5) / (0 + 0.5)) - intercept
    np.testing.assert_allclose(model.params_.ravel(), [intercept, slope], rtol=1e-7)


def test_firth_estimates_and_errors_match_an_independent_penalised_fit():
    df = separated()
    X = df[["income", "age", "bankrupt"]].to_numpy(float)
    X[:, 0] /= 1000  # thousands: the BFGS reference works on a well-scaled problem
    y = (df["default"] == "yes").to_numpy(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ml = sm.Logit(y, sm.add_constant(X)).fit(disp=0, maxiter=100)
    assert ml.bse[3] > 100 * abs(ml.params[3]) or ml.bse[3] > 1e3  # the property: no finite ML
    model = StatsmodelsLogit().fit(X, y)
    assert model.method_ == "firth" and list(model.separating_columns_) == [2]
    reference = _penalised_fit(X, y)
    np.testing.assert_allclose(model.params_.ravel(), reference, rtol=1e-4, atol=1e-6)
    Z = np.column_stack([np.ones(len(X)), X])
    p = expit(Z @ model.params_.ravel())
    se = np.sqrt(np.diag(np.linalg.inv(Z.T @ (Z * (p * (1 - p))[:, None]))))
    np.testing.assert_allclose(model.bse_.ravel(), se, rtol=1e-6)
    assert np.all(np.abs(model.params_) < 10) and np.all(model.bse_ < 10)


def test_ordinary_data_keep_maximum_likelihood_as_statsmodels():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(300, 2))
    y = (rng.random(300) < expit(0.3 + X @ [1.0, -0.5])).astype(float)
    model = StatsmodelsLogit().fit(X, y)
    res = sm.Logit(y, sm.add_constant(X)).fit(disp=0)
    assert model.method_ == "maximum likelihood" and not len(model.separating_columns_)
    np.testing.assert_allclose(model.params_.ravel(), res.params, rtol=1e-8)


def test_an_unreliable_fit_is_never_silent(workspace, penguins_csv):
    """Penguin species from their measurements: three classes that the measurements all
    but separate, so multinomial maximum likelihood runs off without converging and no
    bias-reduced fit exists for three classes. The run notes, the coefficient notes and
    the model card say its coefficients mean nothing."""
    from mlops_desktop.core.validate.for_version import model_card

    workspace.import_file(penguins_csv, actor="tester")
    result = train(workspace, TrainSpec(dataset="penguins", target="species", models=["logistic"]),
                   actor="tester")
    warned = [n for n in result.notes if "not reliable" in n or "mean nothing" in n]
    assert warned, result.notes
    described = describe_version(workspace, result.model)
    assert any("not reliable" in n or "mean nothing" in n for n in described["coefficient_notes"])
    card = model_card(workspace, result.model)
    assert card.fit_warning and card.fit_warning in card.shown_limitations()
    x = np.linspace(-2, 2, 40)
    with pytest.warns(Warning, match="separate the classes"):
        model = StatsmodelsLogit(firth="never").fit(x[:, None], x > 0)
    assert model.separation_ and not model.reliable


def test_training_fits_firth_and_names_the_separating_column_everywhere(workspace, tmp_path):
    """Trained as the analyst would: the unpenalised fit (intercept near −20 with a standard
    error in the thousands) is replaced by Firth's fit, and the run notes, the card and
    the coefficient notes name the separating column."""
    from mlops_desktop.core.validate.card_markdown import model_card_markdown
    from mlops_desktop.core.validate.for_version import model_card

    df = separated()
    path = tmp_path / "loans.csv"
    df.to_csv(path, index=False)
    workspace.import_file(path, actor="tester")
    result = train(workspace, TrainSpec(dataset="loans", target="default", models=["logistic"]),
                   actor="tester")
    note = next(n for n in result.notes if "separated" in n)
    assert "bankrupt" in note and "Firth" in note
    described = describe_version(workspace, result.model)
    rows = {r["name"]: r for r in described["coefficients"]}
    assert abs(rows["bankrupt"]["estimate"]) < 10 and rows["bankrupt"]["std_error"] < 10
    assert any("Firth" in n and "bankrupt" in n for n in described["coefficient_notes"])
    assert any(n.startswith("Fitted on the training split") for n in described["coefficient_notes"])
    card = model_card(workspace, result.model)
    assert card.fit_warning and "bankrupt" in card.fit_warning
    markdown = model_card_markdown(card)
    assert "bankrupt" in markdown.split("## Limitations")[1]
    # odds ratio per standard deviation: income per unit reads 1.00, per SD it does not
    from mlops_desktop.core.train import load_split

    training_rows, _ = load_split(workspace, result.run_id)
    income = rows["income"]
    assert round(income["odds_ratio"], 2) == 1.0
    assert income["odds_ratio_per_sd"] == pytest.approx(np.exp(income["estimate"] * income["sd"]), rel=1e-12)
    assert income["sd"] == pytest.approx(training_rows["income"].std(), rel=1e-9)
    assert len(training_rows) == int(described["coefficient_notes"][0].split(": ")[1].split(" ")[0])
    assert abs(np.log(income["odds_ratio_per_sd"])) > 10 * abs(np.log(income["odds_ratio"]))
