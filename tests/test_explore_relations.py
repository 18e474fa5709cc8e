"""Relations across columns and to the target, checked against pandas, scipy,
scikit-learn and statsmodels computed independently on the same data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import statsmodels.api as sm
from scipy import stats
from scipy.stats.contingency import association
from sklearn.metrics import mutual_info_score, roc_auc_score

from mlops_desktop.core.explore import profile_table
from mlops_desktop.core.explore.relations import MI_BINS, MI_MAX_CATEGORIES


def _table(df: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(df, preserve_index=False)


def _same(ours, reference, tol=1e-9) -> bool:
    """None in our output stands for NaN in the reference."""
    if reference is None or (isinstance(reference, float) and math.isnan(reference)):
        return ours is None
    return ours is not None and abs(ours - reference) <= tol


# -- duplicates and missing values ---------------------------------------------------------

def test_duplicate_rows_match_pandas():
    rng = np.random.default_rng(1)
    n = 400
    df = pd.DataFrame({"f": rng.integers(0, 3, n).astype(float), "s": rng.choice(["a", "b", None], n),
                       "i": rng.integers(0, 4, n), "b": rng.random(n) > 0.5,
                       "t": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 3, n), unit="D")})
    df.loc[rng.choice(n, 40, replace=False), "f"] = np.nan
    kinds = {"f": "numeric", "s": "categorical", "i": "numeric", "b": "boolean", "t": "datetime"}
    profile = profile_table(_table(df), kinds=kinds)
    dup = df.duplicated(keep="first")
    assert dup.sum() > 20  # a few hundred rows over few values: many repeats
    assert profile.duplicates["count"] == dup.sum()
    assert profile.duplicates["share"] == pytest.approx(dup.mean())
    assert profile.duplicates["examples"] == [int(i) + 1 for i in np.flatnonzero(dup)[:5]]


def test_rows_differing_in_one_column_are_not_duplicates():
    df = pd.DataFrame({"a": [1.0, 1.0, 1.0, np.nan, np.nan], "b": ["x", "x", "y", None, None],
                       "c": [0, 0, 0, 5, 5]})
    df2 = df.copy()
    df2.loc[1, "c"] = 1  # row 2 now differs from row 1 in c only
    for frame, expected in ((df, [2, 5]), (df2, [5])):
        profile = profile_table(_table(frame), kinds={"a": "numeric", "b": "categorical", "c": "numeric"})
        assert profile.duplicates["examples"] == expected
        assert profile.duplicates["count"] == frame.duplicated().sum()


def _missing_frame(n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                       "c": rng.choice(["p", "q"], n).astype(object), "d": rng.normal(size=n),
                       "e": rng.normal(size=n)})
    for col, share in (("a", 0.3), ("b", 0.2), ("c", 0.15), ("d", 0.1)):
        df.loc[rng.random(n) < share, col] = None
    df.loc[df["a"].isna() & (rng.random(n) < 0.5), "b"] = np.nan  # often missing together
    return df


def test_missing_patterns_match_a_groupby_of_the_null_mask():
    df = _missing_frame()
    profile = profile_table(_table(df), kinds={"a": "numeric", "b": "numeric", "c": "categorical",
                                               "d": "numeric", "e": "numeric"})
    mask = df.isna()
    groups = mask.groupby(list(mask.columns)).size()
    by_pattern = {frozenset(c for c, m in zip(mask.columns, key) if m): int(v) for key, v in groups.items()}
    mp = profile.missing_patterns
    assert mp["complete_rows"] == (~mask.any(axis=1)).sum() == by_pattern[frozenset()]
    assert mp["complete_share"] == pytest.approx(mp["complete_rows"] / len(df))
    assert set(mp["columns_considered"]) == {"a", "b", "c", "d"}  # e is never missing
    patterns = mp["patterns"]
    assert len(patterns) == 10 < len(by_pattern) - 1  # the ten most frequent of more
    for p in patterns:
        assert p["count"] == by_pattern[frozenset(p["columns"])]
        assert p["share"] == pytest.approx(p["count"] / len(df))
    others = sorted((v for k, v in by_pattern.items() if k), reverse=True)
    assert [p["count"] for p in patterns] == others[:10]


# -- correlations --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def numeric_frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 500
    a = rng.normal(size=n)
    df = pd.DataFrame({"a": a, "b": a + rng.normal(scale=0.5, size=n), "c": np.exp(a) + rng.normal(scale=0.1, size=n),
                       "d": rng.integers(0, 5, n).astype(float), "e": rng.normal(size=n)})
    df.loc[rng.random(n) < 0.1, "b"] = np.nan
    df.loc[rng.random(n) < 0.05, "c"] = np.nan
    # k is constant on every row where c is present: no correlation for that pair
    df["k"] = np.where(df["c"].isna(), rng.normal(size=n), 1.0)
    df["z"] = 4.0  # constant everywhere
    return df


@pytest.fixture(scope="module")
def numeric_profile(numeric_frame):
    return profile_table(_table(numeric_frame), kinds={c: "numeric" for c in numeric_frame.columns})


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_correlation_matrices_match_pandas_pairwise(numeric_frame, numeric_profile, method):
    corr = numeric_profile.correlations
    names = corr["columns"]
    assert "z" not in names  # a constant column has no correlation to show
    assert set(names) == set(numeric_frame.columns) - {"z"}
    reference = numeric_frame[names].corr(method=method, min_periods=3)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            assert _same(corr[method][i][j], reference.loc[a, b]), (method, a, b)
    assert corr[method][names.index("k")][names.index("c")] is None
    assert corr[method][names.index("c")][names.index("k")] is None


def test_spearman_uses_ranks_of_the_pairwise_complete_rows(numeric_frame, numeric_profile):
    corr = numeric_profile.correlations
    names = corr["columns"]
    both = numeric_frame[["b", "c"]].dropna()
    rho = stats.spearmanr(both["b"], both["c"]).statistic
    assert corr["spearman"][names.index("b")][names.index("c")] == pytest.approx(rho, abs=1e-12)
    # a monotone but curved relation: Spearman above Pearson
    i, j = names.index("a"), names.index("c")
    assert corr["spearman"][i][j] > corr["pearson"][i][j] + 0.05


@pytest.fixture(scope="module")
def category_frame() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    n = 800
    g = rng.choice(["north", "south", "east", "west"], n, p=[0.4, 0.3, 0.2, 0.1])
    h = np.where(rng.random(n) < 0.6, np.where(np.isin(g, ["north", "east"]), "hi", "lo"),
                 rng.choice(["hi", "lo", "mid"], n))
    k = rng.choice(["u", "v", "w"], n)
    shift = pd.Series(g).map({"north": 0.0, "south": 1.0, "east": 2.5, "west": -1.0}).to_numpy()
    df = pd.DataFrame({"g": g.astype(object), "h": h.astype(object), "k": k.astype(object),
                       "x": shift + rng.normal(size=n), "w": rng.normal(size=n)})
    df.loc[rng.random(n) < 0.1, "g"] = None
    df.loc[rng.random(n) < 0.05, "h"] = None
    df.loc[rng.random(n) < 0.08, "x"] = np.nan
    return df


@pytest.fixture(scope="module")
def category_profile(category_frame):
    return profile_table(_table(category_frame), kinds={"g": "categorical", "h": "categorical",
                                                        "k": "categorical", "x": "numeric", "w": "numeric"})


def test_cramers_v_matches_scipy(category_frame, category_profile):
    assoc = category_profile.associations
    names = assoc["columns"]
    assert names == ["g", "h", "k"]
    for i, a in enumerate(names):
        assert assoc["cramers_v"][i][i] == 1.0
        for j, b in enumerate(names):
            if i != j:
                table = pd.crosstab(category_frame[a], category_frame[b]).to_numpy()
                assert assoc["cramers_v"][i][j] == pytest.approx(association(table, method="cramer"), abs=1e-12)
    assert assoc["cramers_v"][0][1] > 0.3 > assoc["cramers_v"][0][2]


def _eta_direct(groups: pd.Series, values: pd.Series) -> float:
    d = pd.DataFrame({"g": groups, "v": values}).dropna()
    mean = d["v"].mean()
    between = d.groupby("g")["v"].agg(["count", "mean"])
    ss_between = (between["count"] * (between["mean"] - mean) ** 2).sum()
    ss_total = ((d["v"] - mean) ** 2).sum()
    return math.sqrt(ss_between / ss_total)


def _ols_r2_on_dummies(groups: pd.Series, values: pd.Series) -> float:
    d = pd.DataFrame({"g": groups, "v": values}).dropna()
    X = sm.add_constant(pd.get_dummies(d["g"], drop_first=True).astype(float))
    return sm.OLS(d["v"].to_numpy(), X.to_numpy()).fit().rsquared


def test_correlation_ratio_matches_a_direct_computation_and_ols(category_frame, category_profile):
    mixed = category_profile.mixed
    assert mixed["categorical"] == ["g", "h", "k"] and mixed["numeric"] == ["x", "w"]
    for i, g in enumerate(mixed["categorical"]):
        for j, x in enumerate(mixed["numeric"]):
            eta = mixed["eta"][i][j]
            assert eta == pytest.approx(_eta_direct(category_frame[g], category_frame[x]), abs=1e-12)
            assert eta ** 2 == pytest.approx(_ols_r2_on_dummies(category_frame[g], category_frame[x]), abs=1e-9)
    assert mixed["eta"][0][0] > 0.6  # g shifts x strongly


# -- relation to the target ----------------------------------------------------------------

@pytest.fixture(scope="module")
def binary_case():
    rng = np.random.default_rng(5)
    n = 1000  # (n - 1) * k / 20 is never whole: no value sits on a quantile edge
    y = rng.random(n) < 0.4
    x = rng.normal(size=n) + 0.8 * y  # continuous: no ties
    t = np.round(rng.normal(size=n) + 0.5 * y, 1)  # many ties
    t[rng.random(n) < 0.1] = np.nan
    c = np.where(y, rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1]),
                 rng.choice(["a", "b", "c"], n, p=[0.2, 0.3, 0.5])).astype(object)
    c[rng.random(n) < 0.05] = None
    df = pd.DataFrame({"label": np.where(y, "yes", "no"), "x": x, "t": t, "c": c})
    kinds = {"label": "categorical", "x": "numeric", "t": "numeric", "c": "categorical"}
    profile = profile_table(_table(df), kinds=kinds, target="label")
    return profile, df


def _rel(profile, column):
    return next(r for r in profile.target["relations"] if r["column"] == column)


def test_binary_target_section(binary_case):
    profile, df = binary_case
    section = profile.target
    assert section["task"] == "classification" and section["binary"] is True
    assert section["positive_class"] == "yes"
    vc = df["label"].value_counts()
    assert {c["value"]: c["count"] for c in section["classes"]} == vc.to_dict()
    mis = [r["mutual_information"] for r in section["relations"]]
    assert mis == sorted(mis, reverse=True)  # strongest first


@pytest.mark.parametrize("column", ["x", "t"])
def test_auc_of_a_numeric_feature_matches_sklearn(binary_case, column):
    profile, df = binary_case
    d = df[["label", column]].dropna()
    expected = roc_auc_score(d["label"] == "yes", d[column])
    assert _rel(profile, column)["auc"] == pytest.approx(expected, abs=1e-12)
    assert expected > 0.6


def test_target_encoding_auc_of_a_category_matches_sklearn(binary_case):
    profile, df = binary_case
    d = df[["label", "c"]].dropna()
    positive = d["label"] == "yes"
    rate = positive.groupby(d["c"]).transform("mean")
    assert _rel(profile, "c")["auc"] == pytest.approx(roc_auc_score(positive, rate), abs=1e-12)


def test_mutual_information_matches_sklearn_on_the_same_codes(binary_case):
    profile, df = binary_case
    d = df[["label", "x"]].dropna()
    bins = pd.qcut(d["x"], MI_BINS, labels=False)  # equal-frequency bins
    assert _rel(profile, "x")["mutual_information"] == pytest.approx(mutual_info_score(bins, d["label"]), abs=1e-12)
    d = df[["label", "c"]].dropna()
    assert _rel(profile, "c")["mutual_information"] == pytest.approx(mutual_info_score(d["c"], d["label"]), abs=1e-12)


def test_mutual_information_groups_categories_beyond_the_most_frequent():
    rng = np.random.default_rng(6)
    k = 80
    counts = 100 - np.arange(k)  # every category a different size: the top 50 are well defined
    cats = np.repeat([f"c{i:02d}" for i in range(k)], counts)
    rate = rng.random(k)
    y = rng.random(len(cats)) < np.repeat(rate, counts)
    order = rng.permutation(len(cats))
    df = pd.DataFrame({"cat": cats[order], "label": np.where(y[order], "yes", "no")})
    profile = profile_table(_table(df), kinds={"cat": "categorical", "label": "categorical"}, target="label")

    top = df["cat"].value_counts().index[:MI_MAX_CATEGORIES]
    grouped = df["cat"].where(df["cat"].isin(top), "(other)")
    expected = mutual_info_score(grouped, df["label"])
    ungrouped = mutual_info_score(df["cat"], df["label"])
    assert _rel(profile, "cat")["mutual_information"] == pytest.approx(expected, abs=1e-12)
    assert abs(expected - ungrouped) > 1e-3  # the grouping changes the figure


def test_numeric_target_relations():
    rng = np.random.default_rng(7)
    n = 1000
    x = rng.normal(size=n)
    g = rng.choice(["p", "q", "r"], n)
    y = 1.5 * x + pd.Series(g).map({"p": 0.0, "q": 1.0, "r": -2.0}).to_numpy() + rng.normal(size=n)
    x_missing = x.copy()
    # 900 and 970 values: (m - 1) * k / 20 is never whole, so no value sits on a bin edge
    x_missing[rng.choice(n, 100, replace=False)] = np.nan
    y[rng.choice(n, 30, replace=False)] = np.nan
    df = pd.DataFrame({"y": y, "x": x_missing, "g": g.astype(object)})
    profile = profile_table(_table(df), kinds={"y": "numeric", "x": "numeric", "g": "categorical"}, target="y")
    assert profile.target["task"] == "regression"

    d = df[["x", "y"]].dropna()
    rel = _rel(profile, "x")
    assert rel["r2"] == pytest.approx(np.corrcoef(d["x"], d["y"])[0, 1] ** 2, abs=1e-12)
    assert rel["spearman"] == pytest.approx(stats.spearmanr(d["x"], d["y"]).statistic, abs=1e-12)
    both_binned = pd.qcut(df["x"], MI_BINS, labels=False), pd.qcut(df["y"], MI_BINS, labels=False)
    d = pd.DataFrame({"bx": both_binned[0], "by": both_binned[1]}).dropna()
    assert rel["mutual_information"] == pytest.approx(mutual_info_score(d["bx"], d["by"]), abs=1e-12)

    rel = _rel(profile, "g")
    assert rel["r2"] == pytest.approx(_ols_r2_on_dummies(df["g"], df["y"]), abs=1e-9)


def test_multiclass_target_relations():
    rng = np.random.default_rng(8)
    n = 900
    cls = rng.choice(["A", "B", "C"], n)
    x = pd.Series(cls).map({"A": 0.0, "B": 1.0, "C": 3.0}).to_numpy() + rng.normal(size=n)
    f = np.where(rng.random(n) < 0.5, cls, rng.choice(["A", "B", "C"], n))
    df = pd.DataFrame({"cls": cls, "x": x, "f": np.char.lower(f.astype(str))})
    profile = profile_table(_table(df), kinds={"cls": "categorical", "x": "numeric", "f": "categorical"},
                            target="cls")
    assert profile.target["binary"] is False
    assert _rel(profile, "x")["eta2"] == pytest.approx(_eta_direct(df["cls"], df["x"]) ** 2, abs=1e-12)
    table = pd.crosstab(df["f"], df["cls"]).to_numpy()
    assert _rel(profile, "f")["cramers_v"] == pytest.approx(association(table, method="cramer"), abs=1e-12)


# -- sampling ------------------------------------------------------------------------------

def test_a_sample_for_relations_and_all_rows_for_columns():
    rng = np.random.default_rng(9)
    n = 3000
    a = rng.normal(size=n)
    df = pd.DataFrame({"a": a, "b": a + rng.normal(size=n), "c": rng.choice(["u", "v"], n),
                       "y": rng.choice(["yes", "no"], n)})
    df.loc[rng.random(n) < 0.1, "a"] = np.nan
    kinds = {"a": "numeric", "b": "numeric", "c": "categorical", "y": "categorical"}
    profile = profile_table(_table(df), kinds=kinds, target="y", sample_rows=500)

    assert profile.sample["sampled"] is True
    assert profile.sample["rows"] == 500 and profile.sample["of"] == n
    note = " ".join(profile.notes)
    assert "500" in note and "3,000" in note and "all rows" in note
    # per-column figures: every row
    col = profile.column("a")
    assert col.count == df["a"].count() and col.missing == df["a"].isna().sum()
    assert col.stats["mean"] == pytest.approx(df["a"].mean(), rel=1e-12)
    assert sum(col.chart["counts"]) == df["a"].count()
    assert profile.column("c").stats["top"][0]["count"] == df["c"].value_counts().max()
    # correlations: a sample, close to but not the figure on every row
    full = df["a"].corr(df["b"])
    r = profile.correlations["pearson"][0][1]
    assert r != pytest.approx(full, abs=1e-9) and r == pytest.approx(full, abs=0.1)
    # the same call without a sample says nothing about sampling
    whole = profile_table(_table(df), kinds=kinds, target="y")
    assert whole.sample["sampled"] is False and whole.notes == []
    assert whole.correlations["pearson"][0][1] == pytest.approx(full, abs=1e-12)
