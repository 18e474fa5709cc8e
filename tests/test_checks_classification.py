"""Classification checks: class balance, events per variable, (quasi-)complete separation,
multicollinearity and Box–Tidwell, against statsmodels called directly on the same design."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.outliers_influence import variance_inflation_factor

from conftest import SAMPLES
from mlops_desktop.core.checks import run_checks

FEATURES_SPECIES = ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm",
                    "body_mass_g", "sex", "year"]
FEATURES_SEX = ["species", "island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm",
                "body_mass_g", "year"]


@pytest.fixture(scope="module")
def penguins() -> pd.DataFrame:
    return pd.read_csv(SAMPLES / "penguins.csv")


def design(df: pd.DataFrame, target: str, features: list[str], categorical: set[str]):
    """Complete rows; categorical features one-hot against their most frequent level."""
    d = df.dropna(subset=[target, *features])
    cols, names = [], []
    for f in features:
        if f in categorical:
            labels = d[f].astype(str)
            counts = labels.value_counts()
            levels = sorted(counts.index, key=lambda lev: (-counts[lev], lev))
            for lev in levels[1:]:
                cols.append((labels == lev).to_numpy(float))
                names.append(f"{f}={lev}")
        else:
            cols.append(d[f].to_numpy(float))
            names.append(f)
    return d, sm.add_constant(np.column_stack(cols), has_constant="add"), names


def _logit(y, X, multinomial=False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return (sm.MNLogit if multinomial else sm.Logit)(y, X).fit(method="newton", maxiter=100,
                                                                    disp=0)


def _box_tidwell_terms(d: pd.DataFrame, numeric: list[str]) -> np.ndarray:
    cols = []
    for f in numeric:
        x = d[f].to_numpy(float)
        z = 1 + (x - x.min()) / x.std()
        cols.append(z * np.log(z))
    return np.column_stack(cols)


# -- penguins --------------------------------------------------------------------------------

def test_penguins_species_is_completely_separated(penguins):
    report = run_checks(penguins, "species")
    assert report.task == "classification" and report.task_inferred
    assert report.features == FEATURES_SPECIES
    d, X, names = design(penguins, "species", FEATURES_SPECIES, {"island", "sex"})
    assert report.design_columns == names
    # class balance: the counts of the rows used
    bal = report.check("class_balance")
    counts = d["species"].value_counts()
    got = {r["class"]: r["rows"] for r in bal.figures["classes"]}
    assert got == counts.to_dict()
    assert bal.effect == pytest.approx(counts.min() / counts.max())
    assert bal.verdict == "ok"
    # events per variable: the smallest class per design column
    epv = report.check("events_per_variable")
    assert epv.statistic == pytest.approx(counts.min() / len(names))
    assert epv.verdict == "problem"  # 68 / 8 = 8.5
    # separation: statsmodels' own logit fits each class against the rest perfectly
    sep = report.check("separation")
    assert sep.verdict == "problem"
    kinds = {r["class"]: r["kind"] for r in sep.figures["per_class"]}
    assert kinds == {"Adelie": "complete", "Chinstrap": "complete", "Gentoo": "complete"}
    for cls in kinds:
        res = _logit((d["species"] == cls).to_numpy(float), X)
        assert res.llf > -1e-6  # log-likelihood 0: every row predicted with certainty
    assert "leakage" in sep.action
    # the logit's shape cannot be tested then
    bt = report.check("linearity_logit")
    assert bt.verdict == "not_applicable" and "separated" in bt.decided_by
    # VIF on the same design
    vifs = [variance_inflation_factor(X, j) for j in range(1, X.shape[1])]
    np.testing.assert_allclose([r["vif"] for r in report.check("vif").figures["vif"]], vifs,
                               rtol=1e-6)
    # Torgersen island has Adelie penguins only
    rare = report.check("rare_categories")
    single = rare.figures["features"][0]["single_class_levels"]
    assert {"level": "Torgersen", "rows": int((d.island == "Torgersen").sum()),
            "class": "Adelie"} in single
    json.dumps(report.to_dict(), allow_nan=False)


def test_penguins_sex_equals_statsmodels(penguins):
    report = run_checks(penguins, "sex")
    assert report.features == FEATURES_SEX
    d, X, names = design(penguins, "sex", FEATURES_SEX, {"species", "island"})
    assert report.design_columns == names
    y = (d["sex"] == "male").to_numpy(float)  # classes sorted: female, male
    sep = report.check("separation")
    assert sep.verdict == "ok"
    base = _logit(y, X)
    assert base.mle_retvals["converged"] and np.all(np.isfinite(base.bse))
    epv = report.check("events_per_variable")
    assert epv.statistic == pytest.approx(min(y.sum(), len(y) - y.sum()) / len(names))
    # Box–Tidwell on the numeric features (year too: three values)
    numeric = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"]
    aug = _logit(y, np.column_stack([X, _box_tidwell_terms(d, numeric)]))
    bt = report.check("linearity_logit")
    lr = 2 * (aug.llf - base.llf)
    assert bt.statistic == pytest.approx(lr, rel=1e-6)
    assert bt.p_value == pytest.approx(stats.chi2.sf(lr, len(numeric)), rel=1e-6)
    assert bt.effect == pytest.approx((aug.llf - base.llf) / -aug.llnull, rel=1e-6)
    got = {r["feature"]: r["p_value"] for r in bt.figures["per_feature"]}
    assert list(got) == numeric
    np.testing.assert_allclose(list(got.values()), aug.pvalues[X.shape[1]:], rtol=1e-5)
    vifs = [variance_inflation_factor(X, j) for j in range(1, X.shape[1])]
    np.testing.assert_allclose([r["vif"] for r in report.check("vif").figures["vif"]], vifs,
                               rtol=1e-6)


# -- separation -------------------------------------------------------------------------------

def test_quasi_complete_separation_from_a_category():
    rng = np.random.default_rng(0)
    n = 200
    x = rng.normal(size=n)
    g = rng.choice(["a", "b", "c"], n, p=[0.45, 0.45, 0.1])
    y = (x + rng.normal(size=n) > 0).astype(int)
    y[g == "c"] = 1
    df = pd.DataFrame({"x": x, "g": g, "y": y})
    report = run_checks(df, "y")
    assert report.task == "classification"
    sep = report.check("separation")
    assert sep.verdict == "warning"
    assert sep.figures["per_class"][0]["kind"] == "quasi"
    assert sep.figures["per_class"][0]["columns"] == ["g=c"]
    # statsmodels: the g=c coefficient runs off and does not converge
    d, X, names = design(df, "y", ["x", "g"], {"g"})
    res = _logit(y.astype(float), X)
    j = names.index("g=c") + 1
    assert not res.mle_retvals["converged"] or res.bse[j] > 1e3
    assert report.check("linearity_logit").verdict == "not_applicable"


def test_complete_separation_by_one_feature_names_it():
    rng = np.random.default_rng(1)
    n = 120
    x = rng.normal(size=n)
    df = pd.DataFrame({"x": x, "noise": rng.normal(size=n), "y": np.where(x > 0.1, "yes", "no")})
    sep = run_checks(df, "y").check("separation")
    assert sep.verdict == "problem"
    assert sep.figures["per_class"][0]["kind"] == "complete"
    assert {"feature": "x", "class": "yes", "kind": "complete"} in sep.figures["single_feature"]
    assert "on its own x separates" in sep.decided_by


def test_separation_on_a_large_sample_uses_the_subsample_shortcut_correctly():
    rng = np.random.default_rng(2)
    n = 20_000
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.logistic(size=n) > 0).astype(int)
    df = pd.DataFrame(X, columns=list("abcd"))
    df["y"] = y
    assert run_checks(df, "y").check("separation").verdict == "ok"
    df["y"] = (X[:, 0] - X[:, 2] > 0).astype(int)  # separated in the full data
    assert run_checks(df, "y").check("separation").verdict == "problem"


# -- balance, EPV ----------------------------------------------------------------------------

def test_imbalanced_classes():
    rng = np.random.default_rng(3)
    n = 1000
    df = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n)})
    df["y"] = np.where(np.arange(n) < 50, "rare", "common")
    bal = run_checks(df, "y").check("class_balance")
    assert bal.verdict == "warning" and bal.effect == pytest.approx(50 / 950)
    assert "stratified" in bal.action
    df["y"] = np.where(np.arange(n) < 6, "rare", "common")
    report = run_checks(df, "y")
    assert report.check("class_balance").verdict == "problem"
    assert report.check("events_per_variable").verdict == "problem"  # 6 / 2
    assert bal.chart["kind"] == "bars" and sorted(bal.chart["x"]) == ["common", "rare"]


def test_events_per_variable_thresholds():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(1000, 5))
    for n, expected in ((1000, "ok"), (150, "warning"), (60, "problem")):
        df = pd.DataFrame(x[:n], columns=[f"x{i}" for i in range(5)])
        df["y"] = (np.arange(n) % 2).astype(int)
        epv = run_checks(df, "y").check("events_per_variable")
        assert epv.statistic == pytest.approx((n // 2) / 5)
        assert epv.verdict == expected, (n, epv.decided_by)


# -- Box–Tidwell ---------------------------------------------------------------------------------

def test_box_tidwell_flags_a_curved_logit():
    rng = np.random.default_rng(5)
    n = 3000
    x = rng.uniform(0.05, 20, n)
    w = rng.normal(size=n)
    eta = 3 * np.log(x) - 4 + 0.5 * w
    df = pd.DataFrame({"x": x, "w": w, "y": (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)})
    bt = run_checks(df, "y").check("linearity_logit")
    assert bt.verdict in ("warning", "problem")
    assert bt.p_value < 1e-6
    assert "x" in bt.decided_by.split("per-feature Wald p")[1]


def test_box_tidwell_leaves_a_linear_logit_alone():
    rng = np.random.default_rng(6)
    n = 2000
    x = rng.uniform(1, 10, n)
    w = rng.normal(size=n)
    eta = 0.6 * x - 3 + 0.5 * w
    df = pd.DataFrame({"x": x, "w": w, "y": (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)})
    bt = run_checks(df, "y").check("linearity_logit")
    assert bt.verdict == "ok", bt.decided_by
    d, X, _ = design(df, "y", ["x", "w"], set())
    y = df["y"].to_numpy(float)
    base, aug = _logit(y, X), _logit(y, np.column_stack([X, _box_tidwell_terms(d, ["x", "w"])]))
    assert bt.statistic == pytest.approx(2 * (aug.llf - base.llf), rel=1e-6)


def test_box_tidwell_multinomial_equals_statsmodels():
    rng = np.random.default_rng(7)
    n = 1500
    x = rng.uniform(1, 10, n)
    w = rng.normal(size=n)
    logits = np.column_stack([np.zeros(n), 0.4 * x - 2 + w, -0.3 * x + 1.5 - 0.5 * w])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in p])
    df = pd.DataFrame({"x": x, "w": w, "y": np.array(["a", "b", "c"])[y]})
    report = run_checks(df, "y")
    assert report.check("separation").verdict == "ok"
    bt = report.check("linearity_logit")
    d, X, _ = design(df, "y", ["x", "w"], set())
    base = _logit(y, X, multinomial=True)
    aug = _logit(y, np.column_stack([X, _box_tidwell_terms(d, ["x", "w"])]), multinomial=True)
    lr = 2 * (aug.llf - base.llf)
    assert bt.statistic == pytest.approx(lr, rel=1e-6)
    assert bt.p_value == pytest.approx(stats.chi2.sf(lr, 2 * 2), rel=1e-6)
    assert bt.figures["df"] == 4
    pv = np.asarray(aug.pvalues)[X.shape[1]:, :].min(axis=1)
    np.testing.assert_allclose([r["p_value"] for r in bt.figures["per_feature"]], pv, rtol=1e-5)
    assert "multinomial" in bt.decided_by


def test_box_tidwell_without_numeric_features_is_not_applicable():
    rng = np.random.default_rng(8)
    n = 300
    df = pd.DataFrame({"g": rng.choice(list("abc"), n), "y": rng.choice(["u", "v"], n)})
    report = run_checks(df, "y")
    bt = report.check("linearity_logit")
    assert bt.verdict == "not_applicable" and "no numeric feature" in bt.decided_by


# -- categories, time ----------------------------------------------------------------------------

def test_rare_categories_are_listed():
    rng = np.random.default_rng(9)
    n = 500
    g = np.array(["big"] * 300 + ["mid"] * 193 + ["tiny"] * 4 + ["odd"] * 3)
    df = pd.DataFrame({"g": g, "x": rng.normal(size=n), "y": rng.choice(["p", "q"], n)})
    rare = run_checks(df, "y").check("rare_categories")
    assert rare.verdict == "warning"
    levels = {r["level"]: r["rows"] for r in rare.figures["features"][0]["rare_levels"]}
    assert levels == {"tiny": 4, "odd": 3}
    assert rare.chart["x"] == ["g=odd", "g=tiny"]


def test_classes_in_runs_over_time_leak_through_a_random_split():
    n = 400
    rng = np.random.default_rng(10)
    runs = np.repeat(rng.choice(["a", "b", "c"], n // 20), 20)  # the class changes every 20 rows
    df = pd.DataFrame({"t": pd.date_range("2021-01-01", periods=n, freq="h"),
                       "x": rng.normal(size=n), "y": runs})
    report = run_checks(df.sample(frac=1, random_state=3), "y", time_column="t")
    leak = report.check("time_leakage")
    assert leak.verdict == "problem"
    table = np.zeros((3, 3))
    codes = pd.factorize(runs, sort=True)[0]
    np.add.at(table, (codes[:-1], codes[1:]), 1)
    assert leak.figures["transitions"] == table.astype(int).tolist()
    assert leak.p_value == pytest.approx(stats.chi2_contingency(table, correction=False)[1],
                                         rel=1e-6, abs=1e-300)
    st = report.check("stationarity")
    assert st.verdict == "not_applicable" and "3 classes" in st.decided_by
