"""Validate: the model card in Markdown and self-contained HTML (the coefficient table
itself is checked against statsmodels in test_coefficients.py)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlops_desktop.core.numbers import value as fmt
from mlops_desktop.core.errors import InvalidChoiceError, MlopsError
from mlops_desktop.core.train import coefficient_table
from mlops_desktop.core.train.estimators import StatsmodelsLogit
from mlops_desktop.core.validate import (ModelCard, limitations_from_facts,
                                         model_card_html, model_card_markdown, validate_model,
                                         write_model_card)


def logistic_data(n=800, seed=3):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                      "colour": rng.choice(["red", "green", "blue"], size=n)})
    logit = 0.3 + 1.2 * X.x1 - 0.6 * X.x2 + 0.9 * (X.colour == "red")
    y = pd.Series(np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no"))
    return X, y


@pytest.fixture(scope="module")
def card():
    X, y = logistic_data(1200, seed=8)
    X["sex"] = np.random.default_rng(0).choice(["female", "male", "other"], size=len(X), p=[0.49, 0.49, 0.02])
    features = ["x1", "x2", "colour"]
    ct = make_column_transformer((StandardScaler(), ["x1", "x2"]), (OneHotEncoder(drop="first"), ["colour"]))
    model = Pipeline([("preprocess", ct), ("model", StatsmodelsLogit())]).fit(X[:700][features], y[:700])
    base = make_pipeline(ct, DummyClassifier(strategy="prior")).fit(X[:700][features], y[:700])
    report = validate_model(model, X[700:], y[700:], baseline=base, subgroup_columns=["sex"],
                            n_bootstrap=200, importance_repeats=2, top_features=2)
    coef = coefficient_table(model)
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
        validation=report, coefficients=coef,
        coefficient_notes=["Estimates are changes in the log-odds of 'yes' against 'no'."])


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
    assert "(intercept)" in md and "standardscaler__x1" in md and "odds ratio 95% interval" in md
    x1 = card.coefficients[1]
    assert f"| {fmt(x1['odds_ratio_ci_low'])} to {fmt(x1['odds_ratio_ci_high'])} |" in md  # exp of the bounds
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
    assert "DummyClassifier(strategy=&#39;prior&#39;)" in html  # the quotes escaped (MarkupSafe's entity)
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
