"""Validate: the coefficient table against statsmodels, and the model card in Markdown
and self-contained HTML."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_diabetes
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlops_desktop.core.numbers import value as fmt
from mlops_desktop.core.errors import InvalidChoiceError, MlopsError
from mlops_desktop.core.validate import (ModelCard, coefficient_table, limitations_from_facts,
                                         model_card_html, model_card_markdown, validate_model,
                                         write_model_card)


def test_linear_regression_coefficients_equal_statsmodels_ols():
    data = load_diabetes(as_frame=True)
    X, y = data.data, data.target
    model = make_pipeline(StandardScaler(), LinearRegression()).fit(X, y)
    table = coefficient_table(model, X, y)
    ref = sm.OLS(y.to_numpy(), sm.add_constant(model[:-1].transform(X))).fit()
    assert table.statistic == "t" and table.n_rows == len(y)
    assert [r["name"] for r in table.rows] == ["(intercept)"] + list(X.columns)
    ci = ref.conf_int()
    for i, row in enumerate(table.rows):
        assert row["estimate"] == pytest.approx(ref.params[i], rel=1e-8)
        assert row["std_error"] == pytest.approx(ref.bse[i], rel=1e-8)
        assert row["statistic"] == pytest.approx(ref.tvalues[i], rel=1e-8)
        assert row["p_value"] == pytest.approx(ref.pvalues[i], rel=1e-6, abs=1e-300)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(tuple(ci[i]), rel=1e-8)
        assert "odds_ratio" not in row
    assert any("after its preprocessing" in n for n in table.notes)


def logistic_data(n=800, seed=3):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                      "colour": rng.choice(["red", "green", "blue"], size=n)})
    logit = 0.3 + 1.2 * X.x1 - 0.6 * X.x2 + 0.9 * (X.colour == "red")
    y = pd.Series(np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no"))
    return X, y


def test_unpenalised_logistic_coefficients_equal_statsmodels_logit():
    X, y = logistic_data()
    ct = make_column_transformer((StandardScaler(), ["x1", "x2"]), (OneHotEncoder(drop="first"), ["colour"]))
    model = make_pipeline(ct, LogisticRegression(C=np.inf, tol=1e-10, max_iter=10_000)).fit(X, y)
    table = coefficient_table(model, X, y)
    design = sm.add_constant(model[:-1].transform(X))
    ref = sm.Logit((y == "yes").astype(float).to_numpy(), design).fit(disp=0, tol=1e-12)
    assert table.statistic == "z"
    assert [r["name"] for r in table.rows][1:] == list(model[:-1].get_feature_names_out())
    for i, row in enumerate(table.rows):
        assert row["estimate"] == pytest.approx(ref.params[i], rel=1e-4, abs=1e-6)
        assert row["std_error"] == pytest.approx(ref.bse[i], rel=1e-4)
        assert row["p_value"] == pytest.approx(ref.pvalues[i], rel=1e-3, abs=1e-12)
        assert row["odds_ratio"] == pytest.approx(np.exp(row["estimate"]))
    assert any("log-odds of 'yes'" in n for n in table.notes)
    # the other class as positive: signs flip, standard errors stay
    flipped = coefficient_table(model, X, y, positive_class="no")
    assert flipped.rows[1]["estimate"] == pytest.approx(-table.rows[1]["estimate"])
    assert flipped.rows[1]["std_error"] == pytest.approx(table.rows[1]["std_error"])


def test_penalised_rank_deficient_multiclass_and_other_models():
    X, y = logistic_data()
    ct = make_column_transformer((StandardScaler(), ["x1", "x2"]), (OneHotEncoder(), ["colour"]))
    penalised = make_pipeline(ct, LogisticRegression()).fit(X, y)
    t = coefficient_table(penalised, X, y)
    assert all(r["std_error"] is None and r["p_value"] is None for r in t.rows)
    assert any("penalty" in n for n in t.notes) and t.statistic is None
    ct = make_column_transformer((StandardScaler(), ["x1", "x2"]), (OneHotEncoder(), ["colour"]))
    full_dummies = make_pipeline(ct, LinearRegression()).fit(X, X.x1 * 2 + 1)
    t = coefficient_table(full_dummies, X, X.x1 * 2 + 1)
    assert t.rows[0]["std_error"] is None and any("not identified" in n for n in t.notes)
    y3 = pd.Series(np.select([X.x1 > 0.5, X.x2 > 0], ["a", "b"], "c"))
    multi = make_pipeline(StandardScaler(), LogisticRegression()).fit(X[["x1", "x2"]], y3)
    t = coefficient_table(multi, X[["x1", "x2"]], y3)
    assert {r["class"] for r in t.rows} == {"a", "b", "c"} and len(t.rows) == 9
    ridge = Ridge(alpha=1.0).fit(X[["x1", "x2"]], X.x1)
    assert coefficient_table(ridge, X[["x1", "x2"]], X.x1).rows[1]["std_error"] is None
    forest = make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=5)).fit(X[["x1", "x2"]], y)
    assert coefficient_table(forest, X[["x1", "x2"]], y) is None


@pytest.fixture(scope="module")
def card():
    X, y = logistic_data(1200, seed=8)
    X["sex"] = np.random.default_rng(0).choice(["female", "male", "other"], size=len(X), p=[0.49, 0.49, 0.02])
    features = ["x1", "x2", "colour"]
    ct = make_column_transformer((StandardScaler(), ["x1", "x2"]), (OneHotEncoder(drop="first"), ["colour"]))
    model = make_pipeline(ct, LogisticRegression(C=np.inf)).fit(X[:700][features], y[:700])
    base = make_pipeline(ct, DummyClassifier(strategy="prior")).fit(X[:700][features], y[:700])
    report = validate_model(model, X[700:], y[700:], baseline=base, subgroup_columns=["sex"],
                            n_bootstrap=200, importance_repeats=2, top_features=2)
    coef = coefficient_table(model, X[:700][features], y[:700])
    return ModelCard(
        model_name="churn", version=3, stage="draft", purpose="Flag customers likely to leave.",
        created_by="ana", created_at="2024-05-01T10:00:00",
        dataset={"id": 7, "name": "customers", "fingerprint": "ab12cd34" * 8, "rows": 1200,
                 "date_range": {"column": "signup", "start": "2023-01-01", "end": "2023-12-31"}},
        target="churned", task="binary", features=features,
        training_spec={"family": "logistic", "split": "random 60/40", "seed": 0},
        checks=[{"name": "Class balance", "verdict": "ok"}, {"name": "Separation", "verdict": "warning"}],
        accepted_warnings=[{"check_id": "separation", "reason": "Known rule: red always renews",
                            "accepted_by": "ben", "accepted_at": "2024-05-01T09:00:00",
                            "details": {"verdict": "warning", "statistic": 12.5,
                                        "statistic_name": "largest |coefficient|",
                                        "decided_by": "quasi-complete separation on colour"}}],
        validation=report, coefficients=coef.rows, coefficient_notes=coef.notes)


def test_model_card_markdown_has_every_section(card):
    md = model_card_markdown(card)
    v = card.validation
    for heading in ("# Model card: churn version 3", "## Purpose", "## Data", "## Training",
                    "## Assumption checks", "### Accepted warnings", "## Validation",
                    "## Segments and subgroups", "## Permutation importance", "## Coefficients",
                    "## Limitations", "## Approvals"):
        assert heading in md, heading
    auc, base_auc = v.metric("roc_auc"), v.metric("roc_auc", baseline=True)
    assert f"| {fmt(auc.value)} | {fmt(auc.low)} to {fmt(auc.high)} | {fmt(base_auc.value)} |" in md
    assert v.baseline_verdict in md and "beats the baseline" in md
    assert "Known rule: red always renews" in md and "| ben |" in md
    assert "largest \\|coefficient\\| = 12.5; quasi-complete separation on colour" in md
    assert "| female |" in md and "no (few events)" in md  # "other" has about 10 rows
    assert "(intercept)" in md and "standardscaler__x1" in md and "odds ratio" in md
    assert "ab12cd34" in md and "2023-01-01 to 2023-12-31" in md
    assert "Flag customers likely to leave." in md


def test_model_card_html_is_self_contained(card):
    html = model_card_html(card)
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") >= 4  # ROC, PR, calibration, importance
    assert "<script" not in html.lower()
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:)?//", html, re.I)
    assert "@import" not in html and "url(" not in html
    v = card.validation
    auc = v.metric("roc_auc")
    assert fmt(auc.value) in html and f"{fmt(auc.low)} to {fmt(auc.high)}" in html
    assert "DummyClassifier(strategy=&#x27;prior&#x27;)" in html
    assert "Known rule: red always renews" in html and "female" in html
    assert "(intercept)" in html and "Limitations" in html


def test_limitations_come_from_facts(card):
    lims = limitations_from_facts(card)
    text = " ".join(lims)
    assert "Accepted warning of 'Separation (logistic regression)' by ben: Known rule: red always renews" in text
    assert "rely most on x1" in text
    assert "2023-01-01 to 2023-12-31" in text
    assert "Too few holdout rows to judge sex = 'other'" in text
    assert "chosen on the holdout" in text
    assert not any("Did not beat the baseline" in x for x in lims)
    # the card shows generated limitations unless given its own
    assert model_card_markdown(card).count("- Accepted warning of 'Separation (logistic regression)'") == 1
    json.dumps(card.to_dict(), allow_nan=False)


def test_a_card_for_a_model_that_did_not_beat_its_baseline():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(150, 3)), columns=["a", "b", "c"])
    y = pd.Series(rng.normal(size=150))
    model = LinearRegression().fit(X[:75], y[:75])
    base = DummyRegressor().fit(X[:75], y[:75])
    report = validate_model(model, X[75:], y[75:], baseline=base, n_bootstrap=100, importance_repeats=1,
                            top_features=2)
    assert not report.beats_baseline
    card = ModelCard(model_name="noise", version=1, target="y", task="regression", features=["a", "b", "c"],
                     validation=report, override={"by": "lead", "at": "2024-06-01", "reason": "pilot only"})
    lims = limitations_from_facts(card)
    assert lims[0].startswith("Did not beat the baseline (DummyRegressor(strategy='mean'))")
    assert "override recorded by lead: pilot only" in lims[0]
    assert any("small holdout of 75 rows" in x for x in lims)
    md = model_card_markdown(card)
    assert "does NOT beat the baseline" in md and "Override recorded by lead" in md
    html = model_card_html(card)
    assert "does NOT beat the baseline" in html and html.count("<svg") >= 3  # residual charts
    empty = ModelCard(model_name="new", version=1)
    assert "Not validated yet" in model_card_markdown(empty)
    assert limitations_from_facts(empty) == ["The model has not been validated on held-out data."]


def test_write_model_card_by_suffix(card, tmp_path):
    html = write_model_card(card, tmp_path / "card.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "Model card: churn version 3" in html
    md = write_model_card(card, tmp_path / "card.md").read_text(encoding="utf-8")
    assert md.startswith("# Model card: churn version 3")
    with pytest.raises(InvalidChoiceError, match=".html"):
        write_model_card(card, tmp_path / "card.pdf")
    with pytest.raises(MlopsError, match="does not exist"):
        write_model_card(card, tmp_path / "missing" / "card.html")
