"""What every run shares: task inference, feature selection, bad input (a clear message or
a verdict that explains, never a crash or a NaN), JSON-safe results, progress and cancel."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import SAMPLES
from mlops_desktop.core.checks import CHECK_IDS, CheckReport, infer_task, run_checks
from mlops_desktop.core.errors import (CheckError, InvalidChoiceError, JobCancelled, MlopsError,
                                       NotFoundError)
from mlops_desktop.core.jobs import CancelToken


def _json(report: CheckReport) -> dict:
    d = report.to_dict()
    json.dumps(d, allow_nan=False)  # no NaN or infinity anywhere
    return d


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 60
    df = pd.DataFrame({
        "a": rng.normal(size=n), "b": rng.normal(size=n), "g": rng.choice(list("xyz"), n),
        "comment": [f"a long free-text remark, number {i}, written by someone" for i in range(n)],
        "code": [f"C{i:04d}" for i in range(n)], "row_id": np.arange(n),
        "when": pd.date_range("2020-01-01", periods=n, freq="D"), "flag": rng.random(n) < 0.4,
        "same": 1.0,
    })
    df["y"] = df.a - 0.5 * df.b + rng.normal(size=n)
    return df


# -- task ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("values, task", [
    ([1.5, 2.25, 3.1, 4.0, 5.5], "regression"),
    (list(range(40)), "regression"),
    ([0, 1, 0, 1, 1], "classification"),
    ([1, 2, 3, 2, 1, 3], "classification"),
    ([0.0, 1.0, 0.0, np.nan], "classification"),
    (["a", "b", "a"], "classification"),
    ([True, False, True], "classification"),
])
def test_infer_task(values, task):
    assert infer_task(pd.Series(values, name="t")) == task


def test_task_is_inferred_and_can_be_overridden():
    penguins = pd.read_csv(SAMPLES / "penguins.csv")
    report = run_checks(penguins, "year")  # three whole-number values: classes
    assert report.task == "classification" and report.task_inferred
    assert "inferred as classification" in report.notes[0]
    report = run_checks(penguins, "year", task="regression")
    assert report.task == "regression" and not report.task_inferred
    assert [c.id for c in report.checks][:2] == ["obs_per_parameter", "vif"]


def test_a_categorical_kind_makes_a_numeric_target_a_classification(frame):
    frame["grade"] = np.arange(len(frame)) % 12
    assert run_checks(frame, "grade", features=["a"]).task == "regression"
    assert run_checks(frame, "grade", features=["a"],
                      kinds={"grade": "categorical"}).task == "classification"


# -- features -------------------------------------------------------------------------------------

def test_default_features_leave_out_ids_text_constants_and_dates(frame):
    report = run_checks(frame, "y")
    assert report.features == ["a", "b", "g", "flag"]
    assert any("'when' holds dates" in note for note in report.notes)
    assert report.design_columns[:2] == ["a", "b"] and "flag" in report.design_columns


def test_kinds_from_the_schema_are_respected(frame):
    kinds = {"a": "numeric", "b": "ignored-kind-not-used", "g": "categorical", "row_id": "categorical",
             "flag": "boolean"}
    report = run_checks(frame, "y", features=["a", "g", "flag"], kinds=kinds)
    assert report.design_columns[0] == "a"
    with pytest.raises(InvalidChoiceError, match="unknown type"):
        run_checks(frame, "y", features=["b"], kinds=kinds)
    # a numeric column typed categorical is one-hot encoded
    frame["level"] = np.arange(len(frame)) % 3
    report = run_checks(frame, "y", features=["a", "level"], kinds={"level": "categorical"})
    assert report.design_columns == ["a", "level=1", "level=2"]


def test_the_target_in_the_features_is_dropped_with_a_note(frame):
    report = run_checks(frame, "y", features=["a", "y"])
    assert report.features == ["a"]
    assert any("listed as a feature" in note for note in report.notes)


def test_the_time_column_is_not_a_default_feature(frame):
    report = run_checks(frame, "y", time_column="when")
    assert "when" not in report.features and report.time_column == "when"
    assert [c.id for c in report.checks][-2:] == ["stationarity", "time_leakage"]


# -- bad input ---------------------------------------------------------------------------------------

def test_a_target_that_does_not_exist(frame):
    with pytest.raises(NotFoundError, match="no column 'price'.*Columns: a, b"):
        run_checks(frame, "price")


def test_a_constant_target(frame):
    with pytest.raises(CheckError, match="'y' is constant.*Choose another target"):
        run_checks(frame.assign(y=3.0), "y")


def test_a_target_with_one_class(frame):
    with pytest.raises(CheckError, match="only one class \\('ok'\\).*at least two"):
        run_checks(frame.assign(y="ok"), "y")
    with pytest.raises(CheckError, match="only one class"):
        run_checks(frame.assign(y=1), "y", task="classification")


def test_a_target_with_no_values(frame):
    with pytest.raises(CheckError, match="no values"):
        run_checks(frame.assign(y=np.nan), "y")


def test_features_that_are_all_missing(frame):
    with pytest.raises(CheckError, match="None of the chosen features has any values"):
        run_checks(frame.assign(a=np.nan, b=np.nan), "y", features=["a", "b"])
    report = run_checks(frame.assign(a=np.nan), "y", features=["a", "b"])
    assert report.features == ["b"]
    assert any("Left out 'a': no values" in note for note in report.notes)
    _json(report)


def test_a_text_column_used_as_a_feature(frame):
    with pytest.raises(CheckError, match="'comment' holds free text.*Remove it"):
        run_checks(frame, "y", features=["a", "comment"])
    with pytest.raises(CheckError, match="'code' holds an identifier"):
        run_checks(frame, "y", features=["a", "code"])
    with pytest.raises(CheckError, match="'g' holds free text"):  # typed text in the schema
        run_checks(frame, "y", features=["a", "g"], kinds={"g": "text"})


def test_a_date_column_used_as_a_feature(frame):
    with pytest.raises(CheckError, match="holds dates.*time-order column"):
        run_checks(frame, "y", features=["a", "when"])


def test_a_dataset_of_two_rows(frame):
    with pytest.raises(CheckError, match="Only 2 of 2 rows.*at least 5"):
        run_checks(frame.head(2), "y", features=["a"])


def test_too_few_complete_rows_names_the_missing_features(frame):
    frame.loc[3:, "b"] = np.nan
    with pytest.raises(CheckError, match="Only 3 of 60 rows.*b \\(57 missing\\)"):
        run_checks(frame, "y", features=["a", "b"])


def test_more_features_than_rows():
    rng = np.random.default_rng(1)
    df = pd.DataFrame(rng.normal(size=(8, 12)), columns=[f"f{i}" for i in range(12)])
    df["y"] = rng.normal(size=8)
    report = run_checks(df, "y")
    d = _json(report)
    c = {x["id"]: x for x in d["checks"]}
    assert c["obs_per_parameter"]["verdict"] == "problem"
    assert "more parameters (13) than rows (8)" in c["obs_per_parameter"]["decided_by"]
    assert c["vif"]["verdict"] == "problem"
    for check_id in ("linearity_reset", "normality_residuals", "heteroscedasticity", "influence",
                     "independence"):
        assert c[check_id]["verdict"] == "not_applicable"
        assert "no residual degrees of freedom" in c[check_id]["decided_by"]
    # classification too
    df["y"] = ["p", "q"] * 4
    _json(run_checks(df, "y"))


def test_perfectly_collinear_features(frame):
    frame["c"] = frame.a + 2 * frame.b
    report = run_checks(frame, "y", features=["a", "b", "c"])
    vif = report.check("vif")
    assert vif.verdict == "problem"
    assert vif.statistic is None
    aliased = vif.figures["aliased"]
    assert [a["column"] for a in aliased] == ["c"]
    coef = {t["column"]: t["coefficient"] for t in aliased[0]["combination"]}
    assert coef == pytest.approx({"a": 1.0, "b": 2.0})
    assert "c = 1·a + 2·b" in vif.decided_by
    assert "Remove 'c'" in vif.action
    assert any("exact combinations" in note for note in report.notes)
    # the other checks run on the columns that are left
    assert report.check("normality_residuals").verdict != "not_applicable"
    assert report.check("linearity_reset").figures["df_num"] == 2
    _json(report)
    # a duplicated categorical column
    frame["g2"] = frame.g
    vif = run_checks(frame, "y", features=["a", "g", "g2"]).check("vif")
    assert vif.verdict == "problem"
    assert {a["feature"] for a in vif.figures["aliased"]} == {"g2"}
    # classification on collinear features
    frame["cls"] = np.where(frame.y > 0, "hi", "lo")
    _json(run_checks(frame, "cls", features=["a", "b", "c"]))


def test_other_bad_choices(frame):
    with pytest.raises(InvalidChoiceError, match="Unknown task 'ranking'"):
        run_checks(frame, "y", task="ranking")
    with pytest.raises(CheckError, match="Regression needs a numeric target.*'x'|'y'|'z'"):
        run_checks(frame.assign(y=frame.g), "y", task="regression")
    with pytest.raises(NotFoundError, match="no column 'nope' to use as a feature"):
        run_checks(frame, "y", features=["a", "nope"])
    with pytest.raises(NotFoundError, match="time order"):
        run_checks(frame, "y", time_column="nope")
    with pytest.raises(CheckError, match="cannot give a time order"):
        run_checks(frame, "y", features=["a"], time_column="g")
    with pytest.raises(CheckError, match="typed numeric but holds values that are not numbers"):
        run_checks(frame, "y", features=["g"], kinds={"g": "numeric"})
    with pytest.raises(CheckError, match="holds dates"):
        run_checks(frame, "when")
    with pytest.raises(CheckError, match="no features"):
        run_checks(frame, "y", features=[])
    with pytest.raises(CheckError, match="too many classes"):
        run_checks(pd.DataFrame({"a": np.arange(120.0) % 7, "y": np.arange(120).astype(str)}), "y")


def test_a_feature_constant_in_the_rows_used_is_left_out(frame):
    report = run_checks(frame, "y", features=["a", "same"])
    assert report.features == ["a"]
    assert any("'same'" in note for note in report.notes)
    with pytest.raises(CheckError, match="constant"):
        run_checks(frame, "y", features=["same"])


def test_infinite_values_count_as_missing(frame):
    frame.loc[:2, "a"] = np.inf
    report = run_checks(frame, "y", features=["a", "b"])
    assert report.n_used == 57 and report.n_dropped_missing == 3
    _json(report)


def test_every_error_is_an_mlops_error(frame):
    bad_calls = [lambda: run_checks(frame, "nope"), lambda: run_checks(frame.head(1), "y"),
                 lambda: run_checks(frame.assign(y=0), "y"),
                 lambda: run_checks(frame, "y", features=["comment"])]
    for call in bad_calls:
        with pytest.raises(MlopsError):
            call()


# -- results -----------------------------------------------------------------------------------------

def test_every_result_is_json_safe_and_complete(frame):
    frame["cls"] = np.where(frame.y > 0, "hi", "lo")
    for report in (run_checks(frame, "y", time_column="when"),
                   run_checks(frame, "cls", time_column="when")):
        d = _json(report)
        assert d["n_rows"] == 60 and d["verdict_counts"]
        for c in d["checks"]:
            assert c["id"] in CHECK_IDS
            assert c["verdict"] in ("ok", "warning", "problem", "not_applicable")
            for key in ("name", "tested", "decided_by", "why", "action"):
                assert isinstance(c[key], str) and c[key], (c["id"], key)
            if c["chart"]:
                chart = c["chart"]
                assert chart["kind"] in ("qq", "scatter", "bars", "histogram", "line")
                assert len(chart["x"]) == len(chart["y"]) <= 5000


def test_progress_is_reported_and_cancel_stops(frame):
    seen: list[tuple] = []
    run_checks(frame, "y", progress=lambda f, m: seen.append((f, m)))
    fractions = [f for f, _ in seen if f is not None]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert any("Normality" in m for _, m in seen)

    token = CancelToken()

    def cancel_midway(fraction, message):
        if "Constant spread" in message:
            token.cancel()

    with pytest.raises(JobCancelled):
        run_checks(frame, "y", progress=cancel_midway, cancel=token)


def test_charts_of_large_samples_are_thinned_deterministically():
    rng = np.random.default_rng(2)
    n = 12_000
    df = pd.DataFrame({"x": rng.normal(size=n)})
    df["y"] = df.x + rng.normal(size=n)
    a = run_checks(df, "y").to_dict()
    b = run_checks(df, "y").to_dict()
    assert a == b
    for c in a["checks"]:
        if c["chart"]:
            assert len(c["chart"]["x"]) <= 5000
    qq = next(c for c in a["checks"] if c["id"] == "normality_residuals")["chart"]
    assert qq["y"] == sorted(qq["y"])  # quantiles, ends included


def test_class_labels_of_mixed_types(frame):
    frame["mixed"] = pd.Series([1, "one"] * 30, dtype=object)
    report = run_checks(frame, "mixed", features=["a", "b"])
    assert report.task == "classification"
    assert sorted(r["class"] for r in report.check("class_balance").figures["classes"]) == ["1", "one"]
    _json(report)
