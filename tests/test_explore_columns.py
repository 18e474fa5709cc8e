"""Per-column figures of the Explore profile, checked against pandas, numpy and scipy
computed independently on the same data."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy import stats

from mlops_desktop.core.explore import profile_table
from mlops_desktop.core.explore.columns import HISTOGRAM_BINS, QUANTILES, TOP_VALUES

N = 1000


def _numeric_frame() -> pd.DataFrame:
    """Numbers with missing values (None and NaN), infinities, ties, zeros and negatives."""
    rng = np.random.default_rng(7)
    skewed = rng.lognormal(0.0, 1.0, N)
    skewed[rng.choice(N, 60, replace=False)] = np.nan
    skewed[[3, 17]] = np.inf
    skewed[29] = -np.inf
    skewed[rng.choice(N, 40, replace=False)] = 0.0
    ties = rng.integers(-4, 6, N).astype(float)  # ten values, many ties, zeros, negatives
    ties[rng.choice(N, 25, replace=False)] = np.nan
    heavy = rng.standard_t(2, N) * 10  # outliers on both sides
    normal = rng.normal(50, 5, N)
    return pd.DataFrame({"skewed": skewed, "ties": ties, "heavy": heavy, "normal": normal,
                         "whole": rng.integers(0, 1000, N)})


def _arrow(df: pd.DataFrame, null_rows: np.ndarray | None = None) -> pa.Table:
    """An Arrow table of ``df``; ``null_rows`` of column 'skewed' become Arrow nulls
    (not NaN), so both kinds of missing value are present."""
    cols = {}
    for name in df.columns:
        values = df[name].to_numpy()
        mask = null_rows if (name == "skewed" and null_rows is not None) else None
        cols[name] = pa.array(values, mask=mask)
    return pa.table(cols)


@pytest.fixture(scope="module")
def numeric_case():
    df = _numeric_frame()
    null_rows = np.zeros(N, dtype=bool)
    null_rows[np.arange(5, N, 97)] = True
    table = _arrow(df, null_rows)
    expected = table.to_pandas()  # Arrow nulls become NaN: pandas sees every missing value
    profile = profile_table(table, kinds={c: "numeric" for c in df.columns})
    return profile, expected


def _finite(s: pd.Series) -> pd.Series:
    s = s.dropna().astype(float)
    return s[np.isfinite(s)]


COLUMNS = ["skewed", "ties", "heavy", "normal", "whole"]


@pytest.mark.parametrize("name", COLUMNS)
def test_counts_missing_and_distinct(numeric_case, name):
    profile, df = numeric_case
    col, s = profile.column(name), df[name]
    assert col.count == s.count()  # infinities are values, not missing
    assert col.missing == s.isna().sum()
    assert col.missing_share == pytest.approx(s.isna().mean())
    assert col.distinct == s.nunique()
    valid = s.dropna()
    assert col.stats["zeros"] == (valid == 0).sum()
    assert col.stats["negatives"] == (valid < 0).sum()
    assert col.stats["infinite"] == np.isinf(valid).sum()
    if name == "skewed":  # the data really hold what the test is about
        assert col.stats["infinite"] == 3 and col.missing > 60 and col.stats["zeros"] > 30


@pytest.mark.parametrize("name", COLUMNS)
def test_moments_and_quantiles(numeric_case, name):
    profile, df = numeric_case
    st, x = profile.column(name).stats, _finite(df[name])
    assert st["mean"] == pytest.approx(x.mean(), rel=1e-12)
    assert st["std"] == pytest.approx(x.std(ddof=1), rel=1e-12)
    assert st["std"] == pytest.approx(np.std(x.to_numpy(), ddof=1), rel=1e-12)
    assert st["min"] == x.min() and st["max"] == x.max()
    expected_q = np.quantile(x.to_numpy(), QUANTILES, method="linear")
    for q, v in zip(QUANTILES, expected_q):
        assert st[f"q{int(round(q * 100)):02d}"] == pytest.approx(v, rel=1e-12, abs=1e-12)
        assert st[f"q{int(round(q * 100)):02d}"] == pytest.approx(x.quantile(q), rel=1e-12, abs=1e-12)
    assert st["median"] == pytest.approx(x.median())
    assert st["iqr"] == pytest.approx(x.quantile(0.75) - x.quantile(0.25))


@pytest.mark.parametrize("name", COLUMNS)
def test_skewness_and_excess_kurtosis(numeric_case, name):
    profile, df = numeric_case
    st, x = profile.column(name).stats, _finite(df[name])
    assert st["skewness"] == pytest.approx(x.skew(), rel=1e-9)
    assert st["skewness"] == pytest.approx(stats.skew(x, bias=False), rel=1e-9)
    assert st["kurtosis"] == pytest.approx(x.kurt(), rel=1e-9)
    assert st["kurtosis"] == pytest.approx(stats.kurtosis(x, fisher=True, bias=False), rel=1e-9)


@pytest.mark.parametrize("name", COLUMNS)
def test_outlier_counts_by_their_definitions(numeric_case, name):
    profile, df = numeric_case
    st, x = profile.column(name).stats, _finite(df[name]).to_numpy()
    q1, q3 = pd.Series(x).quantile([0.25, 0.75])
    iqr = q3 - q1
    beyond = int(((x < q1 - 1.5 * iqr) | (x > q3 + 1.5 * iqr)).sum())
    assert st["outliers_iqr"] == beyond
    assert st["outliers_iqr_share"] == pytest.approx(beyond / len(x))
    assert st["iqr_fences"] == pytest.approx([q1 - 1.5 * iqr, q3 + 1.5 * iqr])

    median = np.median(x)
    mad = stats.median_abs_deviation(x)  # unscaled, as in the modified z-score
    assert st["mad"] == pytest.approx(mad)
    robust = int((0.6745 * np.abs(x - median) / mad > 3.5).sum()) if mad > 0 else 0
    assert st["outliers_robust_z"] == robust
    assert st["outliers_robust_z_share"] == pytest.approx(robust / len(x))
    if name == "heavy":
        assert beyond > 0 and robust > 0  # the test exercises a non-trivial count


@pytest.mark.parametrize("name", COLUMNS)
def test_histogram_matches_numpy(numeric_case, name):
    profile, df = numeric_case
    chart, x = profile.column(name).chart, _finite(df[name]).to_numpy()
    counts, edges = np.histogram(x, bins=HISTOGRAM_BINS, range=(x.min(), x.max()))
    assert chart["kind"] == "histogram"
    assert chart["counts"] == counts.tolist()
    assert chart["edges"] == pytest.approx(edges.tolist())
    assert sum(chart["counts"]) == len(x)  # every finite value, infinities left out


def test_a_column_of_one_repeated_value_has_a_single_bin():
    table = pa.table({"k": pa.array([2.5] * 30 + [None] * 3)})
    col = profile_table(table, kinds={"k": "numeric"}).column("k")
    assert col.count == 30 and col.missing == 3 and col.distinct == 1
    assert col.stats["std"] == 0.0 and col.stats["iqr"] == 0.0
    assert col.stats["outliers_iqr"] == 0 and col.stats["outliers_robust_z"] == 0
    assert col.chart["counts"] == [30]
    assert col.chart["edges"][0] < 2.5 < col.chart["edges"][1]


def test_booleans_profiled_as_numbers_count_true_as_one():
    values = [True, False, True, None, True, False]
    col = profile_table(pa.table({"b": pa.array(values)}), kinds={"b": "numeric"}).column("b")
    s = pd.Series(values, dtype="boolean")
    assert col.count == s.count() and col.missing == 1 and col.distinct == 2
    assert col.stats["mean"] == pytest.approx(s.dropna().astype(float).mean())
    assert col.stats["zeros"] == 2


# -- categories ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def categorical_case():
    rng = np.random.default_rng(11)
    labels = [f"v{i:02d}" for i in range(15)]
    weights = np.array([30, 20, 20, 12, 9, 7, 6, 5, 4, 3, 3, 2, 1, 1, 1], dtype=float)
    values = rng.choice(labels, N, p=weights / weights.sum()).astype(object)
    values[rng.choice(N, 80, replace=False)] = None
    values[:3] = ["rare-a", "rare-b", "rare-c"]  # singletons
    codes = rng.choice([1, 2, 3], N).astype(float)  # numbers used as categories
    codes[::50] = np.nan
    table = pa.table({"cat": pa.array(values.tolist(), pa.string()), "code": pa.array(codes, from_pandas=True)})
    profile = profile_table(table, kinds={"cat": "categorical", "code": "categorical"})
    return profile, pd.Series(values, dtype=object), pd.Series(codes)


def test_categorical_counts_and_top_values(categorical_case):
    profile, s, _ = categorical_case
    col = profile.column("cat")
    vc = s.value_counts(dropna=True)
    assert col.count == s.count() and col.missing == s.isna().sum()
    assert col.distinct == s.nunique() == len(vc)
    top = col.stats["top"]
    assert len(top) == TOP_VALUES
    for item in top:
        assert item["count"] == vc[item["value"]]
        assert item["share"] == pytest.approx(vc[item["value"]] / s.count())
    # the most frequent values, most frequent first (ties may come in any order)
    assert [t["count"] for t in top] == vc.sort_values(ascending=False).head(TOP_VALUES).tolist()
    assert col.stats["top_share"] == pytest.approx(vc.max() / s.count())
    assert col.stats["singletons"] == (vc == 1).sum() >= 3
    lengths = s.dropna().str.len()
    assert col.stats["mean_length"] == pytest.approx(lengths.mean())
    assert col.stats["max_length"] == lengths.max()
    chart = col.chart
    assert chart["labels"] == [t["value"] for t in top]
    assert chart["other"] == s.count() - sum(t["count"] for t in top)


def test_numbers_used_as_categories_are_labelled_as_written(categorical_case):
    profile, _, codes = categorical_case
    col = profile.column("code")
    vc = codes.value_counts()
    assert col.missing == codes.isna().sum() and col.distinct == 3
    assert {t["value"]: t["count"] for t in col.stats["top"]} == {str(int(k)): v for k, v in vc.items()}


# -- dates and times -----------------------------------------------------------------------

def test_datetime_range_and_largest_gap():
    rng = np.random.default_rng(3)
    start = pd.Timestamp("2021-03-01 06:00")
    hours = np.sort(rng.choice(2000, 400, replace=False))
    hours[hours > 1000] += 500  # one gap of several weeks
    stamps = list(start + pd.to_timedelta(hours, unit="h"))
    stamps += stamps[:40]  # ties
    stamps += [None] * 10
    s = pd.Series(pd.to_datetime(stamps))
    col = profile_table(pa.table({"when": pa.array(s)}), kinds={"when": "datetime"}).column("when")

    assert col.count == s.count() and col.missing == 10 and col.distinct == s.nunique()
    st = col.stats
    assert pd.Timestamp(st["min"]) == s.min() and pd.Timestamp(st["max"]) == s.max()
    assert st["range_days"] == pytest.approx((s.max() - s.min()) / pd.Timedelta(days=1))
    unique = np.sort(s.dropna().unique())
    gaps = pd.Series(np.diff(unique))
    largest = int(gaps.to_numpy().argmax())
    assert st["largest_gap_hours"] == pytest.approx(gaps.max() / pd.Timedelta(hours=1))
    assert st["largest_gap_hours"] > 500
    assert pd.Timestamp(st["largest_gap_from"]) == pd.Timestamp(unique[largest])
    assert pd.Timestamp(st["largest_gap_to"]) == pd.Timestamp(unique[largest + 1])
    assert st["typical_step_hours"] == pytest.approx(gaps.median() / pd.Timedelta(hours=1))
    assert st["gaps_over_10x_typical"] == int((gaps > 10 * gaps.median()).sum())
    assert sum(col.chart["counts"]) == s.count()


def test_dates_without_time_are_profiled():
    """A date column (Arrow date32, as a Parquet file gives) is profiled, and rows are
    compared on it for duplicates."""
    days = [dt.date(2022, 1, 1) + dt.timedelta(days=int(d)) for d in (0, 1, 1, 5, 40, 41)] + [None]
    table = pa.table({"day": pa.array(days, pa.date32()), "v": pa.array([1.0, 2, 2, 3, 4, 5, 6])})
    profile = profile_table(table, kinds={"day": "datetime", "v": "numeric"})
    st = profile.column("day").stats
    assert st["min"].startswith("2022-01-01") and st["max"].startswith("2022-02-11")
    assert st["range_days"] == 41
    assert st["largest_gap_hours"] == 35 * 24
    assert profile.duplicates["count"] == 1 and profile.duplicates["examples"] == [3]


# -- chunked Arrow data --------------------------------------------------------------------

def _mixed_frame() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 600
    x = rng.normal(size=n)
    x[rng.choice(n, 30, replace=False)] = np.nan
    cat = rng.choice(["red", "green", "blue", "grey"], n).astype(object)
    cat[rng.choice(n, 20, replace=False)] = None
    df = pd.DataFrame({"x": x, "y": 2 * np.nan_to_num(x) + rng.normal(size=n),
                       "n": rng.integers(0, 20, n), "cat": cat,
                       "when": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D"),
                       "label": rng.choice(["yes", "no"], n)})
    df.iloc[450:460] = df.iloc[10:20].to_numpy()  # duplicates that cross chunks
    return df


def test_a_chunked_table_gives_the_same_profile_as_one_chunk():
    df = _mixed_frame()
    single = pa.Table.from_pandas(df, preserve_index=False)
    # each piece on its own: different dictionaries and value orders per chunk
    chunked = pa.concat_tables([pa.Table.from_pandas(df.iloc[a:b], preserve_index=False)
                                for a, b in ((0, 100), (100, 101), (101, 350), (350, 600))])
    assert chunked.column("cat").num_chunks == 4 and single.column("cat").num_chunks == 1
    kinds = {"x": "numeric", "y": "numeric", "n": "numeric", "cat": "categorical",
             "when": "datetime", "label": "categorical"}
    one = profile_table(single, kinds=kinds, target="label").to_dict()
    many = profile_table(chunked, kinds=kinds, target="label").to_dict()
    one.pop("seconds"), many.pop("seconds")
    assert json.dumps(many, sort_keys=True, allow_nan=False) == json.dumps(one, sort_keys=True, allow_nan=False)
    assert one["duplicates"]["count"] == df.duplicated().sum() >= 10
