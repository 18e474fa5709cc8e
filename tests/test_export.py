"""Export (core and CLI): only approved versions export; the package's files, its
manifest and its record; byte-identical model and schema on a second export; the
package's own scoring code (run in this process with the written package's model) against the
app's model, bad rows rejected with reasons, unseen categories counted; drift from the
stored profile against the app's Monitor comparison; segmented models as one package;
zip, existing destinations and cancel."""

from __future__ import annotations

import ast
import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import run_cli
from mlops_desktop.core.errors import InvalidChoiceError, JobCancelled
from mlops_desktop.core.export import ExportError, export_version, plan_export
from mlops_desktop.core.export.files import support_modules
from mlops_desktop.core.jobs import CancelToken
from mlops_desktop.core.registry.lifecycle import change_stage
from mlops_desktop.core.store import exports as export_rows
from mlops_desktop.core.train import find_version, load_model
from mlops_desktop.core.workspace import Workspace
from export_helpers import FEATURES, approve, flights_late, train_late


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp("export")
    data = base / "flights_late.csv"
    df = flights_late(data)
    ws = Workspace.create(base / "ws", actor="ann")
    ref = train_late(ws, data)
    approve(ws, ref)
    result = export_version(ws, ref, base / "pkg", actor="carl")
    yield ws, ref, result, df, base
    ws.close()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_only_an_approved_version_exports(workspace, tmp_path):
    data = tmp_path / "late.csv"
    flights_late(data)
    ref = train_late(workspace, data)
    plan = plan_export(workspace, ref)
    assert not plan.exportable and "only an approved version" in plan.reason and plan.stage == "draft"
    with pytest.raises(InvalidChoiceError, match="is draft; only an approved version can be exported"):
        export_version(workspace, ref, tmp_path / "pkg", actor="carl")
    approve(workspace, ref)
    plan = plan_export(workspace, ref)
    assert plan.exportable and plan.reason is None
    assert [(a["by"], a["comment"]) for a in plan.approvals] == [("bob", "Checked the card and the holdout.")]
    assert plan.suggested_name == "late-v1" and plan.trained_by == "ann"
    sizes = {f.path: f.size_bytes for f in plan.files}
    assert sizes["score.py"] > 1000 and sizes["mlops_model_support/estimators.py"] > 1000
    change_stage(workspace, ref, "retired", actor="bob", comment="replaced")
    with pytest.raises(InvalidChoiceError, match="retired; a retired version cannot be exported"):
        export_version(workspace, ref, tmp_path / "pkg", actor="carl")
    assert not (tmp_path / "pkg").exists()
    assert export_rows.for_version(workspace.registry, find_version(workspace, ref).id) == []


def test_the_package_holds_every_file_listed_in_its_manifest(setup):
    ws, ref, result, _, _ = setup
    pkg = result.path
    manifest = json.loads((pkg / "manifest.json").read_text())
    expected = {"model/model.skops", "model/trusted_types.json", "score.py", "spark_score.py", "spark_drift.py",
                "schema.json",
                "requirements.txt", "reference_profile.json", "MODEL_CARD.md", "model_card.html", "README.md",
                "MLmodel", "python_env.yaml", "examples/input.csv", "examples/expected_output.csv",
                "mlops_model_support/__init__.py", "mlops_model_support/estimators.py",
                "mlops_model_support/drift.py", "mlops_model_support/scoring.py",
                "mlops_model_support/mlflow_model.py", "mlops_model_support/labels.py",
                "mlops_model_support/text_files.py", "mlops_model_support/spreadsheet.py",
                "mlops_model_support/terms.py", "mlops_model_support/formula_guard.py",
                "mlops_model_support/performance.py", "mlops_model_support/monitoring.py", "calibration.json",
                "mlops_model_support/recipe.py", "mlops_model_support/expressions.py",
                "reasons.json", "mlops_model_support/contributions.py", "mlops_model_support/tree_contributions.py",
                "mlops_model_support/reasons.py"}
    assert set(manifest["files"]) == expected
    on_disk = {p.relative_to(pkg).as_posix() for p in pkg.rglob("*") if p.is_file()}
    assert on_disk == expected | {"manifest.json"}
    for rel, info in manifest["files"].items():
        assert _sha(pkg / rel) == info["sha256"] and (pkg / rel).stat().st_size == info["bytes"]
    mv = find_version(ws, ref)
    assert (manifest["model"], manifest["version"], manifest["run_id"]) == ("late", 1, mv.run_id)
    assert manifest["dataset"]["fingerprint"] == ws.dataset("flights").fingerprint
    assert [a["by"] for a in manifest["approved_by"]] == ["bob"] and manifest["exported_by"] == "carl"
    assert manifest["exporter"]["name"] == "MLOps Desktop" and manifest["created_at"]
    # the shipped estimators are the app's own module, byte for byte; no app import anywhere
    from mlops_desktop.core.train import estimators

    assert (pkg / "mlops_model_support/estimators.py").read_bytes() == Path(estimators.__file__).read_bytes()
    for path in pkg.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not any(n.startswith("mlops_desktop") for n in names), (path, names)
    # the model names our estimators under the shipped module, and the list trusts them
    trusted = json.loads((pkg / "model/trusted_types.json").read_text())["trusted"]
    assert "mlops_model_support.estimators.InputColumns" in trusted
    assert "mlops_model_support.estimators.StatsmodelsLogit" in trusted
    assert not any(t.startswith("mlops_desktop") for t in trusted)
    with zipfile.ZipFile(pkg / "model/model.skops") as zf:
        assert b"mlops_desktop" not in zf.read("schema.json")


def test_the_export_is_recorded_with_its_manifest_hash(setup):
    ws, ref, result, _, base = setup
    mv = find_version(ws, ref)
    rows = [r for r in export_rows.for_version(ws.registry, mv.id) if r["id"] == result.export_id]
    assert len(rows) == 1
    row = rows[0]
    assert row["manifest_sha256"] == _sha(result.path / "manifest.json") == result.manifest_sha256
    assert row["out_path"] == str((base / "pkg").absolute()) and row["created_by"] == "carl" and not row["zip"]
    entries = [e for e in ws.audit_entries(entity_type="model_version", entity_id=mv.id)
               if e.action == "model.exported"]
    assert any(e.details["manifest_sha256"] == result.manifest_sha256 and e.actor == "carl" for e in entries)
    assert ws.verify_audit() == []


def test_the_schema_describes_inputs_and_outputs(setup):
    ws, ref, result, df, _ = setup
    schema = json.loads((result.path / "schema.json").read_text())
    inputs = {c["name"]: c for c in schema["inputs"]}
    assert list(inputs) == find_version(ws, ref).details["inputs"]
    assert set(inputs) == set(FEATURES)
    assert inputs["carrier"]["kind"] == "categorical" and inputs["carrier"]["categories"] == sorted(
        df["carrier"].unique().tolist()) or set(inputs["carrier"]["categories"]) <= set(df["carrier"])
    assert inputs["dep_delay"]["kind"] == "numeric" and inputs["dep_delay"]["min"] >= df["dep_delay"].min()
    assert inputs["dep_delay"]["max"] <= df["dep_delay"].max() and inputs["distance"]["dtype"] == "integer"
    assert schema["id_columns"] == ["row_id"]
    m = schema["model"]
    assert m["classes"] == ["late", "on time"] and m["positive_class"] in m["classes"]
    assert 0 < m["threshold"] < 1
    assert [o["name"] for o in schema["outputs"]] == ["prediction", "probability_late", "probability_on time",
                                                      "label_at_threshold"]


def test_a_second_export_gives_identical_model_and_schema_files(setup):
    ws, ref, first, _, base = setup
    second = export_version(ws, ref, base / "again", actor="dora")
    for rel in ("model/model.skops", "model/trusted_types.json", "schema.json", "reference_profile.json",
                "calibration.json", "MODEL_CARD.md"):
        assert (first.path / rel).read_bytes() == (second.path / rel).read_bytes(), rel
    files = sorted(p.relative_to(first.path).as_posix() for p in first.path.rglob("*") if p.is_file())
    differ = [rel for rel in files if (first.path / rel).read_bytes() != (second.path / rel).read_bytes()]
    assert differ == ["README.md", "manifest.json"]  # only these name who exported it, and when
    assert first.manifest_sha256 != second.manifest_sha256  # who and when differ
    assert len(export_rows.for_version(ws.registry, find_version(ws, ref).id)) >= 2


def test_the_packages_scoring_equals_the_apps_model(setup):
    """The package's own code and skops model, loaded from the written folder, against
    the app's pickled model on the same rows: labels exactly, probabilities to 1e-12."""
    ws, ref, result, df, _ = setup
    app = load_model(ws, ref)
    rows = df.sample(500, random_state=1)
    with support_modules(result.path) as scoring:
        package = scoring.ModelPackage(result.path)
        out = package.score_frame(rows[FEATURES])
    proba = app.predict_proba(rows[FEATURES])
    assert out["reject_reason"].isna().all()
    assert np.max(np.abs(out["probability_late"].to_numpy(float) - proba[:, 0])) <= 1e-12
    assert list(out["prediction"]) == list(app.predict(rows[FEATURES]))
    schema = json.loads((result.path / "schema.json").read_text())
    pos = schema["model"]["positive_class"]
    j = list(app.classes_).index(pos)
    expected = np.where(proba[:, j] >= schema["model"]["threshold"], pos, app.classes_[1 - j])
    assert list(out["label_at_threshold"]) == list(expected)


def test_bad_values_are_rejected_with_reasons_and_unseen_categories_counted(setup, tmp_path):
    ws, ref, result, df, _ = setup
    rows = df.head(300).astype({"dep_delay": object, "distance": object}).copy()
    rows.loc[rows.index[7], "dep_delay"] = "soon"
    rows.loc[rows.index[9], "distance"] = "inf"
    rows.loc[rows.index[11], "carrier"] = "ZZ"
    rows.loc[rows.index[12], "carrier"] = "ZZ"
    source = tmp_path / "tonight.csv"
    rows.to_csv(source, index=False)
    lines = []
    with support_modules(result.path) as scoring:
        package = scoring.ModelPackage(result.path)
        summary = package.score_file(source, tmp_path / "out.csv", chunk_rows=64, log=lines.append)
    # one value that is not a number, one infinite (which the model would refuse): two rejects
    assert summary["rows_read"] == 300 and summary["rows_rejected"] == 2 and summary["rows_scored"] == 298
    assert summary["unseen_categories"] == {"carrier": {"rows": 2, "values": ["ZZ"]}}
    assert summary["id_columns"] == ["row_id"] and "late" in summary["ignored_columns"]
    rejects = pd.read_csv(summary["rejects"])
    assert rejects["input_row"].tolist() == [8, 10]
    assert "dep_delay: 'soon' is not a number" in rejects["reason"][0]
    assert rejects["reason"][1] == "distance: value is infinite or too large ('inf')"
    assert rejects["row_id"].tolist() == [rows["row_id"].iloc[7], rows["row_id"].iloc[9]]
    out = pd.read_csv(tmp_path / "out.csv")
    assert len(out) == 298 and not {8, 10} & set(out["input_row"])
    assert out["row_id"].tolist() == [r for i, r in enumerate(rows["row_id"]) if i not in (7, 9)]
    # the unseen category is scored as the app's model scores it
    app = load_model(ws, ref)
    typed = pd.read_csv(source).drop(index=rows.index[[7, 9]])
    typed["distance"] = pd.to_numeric(typed["distance"])
    typed["dep_delay"] = pd.to_numeric(typed["dep_delay"])
    expected = app.predict_proba(typed[FEATURES])[:, 0]
    assert np.max(np.abs(out["probability_late"].to_numpy() - expected)) <= 1e-12
    assert any("Columns the model does not use" in line for line in lines)


def test_a_missing_column_stops_before_scoring(setup, tmp_path):
    _, _, result, df, _ = setup
    source = tmp_path / "no_origin.parquet"
    df.head(50).drop(columns=["origin"]).to_parquet(source)
    with support_modules(result.path) as scoring:
        package = scoring.ModelPackage(result.path)
        with pytest.raises(scoring.InputError, match="lacks the column.*origin"):
            package.score_file(source, tmp_path / "out.parquet")
    assert not (tmp_path / "out.parquet").exists()


def test_parquet_in_and_out_give_the_same_scores(setup, tmp_path):
    _, _, result, df, _ = setup
    df.head(400).to_parquet(tmp_path / "in.parquet")
    df.head(400).to_csv(tmp_path / "in.csv", index=False)
    with support_modules(result.path) as scoring:
        package = scoring.ModelPackage(result.path)
        package.score_file(tmp_path / "in.parquet", tmp_path / "out.parquet", chunk_rows=100)
        package.score_file(tmp_path / "in.csv", tmp_path / "out.csv")
    a = pd.read_parquet(tmp_path / "out.parquet")
    b = pd.read_csv(tmp_path / "out.csv")
    assert len(a) == 400 and np.array_equal(a["probability_late"].to_numpy(), b["probability_late"].to_numpy())


def test_drift_from_the_package_profile_matches_the_monitor_page(setup, tmp_path):
    """``score.py --drift``'s comparison (stored profile, file read in chunks) gives the
    Monitor page's verdicts for the same batch file."""
    from mlops_desktop.core.monitor import batch_from_file, compare_batch, effective_thresholds
    from mlops_desktop.core.monitor.for_version import reference_for_version

    ws, ref, result, df, _ = setup
    reference = reference_for_version(ws, ref)
    batches = {"same": df.sample(1500, random_state=3),
               "shifted": df.sample(1500, random_state=4).assign(dep_delay=lambda d: d["dep_delay"] + 40)}
    for label, frame in batches.items():
        path = tmp_path / f"{label}.csv"
        frame.to_csv(path, index=False)
        app = compare_batch(reference, batch_from_file(path), effective_thresholds(ws, "late"))
        with support_modules(result.path) as scoring:
            package = scoring.ModelPackage(result.path).drift(path, chunk_rows=400)
        ours = {f.name: f for f in package.features}
        assert {f.name: f.verdict for f in app.features} == {n: f.verdict for n, f in ours.items()}
        for a in app.features:
            assert a.metrics["psi"] == pytest.approx(ours[a.name].metrics["psi"], abs=1e-12)
        assert package.prediction.verdict == app.prediction.verdict
        assert package.dataset.verdict == app.verdict and package.dataset.drifted == app.drifted
        assert package.dataset.drifted_share == pytest.approx(app.dataset.drifted_share)
        assert app.drifted == (label == "shifted")  # a sample of the same flights does not drift


def test_a_batch_without_a_column_the_model_needs_drifts_the_same_in_the_package(setup, tmp_path):
    """The package names the missing column and why the predictions were not compared in the
    Monitor page's words, and compares the rest as the page does."""
    from mlops_desktop.core.monitor import batch_from_file, compare_batch, effective_thresholds
    from mlops_desktop.core.monitor.for_version import reference_for_version

    ws, ref, result, df, _ = setup
    path = tmp_path / "no_origin.csv"
    df.sample(1500, random_state=5).drop(columns=["origin"]).to_csv(path, index=False)
    app = compare_batch(reference_for_version(ws, ref), batch_from_file(path), effective_thresholds(ws, "late"))
    with support_modules(result.path) as scoring:
        package = scoring.ModelPackage(result.path).drift(path, chunk_rows=400)
    assert package.feature("origin").reason == app.feature("origin").reason == "the batch has no column 'origin'"
    assert package.prediction.reason == app.prediction.reason == "the batch lacks columns the model needs: origin"
    assert {f.name: f.verdict for f in package.features} == {f.name: f.verdict for f in app.features}
    assert package.dataset.verdict == app.verdict and package.rows == 1500


def test_a_segmented_model_exports_as_one_package_with_its_router(workspace, tmp_path):
    from mlops_desktop.core.train import TrainSpec, train

    data = tmp_path / "late.csv"
    df = flights_late(data)
    workspace.import_file(data, name="flights", actor="ann")
    result = train(workspace, TrainSpec(dataset="flights", target="dep_delay", models=["ols"],
                                        features=["distance", "hour", "carrier"], segment_by="origin",
                                        min_segment_rows=500, model_name="delay", search_candidates=0,
                                        cv_folds=2), actor="ann")
    ref = f"delay:{result.version}"
    approve(workspace, ref)
    exported = export_version(workspace, ref, tmp_path / "pkg", actor="carl")
    schema = json.loads((exported.path / "schema.json").read_text())
    assert schema["segments"]["column"] == "origin" and set(schema["segments"]["segments"]) == {"EWR", "JFK", "LGA"}
    assert [c["name"] for c in schema["inputs"] if c["role"] == "segment"] == ["origin"]
    app = load_model(workspace, ref)
    rows = df.head(200).copy()
    rows.loc[rows.index[:5], "origin"] = "BOS"  # an unseen segment: the fallback scores it
    with support_modules(exported.path) as scoring:
        out = scoring.ModelPackage(exported.path).score_frame(rows[["distance", "hour", "carrier", "origin"]])
    expected = app.predict(rows[["distance", "hour", "carrier", "origin"]])
    assert np.max(np.abs(out["prediction"].to_numpy(float) - expected)) <= 1e-9
    fallback = app.fallback_.predict(rows.head(5)[["distance", "hour", "carrier", "origin"]])
    assert np.allclose(out["prediction"].head(5).to_numpy(float), fallback, atol=1e-9)
    profile = json.loads((exported.path / "reference_profile.json").read_text())
    assert "origin" in profile["features"] and profile["predictions"] is not None


def test_zip_export_and_taken_destinations(setup, tmp_path):
    ws, ref, _, _, _ = setup
    zipped = export_version(ws, ref, tmp_path / "late-v1", zip=True, actor="carl")
    assert zipped.path == (tmp_path / "late-v1.zip").absolute() and zipped.zip
    with zipfile.ZipFile(zipped.path) as zf:
        names = zf.namelist()
        manifest = zf.read("late-v1/manifest.json")
    assert "late-v1/score.py" in names and "late-v1/model/model.skops" in names
    assert hashlib.sha256(manifest).hexdigest() == zipped.manifest_sha256
    with pytest.raises(ExportError, match="already exists"):
        export_version(ws, ref, tmp_path / "late-v1.zip", zip=True, actor="carl")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match="already exists"):
        export_version(ws, ref, tmp_path / "taken", actor="carl")
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"
    with pytest.raises(ExportError, match="does not exist"):
        export_version(ws, ref, tmp_path / "missing" / "pkg", actor="carl")
    (tmp_path / "empty").mkdir()
    assert export_version(ws, ref, tmp_path / "empty", actor="carl").path.joinpath("score.py").is_file()
    assert not list(tmp_path.glob(".tmp-*"))


def test_cancel_leaves_nothing_behind(setup, tmp_path):
    ws, ref, _, _, _ = setup
    token = CancelToken()
    seen = []

    def progress(fraction, message):
        seen.append(message)
        if message.startswith("Checking the package"):
            token.cancel()

    with pytest.raises(JobCancelled):
        export_version(ws, ref, tmp_path / "pkg", actor="carl", progress=progress, cancel=token)
    assert not (tmp_path / "pkg").exists() and list(tmp_path.iterdir()) == []
    assert "Saving the model with skops" in seen


def test_cli_export_plan_and_refusal(setup, tmp_path):
    ws, ref, _, _, base = setup
    args = ["--workspace", str(base / "ws")]
    plan = run_cli("export", ref, "--out", str(tmp_path / "x"), "--plan", "--json", *args)
    assert plan.returncode == 0, plan.stderr
    assert json.loads(plan.stdout)["exportable"] is True
    done = run_cli("export", ref, "--out", str(tmp_path / "cli-pkg"), "--json", "--as", "erin", *args)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["manifest_sha256"] == _sha(tmp_path / "cli-pkg" / "manifest.json")
    assert json.loads((tmp_path / "cli-pkg" / "manifest.json").read_text())["exported_by"] == "erin"
    again = run_cli("export", ref, "--out", str(tmp_path / "cli-pkg"), *args)
    assert again.returncode == 2 and "already exists" in again.stderr and "Traceback" not in again.stderr
    unknown = run_cli("export", "nope:1", "--out", str(tmp_path / "y"), *args)
    assert unknown.returncode == 2 and "no registered model" in unknown.stderr


def test_the_package_code_is_the_apps_mlops_model_support_byte_for_byte(setup):
    """The programs and the library are copied from the installed package (linted, tested
    and held by the import contract), every module of it, and nothing else of it."""
    import mlops_model_support

    _, _, result, _, _ = setup
    source = Path(mlops_model_support.__file__).parent
    programs = ("score.py", "spark_score.py", "spark_drift.py")
    shipped = {**{name: name for name in programs},
               **{f"mlops_model_support/{p.name}": p.name for p in source.glob("*.py") if p.name not in programs}}
    # terms.py and formula_guard.py: model terms; recipe.py and expressions.py: recipes;
    # contributions, tree_contributions, reasons: reasons for each score
    assert len(shipped) == 19
    for rel, name in shipped.items():
        assert (result.path / rel).read_bytes() == (source / name).read_bytes(), rel
    assert not (result.path / "mlops_model_support" / "score.py").exists()


def test_a_file_with_a_header_only_gives_an_output_with_a_header_only(setup, tmp_path):
    _, _, result, df, _ = setup
    source = tmp_path / "empty.csv"
    source.write_text(",".join(df.columns) + "\n")
    with support_modules(result.path) as scoring:
        summary = scoring.ModelPackage(result.path).score_file(source, tmp_path / "out.csv")
    assert summary["rows_read"] == 0 and summary["rejects"] is None
    out = pd.read_csv(tmp_path / "out.csv")
    assert len(out) == 0 and list(out.columns)[:3] == ["input_row", "row_id", "prediction"]


# -- reading files as the importer does; refusing to overwrite; clear rejects ----------------

@pytest.fixture(scope="module")
def semicolon(tmp_path_factory):
    """A model trained from a semicolon-separated file with decimal commas, a UTF-8
    byte-order mark and spaces around a column name, and its package."""
    base = tmp_path_factory.mktemp("export-semicolon")
    df = flights_late(base / "plain.csv")
    df["dep_delay"] = df["dep_delay"].astype(float) + 0.25  # decimals, written "2,25"
    data = base / "flights_semicolon.csv"
    df.rename(columns={"dep_delay": " dep_delay "}).to_csv(data, sep=";", decimal=",", index=False,
                                                              encoding="utf-8-sig")
    assert data.read_bytes().startswith(b"\xef\xbb\xbf") and b"2,25" in data.read_bytes()
    ws = Workspace.create(base / "ws", actor="ann")
    ref = train_late(ws, data)
    approve(ws, ref)
    result = export_version(ws, ref, base / "pkg", actor="carl")
    yield ws, ref, result.path, df, data
    ws.close()


def _score_py(pkg: Path, *args, cwd: Path):
    import subprocess
    import sys

    return subprocess.run([sys.executable, str(pkg / "score.py"), *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def _last_json(result) -> dict:
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_training_files_own_format_is_recorded_and_used_by_default(semicolon, tmp_path):
    ws, ref, pkg, df, data = semicolon
    schema = json.loads((pkg / "schema.json").read_text())
    assert schema["input_file"] == {"delimiter": ";", "decimal": ",", "encoding": "utf-8"}
    # the training file itself, BOM, ';', "2,25" and " dep_delay " included, scores with no options
    done = _score_py(pkg, data, "-o", tmp_path / "out.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = _last_json(done)
    assert summary["rows_read"] == len(df) and summary["rows_rejected"] == 0
    app = load_model(ws, ref)
    out = pd.read_csv(tmp_path / "out.csv", dtype={"prediction": object})
    proba = app.predict_proba(df[FEATURES])
    assert out["prediction"].tolist() == list(app.predict(df[FEATURES]))
    assert np.max(np.abs(out["probability_late"].to_numpy() - proba[:, 0])) <= 1e-12
    # told a decimal point, the decimal commas are rejected with a hint
    point = _score_py(pkg, data, "-o", tmp_path / "point.csv", "--decimal", ".", cwd=tmp_path)
    assert point.returncode == 6 and _last_json(point)["rows_rejected"] == len(df)  # every row rejected
    reason = pd.read_csv(tmp_path / "point.rejects.csv")["reason"][0]
    assert "is not a number" in reason and "pass --decimal ','" in reason
    # the same rows as comma-separated UTF-8 (as IT may receive them): the options say so
    comma = tmp_path / "comma.csv"
    df.head(200).to_csv(comma, index=False)
    wrong = _score_py(pkg, comma, "-o", tmp_path / "c.csv", cwd=tmp_path)
    assert wrong.returncode == 2 and "lacks the column(s)" in wrong.stderr
    assert "seems to use ',' as delimiter, not ';'; pass --delimiter ','" in wrong.stderr
    right = _score_py(pkg, comma, "-o", tmp_path / "c.csv", "--delimiter", ",", "--decimal", ".", cwd=tmp_path)
    assert right.returncode == 0 and _last_json(right)["rows_scored"] == 200, right.stderr
    # cp1252 text, a tab-separated file and drift read with the same options
    latin = tmp_path / "latin.tsv"
    df.head(200).assign(row_id=lambda d: d["row_id"] + "é").to_csv(latin, sep="\t", index=False,
                                                                   encoding="cp1252")
    bad = _score_py(pkg, latin, "-o", tmp_path / "l.csv", "--decimal", ".", cwd=tmp_path)
    assert bad.returncode == 2 and "--encoding cp1252" in bad.stderr
    good = _score_py(pkg, latin, "-o", tmp_path / "l.csv", "--decimal", ".", "--encoding", "cp1252",
                     cwd=tmp_path)
    assert good.returncode == 0 and pd.read_csv(tmp_path / "l.csv")["row_id"][0].endswith("é")
    drift = _score_py(pkg, "--drift", data, cwd=tmp_path)
    assert drift.returncode == 0 and _last_json(drift)["not_comparable"] == [], drift.stdout


def test_a_header_with_spaces_scores_like_the_training_file(setup, tmp_path):
    _, _, result, df, _ = setup
    source = tmp_path / "spaced.csv"
    df.head(100).rename(columns={"distance": " distance ", "carrier": "carrier  "}).to_csv(source, index=False)
    df.head(100).to_parquet(tmp_path / "plain.parquet")
    df.head(100).rename(columns={"distance": " distance "}).to_parquet(tmp_path / "spaced.parquet")
    with support_modules(result.path) as scoring:
        package = scoring.ModelPackage(result.path)
        summary = package.score_file(source, tmp_path / "out.csv")
        package.score_file(tmp_path / "spaced.parquet", tmp_path / "spaced_out.csv")
        package.score_file(tmp_path / "plain.parquet", tmp_path / "plain_out.csv")
    assert summary["rows_scored"] == 100 and summary["rows_rejected"] == 0
    plain = pd.read_csv(tmp_path / "plain_out.csv")
    assert plain.equals(pd.read_csv(tmp_path / "out.csv")) and plain.equals(pd.read_csv(tmp_path / "spaced_out.csv"))


def test_score_py_refuses_to_overwrite_its_input(setup, tmp_path):
    _, _, result, df, _ = setup
    source = tmp_path / "in.csv"
    df.head(50).to_csv(source, index=False)
    before = source.read_bytes()
    for option in (["-o", source], ["--rejects", source], ["--log", source],
                   ["-o", tmp_path / "." / "in.csv"]):
        done = _score_py(result.path, source, *option, cwd=tmp_path)
        assert done.returncode == 2 and "is the input file itself" in done.stderr, (option, done.stderr)
        assert source.read_bytes() == before
    (tmp_path / "link.csv").symlink_to(source)
    linked = _score_py(result.path, source, "-o", tmp_path / "link.csv", cwd=tmp_path)
    assert linked.returncode == 2 and source.read_bytes() == before
    report = _score_py(result.path, "--drift", source, "--report", source, cwd=tmp_path)
    assert report.returncode == 2 and source.read_bytes() == before
    with support_modules(result.path) as scoring:
        with pytest.raises(scoring.InputError, match="is the input file itself"):
            scoring.ModelPackage(result.path).score_file(source, source)
    assert source.read_bytes() == before


def test_infinite_values_are_rejected_naming_the_column(setup, tmp_path):
    _, _, result, df, _ = setup
    rows = df.head(30).astype({"dep_delay": object, "distance": object})
    rows.loc[rows.index[3], "dep_delay"] = "1e400"
    rows.loc[rows.index[5], "distance"] = "-inf"
    source = tmp_path / "inf.csv"
    rows.to_csv(source, index=False)
    with support_modules(result.path) as scoring:
        summary = scoring.ModelPackage(result.path).score_file(source, tmp_path / "out.csv")
    assert summary["rows_rejected"] == 2 and summary["rows_scored"] == 28
    rejects = pd.read_csv(summary["rejects"], dtype=str)
    assert rejects["input_row"].tolist() == ["4", "6"]
    assert rejects["reason"].tolist() == ["dep_delay: value is infinite or too large ('1e400')",
                                          "distance: value is infinite or too large ('-inf')"]
    # "-inf" is not a number a spreadsheet reads: neutralised, as text starting with "-"
    assert rejects["dep_delay"][0] == "1e400" and rejects["distance"][1] == "'-inf"
    assert rejects["row_id"].tolist() == [rows["row_id"].iloc[3], rows["row_id"].iloc[5]]


def test_missing_values_filled_are_counted_per_column(setup, tmp_path):
    _, _, result, df, _ = setup
    rows = df.head(120).astype({"dep_delay": object}).copy()
    rows.loc[rows.index[[1, 2, 3, 50]], "dep_delay"] = None
    rows.loc[rows.index[[7, 8]], "carrier"] = None
    rows.loc[rows.index[9], "dep_delay"] = "soon"  # rejected: not counted as filled in
    source = tmp_path / "gaps.csv"
    rows.to_csv(source, index=False)
    lines: list[str] = []
    with support_modules(result.path) as scoring:
        summary = scoring.ModelPackage(result.path).score_file(source, tmp_path / "out.csv", chunk_rows=40,
                                                               log=lines.append)
    expected = {"dep_delay": 4, "carrier": 2}
    expected.update({c: int(df.head(120)[c].isna().sum()) for c in ("origin", "distance", "hour")
                     if df.head(120)[c].isna().any()})
    assert summary["missing_values_filled"] == expected
    assert summary["rows_rejected"] == 1
    assert any(line.startswith("Missing values in dep_delay: 4 scored rows") for line in lines)


def test_logs_stay_out_of_the_package_and_the_readme_schedules_safely(setup, tmp_path):
    import shutil

    _, _, result, df, _ = setup
    pkg = tmp_path / "pkg"
    shutil.copytree(result.path, pkg)
    batch = tmp_path / "batch.csv"
    df.head(300).to_csv(batch, index=False)
    assert _score_py(pkg, "--self-test", cwd=pkg).returncode == 0
    assert _score_py(pkg, "--drift", batch, cwd=pkg).returncode in (0, 4)
    assert _score_py(pkg, pkg / "examples" / "input.csv", "-o", pkg / "scored.csv", cwd=tmp_path).returncode == 0
    verify = _score_py(pkg, "--verify", cwd=pkg)
    # the scored file is the user's choice; no log was added to the package
    assert verify.returncode == 0 and _last_json(verify)["unlisted_files"] == ["scored.csv"]
    logs = tmp_path / "pkg-logs"
    assert (logs / "score.log").read_text().count("Self-test passed") == 1
    assert (logs / "scored.csv.log").is_file()
    readme = (result.path / "README.md").read_text()
    cron = next(line for line in readme.splitlines() if line.startswith("0 2 * * *"))
    drift_at, score_at = cron.index("--drift"), cron.index("tonight.csv -o")
    assert "&&" in cron[drift_at:score_at] and ";" not in cron[drift_at:score_at]
    assert cron.startswith("0 2 * * * cd /data/out &&")
    windows = readme[readme.index("Windows Task Scheduler"):readme.index("## Exit codes")]
    assert windows.index("--drift") < windows.index("if errorlevel 1 exit /b") < windows.index("-o tonight")
    assert "## Troubleshooting" in readme and "drift takes precedence" in readme
    assert "missing_values_filled" in readme and "--delimiter" in readme and "--encoding" in readme
    assert "a program file was added" in readme and "python -m venv .venv" not in readme


def test_a_virtual_environment_made_inside_the_package_does_not_fail_verification(setup, tmp_path):
    """IT may well run `python -m venv .venv` in the package folder: its files are listed,
    not taken for added program files; a stray module beside score.py still is."""
    import shutil
    import venv

    _ws, _ref, result, _df, _base = setup
    pkg = tmp_path / "pkg"
    shutil.copytree(result.path, pkg)
    venv.create(pkg / ".venv", with_pip=False)
    (pkg / ".venv" / "lib" / "helper.py").write_text("x = 1\n")
    check = _score_py(pkg, "--verify", cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    (pkg / "pandas.py").write_text("raise SystemExit('planted')\n")
    assert _score_py(pkg, "--verify", cwd=tmp_path).returncode == 3
