"""The recipe follows the model (issue 21): a diamonds-like file prepared in the app
(zeros to missing, ordinal grades, a log price, a filter), trained, exported: the
package scores the raw file with the app's predictions, rejects the rows outside the
filter with the reason (or scores them with --score-out-of-scope), compares drift on
the rows in scope; the Monitor page and validation take raw data the same way; ordered
grades are encoded by their order for trees and boosting."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from diamonds import CUTS, RECIPE, diamonds, write
from mlops_desktop.core.export import export_version
from mlops_desktop.core.prepare import model_recipe, prepare_dataset, recipe_from_words
from mlops_desktop.core.train import TrainSpec, find_version, load_model, train
from mlops_desktop.core.workspace import Workspace
from export_helpers import approve

FEATURES = ["carat", "cut", "color", "clarity", "depth", "table", "x", "y", "z"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp("prepared")
    raw = write(base / "diamonds.csv", n=3000)
    ws = Workspace.create(base / "ws", actor="ann")
    ws.import_file(raw, name="diamonds", actor="ann")
    prepared = prepare_dataset(ws, "diamonds", recipe_from_words(RECIPE), name="ready", actor="ann").dataset
    done = train(ws, TrainSpec(dataset="ready", target="log_price", features=FEATURES, models=["hgb"],
                               model_name="price"), actor="ann")
    ref = f"price:{done.version}"
    approve(ws, ref)
    package = export_version(ws, ref, base / "pkg", actor="carl").path
    yield ws, ref, raw, prepared, package, base
    ws.close()


def _score_py(package: Path, *args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(package / "score.py"), *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def test_the_package_scores_the_raw_file_as_the_app_does(setup, tmp_path):
    ws, ref, raw, prepared, package, _ = setup
    done = _score_py(package, raw, "-o", tmp_path / "out.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    source = pd.read_csv(raw)
    outside = source.carat > 2.5
    assert summary["rows_out_of_scope"] == summary["rows_rejected"] == int(outside.sum()) > 0
    assert summary["scope"] == ["carat ≤ 2.5"] and summary["out_of_scope"] == "rejected"
    # the app's predictions: its model on its prepared dataset (the raw file's rows in scope, in order)
    model = load_model(ws, ref)
    app = model.predict(ws.load_table(prepared).to_pandas()[FEATURES])
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.input_row) == list(np.flatnonzero(~outside) + 1)
    assert np.allclose(out.prediction.to_numpy(), app, rtol=0, atol=1e-12)
    rejects = pd.read_csv(tmp_path / "out.rejects.csv")
    assert list(rejects.input_row) == list(np.flatnonzero(outside) + 1)
    assert set(rejects.reason) == {"carat above 2.5: the model was trained on carat ≤ 2.5"}
    assert rejects.carat.tolist() == source.carat[outside].tolist()  # each keeps its input line
    schema = json.loads((package / "schema.json").read_text())
    assert [c["name"] for c in schema["raw_inputs"]] == ["cut", "x", "y", "z", "carat", "color", "clarity",
                                                         "depth", "table"]
    assert schema["recipe"]["steps"] == [RECIPE[0], *RECIPE[1:4], RECIPE[-1]]  # no order, no log price
    assert "price" not in {c["name"] for c in schema["raw_inputs"]}


def test_out_of_scope_rows_are_scored_when_it_asks(setup, tmp_path):
    ws, ref, raw, _, package, _ = setup
    done = _score_py(package, raw, "-o", tmp_path / "all.csv", "--score-out-of-scope", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["rows_scored"] == 3000 and summary["rows_out_of_scope"] == int((pd.read_csv(raw).carat > 2.5).sum())
    assert summary["out_of_scope"] == "scored anyway"
    found = model_recipe(ws, find_version(ws, ref))
    rows, _ = found.recipe.score_rows(pd.read_csv(raw))
    expected = load_model(ws, ref).predict(rows[FEATURES])
    assert np.allclose(pd.read_csv(tmp_path / "all.csv").prediction, expected, rtol=0, atol=1e-12)


def test_a_file_of_rows_all_outside_the_scope_exits_6(setup, tmp_path):
    _, _, _, _, package, _ = setup
    big = diamonds(200)
    big["carat"] = 3.0
    big.to_csv(tmp_path / "big.csv", index=False)
    done = _score_py(package, tmp_path / "big.csv", "-o", tmp_path / "big.out.csv", cwd=tmp_path)
    assert done.returncode == 6 and "every one of the 200 rows was rejected" in done.stderr
    assert (tmp_path / "big.out.rejects.csv").read_text(encoding="utf-8").count("carat above 2.5") == 200


def test_the_package_needs_the_raw_columns_and_types_them_as_the_import(setup, tmp_path):
    _, _, raw, _, package, _ = setup
    source = pd.read_csv(raw).drop(columns=["z"])
    source.to_csv(tmp_path / "no_z.csv", index=False)
    done = _score_py(package, tmp_path / "no_z.csv", "-o", tmp_path / "o.csv", cwd=tmp_path)
    assert done.returncode == 2 and "lacks the column(s) the model needs: z" in done.stderr
    text = pd.read_csv(raw).head(20).astype(object)
    text.loc[0, "x"] = "n/a"
    text.loc[1, "x"] = "oops"
    text.to_csv(tmp_path / "typo.csv", index=False)
    done = _score_py(package, tmp_path / "typo.csv", "-o", tmp_path / "t.csv", cwd=tmp_path)
    rejects = pd.read_csv(tmp_path / "t.rejects.csv")
    assert done.returncode == 0 and rejects.reason.tolist() == ["x: 'oops' is not a number"]


def test_self_test_and_verify_cover_the_recipe(setup, tmp_path):
    _, _, _, _, package, _ = setup
    assert _score_py(package, "--self-test", cwd=tmp_path).returncode == 0
    readme = (package / "README.md").read_text()
    assert "## Raw files: the recipe and the model's scope" in readme and "`carat ≤ 2.5`" in readme
    card = (package / "MODEL_CARD.md").read_text()
    assert f"Prepared from diamonds by a recipe of {len(RECIPE)} steps" in card and "9. filter carat <= 2.5" in card
    assert "Trained only on rows where carat ≤ 2.5 (the recipe's filters)" in card
    manifest = json.loads((package / "manifest.json").read_text())
    assert "recipe.json" in manifest["files"] and "mlops_model_support/expressions.py" in manifest["files"]
    copy = tmp_path / "copy"
    import shutil

    shutil.copytree(package, copy)
    recipe = json.loads((copy / "recipe.json").read_text())
    recipe["steps"][-1]["condition"] = "carat <= 5"
    (copy / "recipe.json").write_text(json.dumps(recipe))
    done = _score_py(copy, "--verify", cwd=tmp_path)
    assert done.returncode == 3 and "recipe.json was changed" in done.stderr


def test_drift_compares_the_rows_in_scope_in_the_package_and_the_app(setup, tmp_path):
    from mlops_desktop.core.monitor import batch_from_file, compare_batch
    from mlops_desktop.core.monitor.for_version import reference_for_version

    ws, ref, _, _, package, _ = setup
    batch = diamonds(1500, seed=11)
    batch.to_csv(tmp_path / "batch.csv", index=False)
    outside = int((batch.carat > 2.5).sum())
    done = _score_py(package, "--drift", tmp_path / "batch.csv", cwd=tmp_path)
    summary = json.loads(done.stdout)
    assert summary["rows_out_of_scope"] == outside > 0 and summary["rows"] == 1500 - outside
    report = compare_batch(reference_for_version(ws, ref), batch_from_file(tmp_path / "batch.csv"))
    assert report.batch["rows"] == 1500 - outside and report.batch["source"]["rows_out_of_scope"] == outside
    assert any(f"{outside} rows of the batch batch.csv lie outside the model's scope (carat ≤ 2.5)" in n
               for n in report.notes)
    ours = {r.name: round(r.metrics.get("psi") or 0, 9) for r in report.comparison.features}
    theirs = {n: round(f["psi"] or 0, 9) for n, f in summary["features"].items()}
    assert ours == theirs  # the same rows, the same measures
    assert report.performance is not None and report.performance["target"] == "log_price"  # made from price
    from mlops_desktop.core.monitor import batch_from_dataset
    from mlops_desktop.core.monitor.errors import DriftError

    same = compare_batch(reference_for_version(ws, ref), batch_from_dataset(ws, "ready"))
    assert same.batch["rows"] == ws.dataset("ready").n_rows and not any("scope" in n for n in same.notes)
    other = prepare_dataset(ws, "diamonds", recipe_from_words(["drop depth"]), name="other way", actor="ann")
    with pytest.raises(DriftError, match="prepared with another recipe"):
        compare_batch(reference_for_version(ws, ref), batch_from_dataset(ws, other.dataset.id))


def test_validation_on_the_raw_dataset_goes_through_the_recipe(setup):
    from mlops_desktop.core.errors import InvalidChoiceError
    from mlops_desktop.core.validate.for_version import validate_version

    ws, ref, _, _, _, _ = setup
    on_raw = validate_version(ws, ref, data="diamonds", actor="ann", n_bootstrap=20)
    assert on_raw.report.n_rows == int((diamonds(3000).carat <= 2.5).sum())
    on_prepared = validate_version(ws, ref, data="ready", actor="ann", n_bootstrap=20)
    assert {m.name: m.value for m in on_prepared.report.metrics} == {m.name: m.value for m in on_raw.report.metrics}
    other = prepare_dataset(ws, "diamonds", recipe_from_words(["derive log_price = log(price)"]), actor="ann").dataset
    with pytest.raises(InvalidChoiceError, match="prepared with another recipe"):
        validate_version(ws, ref, data=other.id, actor="ann", n_bootstrap=20)


def test_ordered_grades_are_encoded_by_their_order_for_trees_and_boosting(setup):
    ws, ref, _, _, _, _ = setup
    for family, name in (("tree", "tree"), ("hgb", "booster")):
        done = train(ws, TrainSpec(dataset="ready", target="log_price", features=FEATURES, models=[family],
                                   model_name=name), actor="ann")
        model = load_model(ws, f"{name}:{done.version}")
        transformers = dict((n, (t, cols)) for n, t, cols in model.named_steps["preprocess"].transformers_)
        encoder, columns = transformers["ordered"]
        encoder = encoder.named_steps["encode"] if hasattr(encoder, "named_steps") else encoder
        assert columns == ["cut", "color", "clarity"]
        assert [list(c) for c in encoder.categories_][0] == CUTS
        codes = encoder.transform(pd.DataFrame({"cut": CUTS + ["Unknown"], "color": ["J"] * 6,
                                                "clarity": ["IF"] * 6}))
        assert list(codes[:5, 0]) == [0, 1, 2, 3, 4] and np.isnan(codes[5, 0])
        assert "categorical" not in transformers  # nothing else is categorical here
    linear = train(ws, TrainSpec(dataset="ready", target="log_price", features=FEATURES, models=["ridge"],
                                 model_name="linear"), actor="ann")
    steps = dict((n, t) for n, t, _ in load_model(ws, f"linear:{linear.version}").named_steps["preprocess"].transformers_)
    assert "ordered" not in steps and "categorical" in steps  # one-hot: no equal steps assumed


def test_filters_on_the_target_are_not_scope_rules(setup, tmp_path):
    ws, _, raw, _, _, base = setup
    prepare_dataset(ws, "diamonds", recipe_from_words(RECIPE + ["filter price < 15000"]), name="cheap",
                    actor="ann")
    done = train(ws, TrainSpec(dataset="cheap", target="log_price", features=FEATURES, models=["tree"],
                               model_name="cheap"), actor="ann")
    ref = f"cheap:{done.version}"
    found = model_recipe(ws, find_version(ws, ref))
    assert found.training_only == ["filter price < 15000"] and "price" not in found.raw_inputs
    assert [f.describe() for f in found.recipe.scope_rules()] == ["filter carat <= 2.5"]
    approve(ws, ref)
    package = export_version(ws, ref, tmp_path / "cheap", actor="carl").path
    schema = json.loads((package / "schema.json").read_text())
    assert schema["recipe"]["training_only_filters"] == ["filter price < 15000"]
    pd.read_csv(raw).drop(columns=["price"]).to_csv(tmp_path / "unpriced.csv", index=False)
    assert _score_py(package, tmp_path / "unpriced.csv", "-o", tmp_path / "u.csv", cwd=tmp_path).returncode == 0


def test_labels_joined_later_are_matched_to_the_rows_in_scope(setup, tmp_path):
    from mlops_desktop.core.monitor import batch_from_file, run_drift
    from mlops_desktop.core.monitor.for_version import reference_for_version
    from mlops_desktop.core.monitor.labels import record_labels

    ws, _, _, _, _, _ = setup
    prepare_dataset(ws, "diamonds", recipe_from_words(RECIPE + ["derive expensive = 'yes' if price > 4000 else 'no'"]),
                    name="classes", actor="ann")
    done = train(ws, TrainSpec(dataset="classes", target="expensive", features=FEATURES, models=["logistic"],
                               model_name="expensive"), actor="ann")
    ref = f"expensive:{done.version}"
    batch = diamonds(1200, seed=21)
    batch.insert(0, "id", [f"d{i}" for i in range(len(batch))])
    batch.drop(columns=["price"]).to_csv(tmp_path / "tonight.csv", index=False)  # no label yet
    run = run_drift(ws, reference_for_version(ws, ref), [batch_from_file(tmp_path / "tonight.csv")], actor="ann")
    report = run.reports[0]
    outside = int((batch.carat > 2.5).sum())
    assert report.batch["rows"] == 1200 - outside
    # estimated on the rows in scope, as the recipe prepares them
    from expected_performance import expected_metrics

    reference = reference_for_version(ws, ref)
    prepared, reasons = model_recipe(ws, find_version(ws, ref)).recipe.score_rows(batch.drop(columns=["price"]))
    in_scope = prepared.loc[pd.isna(reasons)]
    expected = expected_metrics(reference.calibration, load_model(ws, ref).predict_proba(in_scope[FEATURES]))
    assert report.estimated_performance.rows == len(in_scope) == 1200 - outside
    for name, value in expected.items():
        assert report.estimated_performance.metrics[name].estimate == pytest.approx(value, abs=1e-9), name
    labels = pd.DataFrame({"id": batch.id, "expensive": np.where(batch.price > 4000, "yes", "no")})
    labels.to_csv(tmp_path / "labels.csv", index=False)
    joined = record_labels(ws, ref, report.id, tmp_path / "labels.csv", "id", actor="ann")
    assert joined.counts.matched == 1200 - outside and joined.counts.unknown_ids == outside
    assert any(f"{outside} rows of the batch tonight.csv lie outside the model's scope" in n for n in joined.notes)


SPARK_EXECUTOR = """
import importlib.util, json, sys
import pandas as pd
spec = importlib.util.spec_from_file_location("spark_score", sys.argv[1])
job = importlib.util.module_from_spec(spec)
spec.loader.exec_module(job)
package = job._package_from(job._package_bytes())  # what each executor unpacks and loads
raw = pd.read_csv(sys.argv[2], dtype=str)  # Spark reads a CSV's columns as text
names = [c["name"] for c in json.load(open(sys.argv[3]))["raw_inputs"]]
package.score_frame(raw[names]).to_csv(sys.argv[4], index=False)
"""


def test_the_spark_job_applies_the_recipe_on_each_executor(setup, tmp_path):
    """pyspark is not installed here: the function each executor runs on its batch of raw
    rows (the package unpacked from the broadcast bytes) is run on the whole raw file as
    Spark reads it, and gives score.py's predictions and reasons row for row."""
    _, _, raw, _, package, _ = setup
    script = tmp_path / "executor.py"
    script.write_text(SPARK_EXECUTOR)
    done = subprocess.run([sys.executable, str(script), str(package / "spark_score.py"), str(raw),
                           str(package / "schema.json"), str(tmp_path / "spark.csv")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    spark = pd.read_csv(tmp_path / "spark.csv")
    assert _score_py(package, raw, "-o", tmp_path / "out.csv", cwd=tmp_path).returncode == 0
    scored = pd.read_csv(tmp_path / "out.csv")
    rejects = pd.read_csv(tmp_path / "out.rejects.csv")
    assert len(spark) == 3000
    kept = spark.reject_reason.isna()
    assert list(np.flatnonzero(kept) + 1) == list(scored.input_row)
    assert np.allclose(spark.prediction[kept], scored.prediction, rtol=0, atol=1e-12)
    assert list(spark.reject_reason[~kept]) == list(rejects.reason)


def test_a_challenge_on_raw_rows_of_a_model_trained_on_prepared_data_is_refused(setup, tmp_path):
    """Its recipe's filters would leave the two versions different rows: the challenge says
    to prepare the data first, and records nothing."""
    import shutil

    from mlops_desktop.core.challenge import ChallengeError, challenge
    from mlops_desktop.core.registry.lifecycle import set_alias

    ws, ref, *_ = setup
    shutil.copytree(ws.root, tmp_path / "ws")
    with Workspace.open(tmp_path / "ws") as copy:
        set_alias(copy, "price", "production", ref.split(":")[1], actor="carl")
        second = train(copy, TrainSpec(dataset="ready", target="log_price", features=FEATURES, models=["hgb"],
                                       model_name="price", seed=7), actor="ann")
        entries = len(copy.audit_entries())
        with pytest.raises(ChallengeError, match="trained on prepared data, and diamonds holds raw rows"):
            challenge(copy, f"price:{second.version}", on="diamonds", holdout="latest:0.2", actor="carl")
        assert len(copy.audit_entries()) == entries


def test_every_path_that_scores_raw_rows_takes_the_same_rows_as_prepare(setup, tmp_path):
    """Validation on a dataset, rows to explain, a Monitor batch and labels joined later
    all take raw rows through the model's recipe (a filter, a derived column, recodes)
    by one rule: each gives the rows the Prepare step made of the same file, in order."""
    from mlops_desktop.core.monitor import batch_from_file, run_drift
    from mlops_desktop.core.monitor.drift import _prepared
    from mlops_desktop.core.monitor.for_version import reference_for_version
    from mlops_desktop.core.monitor.labels import _rows_scored
    from mlops_desktop.core.validate.explanations import _as_the_model_takes, _recipe_of
    from mlops_desktop.core.validate.for_version import _rows_for

    ws, ref, raw, prepared, _, _ = setup
    expected = ws.load_table(prepared).to_pandas()[FEATURES]
    mv = find_version(ws, ref)
    reference = reference_for_version(ws, ref)
    batch = batch_from_file(raw)
    report = run_drift(ws, reference, [batch], actor="ann").reports[0]
    paths = {
        "validate": _rows_for(ws, mv, ws.dataset("diamonds")),
        "explain": _as_the_model_takes(_recipe_of(ws, ref), pd.read_csv(raw), None, "the file")[0],
        "drift": _prepared(reference, batch)[0].table.to_pandas(),
        "labels": _rows_scored(ws, report, reference)[0],
    }
    assert len(expected) == int((pd.read_csv(raw).carat <= 2.5).sum()) < 3000
    for path, rows in paths.items():
        assert "log_price" in rows.columns, path  # the derived column is made on every path
        got = rows[FEATURES].reset_index(drop=True)
        pd.testing.assert_frame_equal(got.astype(object), expected.astype(object), check_dtype=False, obj=path)
