"""Bad input to a training run: each gives a clear message or a documented behaviour,
never a crash; problems found while preparing the rows start no run at all."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlops_desktop.core.errors import InvalidChoiceError, MlopsError, NotFoundError
from mlops_desktop.core.train import SplitSpec, TrainError, TrainSpec, runs, train
from mlops_desktop.core.workspace import Workspace


def _frame(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.RandomState(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({
        "row_id": np.arange(n),                                   # id-like
        "x": x,
        "colour": rng.choice(["red", "green", "blue"], size=n),
        "constant": "same",
        "constant_number": 3.5,
        "empty": np.nan,
        "when": pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        "note": [f"free text about row {i} with several words" for i in range(n)],
        "y": 2 * x + 1 + rng.normal(scale=0.5, size=n),
        "label": np.where(x > 0, "pos", "neg"),
        "only_one": "yes",
    }).assign(copy_of_y=lambda d: d["y"] + rng.normal(scale=1e-3, size=n))  # leaks the target


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    base = tmp_path_factory.mktemp("bad")
    df = _frame()
    (base / "table.csv").write_text(df.to_csv(index=False), encoding="utf-8")
    gaps = df.copy()
    gaps.loc[::10, "y"] = np.nan
    (base / "gaps.csv").write_text(gaps.to_csv(index=False), encoding="utf-8")
    with Workspace.create(base / "ws", actor="setup") as w:
        w.import_file(base / "table.csv", actor="setup")
        w.import_file(base / "gaps.csv", actor="setup")
        yield w


def _train(ws, **kw):
    kw.setdefault("dataset", "table")
    kw.setdefault("models", ["ridge"])
    return train(ws, TrainSpec(**kw), actor="analyst")


def test_default_features_leave_out_unusable_columns_with_the_reason(ws):
    result = _train(ws, target="y", exclude=["label"])
    reasons = {e["column"]: e["reason"] for e in result.excluded}
    assert [f["name"] for f in result.features] == ["x", "colour"]
    assert reasons["row_id"] == "is id-like (a different value in almost every row)"
    assert reasons["constant"] == "has a single value in every training row (constant)"
    assert reasons["empty"] == "has every value missing in the training rows"
    assert reasons["when"].startswith("is a date or time")
    assert reasons["note"] == "is free text"
    assert "suspected leak" in reasons["copy_of_y"] and "R²" in reasons["copy_of_y"]
    assert reasons["label"] == "excluded by you"


def test_a_target_with_missing_values_drops_those_rows_and_says_how_many(ws):
    result = _train(ws, dataset="gaps", target="y", features=["x", "colour"])
    assert result.rows["missing_target"] == 12 and result.rows["used"] == 108
    assert any(n.startswith("12 of 120 rows have no value for the target y") for n in result.notes)


def test_a_single_class_target_is_refused_before_a_run_starts(ws):
    before = len(runs(ws))
    with pytest.raises(TrainError, match="only one class") as caught:
        _train(ws, target="only_one", task="classification", features=["x"])
    assert "Choose another target" in str(caught.value)
    with pytest.raises(TrainError, match="only one class \\('same'\\)"):
        _train(ws, target="constant", features=["x"])  # text: classification, one class
    with pytest.raises(TrainError, match="same value"):
        _train(ws, target="constant_number", features=["x"], task="regression")
    assert len(runs(ws)) == before


def test_more_features_than_rows_fails_ols_clearly_and_a_penalised_model_goes_on(tmp_path):
    rng = np.random.RandomState(1)
    wide = pd.DataFrame(rng.normal(size=(40, 60)), columns=[f"f{i}" for i in range(60)])
    wide["y"] = wide["f0"] * 3 + rng.normal(size=40)
    path = tmp_path / "wide.csv"
    wide.to_csv(path, index=False)
    with Workspace.create(tmp_path / "ws", actor="t") as w:
        w.import_file(path, actor="t")
        result = train(w, TrainSpec(dataset="wide", target="y", models=["ols", "ridge"], cv_folds=3),
                       actor="t")
    ols = result.candidates[0]
    assert ols["status"] == "failed" and "more rows than coefficients" in ols["error"]
    assert "ridge" in ols["error"] or "regularised" in ols["error"]
    assert result.chosen == "ridge" and result.status == "succeeded"


def test_a_feature_with_every_value_missing_is_left_out(ws):
    result = _train(ws, target="y", features=["x", "empty"])
    assert [f["name"] for f in result.features] == ["x"]
    assert {"column": "empty", "reason": "has every value missing in the training rows"} in result.excluded
    assert any("You chose empty" in n for n in result.notes)


def test_a_search_budget_of_zero_trains_the_defaults_and_says_so(ws):
    result = _train(ws, target="y", features=["x"], search_candidates=0)
    assert result.chosen_candidate["candidates_evaluated"] == 1
    assert any("No hyperparameter search" in n for n in result.notes)
    with pytest.raises(InvalidChoiceError, match="0 \\(no search\\) or more"):
        _train(ws, target="y", search_candidates=-1)


def test_a_time_split_on_a_category_is_refused(ws):
    with pytest.raises(InvalidChoiceError, match="date or a number"):
        _train(ws, target="y", split=SplitSpec("time", "colour"))
    result = _train(ws, target="y", features=["x"], split=SplitSpec("time", "when"), cv_folds=3)
    assert result.split == {"kind": "time", "column": "when", "test_size": 0.2}


def test_a_dataset_deleted_from_disk_after_import_trains_from_its_snapshot(tmp_path):
    from conftest import SAMPLES

    source = tmp_path / "penguins.csv"
    source.write_bytes((SAMPLES / "penguins.csv").read_bytes())
    with Workspace.create(tmp_path / "ws", actor="t") as w:
        w.import_file(source, actor="t")
        source.unlink()
        result = train(w, TrainSpec(dataset="penguins", target="species", models=["ridge"]), actor="t")
        assert result.status == "succeeded" and result.rows["dataset"] == 344


@pytest.mark.parametrize("kw,error,match", [
    ({"target": "nope"}, NotFoundError, "no column 'nope'"),
    ({"target": "y", "features": ["x", "nope"]}, NotFoundError, "no column 'nope'"),
    ({"target": "y", "models": ["magic"]}, InvalidChoiceError, "Unknown model family 'magic'"),
    ({"target": "y", "models": ["logistic"]}, InvalidChoiceError, "use 'ols'"),
    ({"target": "label", "models": ["ols"]}, InvalidChoiceError, "use 'logistic'"),
    ({"target": "label", "task": "regression"}, TrainError, "does not hold numbers"),
    ({"target": "label", "task": "multiclass"}, InvalidChoiceError, "2 classes, so the task is binary"),
    ({"target": "when"}, TrainError, "holds dates"),
    ({"target": "y", "cv_folds": 1}, InvalidChoiceError, "between 2 and 20 folds"),
    ({"target": "y", "split": SplitSpec(test_size=1.0)}, InvalidChoiceError, "below 1"),
    ({"target": "y", "split": SplitSpec("group", "constant")}, InvalidChoiceError, "at least two groups"),
    ({"target": "y", "features": ["y"]}, InvalidChoiceError, "cannot also be a feature"),
    ({"target": "y", "features": ["when"]}, InvalidChoiceError, "holds dates"),
    ({"target": "y", "features": ["empty", "constant"]}, TrainError, "No usable features"),
    ({"target": "y", "model_name": "a:b"}, InvalidChoiceError, "must not"),
    ({"target": "y", "preprocessing": {"colour": 1}}, InvalidChoiceError, "Unknown preprocessing"),
    ({"target": "y", "dataset": "missing"}, NotFoundError, "No dataset"),
])
def test_bad_choices_give_clear_messages(ws, kw, error, match):
    with pytest.raises(error, match=match) as caught:
        _train(ws, **kw)
    assert isinstance(caught.value, MlopsError)


def test_split_specs_parse_and_refuse_nonsense():
    assert SplitSpec.parse("time:when") == SplitSpec("time", "when", 0.2)
    assert SplitSpec.parse("group: store ", 0.3) == SplitSpec("group", "store", 0.3)
    for text, match in [("time", "Name the column"), ("random:x", "takes no column"), ("sideways", "Unknown split")]:
        with pytest.raises(InvalidChoiceError, match=match):
            SplitSpec.parse(text)
    spec = TrainSpec(dataset=1, target="y", split=SplitSpec("group", "g", 0.1), features=["a"])
    assert TrainSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(InvalidChoiceError, match="Unknown training setting"):
        TrainSpec.from_dict({**spec.to_dict(), "colour": "red"})
