"""An exported package where IT runs it: a fresh virtual environment with only the
package's requirements.txt, ``score.py`` as a process (predictions equal the app's,
tampering refused, self-test, missing column, a bad row rejected, drift exit codes);
MLflow's pyfunc loader; Spark's mapInPandas in local mode.

The environments are built from PyPI once and cached (``export_helpers.venv_python``; the
Spark and MLflow tests share one, ``extras_python``).
The Spark test needs Java; without it the test is skipped with the reason, except in CI
(``CI`` set), where a missing Java is a failure: scripts/install-system-deps.sh installs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from mlops_desktop.core.export import export_version
from mlops_desktop.core.train import load_model
from mlops_desktop.core.workspace import Workspace
from export_helpers import FEATURES, approve, extras_python, flights_late, train_late, venv_python

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    base = tmp_path_factory.mktemp("export-venv")
    data = base / "flights_late.csv"
    df = flights_late(data)
    with Workspace.create(base / "ws", actor="ann") as ws:
        ref = train_late(ws, data)
        approve(ws, ref)
        result = export_version(ws, ref, base / "pkg", actor="carl")
        app = load_model(ws, ref)
    return result.path, df, app, base


@pytest.fixture(scope="module")
def python(exported):
    return venv_python(exported[0] / "requirements.txt")


def _run(python, *args, cwd=None, timeout=600, env=None):
    return subprocess.run([str(python), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env={**os.environ, **(env or {})})


def _summary(result) -> dict:
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_fresh_environment_has_only_the_requirements(python):
    listed = _run(python, "-m", "pip", "list", "--format=json")
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert {"scikit-learn", "skops", "pandas", "pyarrow"} <= names
    assert "mlops-desktop" not in names and "statsmodels" not in names
    assert _run(python, "-c", "import mlops_desktop").returncode != 0


def test_scores_in_a_fresh_environment_equal_the_apps(exported, python, tmp_path):
    pkg, df, app, _ = exported
    rows = df.copy()
    bad = rows.index[10]
    rows = rows.astype({"dep_delay": object})
    rows.loc[bad, "dep_delay"] = "n/k"
    source = tmp_path / "tonight.csv"
    rows.to_csv(source, index=False)
    out = tmp_path / "tonight.scored.csv"
    result = _run(python, pkg / "score.py", source, "-o", out, "--chunksize", "1000", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = _summary(result)
    assert summary["rows_read"] == len(rows) and summary["rows_rejected"] == 1
    assert summary["rows_scored"] == len(rows) - 1 and summary["seconds"] > 0
    rejects = pd.read_csv(summary["rejects"])
    assert rejects["input_row"].tolist() == [11] and "'n/k' is not a number" in rejects["reason"][0]
    assert (tmp_path / "tonight.scored.csv.log").read_text().count("Package verified") == 1
    scored = pd.read_csv(out, dtype={"prediction": object, "label_at_threshold": object})
    good = rows.drop(index=bad)
    typed = good[FEATURES].astype({"dep_delay": float})
    proba = app.predict_proba(typed)
    assert scored["row_id"].tolist() == good["row_id"].tolist()
    assert scored["prediction"].tolist() == list(app.predict(typed))  # labels exactly
    assert np.max(np.abs(scored["probability_late"].to_numpy() - proba[:, 0])) <= 1e-12
    assert np.max(np.abs(scored["probability_on time"].to_numpy() - proba[:, 1])) <= 1e-12


def test_self_test_verify_and_tampering(exported, python, tmp_path):
    pkg, _, _, _ = exported
    copy = tmp_path / "pkg"
    shutil.copytree(pkg, copy)
    assert _run(python, copy / "score.py", "--verify").returncode == 0
    test = _run(python, copy / "score.py", "--self-test", cwd=tmp_path)
    assert test.returncode == 0, test.stderr
    assert _summary(test)["self_test"] == "passed"
    model = copy / "model" / "model.skops"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0x01  # one byte changed
    model.write_bytes(bytes(data))
    verify = _run(python, copy / "score.py", "--verify")
    assert verify.returncode == 3 and "model/model.skops was changed" in verify.stderr
    scoring = _run(python, copy / "score.py", copy / "examples" / "input.csv", "-o", tmp_path / "o.csv")
    assert scoring.returncode == 3 and not (tmp_path / "o.csv").exists()
    # a program file dropped into the package is refused too
    data[len(data) // 2] ^= 0x01
    model.write_bytes(bytes(data))
    (copy / "pandas.py").write_text("raise SystemExit('shadowed')\n")
    added = _run(python, copy / "score.py", "--verify")
    assert added.returncode == 3 and "pandas.py is not part of the package" in added.stderr


def test_a_missing_column_exits_2_naming_it(exported, python, tmp_path):
    pkg, df, _, _ = exported
    source = tmp_path / "no_carrier.parquet"
    df.head(100).drop(columns=["carrier"]).to_parquet(source)
    result = _run(python, pkg / "score.py", source, "-o", tmp_path / "out.parquet")
    assert result.returncode == 2 and "carrier" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out.parquet").exists()
    usage = _run(python, pkg / "score.py")
    assert usage.returncode == 2


def test_drift_exit_codes_and_report(exported, python, tmp_path):
    pkg, df, _, _ = exported
    same, shifted = tmp_path / "same.csv", tmp_path / "shifted.csv"
    df.sample(2000, random_state=5).to_csv(same, index=False)
    df.sample(2000, random_state=6).assign(distance=lambda d: d["distance"] * 1.6).to_csv(shifted, index=False)
    calm = _run(python, pkg / "score.py", "--drift", same, cwd=tmp_path)
    assert calm.returncode == 0, calm.stderr
    assert _summary(calm)["verdict"] == "no drift"
    moved = _run(python, pkg / "score.py", "--drift", shifted, "--report", tmp_path / "drift.html", cwd=tmp_path)
    assert moved.returncode == 4, moved.stderr
    summary = _summary(moved)
    assert summary["drifted"] and "distance" in summary["drifted_features"]
    assert "distance" in (tmp_path / "drift.html").read_text()


def test_mlflow_pyfunc_loads_the_folder(exported, tmp_path):
    pkg, df, app, _ = exported
    python = extras_python(pkg / "requirements.txt")
    rows = df.head(300)
    rows[FEATURES].to_parquet(tmp_path / "rows.parquet")
    code = (
        "import sys, mlflow.pyfunc, pandas as pd\n"
        "model = mlflow.pyfunc.load_model(sys.argv[1])\n"
        "out = model.predict(pd.read_parquet(sys.argv[2]))\n"
        "out.to_parquet(sys.argv[3])\n")
    result = _run(python, "-c", code, pkg, tmp_path / "rows.parquet", tmp_path / "out.parquet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    out = pd.read_parquet(tmp_path / "out.parquet")
    proba = app.predict_proba(rows[FEATURES])
    assert out["reject_reason"].isna().all() and len(out) == 300
    assert out["prediction"].tolist() == list(app.predict(rows[FEATURES]))
    assert np.max(np.abs(out["probability_late"].to_numpy() - proba[:, 0])) <= 1e-12


def _need_java() -> None:
    if shutil.which("java") is None:
        message = ("Java is not installed, and Spark needs it: run scripts/install-system-deps.sh --xvfb "
                   "(Debian's default-jre-headless)")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def test_spark_scores_with_map_in_pandas(exported, tmp_path):
    _need_java()
    pkg, df, app, _ = exported
    python = extras_python(pkg / "requirements.txt")
    rows = df.head(2000)
    rows.to_csv(tmp_path / "table.csv", index=False)
    result = _run(python, pkg / "spark_score.py", tmp_path / "table.csv", tmp_path / "scored",
                  "--id-columns", "row_id", "--master", "local[2]", cwd=tmp_path, timeout=900,
                  env={"PYSPARK_PYTHON": str(python), "SPARK_LOCAL_IP": "127.0.0.1"})
    assert result.returncode == 0, result.stderr[-4000:]
    out = pd.read_parquet(tmp_path / "scored").set_index("row_id").loc[rows["row_id"]]
    proba = app.predict_proba(rows[FEATURES])
    assert out["reject_reason"].isna().all()
    assert out["prediction"].tolist() == list(app.predict(rows[FEATURES]))
    assert np.max(np.abs(out["probability_late"].to_numpy() - proba[:, 0])) <= 1e-12


def test_spark_drift_counts_as_score_py_and_the_app_and_is_imported(exported, python, tmp_path):
    """Issue 18: spark_drift.py counts a batch (three part files: three Spark tasks whose
    counts are added) on the reference's cells exactly as score.py --monitor-out counts
    the same rows in one file; the summary is imported and gives the PSI, missing shares
    and Jensen-Shannon distances the app's own comparison of those rows gives."""
    from conftest import run_cli
    from mlops_desktop.core.monitor import compare_batch
    from mlops_desktop.core.monitor.batches import batch_from_file
    from mlops_desktop.core.monitor.for_version import reference_for_version

    _need_java()
    pkg, df, _, base = exported
    spark_python = extras_python(pkg / "requirements.txt")
    batch = df.drop(columns=["late"]).sample(3000, random_state=5).reset_index(drop=True)
    batch.loc[:40, "dep_delay"] = None
    batch.loc[41:60, "dep_delay"] = 99999.0  # beyond the reference's range
    batch.loc[61:70, "carrier"] = "ZZ"  # a carrier the reference never had
    batch.to_csv(tmp_path / "batch.csv", index=False)
    (tmp_path / "parts").mkdir()
    for i, start in enumerate(range(0, 3000, 1000)):
        batch.iloc[start:start + 1000].to_csv(tmp_path / "parts" / f"part-{i}.csv", index=False)
    scored = _run(python, pkg / "score.py", tmp_path / "batch.csv", "-o", tmp_path / "scored.csv",
                  "--monitor-out", tmp_path / "scored.json", cwd=tmp_path)
    assert scored.returncode == 0, scored.stderr
    counted = _run(spark_python, pkg / "spark_drift.py", tmp_path / "parts", tmp_path / "drift.json",
                   "--input-format", "csv", "--master", "local[2]", cwd=tmp_path, timeout=900,
                   env={"PYSPARK_PYTHON": str(spark_python), "SPARK_LOCAL_IP": "127.0.0.1"})
    assert counted.returncode == 0, counted.stderr[-4000:]
    spark_body = json.loads((tmp_path / "drift.json").read_text())["body"]
    score_body = json.loads((tmp_path / "scored.json").read_text())["body"]
    assert spark_body["job"] == "drift" and spark_body["rows"]["read"] == 3000
    assert spark_body["rows"]["scored"] == 0 and spark_body["package"] == score_body["package"]
    assert set(spark_body["features"]) == set(score_body["features"]) == set(FEATURES)
    for name, ours in spark_body["features"].items():
        theirs = score_body["features"][name]
        assert (ours["rows"], ours["missing"]) == (theirs["rows"], theirs["missing"]) == (3000, ours["missing"])
        if ours["kind"] == "numeric":
            assert ours["edges"] == theirs["edges"]
            assert [c[:2] for c in ours["cells"]] == [c[:2] for c in theirs["cells"]], name
            assert [c[2] for c in ours["cells"]] == pytest.approx([c[2] for c in theirs["cells"]], rel=1e-12)
        else:
            assert (ours["categories"], ours["new_rows"], ours["new_categories"]) == \
                (theirs["categories"], theirs["new_rows"], theirs["new_categories"]), name
    assert spark_body["features"]["dep_delay"]["missing"] == 41
    assert spark_body["features"]["carrier"]["new_rows"] == 10
    workspace = tmp_path / "ws"
    shutil.copytree(base / "ws", workspace)
    done = run_cli("monitor", "import", str(tmp_path / "drift.json"), "--workspace", str(workspace),
                   "--as", "dora", "--json")
    assert done.returncode == 0, done.stderr
    imported = json.loads(done.stdout)["imported"][0]
    assert imported["batch"]["rows"] == 3000 and "Spark job" in imported["notes"][0]
    with Workspace.open(workspace) as ws:
        app = compare_batch(reference_for_version(ws, "late:1"), batch_from_file(tmp_path / "batch.csv"))
    for feature in app.features:
        other = next(f for f in imported["features"] if f["name"] == feature.name)
        for key in ("psi", "missing_share_change", "jensen_shannon", "outside_range_share"):
            if key in feature.metrics:
                assert other["metrics"][key] == pytest.approx(feature.metrics[key], rel=1e-9, abs=1e-12), \
                    (feature.name, key)


def test_reading_options_in_a_fresh_environment(exported, python, tmp_path):
    """--delimiter/--decimal/--encoding with the pinned libraries only: a semicolon,
    decimal-comma, BOM file scores as its comma twin; -o INPUT is refused."""
    pkg, df, app, _ = exported
    rows = df.head(500)
    source = tmp_path / "semi.csv"
    rows.astype({"dep_delay": float}).to_csv(source, sep=";", decimal=",", index=False, encoding="utf-8-sig")
    result = _run(python, pkg / "score.py", source, "-o", tmp_path / "out.csv", "--delimiter", ";",
                  "--decimal", ",", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert _summary(result)["rows_scored"] == 500
    scored = pd.read_csv(tmp_path / "out.csv")
    proba = app.predict_proba(rows[FEATURES])
    assert np.max(np.abs(scored["probability_late"].to_numpy() - proba[:, 0])) <= 1e-12
    before = source.read_bytes()
    refused = _run(python, pkg / "score.py", source, "-o", source, cwd=tmp_path)
    assert refused.returncode == 2 and source.read_bytes() == before


def test_the_it_round_trip_monitor_out_then_monitor_import(exported, python, tmp_path):
    """Issue 14: IT scores a batch with --monitor-out in the fresh environment (no app);
    the summary is imported into the exporting workspace as a drift report with the
    estimated performance."""
    from conftest import run_cli

    pkg, df, _, base = exported
    batch = df.sample(2000, random_state=11)
    batch.drop(columns=["late"]).to_csv(tmp_path / "tonight.csv", index=False)
    result = _run(python, pkg / "score.py", tmp_path / "tonight.csv", "-o", tmp_path / "tonight.scored.csv",
                  "--monitor-out", tmp_path / "tonight.monitor.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert _summary(result)["monitor_out"] == str(tmp_path / "tonight.monitor.json")
    workspace = tmp_path / "ws"
    shutil.copytree(base / "ws", workspace)
    done = run_cli("monitor", "import", str(tmp_path / "tonight.monitor.json"), "--workspace", str(workspace),
                   "--as", "dora", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)["imported"][0]
    assert report["verdict"] == "no drift" and report["batch"]["rows"] == 2000
    est = report["estimated_performance"]["metrics"]
    assert all(m["low"] <= m["estimate"] <= m["high"] and m["reliable"] for m in est.values())
    listed = run_cli("drift-reports", "--model", "late:1", "--workspace", str(workspace), "--json")
    assert [r["id"] for r in json.loads(listed.stdout)] == [report["id"]]


@pytest.fixture(scope="module")
def boosted(exported):
    """A gradient-boosting version of the same task, exported from the same workspace."""
    from mlops_desktop.core.train import TrainSpec, train

    _, _, _, base = exported
    with Workspace.open(base / "ws") as ws:
        result = train(ws, TrainSpec(dataset="flights", target="late", models=["hgb"], features=FEATURES,
                                     model_name="late-hgb", cv_folds=2), actor="ann")
        ref = f"late-hgb:{result.version}"
        approve(ws, ref)
        return export_version(ws, ref, base / "pkg-hgb", actor="carl").path, ref


def test_reasons_in_a_fresh_environment_equal_the_apps(exported, boosted, python, tmp_path):
    """score.py --reasons with the pinned libraries only (no app, no extra requirement,
    for a linear and a tree model) gives the app's reasons for the same rows."""
    from mlops_desktop.core.validate.explanations import explain_rows

    logistic, df, _, base = exported
    batch = df.sample(500, random_state=3)
    batch.to_csv(tmp_path / "batch.csv", index=False)
    for pkg, ref in ((logistic, "late:1"), boosted):
        out = tmp_path / f"{ref.replace(':', '-')}.csv"
        result = _run(python, pkg / "score.py", tmp_path / "batch.csv", "-o", out, "--reasons", 3, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        scored = pd.read_csv(out, dtype={"reason_1_value": object, "reason_2_value": object, "reason_3_value": object})
        with Workspace.open(base / "ws") as ws:
            app = explain_rows(ws, ref, str(tmp_path / "batch.csv"), rows="all", top=3)
        listed = sum(scored[f"reason_{k}_contribution"].fillna(0.0) for k in (1, 2, 3))
        assert np.abs(scored["reason_base"] + listed + scored["reason_others"] - scored["reason_score"]).max() <= 1e-6
        for i, row in enumerate(app.rows):
            names = [scored[f"reason_{k}"][i] for k in (1, 2, 3) if isinstance(scored[f"reason_{k}"][i], str)]
            assert [r.column for r in row.reasons] == names, (ref, i)
            assert [r.value for r in row.reasons] == [scored[f"reason_{k}_value"][i] if
                                                     isinstance(scored[f"reason_{k}_value"][i], str) else None
                                                     for k in range(1, len(names) + 1)]
            assert np.allclose([r.contribution for r in row.reasons],
                               [scored[f"reason_{k}_contribution"][i] for k in range(1, len(names) + 1)], atol=1e-9)
            assert abs(row.score - scored["reason_score"][i]) <= 1e-9
