"""The coefficient table of the app's least-squares and logistic models (the one module,
core/train/coefficients.py), checked against statsmodels fitted directly on the same
design: estimates, standard errors, test statistics, p-values, 95% intervals, and odds ratios with their
intervals (exp of the interval's bounds)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from mlops_desktop.core.train import coefficient_table
from mlops_desktop.core.train.families import resolve
from mlops_desktop.core.train.preprocess import build_pipeline

from conftest import SAMPLES


@pytest.fixture(scope="module")
def penguins() -> pd.DataFrame:
    return pd.read_csv(SAMPLES / "penguins.csv").dropna(subset=["body_mass_g", "sex"])


def fitted(family: str, task: str, frame: pd.DataFrame, target: str, robust: bool = False,
           categorical: tuple[str, ...] = ("island",)):
    pipe = build_pipeline(resolve([family], task)[0], ["flipper_length_mm", "bill_depth_mm"], list(categorical),
                          seed=0, robust=robust)
    return pipe.fit(frame, frame[target])


@pytest.mark.parametrize("robust", [False, True])
def test_least_squares_rows_equal_statsmodels_ols(penguins, robust):
    pipe = fitted("ols", "regression", penguins, "body_mass_g", robust=robust)
    design = sm.add_constant(pipe[:-1].transform(penguins))
    ref = sm.OLS(penguins["body_mass_g"].to_numpy(), design).fit(cov_type="HC3" if robust else "nonrobust")
    rows = coefficient_table(pipe)
    assert [r["name"] for r in rows] == ["(intercept)", "flipper_length_mm", "bill_depth_mm",
                                         "island_Dream", "island_Torgersen"]
    ci = np.asarray(ref.conf_int(0.05))
    for i, row in enumerate(rows):
        assert row["estimate"] == pytest.approx(ref.params[i], rel=1e-9)
        assert row["std_error"] == pytest.approx(ref.bse[i], rel=1e-9)
        assert row["statistic"] == pytest.approx(ref.tvalues[i], rel=1e-9)  # t, or z with HC3
        assert row["p_value"] == pytest.approx(ref.pvalues[i], rel=1e-7, abs=1e-300)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(tuple(ci[i]), rel=1e-9)
        assert row["statistic_kind"] == ("z" if robust else "t") and "odds_ratio" not in row


def test_logistic_odds_ratios_and_their_intervals_equal_statsmodels_logit(penguins):
    pipe = fitted("logistic", "binary", penguins, "sex")
    design = sm.add_constant(pipe[:-1].transform(penguins))
    ref = sm.Logit((penguins["sex"] == "male").astype(float).to_numpy(), design).fit(disp=0)
    rows = coefficient_table(pipe)
    ci = np.asarray(ref.conf_int(0.05))
    assert {(r["class"], r["reference_class"]) for r in rows} == {("male", "female")}
    for i, row in enumerate(rows):
        assert row["estimate"] == pytest.approx(ref.params[i], rel=1e-6)
        assert row["std_error"] == pytest.approx(ref.bse[i], rel=1e-6)
        assert row["statistic"] == pytest.approx(ref.tvalues[i], rel=1e-5) and row["statistic_kind"] == "z"
        assert row["p_value"] == pytest.approx(ref.pvalues[i], rel=1e-5, abs=1e-300)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(tuple(ci[i]), rel=1e-6)
        assert row["odds_ratio"] == pytest.approx(np.exp(ref.params[i]), rel=1e-6)
        assert (row["odds_ratio_ci_low"], row["odds_ratio_ci_high"]) == pytest.approx(tuple(np.exp(ci[i])), rel=1e-6)
        assert row["odds_ratio_ci_low"] < row["odds_ratio"] < row["odds_ratio_ci_high"]


def test_multiclass_logistic_has_one_set_per_class_against_the_first(penguins):
    pipe = fitted("logistic", "multiclass", penguins, "island", categorical=("sex",))
    design = sm.add_constant(pipe[:-1].transform(penguins))
    codes = pd.Categorical(penguins["island"]).codes
    ref = sm.MNLogit(codes, design).fit(disp=0)
    rows = coefficient_table(pipe)
    assert [r["name"] for r in rows[:4]] == ["(intercept)", "flipper_length_mm", "bill_depth_mm", "sex_male"]
    assert [r["class"] for r in rows[::4]] == ["Dream", "Torgersen"]
    assert {r["reference_class"] for r in rows} == {"Biscoe"}
    params, ci = np.asarray(ref.params), np.asarray(ref.conf_int(0.05)).reshape(2, -1, 2)
    for k in range(2):
        for i in range(4):
            row = rows[k * 4 + i]
            assert row["estimate"] == pytest.approx(params[i, k], rel=1e-6)
            assert row["std_error"] == pytest.approx(np.asarray(ref.bse)[i, k], rel=1e-5)
            assert row["statistic"] == pytest.approx(np.asarray(ref.tvalues)[i, k], rel=1e-5)
            assert row["p_value"] == pytest.approx(np.asarray(ref.pvalues)[i, k], rel=1e-4, abs=1e-300)
            assert (row["ci_low"], row["ci_high"]) == pytest.approx(tuple(ci[k, i]), rel=1e-6)
            assert row["odds_ratio_ci_high"] == pytest.approx(np.exp(ci[k, i, 1]), rel=1e-6)


def test_other_families_have_no_table(penguins):
    for family in ("ridge", "tree"):
        assert coefficient_table(fitted(family, "regression", penguins, "body_mass_g")) is None
    assert coefficient_table(object()) is None
