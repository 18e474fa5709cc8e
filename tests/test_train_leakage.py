"""Training's automatic leak exclusion is Explore's (issue 13, B2): the same measures,
the same threshold and the same 30-row guard, so the two pages cannot disagree."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlops_desktop.core.data.types import infer_column
from mlops_desktop.core.explore import profile_table
from mlops_desktop.core.train import TrainSpec, train
from mlops_desktop.core.train.features import leakage_suspects


def longley_like(seed: int = 1947) -> pd.DataFrame:
    """Sixteen yearly rows in the manner of NIST's Longley data: GNP, population and
    armed forces all trend with the year, and employment follows them. The property:
    every predictor is almost perfectly rank-correlated with the target (|Spearman| near
    1) without being a copy of it; with 16 rows any trend separates perfectly."""
    rng = np.random.default_rng(seed)
    year = np.arange(1947, 1963, dtype=float)
    t = year - 1947
    gnp = 234 + 22 * t + rng.normal(0, 4, 16)
    population = 107 + 1.3 * t + rng.normal(0, 0.3, 16)
    armed = 150 + 20 * t + rng.normal(0, 40, 16)
    employed = 60 + 0.033 * gnp + 0.05 * population + 0.002 * armed + rng.normal(0, 0.3, 16)
    return pd.DataFrame({"gnp": gnp, "population": population, "armed_forces": armed,
                         "employed": employed})


def test_sixteen_collinear_rows_keep_every_real_predictor(workspace, tmp_path):
    df = longley_like()
    spearman = df.corr(method="spearman")["employed"].drop("employed").abs()
    assert (spearman >= 0.98).sum() >= 2  # the property: the old screen called these leaks
    path = tmp_path / "longley.csv"
    df.to_csv(path, index=False)
    workspace.import_file(path, actor="tester")
    result = train(workspace, TrainSpec(dataset="longley", target="employed", models=["ols"],
                                        cv_folds=3), actor="tester")
    assert [f["name"] for f in result.features] == ["gnp", "population", "armed_forces"]
    assert not [e for e in result.excluded if "leak" in e["reason"]]
    # Explore agrees: too few rows for any leakage verdict
    table = pa.Table.from_pandas(df, preserve_index=False)
    kinds = {c: infer_column(table.column(c), 16).kind for c in df.columns}
    prof = profile_table(table, kinds=kinds, target="employed")
    assert not [a for a in prof.alerts if a.kind == "leakage"]


@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
def test_training_scores_are_explores_scores(task):
    """On 400 rows, the leak screen of training flags what Explore flags, with the same
    figure and measure."""
    rng = np.random.default_rng(3)
    n = 400
    x = rng.normal(size=n)
    if task == "regression":
        y = 2 * x + rng.normal(size=n)
        copy = y + rng.normal(scale=1e-3, size=n)
    elif task == "binary":
        y = np.where(x + rng.normal(size=n) > 0, "yes", "no")
        copy = (y == "yes") + rng.normal(scale=0.01, size=n)
    else:
        y = rng.choice(["red", "green", "blue"], n)
        copy = pd.Series(y).map({"red": 1.0, "green": 2.0, "blue": 3.0}).to_numpy() + rng.normal(scale=0.01, size=n)
    df = pd.DataFrame({"x": x, "copy": copy, "colour": rng.choice(list("abc"), n), "y": y})
    kinds = {"x": "numeric", "copy": "numeric", "colour": "categorical"}
    suspects = leakage_suspects(df, np.asarray(y), task, kinds)
    table = pa.Table.from_pandas(df, preserve_index=False)
    explore_kinds = {"x": "numeric", "copy": "numeric", "colour": "categorical",
                     "y": "numeric" if task == "regression" else "categorical"}
    prof = profile_table(table, kinds=explore_kinds, target="y")
    flagged = {a.columns[0]: a.figure for a in prof.alerts if a.kind == "leakage"}
    assert set(suspects) == set(flagged) == {"copy"}
    relation = next(r for r in prof.target["relations"] if r["column"] == "copy")
    assert suspects["copy"] == (pytest.approx(relation["leakage_score"], rel=1e-12),
                                relation["leakage_measure"])
