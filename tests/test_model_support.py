"""The export package's own code, imported and exercised directly (not through an
export): ``mlops_model_support``'s scoring on a small package built here with plain
scikit-learn and skops, its reading rules, labels, row numbering, the verification and
options of ``score.py``, and MLflow's loader. The export round trips are in
test_export.py and test_export_venv.py."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlops_model_support import labels, mlflow_model, score, scoring, text_files

COLOURS = ["red", "green", "blue"]


def _fit(n: int = 400):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(7)
    x = rng.normal(size=n)
    colour = rng.choice(COLOURS, size=n)
    y = np.where(x + (colour == "red") + rng.normal(scale=0.5, size=n) > 0.5, "yes", "no")
    pipe = Pipeline([("prep", ColumnTransformer([("num", SimpleImputer(), ["x"]),
                                                 ("cat", OneHotEncoder(handle_unknown="ignore"), ["colour"])])),
                     ("model", LogisticRegression())])
    frame = pd.DataFrame({"x": x, "colour": pd.Series(colour, dtype=object)})
    return pipe.fit(frame, y), frame


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    """A package folder: schema.json, a skops model with its trusted types, and a
    manifest of them (what scoring and ``score.py``'s verification read)."""
    import skops.io as sio

    folder = tmp_path_factory.mktemp("tiny") / "pkg"
    (folder / "model").mkdir(parents=True)
    model, frame = _fit()
    sio.dump(model, folder / "model" / "model.skops")
    trusted = sio.get_untrusted_types(file=folder / "model" / "model.skops")
    (folder / "model" / "trusted_types.json").write_text(json.dumps({"trusted": trusted}))
    schema = {
        "model": {"name": "tiny", "version": 1, "task": "classification", "classes": ["no", "yes"],
                  "positive_class": None, "threshold": None},
        "inputs": [{"name": "x", "kind": "numeric", "dtype": "float", "min": float(frame["x"].min()),
                    "max": float(frame["x"].max())},
                   {"name": "colour", "kind": "categorical", "dtype": "string", "categories": COLOURS}],
        "outputs": [{"name": "prediction", "type": "string"}, {"name": "probability_no", "type": "double"},
                    {"name": "probability_yes", "type": "double"}],
        "id_columns": ["id"]}
    (folder / "schema.json").write_text(json.dumps(schema))
    files = {p.relative_to(folder).as_posix(): {"sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
             for p in folder.rglob("*") if p.is_file()}
    (folder / "manifest.json").write_text(json.dumps({"files": files}))
    return folder


def test_labels_and_reading_rules():
    values = pd.Series([1.0, 2.5, None, True, "x", 2007], dtype=object)
    assert list(labels.category_labels(values)[[0, 1, 3, 4, 5]]) == ["1", "2.5", "True", "x", "2007"]
    assert np.isnan(labels.category_labels(values)[2])
    assert [labels.class_label(v) for v in (1.0, np.int64(3), True, "late", 2.5)] == ["1", "3", "True", "late",
                                                                                     "2.5"]
    got = labels.numeric_values(pd.Series(["1.5", "x", None]))
    assert got[0] == 1.5 and np.isnan(got[1:]).all()
    assert text_files.column_names([" age ", "", "b"]) == ["age", "column_2", "b"]
    assert text_files.DECIMAL_COMMA.match("-1.234,5") and not text_files.DECIMAL_COMMA.match("1.5")


def test_input_rows_count_the_skipped_rows():
    positions = np.arange(1, 8)
    assert scoring.input_rows(positions, []).tolist() == list(range(1, 8))
    # rows 3, 4 and 9 of the input were malformed: the seven read are 1, 2, 5, 6, 7, 8, 10
    assert scoring.input_rows(positions, [3, 4, 9]).tolist() == [1, 2, 5, 6, 7, 8, 10]
    assert scoring.input_rows(np.arange(1, 3), [1]).tolist() == [2, 3]


def test_scoring_a_file_directly(package, tmp_path):
    model, _ = _fit()
    source = tmp_path / "in.csv"
    source.write_text("id, x ,colour,extra\n"
                      "a,0.5,red,1\n"
                      "b,not a number,blue,2\n"
                      "c,1.5,green\n"               # a field short: malformed, rejected with its line
                      "d,,purple,4\n"               # missing x filled in, unseen colour counted
                      "=e,-1.25,green,5\n")
    summary = scoring.ModelPackage(package).score_file(source, tmp_path / "out.csv")
    assert summary["status"] == "ok"
    assert (summary["rows_read"], summary["rows_scored"], summary["rows_rejected"]) == (5, 3, 2)
    assert summary["rows_malformed"] == 1 and summary["ignored_columns"] == ["extra"]
    assert summary["unseen_categories"] == {"colour": {"rows": 1, "values": ["purple"]}}
    assert summary["missing_values_filled"] == {"x": 1}
    out = pd.read_csv(tmp_path / "out.csv", dtype={"prediction": object})
    assert out["input_row"].tolist() == [1, 4, 5] and out["id"].tolist() == ["a", "d", "=e"]
    expected = model.predict_proba(pd.DataFrame({"x": [0.5, np.nan, -1.25],
                                                 "colour": pd.Series(["red", "purple", "green"], dtype=object)}))
    assert np.max(np.abs(out[["probability_no", "probability_yes"]].to_numpy() - expected)) <= 1e-12
    rejects = pd.read_csv(summary["rejects"], dtype=str, keep_default_na=False)
    assert rejects["input_row"].tolist() == ["2", "3"]
    assert rejects["reason"][0] == "x: 'not a number' is not a number"
    assert rejects["reason"][1].startswith("the row has 3 field(s) where the header has 4 (line 4 of the file")


def test_a_model_that_cannot_be_loaded_raises_before_any_row(package, tmp_path):
    broken = tmp_path / "pkg"
    shutil.copytree(package, broken)
    (broken / "model" / "trusted_types.json").write_text(json.dumps({"trusted": []}))
    source = tmp_path / "in.csv"
    source.write_text("x,colour\n" + "0.5,red\n" * 1000)
    with pytest.raises(scoring.ModelLoadError, match="does not list"):
        scoring.ModelPackage(broken).score_file(source, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()
    with pytest.raises(scoring.ModelLoadError):
        scoring.ModelPackage(broken).score_frame(pd.DataFrame({"x": [0.5], "colour": ["red"]}))


def test_every_row_rejected_is_the_runs_status(package, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("x,colour\nlow,red\nhigh,blue\n")
    summary = scoring.ModelPackage(package).score_file(source, tmp_path / "out.csv")
    assert summary["status"] == scoring.ALL_REJECTED and summary["rows_rejected"] == 2


def test_mlflow_loader_scores_a_frame(package, tmp_path):
    folder = tmp_path / "pkg"
    shutil.copytree(package, folder)
    shutil.copy(Path(score.__file__), folder / "score.py")  # the verification MLflow's loader runs
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["score.py"] = {"sha256": hashlib.sha256((folder / "score.py").read_bytes()).hexdigest()}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    loaded = mlflow_model._load_pyfunc(str(folder))
    out = loaded.predict(pd.DataFrame({"x": [0.5, float("inf")], "colour": ["red", "blue"]}))
    assert out["prediction"][0] in ("no", "yes") and pd.isna(out["reject_reason"][0])
    assert out["reject_reason"][1] == "x: value is infinite or too large (inf)"
    (folder / "schema.json").write_text("{}")
    with pytest.raises(RuntimeError, match="schema.json was changed"):
        mlflow_model._load_pyfunc(str(folder))


def test_score_py_verifies_a_folder_against_its_manifest(package, tmp_path):
    folder = tmp_path / "pkg"
    shutil.copytree(package, folder)
    assert score.verify_package(str(folder))[:2] == ([], [])
    (folder / "notes.txt").write_text("mine")
    (folder / "helper.py").write_text("x = 1\n")
    (folder / "schema.json").write_text("{}")
    problems, extra, manifest_sha = score.verify_package(str(folder))
    assert problems == ["schema.json was changed (its SHA-256 no longer matches manifest.json)",
                        "helper.py is not part of the package (an added program file)"]
    assert extra == ["notes.txt"] and len(manifest_sha) == 64
    (folder / "manifest.json").unlink()
    assert "manifest.json is missing or unreadable" in score.verify_package(str(folder))[0][0]


def test_score_py_options(capsys):
    args = score.parse_args(["in.tsv", "--delimiter", "tab", "--chunksize", "10"])
    assert args.delimiter == "\t" and args.chunksize == 10
    recorded = {"input_file": {"delimiter": ";", "decimal": ",", "encoding": "cp1252"}}
    assert score.reading_options(score.parse_args(["in.csv"]), recorded) == {
        "delimiter": ";", "decimal": ",", "encoding": "cp1252"}
    assert score.reading_options(score.parse_args(["in.tsv"]), recorded)["delimiter"] is None  # a tab
    for bad in (["a.csv", "--verify"], [], ["a.csv", "--chunksize", "0"], ["a.csv", "--delimiter", ";;"]):
        with pytest.raises(SystemExit) as stopped:
            score.parse_args(bad)
        assert stopped.value.code == score.EXIT_INPUT
    assert "score.py: error:" in capsys.readouterr().err
    assert score.default_output("/d/in.csv", None) == "/d/in.scored.csv"
    assert len({score.EXIT_OK, score.EXIT_ERROR, score.EXIT_INPUT, score.EXIT_TAMPERED, score.EXIT_DRIFT,
                score.EXIT_SELF_TEST, score.EXIT_ALL_REJECTED}) == 7
