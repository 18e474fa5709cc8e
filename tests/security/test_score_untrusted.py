"""score.py with a model it cannot load: a package whose manifest is intact but whose
model holds a type its list of trusted types does not name stops at once with exit
code 3 (scoring, self-test, drift, Spark's driver), never trying the rows one by one."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from export_helpers import export_late, score_py, summary_of

DROPPED = "mlops_model_support.estimators.StatsmodelsLogit"


@pytest.fixture(scope="module")
def untrusted(tmp_path_factory):
    """An exported package whose trusted_types.json no longer names one of the model's
    types, with a manifest that agrees (so verification passes), and 5,000 rows."""
    base = tmp_path_factory.mktemp("untrusted")
    pkg, df, _ = export_late(base)
    trusted = json.loads((pkg / "model" / "trusted_types.json").read_text())["trusted"]
    assert DROPPED in trusted
    _trust(pkg, [t for t in trusted if t != DROPPED])
    rows = base / "rows.csv"
    df.head(5000).to_csv(rows, index=False)
    return pkg, rows, base


def _trust(pkg: Path, types: list[str]) -> None:
    """Replace the package's list of trusted types, and its manifest entry to match."""
    data = json.dumps({"trusted": types}, indent=2, sort_keys=True).encode() + b"\n"
    (pkg / "model" / "trusted_types.json").write_bytes(data)
    manifest = json.loads((pkg / "manifest.json").read_text())
    manifest["files"]["model/trusted_types.json"] = {"sha256": hashlib.sha256(data).hexdigest(),
                                                     "bytes": len(data)}
    (pkg / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def test_scoring_stops_at_once_with_exit_3_and_writes_nothing(untrusted, tmp_path):
    pkg, rows, base = untrusted
    assert score_py(pkg, "--verify", cwd=tmp_path).returncode == 0  # every file matches its manifest
    done = score_py(pkg, rows, "-o", tmp_path / "out.csv", cwd=tmp_path)
    assert done.returncode == 3, (done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    summary = summary_of(done)
    assert summary["status"] == "model not loaded"
    assert "trusted_types.json does not list" in summary["error"] and "StatsmodelsLogit" in summary["error"]
    assert "Nothing was scored" in done.stderr
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "out.rejects.csv").exists()
    log = (tmp_path / "out.csv.log").read_text()
    assert "MODEL NOT LOADED" in log and "rows read" not in log  # no row was tried
    # the same rows with the model's list restored: nothing else stood in the way
    intact = base / "intact"
    shutil.copytree(pkg, intact)
    _trust(intact, sorted([*json.loads((intact / "model" / "trusted_types.json").read_text())["trusted"],
                           DROPPED]))
    done = score_py(intact, rows, "-o", tmp_path / "out.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert summary_of(done)["rows_scored"] == 5000


def test_self_test_and_drift_stop_with_exit_3(untrusted, tmp_path):
    pkg, rows, _ = untrusted
    self_test = score_py(pkg, "--self-test", cwd=tmp_path)
    assert self_test.returncode == 3 and summary_of(self_test)["status"] == "model not loaded", self_test.stderr
    drift = score_py(pkg, "--drift", rows, cwd=tmp_path)
    assert drift.returncode == 3 and summary_of(drift)["status"] == "model not loaded", drift.stderr


def test_spark_score_refuses_before_starting_spark(untrusted, tmp_path):
    """The driver loads the model once first: no Spark session is needed to find out."""
    pkg, rows, _ = untrusted
    done = subprocess.run([sys.executable, str(pkg / "spark_score.py"), str(rows), str(tmp_path / "scored")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 3, done.stderr[-2000:]
    assert "does not list" in done.stderr and not (tmp_path / "scored").exists()
