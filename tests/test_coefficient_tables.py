"""Coefficient tables say what they were fitted on and read the same as Check's (issue
13, C10): the same reference level, tiny p-values as "< 1e-16" rather than "0"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm

from mlops_desktop.core.checks import run_checks
from mlops_desktop.core.train import TrainSpec, describe_version, load_split, train


def priced(seed: int = 21, n: int = 2000) -> pd.DataFrame:
    """Prices by region where the most frequent region ('m') is neither the first nor the
    last in sorted order, and size drives the price so strongly that its p-value
    underflows to 0 in double precision."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["a", "m", "z"], n, p=[0.15, 0.6, 0.25])
    size = rng.uniform(20, 200, n)
    price = 1000 + 35 * size + np.select([region == "a", region == "z"], [300, -200], 0) \
        + rng.normal(0, 600, n)
    return pd.DataFrame({"size": size, "region": region, "price": price})


def test_check_and_train_compare_the_same_levels_and_say_what_they_were_fitted_on(workspace, tmp_path):
    df = priced()
    path = tmp_path / "prices.csv"
    df.to_csv(path, index=False)
    workspace.import_file(path, actor="tester")
    result = train(workspace, TrainSpec(dataset="prices", target="price", models=["ols"]), actor="tester")
    described = describe_version(workspace, result.model)
    rows = {r["name"]: r for r in described["coefficients"]}
    train_levels = {r["name"].split("_", 1)[1] for r in rows.values() if r.get("column") == "region"}
    assert {r["reference_level"] for r in rows.values() if r.get("column") == "region"} == {"m"}

    check = run_checks(df, "price", task="regression")
    check_levels = {c.split("=", 1)[1] for c in check.design_columns if c.startswith("region=")}
    assert train_levels == check_levels == {"a", "z"}

    # the estimates are those of statsmodels on the training split with 'm' left out
    training, _ = load_split(workspace, result.run_id)
    X = pd.DataFrame({"size": training["size"], "a": (training["region"] == "a").astype(float),
                      "z": (training["region"] == "z").astype(float)})
    res = sm.OLS(training["price"].to_numpy(), sm.add_constant(X.to_numpy())).fit()
    np.testing.assert_allclose([rows[k]["estimate"] for k in ("(intercept)", "size", "region_a", "region_z")],
                               res.params, rtol=1e-9)
    notes = described["coefficient_notes"]
    assert notes[0] == f"Fitted on the training split (the holdout was left out): {len(training):,} rows."
    assert any("region = 'm'" in n for n in notes)

    # size's p-value is 0 in double precision: it reads "< 1e-16", never "0"
    assert rows["size"]["p_value"] == 0.0 and res.pvalues[1] == 0.0
    from mlops_desktop.core.validate.card_markdown import model_card_markdown
    from mlops_desktop.core.validate.for_version import model_card

    markdown = model_card_markdown(model_card(workspace, result.model))
    size_row = next(line for line in markdown.splitlines() if line.startswith("| size |"))
    assert "< 1e-16" in size_row


def test_all_rows_are_named_when_the_run_kept_no_holdout(workspace, tmp_path):
    from mlops_desktop.core.train import SplitSpec

    df = priced(seed=3, n=120)
    path = tmp_path / "all.csv"
    df.to_csv(path, index=False)
    workspace.import_file(path, actor="tester")
    result = train(workspace, TrainSpec(dataset="all", target="price", models=["ols"],
                                        split=SplitSpec(test_size=0)), actor="tester")
    notes = describe_version(workspace, result.model)["coefficient_notes"]
    assert notes[0] == "Fitted on all rows (the run kept no holdout): 120 rows."
