"""Alerts of the Explore profile: each rule fires on data made to trip it, names the
column, has the right severity, and stays quiet on ordinary data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlops_desktop.core.data.types import infer_column
from mlops_desktop.core.explore import profile_table

N = 400


def _profile(df: pd.DataFrame, target: str | None = None, kinds: dict[str, str] | None = None):
    """Profile ``df`` with the kinds the importer would infer (``kinds`` overrides some)."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    inferred = {c: infer_column(table.column(c), table.num_rows).kind for c in table.column_names}
    inferred.update(kinds or {})
    return profile_table(table, kinds=inferred, target=target)


def _alerts(profile, kind: str, column: str | None = None):
    return [a for a in profile.alerts
            if a.kind == kind and (column is None or column in a.columns)]


def _one(profile, kind: str, column: str | None = None):
    found = _alerts(profile, kind, column)
    assert len(found) == 1, (kind, column, [a.to_dict() for a in profile.alerts])
    return found[0]


@pytest.fixture
def rng():
    return np.random.default_rng(42)


@pytest.fixture(scope="module")
def quiet() -> pd.DataFrame:
    """Ordinary columns that deserve no alert."""
    rng = np.random.default_rng(41)
    return pd.DataFrame({"n1": rng.normal(size=N), "n2": rng.normal(size=N),
                         "c1": rng.choice(["a", "b", "c", "d"], N)})


def _with(quiet: pd.DataFrame, **columns) -> pd.DataFrame:
    df = quiet.copy()
    for name, values in columns.items():
        df[name] = values
    return df


def test_ordinary_data_raise_no_alert(quiet):
    assert _profile(quiet).alerts == []


def test_constant_and_near_constant(quiet, rng):
    cat = np.where(np.arange(N) < 0.97 * N, "same", rng.choice(["x", "y"], N))
    num = np.where(np.arange(N) < 0.96 * N, 5.0, rng.normal(size=N))
    p = _profile(_with(quiet, const=["k"] * N, cat=cat, num=num, mostly=np.where(np.arange(N) < 0.6 * N, "p", "q")),
                 kinds={"num": "numeric"})
    a = _one(p, "constant", "const")
    assert a.severity == "warning" and "const" in a.message
    a = _one(p, "near_constant", "cat")
    assert a.severity == "warning" and a.figure == pytest.approx(np.mean(cat == "same"))
    assert _one(p, "near_constant", "num").severity == "warning"
    assert not _alerts(p, "near_constant", "mostly") and not _alerts(p, "constant", "cat")


def test_high_cardinality_and_id_like(quiet):
    many = np.array([f"v{i % 60}" for i in range(N)])  # 60 categories
    some = np.array([f"v{i % 40}" for i in range(N)])  # 40 categories
    ids = np.array([f"K{i:05d}" for i in range(N)])
    p = _profile(_with(quiet, many=many, some=some, key=ids), kinds={"key": "categorical"})
    a = _one(p, "high_cardinality", "many")
    assert a.severity == "warning" and a.figure == 60
    assert not _alerts(p, "high_cardinality", "some")
    assert _one(p, "id_like", "key").severity == "info"
    assert not _alerts(p, "id_like", "many")
    # as the importer sees it, a unique code per row is an id
    p = _profile(_with(quiet, key=ids))
    assert _one(p, "id_like", "key").severity == "info"


def test_heavy_missingness_is_a_warning_then_a_problem(quiet, rng):
    def holes(share):
        x = rng.normal(size=N)
        x[: int(share * N)] = np.nan
        return x

    p = _profile(_with(quiet, light=holes(0.10), heavy=holes(0.30), most=holes(0.60), gone=[None] * N),
                 kinds={"gone": "numeric"})
    assert not _alerts(p, "missing", "light")
    a = _one(p, "missing", "heavy")
    assert a.severity == "warning" and a.figure == pytest.approx(0.30) and "30.0%" in a.message
    assert _one(p, "missing", "most").severity == "problem"
    a = _one(p, "empty", "gone")
    assert a.severity == "problem" and "every row" in a.message


def test_strong_skew_and_many_outliers(quiet, rng):
    skewed = rng.lognormal(0, 1.2, N)
    spiky = rng.normal(size=N)
    spiky[:40] = 50.0  # 10% far away
    p = _profile(_with(quiet, skewed=skewed, spiky=spiky))
    a = _one(p, "skew", "skewed")
    assert a.figure == pytest.approx(pd.Series(skewed).skew()) and a.figure > 2
    a = _one(p, "outliers", "spiky")
    q1, q3 = np.percentile(spiky, [25, 75])
    beyond = np.mean((spiky < q1 - 1.5 * (q3 - q1)) | (spiky > q3 + 1.5 * (q3 - q1)))
    assert a.severity == "warning" and a.figure == pytest.approx(beyond) and a.figure >= 0.10
    assert not _alerts(p, "skew", "n1") and not _alerts(p, "outliers", "n1")


def test_duplicate_rows(quiet):
    many = pd.concat([quiet, quiet.iloc[:20]], ignore_index=True)  # 20 of 420: 4.8%
    a = _one(_profile(many), "duplicates")
    assert a.severity == "warning" and a.columns == [] and a.figure == pytest.approx(20 / 420)
    assert a.message.startswith("20 rows")
    few = pd.concat([quiet, quiet.iloc[:1]], ignore_index=True)  # 1 of 401: below 1%
    assert _one(_profile(few), "duplicates").severity == "info"


def test_highly_correlated_pair(quiet, rng):
    p = _profile(_with(quiet, twin=quiet["n1"] * 3 + rng.normal(scale=0.05, size=N),
                       cousin=quiet["n2"] + rng.normal(size=N)))
    a = _one(p, "correlated")
    assert set(a.columns) == {"n1", "twin"} and a.severity == "warning" and a.figure > 0.9


def test_interchangeable_categories(quiet):
    p = _profile(_with(quiet, upper=quiet["c1"].str.upper()))
    a = _one(p, "associated")
    assert set(a.columns) == {"c1", "upper"} and a.figure == pytest.approx(1.0)


# -- suspected target leakage --------------------------------------------------------------

def _leaks(profile):
    return {a.columns[0]: a for a in profile.alerts if a.kind == "leakage"}


def test_copy_and_monotone_transform_of_a_numeric_target(quiet, rng):
    y = rng.normal(size=N) * 2 + quiet["n1"]
    df = _with(quiet, y=y, copy=y, grown=np.exp(y), noisy=y + rng.normal(scale=3, size=N),
               random=rng.normal(size=N))
    p = _profile(df, target="y")
    leaks = _leaks(p)
    assert set(leaks) == {"copy", "grown"}
    for name, a in leaks.items():
        assert a.severity == "problem" and a.columns == [name, "y"] and name in a.message
    assert "Spearman" in leaks["grown"].message  # the curve hides it from R²


def test_category_that_maps_to_a_binary_target(quiet, rng):
    y = rng.choice(["yes", "no"], N)
    df = _with(quiet, y=y, code=np.where(y == "yes", "Y", "N"), shuffled=rng.permutation(y),
               score=(y == "yes") + rng.normal(scale=0.01, size=N))
    p = _profile(df, target="y")
    leaks = _leaks(p)
    assert set(leaks) == {"code", "score"}
    assert leaks["code"].severity == "problem" and "univariate AUC" in leaks["code"].message


def test_category_that_maps_to_a_multiclass_target(quiet, rng):
    y = rng.choice(["red", "green", "blue"], N)
    df = _with(quiet, y=y, code=pd.Series(y).map({"red": 1, "green": 2, "blue": 3}).astype(str))
    assert set(_leaks(_profile(df, target="y"))) == {"code"}


def test_an_id_like_category_is_not_leakage(quiet, rng):
    """Each row its own category predicts the target perfectly in-sample; that is not a
    leak, and it is flagged as id-like and high-cardinality instead."""
    y = rng.choice(["yes", "no"], N)
    ids = np.array([f"row-{i}" for i in range(N)])
    p = _profile(_with(quiet, y=y, ident=ids), target="y", kinds={"ident": "categorical"})
    rel = next(r for r in p.target["relations"] if r["column"] == "ident")
    assert rel["auc"] == pytest.approx(1.0)  # the in-sample score is perfect...
    assert _leaks(p) == {}  # ...and still no leakage alert
    assert _alerts(p, "id_like", "ident") and _alerts(p, "high_cardinality", "ident")
    # the same holds for a numeric target
    p = _profile(_with(quiet, y=rng.normal(size=N), ident=ids), target="y", kinds={"ident": "categorical"})
    assert _leaks(p) == {}


def test_alerts_are_ordered_problems_first(quiet, rng):
    x = rng.normal(size=N)
    x[:250] = np.nan
    y = rng.normal(size=N)
    p = _profile(_with(quiet, y=y, copy=y, holes=x, skewed=rng.lognormal(0, 1.5, N)), target="y")
    order = {"problem": 0, "warning": 1, "info": 2}
    ranks = [order[a.severity] for a in p.alerts]
    assert ranks == sorted(ranks) and ranks[0] == 0 and ranks[-1] == 2


def test_a_constant_target_is_a_problem(quiet):
    p = _profile(_with(quiet, y=["same"] * N), target="y")
    a = _one(p, "constant_target", "y")
    assert a.severity == "problem" and "nothing to predict" in a.message


def test_a_numeric_column_with_a_few_stray_values_is_named_not_called_high_cardinality(workspace, tmp_path):
    """One "--" and one "1,012.5" among numbers: the alert names them and does not advise
    grouping rare categories."""
    import numpy as np
    import pandas as pd

    from mlops_desktop.core.explore import profile_dataset

    rng = np.random.default_rng(1)
    humid = [f"{v:.1f}" for v in rng.uniform(20, 100, 300)]
    humid[5], humid[77] = "--", "1,012.5"
    pd.DataFrame({"humid": humid, "x": rng.normal(size=300)}).to_csv(tmp_path / "w.csv", index=False)
    workspace.import_file(tmp_path / "w.csv", actor="ann")
    profile = profile_dataset(workspace, "w")
    kinds = {a.kind for a in profile.alerts if a.columns == ["humid"]}
    assert "mostly_numbers" in kinds and "high_cardinality" not in kinds
    alert = next(a for a in profile.alerts if a.kind == "mostly_numbers")
    assert "'--'" in alert.message and "'1,012.5'" in alert.message and "2 values" in alert.message
    assert alert.figure == pytest.approx(298 / 300)
