"""Explore alerts that were wrong or misleading on real data (issue 13, C5–C8), each on
simulated data with the same property."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy import stats
from sklearn.metrics import mutual_info_score

from mlops_desktop.core.data.types import infer_column
from mlops_desktop.core.explore import profile_table


def _profile(df: pd.DataFrame, target: str | None = None):
    table = pa.Table.from_pandas(df, preserve_index=False)
    kinds = {c: infer_column(table.column(c), table.num_rows).kind for c in table.column_names}
    return profile_table(table, kinds=kinds, target=target)


def _alerts(profile, kind: str, column: str | None = None):
    return [a for a in profile.alerts if a.kind == kind and (column is None or column in a.columns)]


def test_the_target_is_not_part_of_a_highly_correlated_pair():
    """A feature that tracks the target closely (r ≈ 0.95) is a good predictor, not a pair
    of redundant features; two features that track each other still are."""
    rng = np.random.default_rng(1)
    n = 500
    x = rng.normal(size=n)
    df = pd.DataFrame({"x": x, "x_twin": x + rng.normal(scale=0.1, size=n),
                       "y": x + rng.normal(scale=0.3, size=n), "noise": rng.normal(size=n)})
    assert abs(np.corrcoef(df["x"], df["y"])[0, 1]) > 0.9  # the property
    p = _profile(df, target="y")
    pairs = [set(a.columns) for a in _alerts(p, "correlated")]
    assert pairs == [{"x", "x_twin"}]
    # without a target the pairs with y are alerts as before
    assert {"x", "y"} in [set(a.columns) for a in _alerts(_profile(df), "correlated")]


def test_an_ordinal_scale_and_a_small_count_are_not_outliers():
    """A 1–6 credit-history scale concentrated on 3–4 puts 19% of rows beyond 1.5 IQR, and
    so does a count of dependants; neither is an outlier. A continuous heavy tail still is."""
    rng = np.random.default_rng(2)
    n = 1000
    scale = rng.choice([1, 2, 3, 4, 5, 6], n, p=[0.10, 0.04, 0.40, 0.33, 0.04, 0.09])
    dependants = rng.choice([0, 1, 2, 3, 4], n, p=[0.8, 0.08, 0.06, 0.04, 0.02])
    spiky = rng.normal(size=n)
    spiky[:100] = rng.normal(12, 1, 100)
    df = pd.DataFrame({"credit_history": scale, "dependants": dependants, "spiky": spiky})
    q1, q3 = np.percentile(scale, [25, 75])
    assert np.mean((scale < q1 - 1.5 * (q3 - q1)) | (scale > q3 + 1.5 * (q3 - q1))) > 0.15
    p = _profile(df)
    assert not _alerts(p, "outliers", "credit_history")
    assert not _alerts(p, "outliers", "dependants")
    assert _alerts(p, "outliers", "spiky")


def test_a_rare_but_strong_predictor_is_not_called_uninformative():
    """98% of rows hold one value; the rare value is 92% positive against 10%: the column
    has the highest mutual information with the target of all features."""
    rng = np.random.default_rng(3)
    n = 3000
    flag = np.where(rng.random(n) < 0.02, "B", "A")
    y = np.where(flag == "B", rng.random(n) < 0.92, rng.random(n) < 0.10)
    df = pd.DataFrame({"flag": flag, "n1": rng.normal(size=n) + 0.1 * y,
                       "c1": rng.choice(list("abcd"), n), "y": np.where(y, "yes", "no")})
    p = _profile(df, target="y")
    mi = {r["column"]: r["mutual_information"] for r in p.target["relations"]}
    assert max(mi, key=mi.get) == "flag"  # the property
    assert mi["flag"] == pytest.approx(mutual_info_score(df["flag"], df["y"]), rel=1e-9)
    (alert,) = _alerts(p, "near_constant", "flag")
    assert "little information" not in alert.message
    assert "rare but strong predictor" in alert.message and alert.severity == "info"
    rare = next(r for r in p.target["relations"] if r["column"] == "flag")["rare_values"]
    table = pd.crosstab(df["flag"] == "B", df["y"] == "yes").to_numpy()
    assert rare["p_value"] == pytest.approx(stats.fisher_exact(table).pvalue, rel=1e-6, abs=1e-300)
    assert rare["rate_rare"] == pytest.approx(np.mean(y[flag == "B"]))
    assert f"{np.mean(y[flag == 'B']):.0%}" in alert.message
    # a near-constant column unrelated to the target keeps its warning
    df["dull"] = np.where(rng.random(n) < 0.02, "B", "A")
    (dull,) = _alerts(_profile(df, target="y"), "near_constant", "dull")
    assert dull.severity == "warning" and "little information" in dull.message


def test_zeros_in_a_positive_measurement_and_typos_are_alerted():
    """Carat-like sizes where a few rows hold 0 (a failed measurement), and heights in cm
    with two typos (1720 and 17.1): values no measurement of that spread produces."""
    rng = np.random.default_rng(4)
    n = 2000
    size = rng.lognormal(np.log(5.7), 0.2, n)
    size[rng.choice(n, 8, replace=False)] = 0.0
    height = rng.normal(170, 9, n)
    height[[10, 20]] = [1720.0, 17.1]
    clean = rng.normal(170, 9, n)
    count = rng.poisson(1.2, n)  # zeros are ordinary in a count
    df = pd.DataFrame({"size": size, "height": height, "clean": clean, "count": count})
    p = _profile(df)
    (zeros,) = _alerts(p, "zeros_in_positive", "size")
    assert zeros.figure == pytest.approx(8 / n) and "8 rows" in zeros.message
    (typos,) = _alerts(p, "extreme_values", "height")
    assert "1,720" in typos.message and "17.1" in typos.message and typos.figure == pytest.approx(2 / n)
    q1, q3 = np.percentile(height, [25, 75])
    far = (height < q1 - 10 * (q3 - q1)) | (height > q3 + 10 * (q3 - q1))
    assert far.sum() == 2
    for column in ("clean", "count"):
        assert not _alerts(p, "zeros_in_positive", column) and not _alerts(p, "extreme_values", column)
