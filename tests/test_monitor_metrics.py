"""Drift measures: every figure equals an independent computation (scipy or the
formula), the verdict rules, the noise level's size awareness, the stored-profile path
against the raw-data path, and the metrics module's independence from the app."""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, ks_2samp, kstwo, wasserstein_distance

from mlops_desktop.core.monitor import Thresholds
from mlops_model_support import drift as metrics
from mlops_model_support.drift import (CategoricalDistribution, FeatureProfile, NumericDistribution,
                                                ReferenceProfile, build_reference_profile, compare,
                                                compare_feature)

RNG = np.random.default_rng(7)


def _psi_by_formula(ref: np.ndarray, cur: np.ndarray, edges: np.ndarray) -> float:
    r = np.bincount(np.digitize(ref, edges), minlength=len(edges) + 1) / len(ref)
    c = np.bincount(np.digitize(cur, edges), minlength=len(edges) + 1) / len(cur)
    r = np.where(r == 0, 1e-4, r)
    c = np.where(c == 0, 1e-4, c)
    return float(np.sum((c - r) * np.log(c / r)))


def _numeric(ref: np.ndarray, cur: np.ndarray) -> metrics.FeatureResult:
    fp = FeatureProfile.build("x", NumericDistribution.from_values(ref))
    return compare_feature(fp, NumericDistribution.from_values(cur))


@pytest.mark.parametrize("n_ref,n_cur", [(3000, 2000), (20000, 15000), (400, 37)])
def test_numeric_measures_equal_scipy_and_the_formula(n_ref, n_cur):
    ref = np.round(RNG.normal(10, 3, n_ref), 1)
    cur = np.round(RNG.normal(10.4, 3.3, n_cur), 1)
    ref[:7] = np.nan
    cur[:3] = np.inf  # non-finite counts as missing
    r = _numeric(ref, cur)
    rv, cv = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    m = r.metrics
    edges = np.unique(np.quantile(rv, metrics.DECILES))
    assert np.array_equal(NumericDistribution.from_values(ref).quantiles(metrics.DECILES),
                          np.quantile(rv, metrics.DECILES))
    assert m["psi"] == pytest.approx(_psi_by_formula(rv, cv, edges), rel=1e-12)
    w = wasserstein_distance(rv, cv)
    assert m["wasserstein"] == pytest.approx(w, rel=1e-12)
    assert m["wasserstein_normalised"] == pytest.approx(w / np.std(rv, ddof=1), rel=1e-12)
    ks = ks_2samp(rv, cv)
    assert m["ks_statistic"] == pytest.approx(ks.statistic, rel=1e-12)
    assert m["ks_p_value"] == pytest.approx(ks.pvalue, rel=1e-8, abs=1e-300)
    assert m["ks_method"] == ("exact" if max(len(rv), len(cv)) <= 10_000 else "asymptotic")
    assert m["mean_change"] == pytest.approx(cv.mean() - rv.mean(), rel=1e-9)
    assert m["missing_share_change"] == pytest.approx(3 / n_cur - 7 / n_ref, rel=1e-12)
    json.dumps(r.to_dict(), allow_nan=False)


@pytest.mark.parametrize("n,d", [(337_000, 0.0135), (337_000, 0.0035), (337_000, 0.001), (12_000, 0.02),
                                 (150_000, 0.006), (900_000, 0.004), (200, 0.2), (60, 0.3)])
def test_the_kolmogorov_tail_equals_scipy(n, d):
    assert metrics.kolmogorov_sf(d, n) == pytest.approx(kstwo.sf(d, n), rel=1e-8)


def test_ks_p_value_in_the_fast_regime_equals_ks_2samp():
    ref = RNG.normal(0, 1, 40_000)
    cur = RNG.normal(0.05, 1, 30_000)
    r = _numeric(ref, cur)
    ks = ks_2samp(ref, cur)
    assert 2.2 <= round(40_000 * 30_000 / 70_000) * ks.statistic ** 2 < 370  # the vectorised branch
    assert r.metrics["ks_p_value"] == pytest.approx(ks.pvalue, rel=1e-8)


def _top_bins(ref: pd.Series, cur: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    counts = ref.value_counts()
    counts = counts.sort_index().sort_values(ascending=False, kind="stable")
    top = list(counts.index[:30])
    if len(counts) > 30:
        top = [c for c in top if counts[c] >= 20]
    rc = np.array([counts[c] for c in top] + [counts.sum() - counts[top].sum()], dtype=float)
    cur_counts = cur.value_counts()
    cc = np.array([cur_counts.get(c, 0) for c in top] + [0], dtype=float)
    cc[-1] = cur_counts.sum() - cc[:-1].sum()
    return rc, cc


@pytest.mark.parametrize("n_categories", [2, 6, 25, 80])
def test_categorical_measures_equal_scipy_and_the_formula(n_categories):
    names = [f"c{i:02d}" for i in range(n_categories)]
    p = RNG.dirichlet(np.ones(n_categories) * 2)
    q = 0.7 * p + 0.3 * RNG.dirichlet(np.ones(n_categories))
    ref = pd.Series(RNG.choice(names, 5000, p=p), dtype=object)
    cur = pd.Series(list(RNG.choice(names, 3000, p=q)) + ["brand new"] * 40 + [None] * 25, dtype=object)
    fp = FeatureProfile.build("c", CategoricalDistribution.from_values(ref.to_numpy()))
    r = compare_feature(fp, CategoricalDistribution.from_values(cur.to_numpy()))
    rc, cc = _top_bins(ref, cur.dropna())
    m = r.metrics
    rs, cs = np.where(rc == 0, 1e-4, rc / rc.sum()), np.where(cc == 0, 1e-4, cc / cc.sum())
    assert m["psi"] == pytest.approx(float(np.sum((cs - rs) * np.log(cs / rs))), rel=1e-12)
    assert m["jensen_shannon"] == pytest.approx(jensenshannon(rc, cc, base=2), rel=1e-9)
    table = np.vstack([rc, cc])
    if n_categories > 30:  # chi-square bins: the pooled top categories (issue 13, C4)
        pooled = pd.concat([ref, cur.dropna()]).value_counts()
        pooled = pooled.sort_index().sort_values(ascending=False, kind="stable")
        top = [c for c in pooled.index[:30] if pooled[c] >= 20]
        table = np.array([[(ref == c).sum() for c in top], [(cur == c).sum() for c in top]], float)
        table = np.column_stack([table, [len(ref) - table[0].sum(), cur.notna().sum() - table[1].sum()]])
    chi2, p_value, dof, _ = chi2_contingency(table[:, table.sum(axis=0) > 0])
    assert m["chi_square"] == pytest.approx(chi2, rel=1e-9)
    assert m["chi_square_p_value"] == pytest.approx(p_value, rel=1e-8, abs=1e-300)
    assert m["chi_square_dof"] == dof
    assert m["new_count"] == 1 and m["new_categories"][0] == {"category": "brand new", "count": 40,
                                                               "share": 40 / 3040}
    vanished = set(ref.unique()) - set(cur.dropna().unique())
    assert m["vanished_count"] == len(vanished)
    assert m["missing_share_change"] == pytest.approx(25 / 3065)
    json.dumps(r.to_dict(), allow_nan=False)


def test_two_categories_use_yates_correction_as_scipy():
    ref = np.array(["yes"] * 300 + ["no"] * 700, dtype=object)
    cur = np.array(["yes"] * 40 + ["no"] * 60, dtype=object)
    fp = FeatureProfile.build("b", CategoricalDistribution.from_values(ref))
    r = compare_feature(fp, CategoricalDistribution.from_values(cur))
    chi2, p_value, dof, _ = chi2_contingency(np.array([[700, 300], [60, 40]]))
    assert dof == 1
    assert r.metrics["chi_square"] == pytest.approx(chi2, rel=1e-12)
    assert r.metrics["chi_square_p_value"] == pytest.approx(p_value, rel=1e-10)


def test_labels_make_one_category_of_1_and_1_0_and_missing_of_nan_and_none():
    d = CategoricalDistribution.from_values(np.array([1, 1.0, "1", None, float("nan"), True], dtype=object))
    assert d.counts == {"1": 3, "True": 1} and d.missing == 2 and d.rows == 6


# -- verdicts ----------------------------------------------------------------------------

def test_rules_and_their_sentences():
    ref = RNG.normal(0, 1, 20_000)
    none = _numeric(ref, RNG.normal(0, 1, 5000))
    assert none.verdict == "no drift" and none.decided_rule == "below_thresholds"
    assert none.decided_by.startswith("Every measure is below its threshold")
    moderate = _numeric(ref, RNG.normal(0.15, 1, 5000))
    assert moderate.verdict == "moderate" and moderate.decided_rule == "wasserstein_normalised"
    assert "reaches its threshold 0.1 and exceeds the no-drift noise" in moderate.decided_by
    major = _numeric(ref, RNG.normal(1.0, 1, 5000))
    assert major.verdict == "major" and major.decided_rule == "psi"
    assert major.decided_by.startswith("PSI") and "above the major-drift threshold 0.25" in major.decided_by
    assert [r["measure"] for r in major.rules] == ["psi", "wasserstein_normalised", "missing_share_change"]
    assert all(r["fired"] == (r["over_threshold"] and r["over_noise"]) for r in major.rules)


def test_a_constant_reference_is_binned_below_at_and_above_its_value():
    r = _numeric(np.full(500, 7.0), np.r_[np.full(300, 7.0), np.full(200, 8.0)])
    assert r.bins["labels"] == ["< 7", "= 7", "> 7"] and r.bins["current"] == pytest.approx([0, 0.6, 0.4])
    assert r.metrics["wasserstein_normalised"] is None and r.rules[1]["applies"] is False
    assert r.verdict == "major" and r.decided_rule == "psi"
    same = _numeric(np.full(500, 7.0), np.full(80, 7.0))
    assert same.verdict == "no drift" and same.metrics["psi"] == 0


def test_missing_share_rule():
    ref = RNG.normal(0, 1, 5000)
    cur = RNG.normal(0, 1, 3000)
    cur[:900] = np.nan
    r = _numeric(ref, cur)
    assert r.verdict == "moderate" and r.decided_rule == "missing_share_change"


def test_a_small_batch_is_judged_against_the_noise_of_its_size():
    ref = RNG.normal(0, 1, 20_000)
    draws = [ref[np.random.default_rng(s).choice(len(ref), 50, replace=False)] for s in range(40)]
    noisy = next(d for d in draws if _numeric(ref, d).metrics["psi"] > 0.1)
    r = _numeric(ref, noisy)
    assert r.metrics["psi"] > 0.1 and r.verdict == "no drift" and r.decided_rule == "within_noise"
    assert r.noise["psi"] > r.metrics["psi"] and r.noise["batch_size"] == 50
    assert "drawn from the reference reaches" in r.decided_by
    sd = ref.std(ddof=1)
    small = _numeric(ref, ref[np.random.default_rng(100).choice(len(ref), 50, replace=False)] + 0.2 * sd)
    large = _numeric(ref, ref[np.random.default_rng(1).choice(len(ref), 5000, replace=False)] + 0.2 * sd)
    assert small.verdict == "no drift", small.decided_by
    assert large.drifted, large.decided_by
    assert large.noise["psi"] < small.noise["psi"]


def test_noise_is_seeded_and_independent_of_feature_order():
    ref = pd.DataFrame({"a": RNG.normal(0, 1, 3000), "b": RNG.choice(list("xyz"), 3000)})
    cur = pd.DataFrame({"a": RNG.normal(0, 1, 500), "b": RNG.choice(list("xyz"), 500)})
    one = compare(ReferenceProfile.from_columns(ref, {"a": "numeric", "b": "categorical"}), cur)
    two = compare(ReferenceProfile.from_columns(ref, {"b": "categorical", "a": "numeric"}), cur)
    assert one.feature("a").noise == two.feature("a").noise
    other = compare(ReferenceProfile.from_columns(ref, {"a": "numeric"}), cur, thresholds={"seed": 5})
    assert other.feature("a").noise != one.feature("a").noise


def test_dataset_verdict_weights_by_importance():
    ref = pd.DataFrame({"a": RNG.normal(0, 1, 4000), "b": RNG.normal(0, 1, 4000), "c": RNG.normal(0, 1, 4000)})
    cur = pd.DataFrame({"a": RNG.normal(2, 1, 2000), "b": RNG.normal(0, 1, 2000), "c": RNG.normal(0, 1, 2000)})
    kinds = {k: "numeric" for k in "abc"}
    plain = compare(ReferenceProfile.from_columns(ref, kinds), cur)
    assert plain.dataset.drifted and plain.dataset.drifted_share == pytest.approx(1 / 3)
    assert plain.dataset.weighting == "equal"
    weighted = compare(ReferenceProfile.from_columns(ref, kinds, importance={"a": 0.6, "b": 0.3, "c": -0.1}), cur)
    assert weighted.dataset.weighting == "importance"
    assert weighted.dataset.drifted_share == pytest.approx(0.6 / 0.9)
    assert weighted.feature("c").weight == 0.0
    unimportant = compare(ReferenceProfile.from_columns(ref, kinds, importance={"a": 0.0, "b": 1.0}), cur)
    assert unimportant.dataset.drifted_share == 0 and not unimportant.dataset.drifted
    strict = compare(ReferenceProfile.from_columns(ref, kinds), cur, thresholds={"dataset_share": 0.5})
    assert strict.dataset.n_drifted == 1 and not strict.dataset.drifted


def test_thresholds_are_checked_and_the_dataclass_matches_the_defaults():
    assert Thresholds().to_dict() == metrics.DEFAULT_THRESHOLDS
    for bad in ({"psi_major": 0.05}, {"psi": 1}, {"noise_draws": 3}, {"wasserstein": "x"},
                {"noise_quantile": 1.0}, {"dataset_share": 2}, {"seed": 1.5}, {"jensen_shannon": float("nan")}):
        with pytest.raises(metrics.DriftInputError):
            metrics.check_thresholds(bad)
    assert metrics.check_thresholds({"psi_moderate": "0.2", "psi_major": 0.3})["psi_moderate"] == 0.2


# -- stored profile against raw data -----------------------------------------------------

def _frames() -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    n, m = 8000, 3000
    ref = pd.DataFrame({
        "smooth": RNG.gamma(2.0, 3.0, n),            # all distinct: sketched
        "coarse": np.round(RNG.normal(50, 10, n)),   # few distinct values: kept exactly
        "shifted": RNG.normal(0, 1, n),
        "cat": RNG.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1]),
        "many": RNG.choice([f"k{i}" for i in range(400)], n),
    })
    cur = pd.DataFrame({
        "smooth": RNG.gamma(2.2, 3.0, m), "coarse": np.round(RNG.normal(51, 10, m)),
        "shifted": RNG.normal(0.3, 1, m), "cat": RNG.choice(["a", "b", "c", "e"], m),
        "many": RNG.choice([f"k{i}" for i in range(420)], m),
    })
    ref.loc[:99, "coarse"] = np.nan
    kinds = {"smooth": "numeric", "coarse": "numeric", "shifted": "numeric", "cat": "categorical",
             "many": "categorical"}
    return ref, cur, kinds


@pytest.mark.parametrize("max_atoms", [1000, 100])
def test_a_stored_profile_gives_the_raw_data_figures(max_atoms):
    ref, cur, kinds = _frames()
    raw = compare(ReferenceProfile.from_columns(ref, kinds), cur)
    stored = json.loads(json.dumps(build_reference_profile(ref, kinds, max_atoms=max_atoms), allow_nan=False))
    stored_numbers = set(stored["features"]["smooth"]["distribution"]["values"]
                         + stored["features"]["smooth"]["noise_values"] + stored["features"]["smooth"]["edges"])
    assert stored_numbers & set(ref["smooth"]) == set()  # a sketch holds slice means, no values of rows
    via_profile = compare(stored, cur)
    for a, b in zip(raw.features, via_profile.features):
        assert a.verdict == b.verdict, a.name
        assert a.noise == b.noise
        for key in ("psi", "jensen_shannon", "chi_square", "chi_square_p_value", "missing_share_change",
                    "mean_change", "new_share", "vanished_count"):
            assert a.metrics.get(key) == b.metrics.get(key), (a.name, key)
        if a.kind == "numeric":
            err = b.metrics.get("sketch_error") or {"wasserstein": 0.0, "ks": 0.0}
            assert abs(a.metrics["wasserstein"] - b.metrics["wasserstein"]) <= err["wasserstein"] + 1e-12
            assert abs(a.metrics["ks_statistic"] - b.metrics["ks_statistic"]) <= err["ks"] + 1e-12
            assert err["ks"] <= 1 / max_atoms + 1e-12
            if "sketch_error" not in b.metrics:
                assert a.metrics["wasserstein"] == pytest.approx(b.metrics["wasserstein"], rel=1e-12)
    assert "sketch_error" in via_profile.feature("smooth").metrics
    assert "sketch_error" not in via_profile.feature("coarse").metrics
    assert via_profile.dataset.to_dict() == raw.dataset.to_dict()


def test_compare_takes_plain_arrays_and_reports_what_cannot_be_compared():
    ref, cur, kinds = _frames()
    profile = build_reference_profile(ref, kinds)
    batch = {name: cur[name].to_numpy() for name in cur.columns if name != "cat"}
    batch["shifted"] = np.array(["1.5"] * 10 + ["oops"] + ["2"] * 10, dtype=object)
    batch["smooth"] = np.full(21, np.nan)
    batch["coarse"] = np.array([1.0, 2.0, np.nan] + [np.nan] * 18)
    batch["many"] = np.array(["k1"] * 21, dtype=object)
    batch["extra"] = np.zeros(21)
    result = compare(profile, batch)
    reasons = {r.name: r.reason for r in result.features if not r.comparable}
    assert reasons["cat"] == "the current batch has no column 'cat'"
    assert "holds text where the reference holds numbers (for example 'oops')" in reasons["shifted"]
    assert reasons["smooth"].startswith("every value is missing in the current batch")
    assert reasons["coarse"].startswith("only 2 values in the current batch")
    assert result.feature("many").comparable and result.extra_columns == ["extra"]
    assert result.dataset.n_not_comparable == 4
    with pytest.raises(metrics.DriftInputError, match="no rows"):
        compare(profile, {k: v[:0] for k, v in batch.items()})
    with pytest.raises(metrics.DriftInputError, match="not a drift reference profile"):
        compare({"features": {}}, batch)


def test_the_metrics_module_imports_nothing_from_the_app():
    path = Path(metrics.__file__)
    allowed = {"__future__", "math", "warnings", "zlib", "collections", "dataclasses", "typing", "numpy",
               "scipy.stats", "scipy.special"}
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative import in metrics.py"
            found.add(node.module or "")
    assert found <= allowed, found - allowed
    assert not math.isnan(metrics.EPSILON)
